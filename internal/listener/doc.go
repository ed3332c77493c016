// Package listener is the HTTP layer of the server: HTTP and HTTPS
// listeners with a URL prefix, request bounds (HTTP 413 above
// MaxEnvelopeSizekb before any parsing, a body deadline of
// MaxPacketRetrievalTimeSeconds), the 401 challenge listing every enabled
// scheme, per-connection security state for connection-oriented schemes,
// anonymous Identify, and certificates (files, SHA-1 thumbprint lookup,
// a generated self-signed default).
//
// References:
//   - [MS-WSMV] 2.2.4.19 (ListenerType), 3.1.4.1.20 (inbound message
//     size), 3.1.4.1.23 (anonymous Identify), 3.1.5.2 (packet retrieval).
//   - winrm-protocol.md sections 1 and 9.1.
package listener
