// Package service is the WS-Management service layer: it decodes request
// envelopes (package wsman), applies header rules and authorization,
// routes each (Action, ResourceURI) pair to the shell engine (package
// shell) and encodes replies and Windows-shaped faults. It sees requests
// as bytes plus an authenticated identity; HTTP belongs to package
// listener.
//
// References:
//   - [MS-WSMV] 3.1.4.1 (common processing rules), 3.1.4.1.23 (Identify),
//     3.1.4.2.1 and 3.1.4.8-3.1.4.10 (Get, Enumerate, Pull, Release of
//     shells), 3.1.4.5-3.1.4.16 (shell operations).
//   - winrm-protocol.md sections 2, 4, 7 and 11.
package service
