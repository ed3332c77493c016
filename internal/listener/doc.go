// Package listener is the HTTP layer of the server: HTTP and HTTPS
// listeners with a URL prefix, request bounds (HTTP 413 above
// MaxEnvelopeSizekb before any parsing, a body deadline of
// MaxPacketRetrievalTimeSeconds), the 401 challenge listing every enabled
// scheme, anonymous Identify, and certificates (files, SHA-1 thumbprint
// lookup, a generated self-signed default).
//
// Authentication belongs to the TCP connection for connection-oriented
// schemes (Negotiate, Kerberos): each connection has an auth.ConnState,
// and a request without Authorization acts as the connection's security
// context. The rules real clients depend on (test-peers.md):
//
//   - an unauthenticated empty POST gets 401 and drops the connection's
//     context, even when it is authenticated (pywinrm's and masterzen's
//     message-encryption set-up);
//   - an authenticated empty POST that completes a handshake gets an empty
//     200;
//   - a multipart/encrypted body is opened with the connection's context
//     (auth/encrypt, bounded by MaxEnvelopeSizekb) and the reply sealed
//     with the same protocol; without a context the request gets 401; a
//     body that does not open (tampered, replayed, out of order, wrong
//     Length) gets 400 and ends the context and the connection;
//   - with Service AllowUnencrypted false, a plaintext request on HTTP
//     authenticated by a connection context gets an empty HTTP 500 and is
//     not processed, as Windows answers (pywinrm issue 129, winrm4j issue
//     151); HTTPS never needs message encryption;
//   - continuation legs carry only their scheme's WWW-Authenticate token;
//     the final token (Kerberos AP-REP, SPNEGO accept-completed) travels
//     with the response.
//
// References:
//   - [MS-WSMV] 2.2.4.19 (ListenerType), 2.2.9.1 (encrypted messages),
//     3.1.4.1.20 (inbound message size), 3.1.4.1.23 (anonymous Identify),
//     3.1.4.1.29.1 (AllowUnencrypted), 3.1.5.2 (packet retrieval).
//   - RFC 4559 (Negotiate over HTTP), RFC 7235 (challenges).
//   - winrm-protocol.md sections 1 and 9.
package listener
