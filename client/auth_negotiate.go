package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/psremote/psremote/auth/encrypt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/auth/spnego"
	"github.com/psremote/psremote/client/trust"
)

// This file holds the connection-oriented mechanisms: NTLM, Kerberos and
// Negotiate (Kerberos, else NTLM). Each runs its handshake through the
// transport (auth_conn.go), which seals messages with the result.

// handshake is one connection's authentication in progress.
type handshake interface {
	// step returns the token to send, given the server's last token (nil
	// at the start). last reports that the server's reply to it ends the
	// handshake: a 401 to it is a refusal.
	step(in []byte) (out []byte, last bool, err error)
	// finish checks the token of the reply that ended the handshake (nil
	// when the reply had none) and returns the established context.
	finish(final []byte) (encrypt.Wrapper, error)
	// bodyOnLast reports whether, on HTTPS, the request body may ride the
	// last leg (saving a round trip); otherwise every leg is an empty
	// POST.
	bodyOnLast() bool
	// done releases what begin took; err is the handshake's outcome.
	done(err error)
	// String names the mechanism and the account for errors, e.g.
	// `NTLM as CORP\bob`; never a secret.
	String() string
}

// maxLegs bounds the round trips of one handshake (NTLM needs two,
// Kerberos one).
const maxLegs = 4

// serverToken extracts the mechanism token of a server reply: SPNEGO
// NegTokenResp replies are unwrapped (a reject state is an error);
// anything else is the raw token.
func serverToken(tok []byte) ([]byte, error) {
	if spnego.Classify(tok) != spnego.KindNegTokenResp {
		return tok, nil
	}
	r, err := spnego.ParseResp(tok)
	if err != nil {
		return nil, fmt.Errorf("client: server token: %w", err)
	}
	if r.State == spnego.Reject {
		return nil, fmt.Errorf("%w: the server rejected the authentication (SPNEGO reject)", ErrUnauthorized)
	}
	return r.ResponseToken, nil
}

// ---- NTLM ----

type ntlmAuth struct{ user, password string }

func (ntlmAuth) String() string { return "NTLM" }

func (a ntlmAuth) newMechanism(host string, https bool, cfg *Config) (mechanism, error) {
	m, err := newNTLMMech(a.user, a.password, host)
	if err != nil {
		return nil, err
	}
	if err := permitNTLM(cfg, host, https, "NTLM", nil); err != nil {
		return nil, err
	}
	return m, nil
}

// ntlmMech authenticates connections with NTLMv2.
type ntlmMech struct {
	user   string
	hash   [16]byte // NT hash of the password; the password is not kept
	target string   // MsvAvTargetName, "HTTP/host"
}

func newNTLMMech(user, password, host string) (*ntlmMech, error) {
	if user == "" {
		return nil, errors.New("client: NTLM authentication needs a user name")
	}
	m := &ntlmMech{user: user, hash: ntlm.NTHash(password), target: "HTTP/" + host}
	// Check the user name's shape now rather than on the first request.
	if _, err := m.newContext(nil); err != nil {
		return nil, fmt.Errorf("client: NTLM: %w", err)
	}
	return m, nil
}

func (m *ntlmMech) newContext(bindings []byte) (*ntlm.ClientContext, error) {
	h := m.hash
	return ntlm.NewClient(ntlm.ClientConfig{User: m.user, NTHash: &h, ChannelBindings: bindings, TargetName: m.target})
}

func (m *ntlmMech) header() string { return "" }

func (m *ntlmMech) begin(_ context.Context, bindings []byte) (handshake, error) {
	c, err := m.newContext(bindings)
	if err != nil {
		return nil, fmt.Errorf("client: NTLM: %w", err)
	}
	return &ntlmHandshake{c: c, user: m.user}, nil
}

type ntlmHandshake struct {
	c    *ntlm.ClientContext
	user string
	legs int
}

func (h *ntlmHandshake) String() string { return "NTLM as " + h.user }

func (h *ntlmHandshake) step(in []byte) ([]byte, bool, error) {
	h.legs++
	switch h.legs {
	case 1:
		return h.c.Negotiate(), false, nil
	case 2:
		tok, err := serverToken(in)
		if err != nil {
			return nil, false, err
		}
		if len(tok) == 0 {
			return nil, false, fmt.Errorf("%w: NTLM: the server sent no CHALLENGE", ErrUnauthorized)
		}
		out, err := h.c.Authenticate(tok)
		if err != nil {
			return nil, false, fmt.Errorf("client: NTLM: %w", err)
		}
		return out, true, nil
	}
	return nil, false, errors.New("client: NTLM: unexpected handshake leg")
}

func (h *ntlmHandshake) finish(final []byte) (encrypt.Wrapper, error) {
	if final != nil {
		// A SPNEGO accept-completed (perhaps with a mechListMIC, which
		// only SPNEGO initiators check) may follow raw NTLM; a reject
		// is an error.
		if _, err := serverToken(final); err != nil {
			return nil, err
		}
	}
	s := h.c.Session()
	if s == nil {
		return nil, errors.New("client: NTLM: the server accepted the connection before the AUTHENTICATE message")
	}
	if !s.Sealing() {
		return nil, nil
	}
	return s, nil
}

func (h *ntlmHandshake) bodyOnLast() bool { return true }
func (h *ntlmHandshake) done(error)       {}

// ---- Kerberos ----

type kerberosAuth struct{ opts KerberosOptions }

func (kerberosAuth) String() string { return "Kerberos" }

func (a kerberosAuth) newMechanism(host string, _ bool, _ *Config) (mechanism, error) {
	return newKerberosMech(a.opts, host), nil
}

// errNoTicket marks a failure to obtain a service ticket, which makes
// Negotiate fall back to NTLM.
var errNoTicket = errors.New("no Kerberos service ticket")

// maxInitiators bounds the initiators a client keeps, one per distinct
// server certificate seen on HTTPS (channel bindings are part of the
// initiator).
const maxInitiators = 4

// kerberosMech authenticates connections with a service ticket obtained
// once per channel binding.
type kerberosMech struct {
	cfg kerberos.InitiatorConfig // without ChannelBindings

	// sem serialises handshakes: a kerberos.Initiator holds one pending
	// authentication between InitToken and Complete. It is a channel so
	// that waiting honours the context.
	sem chan struct{}
	// inits is guarded by sem: an initiator per channel binding value.
	inits map[string]*kerberos.Initiator
}

func newKerberosMech(o KerberosOptions, host string) *kerberosMech {
	return &kerberosMech{
		cfg: kerberos.InitiatorConfig{
			Krb5ConfPath: o.Krb5Conf,
			CCachePath:   o.CCache,
			Principal:    o.Principal,
			Password:     o.Password,
			KeytabPath:   o.Keytab,
			SPN:          o.SPN,
			Host:         host,
		},
		sem:   make(chan struct{}, 1),
		inits: map[string]*kerberos.Initiator{},
	}
}

func (m *kerberosMech) header() string { return "" }

// who describes the credentials for errors.
func (m *kerberosMech) who() string {
	switch {
	case m.cfg.Password != "":
		return m.cfg.Principal + " (password)"
	case m.cfg.KeytabPath != "":
		return m.cfg.Principal + " (keytab " + m.cfg.KeytabPath + ")"
	}
	return "the credential cache"
}

func (m *kerberosMech) begin(ctx context.Context, bindings []byte) (handshake, error) {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	key := string(bindings)
	init := m.inits[key]
	if init == nil {
		cfg := m.cfg
		cfg.ChannelBindings = bindings
		var err error
		init, err = kerberos.NewInitiator(ctx, cfg)
		if err != nil {
			<-m.sem
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("client: Kerberos with %s: %w: %w", m.who(), errNoTicket, err)
		}
		if len(m.inits) >= maxInitiators {
			clear(m.inits)
		}
		m.inits[key] = init
	}
	return &kerberosHandshake{m: m, init: init, key: key}, nil
}

type kerberosHandshake struct {
	m    *kerberosMech
	init *kerberos.Initiator
	key  string
	legs int
}

func (h *kerberosHandshake) String() string { return "Kerberos as " + h.init.Principal() }

func (h *kerberosHandshake) step([]byte) ([]byte, bool, error) {
	h.legs++
	if h.legs > 1 {
		return nil, false, errors.New("client: Kerberos: the server asked for another handshake leg")
	}
	tok, err := h.init.InitToken()
	if err != nil {
		return nil, false, fmt.Errorf("client: Kerberos: %w", err)
	}
	return tok, true, nil
}

func (h *kerberosHandshake) finish(final []byte) (encrypt.Wrapper, error) {
	if len(final) == 0 {
		return nil, fmt.Errorf("client: %w: the server accepted the ticket but sent no AP-REP (mutual authentication is required)", kerberos.ErrMutualAuth)
	}
	tok, err := serverToken(final)
	if err != nil {
		return nil, err
	}
	c, err := h.init.Complete(tok)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// bodyOnLast is false: the handshake holds the mechanism's lock, which
// must not last a long-poll.
func (h *kerberosHandshake) bodyOnLast() bool { return false }

// done releases the lock. After a refusal the service ticket is dropped,
// so that the next connection fetches a fresh one (it may have expired).
func (h *kerberosHandshake) done(err error) {
	if err != nil {
		delete(h.m.inits, h.key)
	}
	<-h.m.sem
}

// ---- Negotiate ----

type negotiateAuth struct {
	user, password string
	krb            KerberosOptions
}

func (negotiateAuth) String() string { return "Negotiate" }

func (a negotiateAuth) newMechanism(host string, https bool, cfg *Config) (mechanism, error) {
	m := &negotiateMech{host: host, https: https, cfg: cfg}
	ko := a.krb
	switch {
	case ko.Password != "" || ko.Keytab != "":
		if ko.Principal == "" {
			if p, ok := principalOf(a.user); ok {
				ko.Principal = p
			} else {
				ko.Principal = a.user
			}
		}
		m.krb = newKerberosMech(ko, host)
	case a.password != "":
		if p, ok := principalOf(a.user); ok {
			ko.Principal, ko.Password = p, a.password
			m.krb = newKerberosMech(ko, host)
		} else {
			m.krbSkipped = fmt.Errorf("%q names no realm, so it is a local account of the server", a.user)
		}
	default:
		m.krb = newKerberosMech(ko, host)
	}
	if a.password != "" && a.user != "" {
		n, err := newNTLMMech(a.user, a.password, host)
		if err != nil {
			return nil, err
		}
		m.ntlm = n
	}
	if m.krb == nil && m.ntlm == nil {
		return nil, errors.New("client: Negotiate needs a user name and password, or Kerberos credentials")
	}
	if m.krb == nil {
		// Known now: NTLM is the only way.
		if err := permitNTLM(cfg, host, https, "Negotiate", m.krbSkipped); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// principalOf turns "DOMAIN\user" and "user@domain" into a Kerberos
// principal "user@DOMAIN"; a bare user name has no realm.
func principalOf(user string) (string, bool) {
	if d, u, ok := strings.Cut(user, `\`); ok && d != "" && u != "" {
		return u + "@" + strings.ToUpper(d), true
	}
	if i := strings.LastIndex(user, "@"); i > 0 && i < len(user)-1 {
		return user[:i] + "@" + strings.ToUpper(user[i+1:]), true
	}
	return "", false
}

// negotiateMech tries Kerberos and falls back to NTLM.
type negotiateMech struct {
	host  string
	https bool
	cfg   *Config
	krb   *kerberosMech // nil when Kerberos is not attempted
	ntlm  *ntlmMech     // nil without a password
	// krbSkipped says why Kerberos is not attempted.
	krbSkipped error

	// mu protects chosen and krbErr.
	mu     sync.Mutex
	chosen mechanism // nil until the first handshake decides
	krbErr error     // why Kerberos failed, for errors
}

func (m *negotiateMech) header() string { return "" }

func (m *negotiateMech) begin(ctx context.Context, bindings []byte) (handshake, error) {
	m.mu.Lock()
	chosen := m.chosen
	m.mu.Unlock()
	if chosen != nil {
		return chosen.begin(ctx, bindings)
	}
	if m.krb != nil {
		hs, err := m.krb.begin(ctx, bindings)
		if err == nil {
			m.mu.Lock()
			if m.chosen == nil {
				m.chosen = m.krb
			}
			m.mu.Unlock()
			return hs, nil
		}
		if !errors.Is(err, errNoTicket) {
			return nil, err
		}
		m.mu.Lock()
		m.krbErr = err
		m.mu.Unlock()
	}
	cause := m.krbSkipped
	m.mu.Lock()
	if m.krbErr != nil {
		cause = m.krbErr
	}
	m.mu.Unlock()
	if m.ntlm == nil {
		return nil, fmt.Errorf("%w; NTLM, the fall-back, needs a password", cause)
	}
	if err := permitNTLM(m.cfg, m.host, m.https, "Negotiate", cause); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.chosen == nil {
		m.chosen = m.ntlm
	}
	chosen = m.chosen
	m.mu.Unlock()
	return chosen.begin(ctx, bindings)
}

// ---- Auto ----

type autoAuth struct{ neg negotiateAuth }

func (autoAuth) String() string { return "Auto" }

func (a autoAuth) newMechanism(host string, https bool, cfg *Config) (mechanism, error) {
	neg, err := a.neg.newMechanism(host, https, cfg)
	if err != nil {
		return nil, err
	}
	m := &autoMech{neg: neg}
	if a.neg.user == "" || a.neg.password == "" {
		m.basicWhy = errors.New("Basic needs a user name and password")
		return m, nil
	}
	trusted := permitNTLM(cfg, host, false, "", nil) == nil
	switch {
	case https || (cfg.AllowUnencrypted && trusted):
		b, err := basicAuth{user: a.neg.user, password: a.neg.password}.newMechanism(host, https, cfg)
		if err != nil {
			return nil, err
		}
		m.basic = b.header()
	case !cfg.AllowUnencrypted && !trusted:
		m.basicWhy = fmt.Errorf("Basic over plain HTTP needs AllowUnencrypted (%w) and %s in TrustedHosts (%w)", trust.ErrUnencryptedNotAllowed, host, trust.ErrNotTrustedHost)
	case !cfg.AllowUnencrypted:
		m.basicWhy = fmt.Errorf("Basic over plain HTTP needs AllowUnencrypted (%w)", trust.ErrUnencryptedNotAllowed)
	default:
		m.basicWhy = fmt.Errorf("Basic over plain HTTP needs %s in TrustedHosts (%w)", host, trust.ErrNotTrustedHost)
	}
	return m, nil
}

// autoMech is Negotiate until the server shows it only knows Basic.
type autoMech struct {
	neg      mechanism
	basic    string // Basic header line, "" when Basic may not be used
	basicWhy error  // why not, when basic is ""

	mu       sync.Mutex
	switched bool // guarded by mu
}

func (m *autoMech) header() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.switched {
		return m.basic
	}
	return ""
}

func (m *autoMech) begin(ctx context.Context, bindings []byte) (handshake, error) {
	return m.neg.begin(ctx, bindings)
}

// switchToBasic is called when a server answered a Negotiate token with
// a 401 that offers Basic and not Negotiate. It switches to Basic, or
// says why it may not.
func (m *autoMech) switchToBasic() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.basic == "" {
		return m.basicWhy
	}
	m.switched = true
	return nil
}
