package auth

import (
	"context"
	"crypto/tls"
	"errors"
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
	// Mechanism names the scheme that succeeded ("Basic").
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

// ConnState is the security state of one TCP connection. Schemes that
// authenticate a connection rather than a request (Negotiate, Kerberos,
// CredSSP) keep their context in it. It is safe for concurrent use.
type ConnState struct {
	mu sync.Mutex
	// vals holds per-mechanism state keyed by scheme name.
	vals map[string]any
}

// Value returns the state a mechanism stored for this connection.
func (c *ConnState) Value(scheme string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vals[scheme]
}

// SetValue stores mechanism state for this connection.
func (c *ConnState) SetValue(scheme string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.vals == nil {
		c.vals = make(map[string]any)
	}
	c.vals[scheme] = v
}

// Reset drops every mechanism's state, as when a client starts a new
// handshake on the connection.
func (c *ConnState) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals = nil
}
