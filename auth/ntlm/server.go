package ntlm

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/psremote/psremote/auth/cbt"
)

// ServerConfig configures a [Server].
type ServerConfig struct {
	// Validator checks NTLMv2 responses. Required.
	Validator Validator

	// NetBIOSDomain, NetBIOSComputer, DNSDomain and DNSComputer name the
	// server in the CHALLENGE message: the NetBIOS names go into
	// MsvAvNbDomainName and MsvAvNbComputerName, the DNS names into
	// MsvAvDnsDomainName and MsvAvDnsComputerName (omitted when empty).
	// TargetName is NetBIOSDomain with NTLMSSP_TARGET_TYPE_DOMAIN when it
	// differs from NetBIOSComputer, else NetBIOSComputer with
	// NTLMSSP_TARGET_TYPE_SERVER (MS-NLMP 3.2.5.1.1). Empty names default
	// as on a Windows workgroup machine: NetBIOSComputer is the host
	// name's first label, upper-cased and cut to 15 bytes; NetBIOSDomain
	// is NetBIOSComputer; DNSComputer is the host name; DNSDomain is the
	// host name after its first dot, or DNSComputer when it has none.
	NetBIOSDomain, NetBIOSComputer, DNSDomain, DNSComputer string

	// Now returns the current time for MsvAvTimestamp and MaxClockSkew;
	// nil means time.Now.
	Now func() time.Time
	// Rand supplies server challenges; nil means crypto/rand. Reads are
	// serialised by the Server.
	Rand io.Reader

	// MaxClockSkew, if positive, rejects an AUTHENTICATE whose
	// NTLMv2_CLIENT_CHALLENGE timestamp is further than this from Now.
	// Clients that honour MsvAvTimestamp (Windows, pywinrm, go-ntlmssp)
	// copy the server's own timestamp, so the check then bounds the life
	// of a challenge. MS-NLMP 3.2.5.1.2 calls the limit MaxLifetime:
	// Windows NT 4.0 and 2000 used 30 minutes, Windows XP through 2008 R2
	// 36 hours (footnotes <39>, <69>); the product notes list no check for
	// later versions. Zero (the default) does not check.
	MaxClockSkew time.Duration

	// AllowWeakKeys accepts clients that ask for signing or sealing
	// without NTLMSSP_NEGOTIATE_128, which yields 56- or 40-bit sealing
	// keys. By default such clients are refused with ErrUnsupported, as
	// Windows 7 and later do (ServerRequire128bitEncryption, MS-NLMP
	// 3.2.1.1 footnote <60>).
	AllowWeakKeys bool
}

// Server accepts NTLM authentications (MS-NLMP 3.2, connection-oriented,
// NTLMv2 only). It holds configuration only and is safe for concurrent
// use; each authentication runs in its own [ServerContext].
type Server struct {
	validator     Validator
	now           func() time.Time
	maxSkew       time.Duration
	allowWeakKeys bool

	targetName string
	targetType uint32
	names      avList // TargetInfo without MsvAvTimestamp

	randMu sync.Mutex
	rand   io.Reader // guarded by randMu
}

// NewServer checks cfg, fills in its defaults and returns a Server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Validator == nil {
		return nil, errors.New("ntlm: ServerConfig.Validator is required")
	}
	s := &Server{
		validator:     cfg.Validator,
		now:           cfg.Now,
		maxSkew:       cfg.MaxClockSkew,
		allowWeakKeys: cfg.AllowWeakKeys,
		rand:          cfg.Rand,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	nbComputer := cfg.NetBIOSComputer
	if nbComputer == "" {
		nbComputer, _, _ = strings.Cut(host, ".")
		nbComputer = strings.ToUpper(nbComputer)
		if len(nbComputer) > 15 {
			nbComputer = nbComputer[:15]
		}
	}
	nbDomain := cfg.NetBIOSDomain
	if nbDomain == "" {
		nbDomain = nbComputer
	}
	dnsComputer := cfg.DNSComputer
	if dnsComputer == "" {
		dnsComputer = host
	}
	dnsDomain := cfg.DNSDomain
	if dnsDomain == "" {
		if _, d, ok := strings.Cut(dnsComputer, "."); ok && d != "" {
			dnsDomain = d
		} else {
			dnsDomain = dnsComputer
		}
	}
	// Windows' order: NbDomainName, NbComputerName, DnsDomainName,
	// DnsComputerName, then the timestamp added per challenge.
	for _, n := range []struct {
		id   uint16
		name string
	}{{avNbDomainName, nbDomain}, {avNbComputerName, nbComputer}, {avDNSDomainName, dnsDomain}, {avDNSComputerName, dnsComputer}} {
		v := encodeUTF16(n.name)
		if len(v) > maxNameBytes {
			return nil, fmt.Errorf("ntlm: server name %q is too long", n.name)
		}
		s.names = append(s.names, avPair{id: n.id, val: v})
	}
	if strings.EqualFold(nbDomain, nbComputer) {
		s.targetName, s.targetType = nbComputer, flagTargetTypeServer
	} else {
		s.targetName, s.targetType = nbDomain, flagTargetTypeDomain
	}
	return s, nil
}

// ChannelBinding tells a context what TLS channel it runs on.
type ChannelBinding = cbt.Binding

// Server context states.
const (
	stateInitial    = iota // expecting NEGOTIATE
	stateChallenged        // CHALLENGE sent, expecting AUTHENTICATE
	stateDone              // authenticated
	stateFailed            // an error ended the context
)

// ServerContext is one server-side authentication: NEGOTIATE, CHALLENGE,
// AUTHENTICATE. It is safe for concurrent use.
type ServerContext struct {
	srv *Server
	cb  ChannelBinding

	mu sync.Mutex
	// mu protects the following.
	state           int
	negotiate       []byte // as received, for the MIC
	challenge       []byte // as sent, for the MIC
	challengeFlags  uint32
	serverChallenge [8]byte
	user, domain    string
	session         *Session
}

// NewContext starts an authentication on a connection with the given
// channel binding.
func (s *Server) NewContext(cb ChannelBinding) *ServerContext {
	return &ServerContext{srv: s, cb: cb}
}

// Step consumes one client message (NEGOTIATE, then AUTHENTICATE) and
// returns the message to send back: the CHALLENGE after NEGOTIATE, nil
// after AUTHENTICATE. done is true once the AUTHENTICATE verified. A
// message out of order (a NEGOTIATE after done, an AUTHENTICATE first) is
// an error wrapping [ErrOutOfOrder]; after any error the context is
// finished and the caller starts a new one.
//
// AUTHENTICATE errors wrap [ErrBadCredentials], [ErrMalformed],
// [ErrUnsupported] (LM, NTLMv1 or anonymous), [ErrMIC],
// cbt.ErrMismatch or cbt.ErrMissing, or come from the Validator.
func (c *ServerContext) Step(ctx context.Context, msg []byte) (out []byte, done bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	typ := MessageType(msg)
	switch {
	case c.state == stateInitial && typ != typeAuthenticate:
		out, err = c.negotiateLocked(msg)
		if err == nil {
			c.state = stateChallenged
			return out, false, nil
		}
	case c.state == stateChallenged && typ != typeNegotiate:
		err = c.authenticateLocked(ctx, msg)
		if err == nil {
			c.state = stateDone
			return nil, true, nil
		}
	default:
		err = fmt.Errorf("%w: message type %d in state %d", ErrOutOfOrder, typ, c.state)
	}
	c.state = stateFailed
	c.session = nil
	return nil, false, err
}

// MessageType returns the message type of an NTLMSSP message
// ([TypeNegotiate], [TypeAuthenticate], ...), or 0 when msg is not one.
func MessageType(msg []byte) uint32 {
	if len(msg) < 12 || [8]byte(msg[:8]) != signature {
		return 0
	}
	return le.Uint32(msg[8:12])
}

// User returns the account name the Validator returned, once done.
func (c *ServerContext) User() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

// Domain returns the domain as the client sent it, once done.
func (c *ServerContext) Domain() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.domain
}

// Session returns the session security of a completed authentication, or
// nil before it completed.
func (c *ServerContext) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// negotiateLocked handles a NEGOTIATE and builds the CHALLENGE (MS-NLMP
// 3.2.5.1.1).
func (c *ServerContext) negotiateLocked(msg []byte) ([]byte, error) {
	neg, err := parseNegotiate(msg)
	if err != nil {
		return nil, err
	}
	flags, err := c.srv.challengeFlags(neg.flags)
	if err != nil {
		return nil, err
	}
	var sc [8]byte
	c.srv.randMu.Lock()
	_, err = io.ReadFull(c.srv.rand, sc[:])
	c.srv.randMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("ntlm: generating the server challenge: %w", err)
	}
	ts := le.AppendUint64(nil, toFiletime(c.srv.now()))
	ch := &challengeMsg{
		flags:           flags,
		serverChallenge: sc,
		targetName:      c.srv.targetName,
		targetInfo:      append(append(avList(nil), c.srv.names...), avPair{id: avTimestamp, val: ts}),
		hasTargetInfo:   true,
		version:         productVersion,
	}
	c.negotiate = bytes.Clone(msg)
	c.challenge = ch.marshal()
	c.challengeFlags = flags
	c.serverChallenge = sc
	return bytes.Clone(c.challenge), nil
}

// challengeFlags chooses the CHALLENGE flags from the client's. The answer
// is always Unicode with NTLMv2 semantics, even to a client that offered
// only OEM or did not set NTLMSSP_NEGOTIATE_NTLM (ntlm-auth, which pywinrm
// uses, sends such a NEGOTIATE). Signing, sealing, key exchange, key
// strength, extended session security and Version are granted as asked;
// LM_KEY, datagram and identify never are.
func (s *Server) challengeFlags(client uint32) (uint32, error) {
	// Never OEM beside Unicode, although the example of MS-NLMP 4.2.4
	// shows both: ntlm-client (winrm-client's NTLM code) then encodes its
	// names in ASCII while announcing Unicode. ntlm-auth subtracts OEM
	// from the CHALLENGE flags to form its AUTHENTICATE flags, which
	// without OEM clears NTLMSSP_REQUEST_TARGET instead: harmless, and
	// covered by its MIC.
	f := flagUnicode | flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetInfo | s.targetType
	f |= client & (flagESS | flagVersion)
	if sec := client & (flagSign | flagSeal); sec != 0 {
		f |= sec | client&(flag128|flag56|flagKeyExch)
		if f&flag128 == 0 && !s.allowWeakKeys {
			return 0, fmt.Errorf("%w: client asks for session security without 128-bit keys", ErrUnsupported)
		}
	}
	return f, nil
}

// authenticateLocked verifies an AUTHENTICATE (MS-NLMP 3.2.5.1.2) and sets
// up the session.
func (c *ServerContext) authenticateLocked(ctx context.Context, msg []byte) error {
	m, err := parseAuthenticate(msg)
	if err != nil {
		return err
	}
	nt := m.ntResponse
	switch {
	case m.user == "" && len(nt) == 0 && (len(m.lmResponse) == 0 || bytes.Equal(m.lmResponse, []byte{0})):
		return fmt.Errorf("%w: anonymous authentication is refused", ErrUnsupported)
	case len(nt) == 0:
		return fmt.Errorf("%w: LM-only response refused (NTLMv2 is required)", ErrUnsupported)
	case len(nt) == ntlmV1ResponseLen:
		return fmt.Errorf("%w: NTLMv1 response refused (NTLMv2 is required)", ErrUnsupported)
	case len(nt) < minNTLMv2Response:
		return fmt.Errorf("%w: NtChallengeResponse of %d bytes is neither NTLMv1 nor NTLMv2", ErrMalformed, len(nt))
	case m.user == "":
		return fmt.Errorf("%w: empty user name", ErrBadCredentials)
	}
	blob := nt[16:]
	if blob[0] != 1 {
		return fmt.Errorf("%w: NTLMv2 response type %d, want 1", ErrMalformed, blob[0])
	}
	avs, err := parseAVPairs(blob[28:])
	if err != nil {
		return err
	}
	avFlagsVal, _, err := avs.fixed(avFlags, 4)
	if err != nil {
		return err
	}
	bindings, _, err := avs.fixed(avChannelBindings, 16)
	if err != nil {
		return err
	}
	if c.srv.maxSkew > 0 {
		ts, now := le.Uint64(blob[8:16]), toFiletime(c.srv.now())
		d := max(ts, now) - min(ts, now)
		if d > uint64(c.srv.maxSkew/100) {
			return fmt.Errorf("%w: NTLMv2 timestamp is %v from the server clock (MaxClockSkew %v)",
				ErrBadCredentials, time.Duration(min(d, uint64(1<<63-1)/100)*100), c.srv.maxSkew)
		}
	}

	sessionBaseKey, account, err := c.srv.validator.Validate(ctx, m.user, m.domain, c.serverChallenge, nt)
	if err != nil {
		return err
	}

	// NTLMv2: KeyExchangeKey = SessionBaseKey (MS-NLMP 3.4.5.1). Security
	// bits the client cleared in its AUTHENTICATE are honoured.
	flags := c.challengeFlags
	if m.flags != 0 {
		flags &^= securityFlags &^ m.flags
	}
	exported := sessionBaseKey
	if flags&flagKeyExch != 0 && flags&(flagSign|flagSeal) != 0 {
		if len(m.encryptedRandomSessionKey) != 16 {
			return fmt.Errorf("%w: key exchange negotiated but EncryptedRandomSessionKey has %d bytes",
				ErrMalformed, len(m.encryptedRandomSessionKey))
		}
		exported = rc4k(sessionBaseKey, [16]byte(m.encryptedRandomSessionKey))
	}

	if len(avFlagsVal) == 4 && le.Uint32(avFlagsVal)&avFlagMICPresent != 0 {
		if !m.hasMICField() {
			return fmt.Errorf("%w: MsvAvFlags announces a MIC but the message has no MIC field", ErrMalformed)
		}
		zeroed := bytes.Clone(msg)
		clear(zeroed[authenticateVersionEnd:authenticateMICEnd])
		want := hmacMD5(exported[:], c.negotiate, c.challenge, zeroed)
		if !hmac.Equal(want[:], msg[authenticateVersionEnd:authenticateMICEnd]) {
			return ErrMIC
		}
	}

	if err := c.cb.Verify(bindings); err != nil {
		return fmt.Errorf("ntlm: user %q: %w", m.user, err)
	}

	c.user, c.domain = account, m.domain
	c.session = newSession(flags, exported, false)
	return nil
}
