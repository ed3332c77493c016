package kerberos

import "errors"

// Errors returned by this package. Callers map all of them to an HTTP 401;
// the wrapped detail is for logs and never contains key material.
var (
	// ErrBadTicket means the AP-REQ is malformed, its ticket does not
	// decrypt with the keytab key, is expired or not yet valid, or its
	// authenticator does not decrypt or names another client.
	ErrBadTicket = errors.New("kerberos: invalid ticket or authenticator")
	// ErrMalformed marks tokens that could not be parsed at all
	// (truncated, wrong framing, wrong token ID). Accept wraps it
	// together with ErrBadTicket.
	ErrMalformed = errors.New("kerberos: malformed token")
	// ErrClockSkew means the authenticator's time is further from the
	// acceptor's clock than the allowed skew.
	ErrClockSkew = errors.New("kerberos: clock skew too great")
	// ErrReplay means the authenticator was seen before (or the replay
	// cache is full and cannot prove it was not).
	ErrReplay = errors.New("kerberos: authenticator replayed")
	// ErrNoKey means the keytab holds no key for the ticket's service
	// principal, key version or encryption type, or the service name is
	// not an accepted one.
	ErrNoKey = errors.New("kerberos: no keytab key for the ticket's service principal")
	// ErrUnsupported means the peer asked for something this package does
	// not implement (user-to-user, DCE style, message protection with an
	// RC4 or DES session key).
	ErrUnsupported = errors.New("kerberos: unsupported")
	// ErrIntegrity means a wrap token failed its integrity check, was sent
	// in the wrong direction or was not sealed.
	ErrIntegrity = errors.New("kerberos: message integrity check failed")
	// ErrSequence means a wrap token carried a sequence number other than
	// the next expected one (a replayed, lost or reordered message).
	ErrSequence = errors.New("kerberos: message out of sequence")
	// ErrMutualAuth means the acceptor's AP-REP did not prove knowledge of
	// the session key (initiator side).
	ErrMutualAuth = errors.New("kerberos: mutual authentication failed")
	// ErrRejected means the acceptor answered with a KRB-ERROR (initiator
	// side); the error text names the Kerberos error code.
	ErrRejected = errors.New("kerberos: rejected by the acceptor")
	// ErrUnmapped means a principal has no local user (PrincipalMap).
	ErrUnmapped = errors.New("kerberos: principal maps to no local user")
)
