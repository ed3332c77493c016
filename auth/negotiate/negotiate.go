package negotiate

import (
	"context"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/encrypt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/auth/spnego"
)

// Scheme names, as they appear in Authorization and WWW-Authenticate.
const (
	SchemeNegotiate = "Negotiate"
	SchemeKerberos  = "Kerberos"
)

// Mechanism names reported in auth.Result.Mechanism.
const (
	MechNTLM     = "NTLM"
	MechKerberos = "Kerberos"
)

// SourceKerberos is the source name passed to the Resolver for Kerberos
// principals.
const SourceKerberos = "kerberos"

// maxCredentials bounds the base64 text of one token: the base64 length
// of spnego.MaxTokenSize bytes, plus room for stray white space.
const maxCredentials = (spnego.MaxTokenSize+2)/3*4 + 16

// NTLMSource is one place NTLM responses are checked: the psremote account
// store ([StoreSource]) or, through Samba winbind, a domain.
type NTLMSource struct {
	// Name names the source in the Resolver call and in logs ("store").
	Name string
	// Validator checks NTLMv2 responses; it must return an error wrapping
	// ntlm.ErrBadCredentials for an unknown user or a wrong response, so
	// that the next source is tried.
	Validator ntlm.Validator
}

// Config configures [New].
type Config struct {
	// NTLMSources are tried in order for every NTLM AUTHENTICATE; none
	// means NTLM is not offered.
	NTLMSources []NTLMSource
	// NTLMServer names the server in CHALLENGE messages and sets the NTLM
	// policies (see ntlm.ServerConfig); its Validator is ignored.
	NTLMServer ntlm.ServerConfig
	// Kerberos verifies Kerberos AP-REQs; nil means Kerberos is not
	// offered.
	Kerberos *kerberos.Acceptor
	// PrincipalMap maps Kerberos principals to local user names; required
	// with Kerberos.
	PrincipalMap *kerberos.PrincipalMap
	// CBT is the listener's CbtHardeningLevel (MS-WSMV 3.1.4.1.5), applied
	// on HTTPS to NTLM's MsvAvChannelBindings and Kerberos' authenticator
	// checksum.
	CBT cbt.Policy
	// Resolve maps an authenticated account to the local identity: NTLM
	// accounts with the name of the source that verified them, Kerberos
	// users (already mapped) with SourceKerberos. Required.
	Resolve auth.Resolver
}

// shared is what the Negotiate and Kerberos schemes have in common.
type shared struct {
	cfg     Config
	ntlm    *ntlm.Server // nil without NTLM
	sources []NTLMSource
}

// Mechanism is one of the schemes "Negotiate" and "Kerberos" (see
// [Mechanism.KerberosScheme]). It implements auth.Mechanism and is safe
// for concurrent use; the state of a handshake lives in the connection's
// auth.ConnState.
type Mechanism struct {
	scheme string
	s      *shared
}

var _ auth.Mechanism = (*Mechanism)(nil)

// New returns the Negotiate scheme. It fails when cfg offers neither NTLM
// nor Kerberos, or lacks what an offered mechanism needs.
func New(cfg Config) (*Mechanism, error) {
	if cfg.Resolve == nil {
		return nil, errors.New("negotiate: Config.Resolve is required")
	}
	if len(cfg.NTLMSources) == 0 && cfg.Kerberos == nil {
		return nil, errors.New("negotiate: neither NTLM (no account source) nor Kerberos (no keytab) is available")
	}
	if cfg.Kerberos != nil && cfg.PrincipalMap == nil {
		return nil, errors.New("negotiate: Kerberos needs a PrincipalMap")
	}
	s := &shared{cfg: cfg}
	if len(cfg.NTLMSources) > 0 {
		for i, src := range cfg.NTLMSources {
			if src.Validator == nil || src.Name == "" {
				return nil, fmt.Errorf("negotiate: NTLMSources[%d] needs a Name and a Validator", i)
			}
		}
		s.sources = append([]NTLMSource(nil), cfg.NTLMSources...)
		sc := cfg.NTLMServer
		sc.Validator = chain{s: s}
		srv, err := ntlm.NewServer(sc)
		if err != nil {
			return nil, fmt.Errorf("negotiate: %w", err)
		}
		s.ntlm = srv
	}
	return &Mechanism{scheme: SchemeNegotiate, s: s}, nil
}

// KerberosScheme returns the "Kerberos" scheme, which shares this
// mechanism's acceptor (and so its replay cache), or nil when Kerberos is
// not configured.
func (m *Mechanism) KerberosScheme() *Mechanism {
	if m.s.cfg.Kerberos == nil {
		return nil
	}
	return &Mechanism{scheme: SchemeKerberos, s: m.s}
}

// OffersNTLM reports whether NTLM is available through this mechanism.
func (m *Mechanism) OffersNTLM() bool { return m.scheme == SchemeNegotiate && m.s.ntlm != nil }

// OffersKerberos reports whether Kerberos is available.
func (m *Mechanism) OffersKerberos() bool { return m.s.cfg.Kerberos != nil }

// Scheme returns "Negotiate" or "Kerberos".
func (m *Mechanism) Scheme() string { return m.scheme }

// Challenge returns the bare scheme name: Negotiate and Kerberos are
// offered on HTTP (where they encrypt messages) and on HTTPS.
func (m *Mechanism) Challenge(secure bool) (string, bool) { return m.scheme, true }

// handshake is the state of an unfinished authentication on a connection,
// stored in auth.ConnState under the scheme name.
type handshake struct {
	// spnego is true when the tokens are wrapped in SPNEGO.
	spnego bool
	// kerberos is true when the chosen mechanism is Kerberos, false for
	// NTLM.
	kerberos bool
	// mechTypes is the DER MechTypeList of the NegTokenInit, which
	// mechListMICs cover.
	mechTypes []byte
	// ntlm is the NTLM context under way; nil before the NEGOTIATE.
	ntlm *ntlm.ServerContext
}

// Accept processes one Authorization header of this scheme.
func (m *Mechanism) Accept(ctx context.Context, r auth.Request) (auth.Step, error) {
	conn := r.Conn
	if conn == nil {
		conn = &auth.ConnState{}
	}
	token, err := decodeToken(r.Credentials)
	if err != nil {
		conn.SetValue(m.scheme, nil)
		return auth.Step{}, err
	}
	var step auth.Step
	switch kind := spnego.Classify(token); kind {
	case spnego.KindNTLM:
		step, err = m.acceptRawNTLM(ctx, r, conn, token)
	case spnego.KindKerberos:
		conn.SetValue(m.scheme, nil)
		conn.Establish(nil)
		step, err = m.acceptKerberos(ctx, r, conn, token, nil)
	case spnego.KindNegTokenInit:
		step, err = m.acceptInit(ctx, r, conn, token)
	case spnego.KindNegTokenResp:
		step, err = m.acceptResp(ctx, r, conn, token)
	default:
		err = fmt.Errorf("%w: %s token is neither NTLMSSP, Kerberos nor SPNEGO", auth.ErrMalformed, m.scheme)
	}
	if err != nil {
		// A failed leg ends the handshake; the client starts over.
		conn.SetValue(m.scheme, nil)
		return auth.Step{}, err
	}
	return step, nil
}

// decodeToken decodes the base64 token of an Authorization value.
func decodeToken(creds string) ([]byte, error) {
	creds = strings.TrimSpace(creds)
	if creds == "" {
		return nil, fmt.Errorf("%w: empty token", auth.ErrMalformed)
	}
	if len(creds) > maxCredentials {
		return nil, fmt.Errorf("%w: token of %d base64 characters is too long", auth.ErrMalformed, len(creds))
	}
	token, err := base64.StdEncoding.DecodeString(creds)
	if err != nil {
		return nil, fmt.Errorf("%w: token is not base64: %v", auth.ErrMalformed, err)
	}
	if len(token) == 0 || len(token) > spnego.MaxTokenSize {
		return nil, fmt.Errorf("%w: token of %d bytes", auth.ErrMalformed, len(token))
	}
	return token, nil
}

// reply formats a WWW-Authenticate value carrying token.
func (m *Mechanism) reply(token []byte) string {
	if len(token) == 0 {
		return m.scheme
	}
	return m.scheme + " " + base64.StdEncoding.EncodeToString(token)
}

// respReply marshals an SPNEGO NegTokenResp into a WWW-Authenticate value.
func (m *Mechanism) respReply(r *spnego.NegTokenResp) (string, error) {
	b, err := r.Marshal()
	if err != nil {
		return "", fmt.Errorf("negotiate: %w", err)
	}
	return m.reply(b), nil
}

// handshakeOf returns the connection's unfinished handshake, or nil.
func (m *Mechanism) handshakeOf(conn *auth.ConnState) *handshake {
	h, _ := conn.Value(m.scheme).(*handshake)
	return h
}

// isKerberosOID reports whether oid names Kerberos V5 (either OID).
func isKerberosOID(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(spnego.OIDKerberos) || oid.Equal(spnego.OIDMSKerberos)
}

// protocolsFor lists the encryption protocols a context established under
// scheme may be used with, the scheme's own first. pywinrm encrypts with
// the SPNEGO protocol after Kerberos in the Negotiate scheme, pypsrp with
// the Kerberos protocol after the Kerberos scheme.
func protocolsFor(scheme string, isKerberos bool) []string {
	switch {
	case !isKerberos:
		return []string{encrypt.ProtocolSPNEGO}
	case scheme == SchemeKerberos:
		return []string{encrypt.ProtocolKerberos, encrypt.ProtocolSPNEGO}
	default:
		return []string{encrypt.ProtocolSPNEGO, encrypt.ProtocolKerberos}
	}
}

// credentialError maps an error of the NTLM or Kerberos package to the
// auth sentinels the listener acts on, keeping the original in the chain.
func credentialError(err error) error {
	switch {
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrMalformed),
		errors.Is(err, auth.ErrNotPermitted), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, ntlm.ErrMalformed), errors.Is(err, ntlm.ErrOutOfOrder), errors.Is(err, ntlm.ErrUnsupported),
		errors.Is(err, kerberos.ErrMalformed), errors.Is(err, kerberos.ErrUnsupported):
		return fmt.Errorf("%w: %w", auth.ErrMalformed, err)
	case errors.Is(err, ntlm.ErrBadCredentials), errors.Is(err, ntlm.ErrMIC),
		errors.Is(err, cbt.ErrMismatch), errors.Is(err, cbt.ErrMissing),
		errors.Is(err, kerberos.ErrBadTicket), errors.Is(err, kerberos.ErrClockSkew),
		errors.Is(err, kerberos.ErrReplay), errors.Is(err, kerberos.ErrNoKey),
		errors.Is(err, kerberos.ErrUnmapped), errors.Is(err, kerberos.ErrIntegrity),
		errors.Is(err, ntlm.ErrIntegrity), errors.Is(err, ntlm.ErrSequence), errors.Is(err, ntlm.ErrSessionBroken):
		return fmt.Errorf("%w: %w", auth.ErrBadCredentials, err)
	}
	// An account source failed (not a mismatch).
	return err
}
