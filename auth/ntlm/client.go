package ntlm

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/psremote/psremote/auth/cbt"
)

// ClientConfig configures a [ClientContext].
type ClientConfig struct {
	// User is the account name. "DOMAIN\user" sets the domain too; a UPN
	// ("user@domain") goes as the user name, with an empty domain unless
	// Domain is set, as Windows does.
	User string
	// Domain is the account's domain; may be empty.
	Domain string
	// Password is the account password; ignored when NTHash is set.
	Password string
	// NTHash is the NT hash (see [NTHash]) to use instead of Password.
	NTHash *[16]byte
	// Workstation is the client's name, sent for information.
	Workstation string
	// ChannelBindings is the channel-binding application data,
	// cbt.TLSServerEndPoint(server certificate), on HTTPS; nil on HTTP.
	// Its hash goes into MsvAvChannelBindings.
	ChannelBindings []byte
	// TargetName is the service principal name of the server ("HTTP/host"),
	// sent as MsvAvTargetName; may be empty.
	TargetName string
	// Now returns the current time, used when the server sends no
	// MsvAvTimestamp; nil means time.Now.
	Now func() time.Time
	// Rand supplies the client challenge and the session key; nil means
	// crypto/rand.
	Rand io.Reader
}

// clientFlags are the flags the client asks for: Unicode, NTLMv2 with
// extended session security, 128-bit keys with key exchange, signing and
// sealing, target info and Version (MS-NLMP 3.1.5.1.1).
const clientFlags = flagUnicode | flagOEM | flagRequestTarget | flagNTLM | flagAlwaysSign |
	flagESS | flagTargetInfo | flagVersion | flag128 | flag56 | flagKeyExch | flagSign | flagSeal

// ClientContext is the client side of one NTLM authentication (MS-NLMP
// 3.1, NTLMv2 only). Call [ClientContext.Negotiate], send the result,
// pass the server's CHALLENGE to [ClientContext.Authenticate] and send its
// result. It is safe for concurrent use.
type ClientContext struct {
	user, domain, workstation string
	responseKey               [16]byte // NTOWFv2(user, domain)
	bindings                  []byte
	targetName                string
	now                       func() time.Time
	rand                      io.Reader

	// requested is the NEGOTIATE flags; tests change it.
	requested uint32

	mu sync.Mutex
	// mu protects the following.
	negotiate []byte
	done      bool
	session   *Session
}

// NewClient checks cfg and returns a context ready for
// [ClientContext.Negotiate]. The password is reduced to its NTOWFv2 key
// at once and not kept.
func NewClient(cfg ClientConfig) (*ClientContext, error) {
	user, domain := cfg.User, cfg.Domain
	if d, u, ok := strings.Cut(user, `\`); ok {
		if domain != "" && !strings.EqualFold(domain, d) {
			return nil, fmt.Errorf("ntlm: user %q names another domain than %q", cfg.User, cfg.Domain)
		}
		user, domain = u, d
	}
	if user == "" {
		return nil, fmt.Errorf("%w: anonymous authentication (no user name)", ErrUnsupported)
	}
	for _, s := range []string{user, domain, cfg.Workstation, cfg.TargetName} {
		if 2*len(s) > maxNameBytes {
			return nil, errors.New("ntlm: user, domain, workstation or target name too long")
		}
	}
	hash := NTHash(cfg.Password)
	if cfg.NTHash != nil {
		hash = *cfg.NTHash
	}
	c := &ClientContext{
		user:        user,
		domain:      domain,
		workstation: cfg.Workstation,
		responseKey: ntowfv2(hash, user, domain),
		bindings:    bytes.Clone(cfg.ChannelBindings),
		targetName:  cfg.TargetName,
		now:         cfg.Now,
		rand:        cfg.Rand,
		requested:   clientFlags,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	return c, nil
}

// Negotiate returns the NEGOTIATE message. Calling it again returns the
// same message.
func (c *ClientContext) Negotiate() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.negotiate == nil {
		c.negotiate = marshalNegotiate(c.requested)
	}
	return bytes.Clone(c.negotiate)
}

// Authenticate processes the server's CHALLENGE and returns the
// AUTHENTICATE message (MS-NLMP 3.1.5.1.2): an NTLMv2 response over the
// server's TargetInfo plus MsvAvFlags (MIC present) when the server sent
// MsvAvTimestamp, MsvAvChannelBindings (the hash of ClientConfig's
// ChannelBindings, or zeros) and MsvAvTargetName; the timestamp is the
// server's when it sent one; the MIC covers the three messages. It
// refuses, with [ErrUnsupported], a server that does not answer in
// Unicode, offers session security weaker than 128 bits (Windows 7 and
// later clients refuse it too), LM_KEY without extended session security,
// or datagram mode. It may be called once, after Negotiate.
func (c *ClientContext) Authenticate(challenge []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.negotiate == nil || c.done {
		return nil, fmt.Errorf("%w: Authenticate needs one Negotiate first and may run once", ErrOutOfOrder)
	}
	ch, err := parseChallenge(challenge)
	if err != nil {
		return nil, err
	}
	flags := ch.flags&^(flagOEM|securityFlags) | ch.flags&c.requested&securityFlags
	switch {
	case flags&flagUnicode == 0:
		return nil, fmt.Errorf("%w: server does not use Unicode", ErrUnsupported)
	case flags&flagDatagram != 0:
		return nil, fmt.Errorf("%w: connectionless (datagram) NTLM", ErrUnsupported)
	case flags&flagLMKey != 0 && flags&flagESS == 0:
		return nil, fmt.Errorf("%w: server asks for LM_KEY", ErrUnsupported)
	case flags&(flagSign|flagSeal) != 0 && flags&flag128 == 0:
		return nil, fmt.Errorf("%w: server offers session security without 128-bit keys", ErrUnsupported)
	}
	if flags&(flagSign|flagSeal) != 0 {
		_, hasComputer := ch.targetInfo.get(avNbComputerName)
		_, hasDomain := ch.targetInfo.get(avNbDomainName)
		if !hasComputer || !hasDomain {
			return nil, fmt.Errorf("%w: CHALLENGE lacks MsvAvNbComputerName or MsvAvNbDomainName", ErrMalformed)
		}
	}
	flags &^= flagLMKey | flagTargetTypeDomain | flagTargetTypeServer

	serverTime, hasTime, err := ch.targetInfo.fixed(avTimestamp, 8)
	if err != nil {
		return nil, err
	}
	var ts uint64
	if hasTime {
		ts = le.Uint64(serverTime)
	} else {
		ts = toFiletime(c.now())
	}
	var random [8 + 16]byte
	if _, err := io.ReadFull(c.rand, random[:]); err != nil {
		return nil, fmt.Errorf("ntlm: reading random bytes: %w", err)
	}
	clientChallenge, sessionKey := [8]byte(random[:8]), [16]byte(random[8:])

	// The AV pairs of the blob: the server's, minus those the client
	// owns, then the client's own (MS-NLMP 3.1.5.1.2).
	var avs avList
	for _, p := range ch.targetInfo {
		if p.id != avFlags && p.id != avChannelBindings && p.id != avTargetName {
			avs = append(avs, p)
		}
	}
	if hasTime {
		avs = append(avs, avPair{id: avFlags, val: le.AppendUint32(nil, avFlagMICPresent)})
	}
	var bindingHash [16]byte
	if c.bindings != nil {
		bindingHash = cbt.Hash(c.bindings)
	}
	avs = append(avs,
		avPair{id: avChannelBindings, val: bindingHash[:]},
		avPair{id: avTargetName, val: encodeUTF16(c.targetName)})
	ntResponse, lmResponse, sessionBaseKey := computeResponse(c.responseKey, ch.serverChallenge, clientChallenge, ts, avs.marshal())
	if hasTime {
		// MS-NLMP 3.1.5.1.2: with MsvAvTimestamp, send Z(24) as the LM
		// response.
		lmResponse = make([]byte, 24)
	}
	if len(ntResponse) > MaxMessageSize/2 {
		return nil, fmt.Errorf("%w: CHALLENGE TargetInfo too large", ErrMalformed)
	}

	m := &authenticateMsg{
		lmResponse:  lmResponse,
		ntResponse:  ntResponse,
		domain:      c.domain,
		user:        c.user,
		workstation: c.workstation,
		flags:       flags,
	}
	exported := sessionBaseKey // KXKEY for NTLMv2 (MS-NLMP 3.4.5.1)
	if flags&flagKeyExch != 0 && flags&(flagSign|flagSeal) != 0 {
		esk := rc4k(sessionBaseKey, sessionKey)
		m.encryptedRandomSessionKey = esk[:]
		exported = sessionKey
	}
	out := m.marshal()
	if hasTime {
		mic := hmacMD5(exported[:], c.negotiate, challenge, out)
		copy(out[authenticateVersionEnd:authenticateMICEnd], mic[:])
	}
	c.done = true
	c.session = newSession(flags, exported, true)
	return out, nil
}

// Session returns the session security once [ClientContext.Authenticate]
// succeeded, nil before.
func (c *ClientContext) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// computeResponse computes the NTLMv2 responses and SessionBaseKey
// (ComputeResponse, MS-NLMP 3.3.2) for the AV pairs avs (encoded with their
// MsvAvEOL).
func computeResponse(responseKey [16]byte, serverChallenge, clientChallenge [8]byte, time uint64, avs []byte) (nt, lm []byte, sessionBaseKey [16]byte) {
	// temp = Responserversion, HiResponserversion, Z(6), Time,
	// ClientChallenge, Z(4), ServerName, Z(4)
	temp := make([]byte, 0, 28+len(avs)+4)
	temp = append(temp, 1, 1, 0, 0, 0, 0, 0, 0)
	temp = le.AppendUint64(temp, time)
	temp = append(temp, clientChallenge[:]...)
	temp = append(temp, 0, 0, 0, 0)
	temp = append(temp, avs...)
	temp = append(temp, 0, 0, 0, 0)
	proof := ntProof(responseKey, serverChallenge, temp)
	nt = append(proof[:], temp...)
	lmProof := hmacMD5(responseKey[:], serverChallenge[:], clientChallenge[:])
	lm = append(lmProof[:], clientChallenge[:]...)
	return nt, lm, hmacMD5(responseKey[:], proof[:])
}
