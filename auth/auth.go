package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"

	"github.com/psremote/psremote/internal/identity"
)

// Sentinel errors. Mechanisms wrap them; the listener maps any error from
// a mechanism to HTTP 401 and never shows the wrapped detail to the client.
var (
	// ErrBadCredentials means the presented credentials are wrong or the
	// account is unknown; the two are never distinguished to clients.
	ErrBadCredentials = errors.New("auth: bad credentials")
	// ErrMalformed means the Authorization header could not be decoded.
	ErrMalformed = errors.New("auth: malformed authorization header")
	// ErrNotPermitted means the scheme may not be used on this transport
	// (for example Basic on HTTP without AllowUnencrypted).
	ErrNotPermitted = errors.New("auth: scheme not permitted on this transport")
)

// PasswordVerifier checks a user name and password against one account
// source. It returns an error wrapping ErrBadCredentials when the pair does
// not match or the user is unknown, and any other error when the source
// itself failed.
type PasswordVerifier interface {
	// Name names the source in logs ("store", "pam").
	Name() string
	// VerifyPassword checks the pair.
	VerifyPassword(ctx context.Context, user, password string) error
}

// Resolver maps an authenticated principal name to the local account whose
// identity the request acts as. source names the account source that
// verified it ("store", "pam", or a mechanism name).
type Resolver func(principal, source string) (identity.User, error)

// Result describes a completed authentication.
type Result struct {
	// Principal is the name the client authenticated as.
	Principal string
	// User is the local identity the request acts as; always Valid.
	User identity.User
	// Mechanism names what authenticated the request: "Basic", "NTLM",
	// "Kerberos", or the certificate scheme.
	Mechanism string
	// Authorize, when set, is a further check the mechanism needs once the
	// request's resource URI is known (certificate mappings restricted to
	// URIs). The service calls it before dispatching; an error means
	// AccessDenied.
	Authorize func(resourceURI string) error
}

// Request is what a mechanism sees of one HTTP request.
type Request struct {
	// Credentials is the Authorization header value after the scheme name
	// and one space.
	Credentials string
	// Secure is true on HTTPS listeners.
	Secure bool
	// TLS is the connection state on HTTPS listeners, nil otherwise.
	TLS *tls.ConnectionState
	// RemoteAddr is the client's address (host:port).
	RemoteAddr string
	// Conn is the security state of the TCP connection the request
	// arrived on. Connection-oriented schemes (Negotiate) keep their
	// context here.
	Conn *ConnState
	// ChannelBindings is the RFC 5929 tls-server-end-point application
	// data of the listener's certificate on HTTPS (see package cbt), nil
	// on HTTP.
	ChannelBindings []byte
	// Gate, when set, must be called with the account name a client
	// claims right before its credential is checked (after cheap syntax
	// checks, before a password hash or a challenge response is
	// verified). It may wait, to slow down password guessing; an error
	// means the attempt must fail without checking the credential.
	Gate func(ctx context.Context, account string) error
}

// Step is the outcome of one authentication leg.
type Step struct {
	// Done reports that authentication finished and Result is valid.
	Done bool
	// Result is set when Done.
	Result Result
	// Reply is a WWW-Authenticate value to send: a continuation token
	// with a 401 when !Done, or a final token alongside the response.
	Reply string
}

// Mechanism is one HTTP authentication scheme (RFC 7235). Implementations
// must be safe for concurrent use.
type Mechanism interface {
	// Scheme returns the scheme name as it appears in headers ("Basic").
	Scheme() string
	// Challenge returns the WWW-Authenticate value to advertise in a 401,
	// and whether the scheme is offered on this transport at all.
	Challenge(secure bool) (string, bool)
	// Accept processes one Authorization header.
	Accept(ctx context.Context, r Request) (Step, error)
}

// Wrapper protects WinRM messages with an established security context
// (MS-WSMV 2.2.9.1). It has the method set of auth/encrypt's Wrapper:
// WrapWinRM returns the security header and the ciphertext of one message,
// UnwrapWinRM reverses it for a message from the peer. Both advance the
// context's per-direction state, so calls must follow the order messages
// travel in.
type Wrapper interface {
	WrapWinRM(plaintext []byte) (header, ciphertext []byte, err error)
	UnwrapWinRM(header, ciphertext []byte) ([]byte, error)
}

// SecurityContext is what a connection-oriented scheme (Negotiate,
// Kerberos, later CredSSP) establishes on a TCP connection. Later requests
// on the connection that carry no Authorization header act as it, as
// WinRM clients expect (pywinrm authenticates once per connection), and
// encrypted bodies are opened and replies sealed with its Wrapper.
type SecurityContext struct {
	// Result is the completed authentication.
	Result Result
	// Wrapper protects messages; nil when the context cannot (NTLM
	// without sealing negotiated).
	Wrapper Wrapper
	// Protocols lists the message-encryption protocols (the protocol
	// parameter of multipart/encrypted, auth/encrypt's Protocol
	// constants) a request may use with Wrapper; the reply uses the
	// request's.
	Protocols []string
}

// AllowsProtocol reports whether an encrypted request may use protocol
// with this context.
func (sc *SecurityContext) AllowsProtocol(protocol string) bool {
	if sc == nil || sc.Wrapper == nil {
		return false
	}
	for _, p := range sc.Protocols {
		if strings.EqualFold(p, protocol) {
			return true
		}
	}
	return false
}

// ConnState is the security state of one TCP connection. Schemes that
// authenticate a connection rather than a request (Negotiate, Kerberos,
// CredSSP) keep their handshake state in it ([ConnState.Value]) and the
// context they establish ([ConnState.Establish]). It is safe for
// concurrent use.
type ConnState struct {
	mu sync.Mutex
	// vals holds per-mechanism handshake state keyed by scheme name.
	vals map[string]any
	// sc is the established context, nil before one completes.
	sc *SecurityContext
}

// Value returns the state a mechanism stored for this connection.
func (c *ConnState) Value(scheme string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vals[scheme]
}

// SetValue stores mechanism state for this connection; nil removes it.
func (c *ConnState) SetValue(scheme string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v == nil {
		delete(c.vals, scheme)
		return
	}
	if c.vals == nil {
		c.vals = make(map[string]any)
	}
	c.vals[scheme] = v
}

// Establish makes sc the connection's security context, replacing any
// earlier one; nil drops it (a new handshake started).
func (c *ConnState) Establish(sc *SecurityContext) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sc = sc
}

// Context returns the connection's established security context, or nil.
func (c *ConnState) Context() *SecurityContext {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sc
}

// Reset drops every mechanism's state and the established context, as
// when a client starts over on the connection (an unauthenticated request
// after authentication: WinRM clients re-authenticate that way).
func (c *ConnState) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals = nil
	c.sc = nil
}
