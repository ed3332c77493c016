package ntlm

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them (or,
// for channel binding failures, one of the errors of package cbt); test for
// them with errors.Is. Error texts never contain hashes, keys, responses or
// message bytes.
var (
	// ErrBadCredentials means the response does not verify for the user,
	// or the user is unknown; the two are not distinguished.
	ErrBadCredentials = errors.New("ntlm: bad credentials")
	// ErrMalformed means a message or signature could not be decoded, or a
	// field lies outside its message.
	ErrMalformed = errors.New("ntlm: malformed message")
	// ErrUnsupported means the peer asked for something this package
	// refuses: LM or NTLMv1 responses, anonymous authentication, OEM-only
	// strings on the client side, sealing weaker than 128 bits, or a
	// session-security operation that was not negotiated.
	ErrUnsupported = errors.New("ntlm: unsupported")
	// ErrMIC means the MIC of an AUTHENTICATE message does not match the
	// three handshake messages.
	ErrMIC = errors.New("ntlm: message integrity code (MIC) mismatch")
	// ErrOutOfOrder means a handshake message arrived in the wrong state:
	// a NEGOTIATE after the context completed, an AUTHENTICATE before the
	// NEGOTIATE, or any message after a failure. The caller starts a new
	// context.
	ErrOutOfOrder = errors.New("ntlm: handshake message out of order")
	// ErrSequence means a sealed or signed message carries another
	// sequence number than the one expected (a replayed, dropped or
	// reordered message).
	ErrSequence = errors.New("ntlm: unexpected sequence number")
	// ErrIntegrity means the checksum of a sealed or signed message does
	// not verify (the message or its signature was altered).
	ErrIntegrity = errors.New("ntlm: message signature does not verify")
	// ErrSessionBroken is returned by every [Session] operation after a
	// verification failure: the RC4 state and sequence numbers can no
	// longer be trusted, and the caller must authenticate again.
	ErrSessionBroken = errors.New("ntlm: session unusable after an integrity failure")
)
