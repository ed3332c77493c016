// Package shell is the WinRS command-shell engine: shells owned by an
// authenticated principal, their commands, bounded output buffers with
// pipe back-pressure, Receive long-polls whose output is consumed only
// once the reply was delivered, signals, quotas and the idle timer. It
// knows nothing of HTTP or SOAP; processes are started through the
// process host (package proc).
//
// References:
//   - [MS-WSMV] 3.1.4.5.2 (Create shell), 3.1.4.11 (Command), 3.1.4.13
//     (Send), 3.1.4.14 (Receive), 3.1.4.15 (Signal), 3.1.4.4.1 (Delete),
//     3.1.5.3 (Shell Idle Timeout Timer), 2.2.4.42 (Winrs quotas).
//   - winrm-protocol.md sections 4 and 11 (Windows behaviour).
package shell
