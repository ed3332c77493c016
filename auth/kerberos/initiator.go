package kerberos

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/psremote/psremote/auth/cbt"
)

// InitiatorConfig configures an Initiator. Credentials are, in order of
// preference, Password, KeytabPath, then the credential cache.
type InitiatorConfig struct {
	// Krb5ConfPath is the krb5.conf to use; default the first existing
	// file of $KRB5_CONFIG (a colon-separated list), else /etc/krb5.conf.
	Krb5ConfPath string
	// CCachePath is the credential cache (a file; "FILE:" prefix allowed)
	// used when neither Password nor KeytabPath is set; default
	// $KRB5CCNAME, else /tmp/krb5cc_<uid>.
	CCachePath string
	// Principal is the client for password or keytab login: "user@REALM",
	// or "user" in the default realm.
	Principal string
	// Password logs Principal in with a password.
	Password string
	// KeytabPath logs Principal in with a client keytab.
	KeytabPath string
	// SPN is the service principal, "HTTP/host" or "WSMAN/host" (the GSS
	// form "HTTP@host" is accepted too); default "HTTP/<Host>".
	SPN string
	// Host is the server's host name, used for the default SPN.
	Host string
	// ChannelBindings is the TLS channel's application data
	// (cbt.TLSServerEndPoint of the server certificate) on HTTPS, nil on
	// HTTP.
	ChannelBindings []byte
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Rand is the source of subkeys, sequence numbers and confounders;
	// default crypto/rand.
	Rand io.Reader
}

// Initiator authenticates to one service with a service ticket obtained
// by NewInitiator. Its methods are safe for concurrent use; each InitToken
// starts a new authentication that the next Complete finishes.
type Initiator struct {
	tkt     messages.Ticket
	session types.EncryptionKey
	cname   types.PrincipalName
	crealm  string
	bnd     [16]byte
	now     func() time.Time
	rand    io.Reader

	// mu protects pending.
	mu      sync.Mutex
	pending *pendingAuth
}

// pendingAuth is what Complete needs from the last InitToken.
type pendingAuth struct {
	ctime  time.Time
	cusec  int
	subkey types.EncryptionKey
	seq    uint32
}

// NewInitiator obtains a service ticket for cfg.SPN with gokrb5's client
// (an AS exchange for password or keytab login, then a TGS exchange). The
// KDC exchanges cannot be interrupted: when ctx ends first, NewInitiator
// returns ctx's error and the exchange finishes in the background (gokrb5
// bounds each KDC connection by a few seconds).
func NewInitiator(ctx context.Context, cfg InitiatorConfig) (*Initiator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spn, err := resolveSPN(cfg.SPN, cfg.Host)
	if err != nil {
		return nil, err
	}
	conf, err := loadKrb5Conf(cfg.Krb5ConfPath)
	if err != nil {
		return nil, err
	}
	cl, err := newGokrb5Client(conf, cfg)
	if err != nil {
		return nil, err
	}
	// Destroy clears the client's credentials: read the name first.
	cname, crealm := cl.Credentials.CName(), cl.Credentials.Domain()
	type result struct {
		tkt messages.Ticket
		key types.EncryptionKey
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer cl.Destroy()
		tkt, key, err := cl.GetServiceTicket(spn)
		ch <- result{tkt, key, err}
	}()
	var r result
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r = <-ch:
	}
	if r.err != nil {
		return nil, fmt.Errorf("kerberos: service ticket for %s: %v", spn, r.err)
	}
	return newInitiatorFromTicket(r.tkt, r.key, cname, crealm, cfg)
}

// newInitiatorFromTicket builds an Initiator from a service ticket, its
// session key and the client's name.
func newInitiatorFromTicket(tkt messages.Ticket, key types.EncryptionKey, cname types.PrincipalName, crealm string, cfg InitiatorConfig) (*Initiator, error) {
	if _, err := checkKey(key); err != nil {
		return nil, err
	}
	if len(cname.NameString) == 0 || crealm == "" {
		return nil, errors.New("kerberos: the credentials name no client principal")
	}
	i := &Initiator{tkt: tkt, session: key, cname: cname, crealm: crealm, now: cfg.Now, rand: cfg.Rand}
	if i.now == nil {
		i.now = time.Now
	}
	if i.rand == nil {
		i.rand = rand.Reader
	}
	if cfg.ChannelBindings != nil {
		i.bnd = cbt.Hash(cfg.ChannelBindings)
	}
	return i, nil
}

// newGokrb5Client builds gokrb5's client for the configured credentials.
func newGokrb5Client(conf *config.Config, cfg InitiatorConfig) (*client.Client, error) {
	settings := []func(*client.Settings){client.DisablePAFXFAST(true)}
	if cfg.Password == "" && cfg.KeytabPath == "" {
		path := cfg.CCachePath
		if path == "" {
			path = os.Getenv("KRB5CCNAME")
		}
		if path == "" {
			path = fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid())
		}
		if i := strings.Index(path, ":"); i > 0 && !strings.HasPrefix(path, "FILE:") && !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("kerberos: credential cache %q: only FILE: caches are supported", path)
		}
		path = strings.TrimPrefix(path, "FILE:")
		cc, err := loadCCacheSafe(path)
		if err != nil {
			return nil, err
		}
		cl, err := client.NewFromCCache(cc, conf, settings...)
		if err != nil {
			return nil, fmt.Errorf("kerberos: credential cache %s: %v", path, err)
		}
		return cl, nil
	}
	user, realm, err := splitPrincipal(cfg.Principal, conf.LibDefaults.DefaultRealm)
	if err != nil {
		return nil, err
	}
	if cfg.Password != "" {
		return client.NewWithPassword(user, realm, cfg.Password, conf, settings...), nil
	}
	kt, err := LoadKeytab(cfg.KeytabPath)
	if err != nil {
		return nil, err
	}
	return client.NewWithKeytab(user, realm, kt, conf, settings...), nil
}

// loadCCacheSafe reads an MIT credential cache file.
func loadCCacheSafe(path string) (cc *credentials.CCache, err error) {
	defer func() {
		if r := recover(); r != nil {
			cc, err = nil, fmt.Errorf("kerberos: credential cache %s is corrupt", path)
		}
	}()
	cc, err = credentials.LoadCCache(path)
	if err != nil {
		return nil, fmt.Errorf("kerberos: credential cache %s: %v", path, err)
	}
	return cc, nil
}

// splitPrincipal splits "user@REALM", defaulting the realm.
func splitPrincipal(p, defaultRealm string) (user, realm string, err error) {
	if i := strings.LastIndex(p, "@"); i >= 0 {
		user, realm = p[:i], p[i+1:]
	} else {
		user, realm = p, defaultRealm
	}
	if user == "" || realm == "" {
		return "", "", fmt.Errorf("kerberos: principal %q: want user@REALM, or user with a default realm in krb5.conf", p)
	}
	return user, realm, nil
}

// resolveSPN normalises the service principal name.
func resolveSPN(spn, host string) (string, error) {
	if spn == "" {
		if host == "" {
			return "", errors.New("kerberos: InitiatorConfig needs an SPN or a Host")
		}
		return "HTTP/" + host, nil
	}
	if !strings.Contains(spn, "/") {
		if svc, h, ok := strings.Cut(spn, "@"); ok && svc != "" && h != "" {
			return svc + "/" + h, nil
		}
		return "", fmt.Errorf("kerberos: SPN %q is not service/host", spn)
	}
	return spn, nil
}

// loadKrb5Conf reads krb5.conf. gokrb5 reports directives it does not
// implement as an error next to a usable configuration; those are ignored.
func loadKrb5Conf(path string) (*config.Config, error) {
	if path == "" {
		for _, p := range strings.Split(os.Getenv("KRB5_CONFIG"), ":") {
			if p == "" {
				continue
			}
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		path = "/etc/krb5.conf"
	}
	conf, err := config.Load(path)
	var unsupported config.UnsupportedDirective
	if err != nil && !(errors.As(err, &unsupported) && conf != nil) {
		return nil, fmt.Errorf("kerberos: %s: %v", path, err)
	}
	return conf, nil
}

// Principal returns the client principal as "user@REALM".
func (i *Initiator) Principal() string { return principalString(i.cname.NameString, i.crealm) }

// InitToken returns a GSS-API initial context token (0x60, the Kerberos
// OID, TOK_ID 01 00, AP-REQ) with mutual-required set and an authenticator
// that carries a 0x8003 checksum (Bnd = cbt.Hash(ChannelBindings), or
// zeros without bindings; flags mutual, replay, sequence, confidentiality
// and integrity), a fresh initiator subkey (AES-256 when the session key
// is RC4 or DES3, so that the context can protect messages) and a random
// sequence number.
func (i *Initiator) InitToken() ([]byte, error) {
	return i.initToken(flagMutual|flagReplay|flagSequence|flagConf|flagInteg, true)
}

// initToken builds the AP-REQ token with the given GSS flags and AP
// option.
func (i *Initiator) initToken(gssFlags uint32, mutualRequired bool) ([]byte, error) {
	now := i.now().UTC()
	// The subkey has the session key's type, except that RC4 and DES3
	// session keys get an AES-256 subkey: the acceptor answers with an
	// acceptor subkey of the same type (Windows, MIT krb5, this package),
	// and only AES keys can protect WinRM messages.
	subkeyType := i.session.KeyType
	if !cfxEnctype(subkeyType) {
		subkeyType = etypeID.AES256_CTS_HMAC_SHA1_96
	}
	subkey, err := randomKey(subkeyType, i.rand)
	if err != nil {
		return nil, err
	}
	seq, err := randomSeq(i.rand)
	if err != nil {
		return nil, err
	}
	p := &pendingAuth{ctime: now.Truncate(time.Second), cusec: now.Nanosecond() / 1000, subkey: subkey, seq: seq}
	ck := gssChecksum{bnd: i.bnd, flags: gssFlags}
	auth := types.Authenticator{
		AVNO:      5,
		CRealm:    i.crealm,
		CName:     i.cname,
		Cksum:     types.Checksum{CksumType: checksumGSS, Checksum: ck.marshal()},
		Cusec:     p.cusec,
		CTime:     p.ctime,
		SubKey:    subkey,
		SeqNumber: int64(seq),
	}
	ab, err := auth.Marshal()
	if err != nil {
		return nil, fmt.Errorf("kerberos: encoding the authenticator: %w", err)
	}
	ct, err := encrypt(i.session, keyusage.AP_REQ_AUTHENTICATOR, ab)
	if err != nil {
		return nil, err
	}
	req := messages.APReq{
		PVNO:                   5,
		MsgType:                msgtype.KRB_AP_REQ,
		APOptions:              types.NewKrbFlags(),
		Ticket:                 i.tkt,
		EncryptedAuthenticator: types.EncryptedData{EType: i.session.KeyType, Cipher: ct},
	}
	if mutualRequired {
		types.SetFlag(&req.APOptions, flags.APOptionMutualRequired)
	}
	rb, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("kerberos: encoding the AP-REQ: %v", err)
	}
	i.mu.Lock()
	i.pending = p
	i.mu.Unlock()
	return frameToken(oidKRB5, tokAPReq, rb), nil
}

// Complete verifies the acceptor's reply to the last InitToken, a GSS
// token with TOK_ID 02 00 or a bare AP-REP, and returns the context: the
// AP-REP must decrypt with the session key and echo the authenticator's
// time. A KRB-ERROR reply fails with ErrRejected; a reply that does not
// verify with ErrMutualAuth.
func (i *Initiator) Complete(replyToken []byte) (*Context, error) {
	i.mu.Lock()
	p := i.pending
	i.pending = nil
	i.mu.Unlock()
	if p == nil {
		return nil, errors.New("kerberos: Complete without a preceding InitToken")
	}
	raw, err := apRepBytes(replyToken)
	if err != nil {
		return nil, err
	}
	var rep messages.APRep
	if err := unmarshalSafe(func() error { return rep.Unmarshal(raw) }); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMutualAuth, err)
	}
	if rep.PVNO != 5 {
		return nil, fmt.Errorf("%w: AP-REP pvno %d", ErrMutualAuth, rep.PVNO)
	}
	pt, err := decrypt(i.session, keyusage.AP_REP_ENCPART, rep.EncPart.Cipher)
	if err != nil {
		return nil, fmt.Errorf("%w: AP-REP does not decrypt with the session key: %w", ErrMutualAuth, err)
	}
	var part messages.EncAPRepPart
	if err := unmarshalSafe(func() error { return part.Unmarshal(pt) }); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMutualAuth, err)
	}
	if !part.CTime.Equal(p.ctime) || part.Cusec != p.cusec {
		return nil, fmt.Errorf("%w: AP-REP does not echo the authenticator's time", ErrMutualAuth)
	}
	subkey := p.subkey
	c := &Context{
		initiator:  true,
		cname:      i.cname.NameString,
		crealm:     i.crealm,
		flags:      flagMutual | flagReplay | flagSequence | flagConf | flagInteg,
		session:    i.session,
		initSubkey: &subkey,
		rand:       i.rand,
		sendSeq:    uint64(p.seq),
		recvSeq:    uint64(uint32(part.SequenceNumber)),
	}
	if part.Subkey.KeyType != 0 || len(part.Subkey.KeyValue) != 0 {
		if _, err := checkKey(part.Subkey); err != nil {
			return nil, fmt.Errorf("%w: acceptor subkey: %w", ErrMutualAuth, err)
		}
		sk := part.Subkey
		c.accSubkey = &sk
	}
	return c, nil
}

// apRepBytes unframes a reply token and turns a KRB-ERROR into an error.
func apRepBytes(tok []byte) ([]byte, error) {
	if len(tok) == 0 || len(tok) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %w: reply of %d bytes", ErrMutualAuth, ErrMalformed, len(tok))
	}
	raw := tok
	if tok[0] == 0x60 {
		_, id, inner, err := unframeToken(tok)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMutualAuth, err)
		}
		if id != tokAPRep && id != tokKRBError {
			return nil, fmt.Errorf("%w: %w: reply TOK_ID %04x", ErrMutualAuth, ErrMalformed, id)
		}
		raw = inner
	}
	if len(raw) > 0 && raw[0] == tagKRBError {
		var ke messages.KRBError
		if err := unmarshalSafe(func() error { return ke.Unmarshal(raw) }); err != nil {
			return nil, fmt.Errorf("%w: undecodable KRB-ERROR", ErrRejected)
		}
		return nil, fmt.Errorf("%w: %s", ErrRejected, errorcode.Lookup(ke.ErrorCode))
	}
	if len(raw) == 0 || raw[0] != tagAPRep {
		return nil, fmt.Errorf("%w: %w: reply is not an AP-REP", ErrMutualAuth, ErrMalformed)
	}
	return raw, nil
}
