package kerberos

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/psremote/psremote/auth/cbt"
)

// DefaultMaxSkew is AcceptorConfig.MaxSkew's default.
const DefaultMaxSkew = 5 * time.Minute

// maxKeytabSize bounds a keytab file read by LoadKeytab.
const maxKeytabSize = 4 << 20

// ChannelBinding is what Accept checks the authenticator's channel
// bindings (the Bnd field of the 0x8003 checksum) against.
type ChannelBinding = cbt.Binding

// AcceptorConfig configures an Acceptor.
type AcceptorConfig struct {
	// Keytab holds the service keys. If nil, KeytabPath is read once by
	// NewAcceptor.
	Keytab *keytab.Keytab
	// KeytabPath is a keytab file (MIT format, "FILE:" prefix allowed).
	KeytabPath string
	// Services are the accepted service names (the first component of
	// the ticket's server principal), compared case-insensitively; any
	// host name the keytab has keys for is accepted. Default {"HTTP",
	// "WSMAN"}.
	Services []string
	// MaxSkew is the largest accepted difference between the client's and
	// the acceptor's clocks; default DefaultMaxSkew, 5 minutes.
	MaxSkew time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// ReplayCacheSize bounds the replay cache (authenticators seen in the
	// last 2*MaxSkew); default DefaultReplayCacheSize.
	ReplayCacheSize int
	// Rand is the source of subkeys, sequence numbers and confounders;
	// default crypto/rand.
	Rand io.Reader
}

// Acceptor verifies Kerberos AP-REQs for a set of service principals and
// establishes contexts. It owns a replay cache and is safe for concurrent
// use.
type Acceptor struct {
	kt       *keytab.Keytab
	services []string
	skew     time.Duration
	now      func() time.Time
	rand     io.Reader
	replay   *replayCache
}

// NewAcceptor returns an Acceptor for cfg. It fails when no keytab is
// given or it holds no keys.
func NewAcceptor(cfg AcceptorConfig) (*Acceptor, error) {
	kt := cfg.Keytab
	if kt == nil {
		if cfg.KeytabPath == "" {
			return nil, errors.New("kerberos: AcceptorConfig needs a Keytab or a KeytabPath")
		}
		var err error
		if kt, err = LoadKeytab(cfg.KeytabPath); err != nil {
			return nil, err
		}
	}
	if len(kt.Entries) == 0 {
		return nil, errors.New("kerberos: the keytab holds no keys")
	}
	a := &Acceptor{
		kt:       kt,
		services: cfg.Services,
		skew:     cfg.MaxSkew,
		now:      cfg.Now,
		rand:     cfg.Rand,
	}
	if len(a.services) == 0 {
		a.services = []string{"HTTP", "WSMAN"}
	} else {
		a.services = slices.Clone(a.services)
	}
	if a.skew <= 0 {
		a.skew = DefaultMaxSkew
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	size := cfg.ReplayCacheSize
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	a.replay = newReplayCache(2*a.skew, size)
	return a, nil
}

// LoadKeytab reads a keytab file ("FILE:" prefix allowed) of at most
// 4 MiB.
func LoadKeytab(path string) (kt *keytab.Keytab, err error) {
	path = strings.TrimPrefix(path, "FILE:")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kerberos: keytab: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeytabSize+1))
	if err != nil {
		return nil, fmt.Errorf("kerberos: keytab: %w", err)
	}
	if len(b) > maxKeytabSize {
		return nil, fmt.Errorf("kerberos: keytab %s is larger than %d bytes", path, maxKeytabSize)
	}
	defer func() {
		if r := recover(); r != nil {
			kt, err = nil, fmt.Errorf("kerberos: keytab %s is corrupt", path)
		}
	}()
	kt = keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("kerberos: keytab %s: %w", path, err)
	}
	return kt, nil
}

// Accept verifies one context token from a client and returns the
// established context and the GSS-API AP-REP token to send back.
//
// token is an RFC 4121 initial context token (0x60, the Kerberos OID,
// TOK_ID 01 00, AP-REQ) or a bare AP-REQ. Accept decrypts the ticket with
// the keytab key for its server principal, key version and encryption
// type; checks the ticket's validity period, that the authenticator
// decrypts with the session key and names the ticket's client, the clock
// skew and the replay cache; and applies cb to the channel bindings of the
// 0x8003 checksum. The ticket's authorization data (an MIT or Windows PAC)
// is not interpreted, and client addresses in the ticket are not checked
// (as MIT krb5's GSS acceptor, which sets no remote address).
//
// The AP-REP is always returned (mutual authentication), framed as a GSS
// token with TOK_ID 02 00. When the client asked for mutual
// authentication it carries a fresh acceptor subkey (for AES session
// keys) and the acceptor's sequence number, as Windows and MIT krb5 send;
// otherwise the context keeps the initiator's key and sequence number.
//
// Errors wrap ErrBadTicket (with ErrMalformed for unparsable tokens),
// ErrNoKey, ErrClockSkew, ErrReplay, ErrUnsupported, cbt.ErrMismatch or
// cbt.ErrMissing.
func (a *Acceptor) Accept(ctx context.Context, token []byte, cb ChannelBinding) (*Context, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	req, oid, err := parseAPReqToken(token)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadTicket, err)
	}
	now := a.now().UTC()
	if bitSet(req.APOptions, flags.APOptionUseSessionKey) {
		return nil, nil, fmt.Errorf("%w: user-to-user authentication", ErrUnsupported)
	}

	// The ticket.
	tkt := &req.Ticket
	spn := principalString(tkt.SName.NameString, tkt.Realm)
	key, err := a.serviceKey(tkt)
	if err != nil {
		return nil, nil, err
	}
	encTkt, err := decrypt(key, keyusage.KDC_REP_TICKET, tkt.EncPart.Cipher)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the ticket for %s does not decrypt with the keytab key (kvno %d): %w", ErrBadTicket, spn, tkt.EncPart.KVNO, err)
	}
	var etp messages.EncTicketPart
	if err := unmarshalSafe(func() error { return etp.Unmarshal(encTkt) }); err != nil {
		return nil, nil, fmt.Errorf("%w: ticket for %s: %w", ErrBadTicket, spn, err)
	}
	if err := a.checkTicketTimes(&etp, now); err != nil {
		return nil, nil, err
	}
	if _, err := checkKey(etp.Key); err != nil {
		return nil, nil, fmt.Errorf("%w: ticket session key: %w", ErrBadTicket, err)
	}
	if len(etp.CName.NameString) == 0 || etp.CRealm == "" {
		return nil, nil, fmt.Errorf("%w: ticket names no client", ErrBadTicket)
	}

	// The authenticator.
	authBytes, err := decrypt(etp.Key, keyusage.AP_REQ_AUTHENTICATOR, req.EncryptedAuthenticator.Cipher)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the authenticator does not decrypt with the ticket's session key: %w", ErrBadTicket, err)
	}
	var auth types.Authenticator
	if err := unmarshalSafe(func() error { return auth.Unmarshal(authBytes) }); err != nil {
		return nil, nil, fmt.Errorf("%w: authenticator: %w", ErrBadTicket, err)
	}
	if auth.CRealm != etp.CRealm || !slices.Equal(auth.CName.NameString, etp.CName.NameString) {
		return nil, nil, fmt.Errorf("%w: authenticator client %s is not the ticket's client %s", ErrBadTicket,
			principalString(auth.CName.NameString, auth.CRealm), principalString(etp.CName.NameString, etp.CRealm))
	}
	if auth.Cusec < 0 || auth.Cusec > 999999 {
		return nil, nil, fmt.Errorf("%w: authenticator cusec %d out of range", ErrBadTicket, auth.Cusec)
	}
	ctime := auth.CTime.Add(time.Duration(auth.Cusec) * time.Microsecond)
	if err := checkSkew(ctime, now, a.skew); err != nil {
		return nil, nil, err
	}
	gss, hasGSS, err := authenticatorChecksum(&auth)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadTicket, err)
	}
	if gss.flags&flagDCEStyle != 0 {
		return nil, nil, fmt.Errorf("%w: DCE-style contexts", ErrUnsupported)
	}
	var initSubkey *types.EncryptionKey
	if auth.SubKey.KeyType != 0 || len(auth.SubKey.KeyValue) != 0 {
		if _, err := checkKey(auth.SubKey); err != nil {
			return nil, nil, fmt.Errorf("%w: initiator subkey: %w", ErrBadTicket, err)
		}
		k := auth.SubKey
		initSubkey = &k
	}

	// Replays: the same authenticator ciphertext within 2*MaxSkew.
	rk := replayKey(sha256.Sum256(req.EncryptedAuthenticator.Cipher))
	if err := a.replay.check(rk, now); err != nil {
		return nil, nil, err
	}

	if err := checkBindings(cb, gss, hasGSS); err != nil {
		return nil, nil, err
	}

	c := &Context{
		cname:      slices.Clone(etp.CName.NameString),
		crealm:     etp.CRealm,
		expiry:     etp.EndTime,
		flags:      gss.flags,
		session:    etp.Key,
		initSubkey: initSubkey,
		rand:       a.rand,
		recvSeq:    uint64(uint32(auth.SeqNumber)),
	}
	if bitSet(req.APOptions, flags.APOptionMutualRequired) {
		c.flags |= flagMutual
	}
	rep := encAPRepPart{CTime: auth.CTime, Cusec: auth.Cusec}
	if c.flags&flagMutual != 0 {
		base := etp.Key
		if initSubkey != nil {
			base = *initSubkey
		}
		if cfxEnctype(base.KeyType) {
			sk, err := randomKey(base.KeyType, a.rand)
			if err != nil {
				return nil, nil, err
			}
			c.accSubkey = &sk
			rep.Subkey = sk
		}
		seq, err := randomSeq(a.rand)
		if err != nil {
			return nil, nil, err
		}
		c.sendSeq = uint64(seq)
		rep.SequenceNumber = int64(seq)
	} else {
		// Without mutual authentication the initiator never learns an
		// acceptor sequence number: both directions start from its own.
		c.sendSeq = c.recvSeq
		rep.SequenceNumber = int64(c.recvSeq)
	}
	reply, err := marshalAPRep(rep, etp.Key)
	if err != nil {
		return nil, nil, err
	}
	return c, frameToken(oid, tokAPRep, reply), nil
}

// parseAPReqToken unframes token if needed and parses the AP-REQ.
func parseAPReqToken(token []byte) (messages.APReq, []byte, error) {
	var req messages.APReq
	if len(token) == 0 {
		return req, nil, fmt.Errorf("%w: empty token", ErrMalformed)
	}
	if len(token) > MaxTokenSize {
		return req, nil, fmt.Errorf("%w: token of %d bytes exceeds %d", ErrMalformed, len(token), MaxTokenSize)
	}
	oid, raw := oidKRB5, token
	if token[0] == 0x60 {
		o, id, inner, err := unframeToken(token)
		if err != nil {
			return req, nil, err
		}
		if id != tokAPReq {
			return req, nil, fmt.Errorf("%w: TOK_ID %04x is not an AP-REQ (0100)", ErrMalformed, id)
		}
		oid, raw = o, inner
	}
	if len(raw) == 0 || raw[0] != tagAPReq {
		return req, nil, fmt.Errorf("%w: not an AP-REQ", ErrMalformed)
	}
	if err := unmarshalSafe(func() error { return req.Unmarshal(raw) }); err != nil {
		return req, nil, fmt.Errorf("%w: AP-REQ: %w", ErrMalformed, err)
	}
	if req.PVNO != 5 || req.MsgType != msgtype.KRB_AP_REQ || req.Ticket.TktVNO != 5 {
		return req, nil, fmt.Errorf("%w: AP-REQ with pvno %d, msg-type %d, tkt-vno %d", ErrMalformed, req.PVNO, req.MsgType, req.Ticket.TktVNO)
	}
	if len(req.Ticket.SName.NameString) == 0 || req.Ticket.Realm == "" {
		return req, nil, fmt.Errorf("%w: ticket names no service", ErrMalformed)
	}
	return req, oid, nil
}

// serviceKey finds the keytab key the ticket is encrypted in, or explains
// with ErrNoKey why there is none.
func (a *Acceptor) serviceKey(t *messages.Ticket) (types.EncryptionKey, error) {
	name := t.SName.NameString
	spn := principalString(name, t.Realm)
	if !slices.ContainsFunc(a.services, func(s string) bool { return strings.EqualFold(s, name[0]) }) {
		return types.EncryptionKey{}, fmt.Errorf("%w: service %s is not one of the accepted services %v", ErrNoKey, spn, a.services)
	}
	var (
		found, etypeFound bool
		kvnos             []uint32
		best              types.EncryptionKey
		bestKVNO          uint32
		bestTime          time.Time
	)
	for _, e := range a.kt.Entries {
		if !strings.EqualFold(e.Principal.Realm, t.Realm) || !slices.EqualFunc(e.Principal.Components, name, strings.EqualFold) {
			continue
		}
		found = true
		if e.Key.KeyType != t.EncPart.EType {
			continue
		}
		etypeFound = true
		kvnos = append(kvnos, e.KVNO)
		if t.EncPart.KVNO != 0 && e.KVNO != uint32(t.EncPart.KVNO) {
			continue
		}
		if len(best.KeyValue) == 0 || e.KVNO > bestKVNO || (e.KVNO == bestKVNO && e.Timestamp.After(bestTime)) {
			best, bestKVNO, bestTime = e.Key, e.KVNO, e.Timestamp
		}
	}
	switch {
	case !found:
		return best, fmt.Errorf("%w: no key for %s in the keytab", ErrNoKey, spn)
	case !etypeFound:
		return best, fmt.Errorf("%w: no key of encryption type %d for %s in the keytab", ErrNoKey, t.EncPart.EType, spn)
	case len(best.KeyValue) == 0:
		return best, fmt.Errorf("%w: no key with kvno %d for %s in the keytab (it has kvno %v)", ErrNoKey, t.EncPart.KVNO, spn, kvnos)
	}
	return best, nil
}

// checkTicketTimes applies RFC 4120 section 3.2.3: the ticket must not be
// marked invalid, must have started (within the skew) and not ended.
func (a *Acceptor) checkTicketTimes(etp *messages.EncTicketPart, now time.Time) error {
	if bitSet(etp.Flags, flags.Invalid) {
		return fmt.Errorf("%w: ticket is marked invalid", ErrBadTicket)
	}
	start := etp.StartTime
	if start.IsZero() {
		start = etp.AuthTime
	}
	if start.Sub(now) > a.skew {
		return fmt.Errorf("%w: ticket not valid until %s", ErrBadTicket, start.Format(time.RFC3339))
	}
	if now.Sub(etp.EndTime) > a.skew {
		return fmt.Errorf("%w: ticket expired at %s", ErrBadTicket, etp.EndTime.Format(time.RFC3339))
	}
	return nil
}

// checkSkew compares the client's authenticator time with the acceptor's
// clock.
func checkSkew(client, now time.Time, limit time.Duration) error {
	d := client.Sub(now)
	side := "ahead of"
	if d < 0 {
		d, side = -d, "behind"
	}
	if d > limit {
		return fmt.Errorf("%w: the client's clock is %v %s the server's (limit %v)", ErrClockSkew, d.Round(time.Second), side, limit)
	}
	return nil
}

// authenticatorChecksum decodes the 0x8003 checksum, if there is one.
func authenticatorChecksum(auth *types.Authenticator) (gssChecksum, bool, error) {
	switch auth.Cksum.CksumType {
	case 0:
		return gssChecksum{}, false, nil
	case checksumGSS:
		c, err := parseGSSChecksum(auth.Cksum.Checksum)
		return c, err == nil, err
	}
	// Another checksum type protects application data GSS-API does not
	// have; there are no GSS flags or bindings.
	return gssChecksum{}, false, nil
}

// checkBindings applies the channel-binding policy to the Bnd field.
func checkBindings(cb ChannelBinding, gss gssChecksum, hasGSS bool) error {
	if !hasGSS {
		return cb.Verify(nil)
	}
	return cb.Verify(gss.bnd[:])
}

// encAPRepPart is RFC 4120 section 5.5.2 EncAPRepPart. gokrb5 has the type
// but cannot marshal it.
type encAPRepPart struct {
	CTime          time.Time           `asn1:"generalized,explicit,tag:0"`
	Cusec          int                 `asn1:"explicit,tag:1"`
	Subkey         types.EncryptionKey `asn1:"optional,explicit,tag:2"`
	SequenceNumber int64               `asn1:"optional,explicit,tag:3"`
}

// apRep is RFC 4120 section 5.5.2 AP-REP.
type apRep struct {
	PVNO    int                 `asn1:"explicit,tag:0"`
	MsgType int                 `asn1:"explicit,tag:1"`
	EncPart types.EncryptedData `asn1:"explicit,tag:2"`
}

// marshalAPRep encrypts part in the session key (key usage 12) and
// encodes the AP-REP.
func marshalAPRep(part encAPRepPart, session types.EncryptionKey) ([]byte, error) {
	part.CTime = part.CTime.UTC().Truncate(time.Second)
	b, err := asn1.Marshal(part)
	if err != nil {
		return nil, fmt.Errorf("kerberos: encoding EncAPRepPart: %w", err)
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncAPRepPart)
	ct, err := encrypt(session, keyusage.AP_REP_ENCPART, b)
	if err != nil {
		return nil, err
	}
	rep := apRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: types.EncryptedData{EType: session.KeyType, Cipher: ct}}
	b, err = asn1.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("kerberos: encoding AP-REP: %w", err)
	}
	return asn1tools.AddASNAppTag(b, asnAppTag.APREP), nil
}

// unmarshalSafe runs a gokrb5 decoder on hostile bytes, turning its errors
// and any panic into ErrMalformed.
func unmarshalSafe(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: undecodable ASN.1", ErrMalformed)
		}
	}()
	if err := f(); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// bitSet reports whether bit i of a Kerberos flags bit string is set,
// treating missing bits as clear.
func bitSet(f asn1.BitString, i int) bool {
	if i/8 >= len(f.Bytes) {
		return false
	}
	return f.Bytes[i/8]&(0x80>>(i%8)) != 0
}

// principalString formats name components and a realm as "a/b@REALM".
func principalString(name []string, realm string) string {
	return strings.Join(name, "/") + "@" + realm
}
