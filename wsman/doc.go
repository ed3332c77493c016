// Package wsman is the SOAP / WS-Management codec: it parses request
// envelopes by namespace URI under strict input bounds, decodes the WinRS
// shell message bodies, and encodes replies and faults in the shape a
// Windows WinRM service sends. It knows nothing of HTTP, authentication or
// shells' behaviour.
//
// References:
//   - [MS-WSMV] 2.2.4 (message types), 3.1.4.1 (common header processing),
//     3.1.4.1.23 (Identify), 3.1.4.5-3.1.4.16 (shell operations), 4.7
//     (remote shell examples, used as golden vectors).
//   - DSP0226 (WS-Management) and SOAP 1.2 for the envelope and faults.
//   - winrm-protocol.md sections 2, 4 and 7 for Windows-observed shapes.
package wsman
