// Package client is a WinRM client library: it runs commands on a host
// running psremote or Windows WinRM through WinRS command shells, with an
// API shaped like os/exec.
//
//	c, _ := client.New(client.Config{
//		Endpoint: "https://host:5986/wsman",
//		Auth:     client.Negotiate(`CORP\me`, password, client.KerberosOptions{}),
//	})
//	sh, _ := c.CreateShell(ctx, client.ShellOptions{})
//	defer sh.Close(ctx)
//	out, err := sh.Command("uname", "-a").Output(ctx)
//
// Timeouts: Config.ConnectTimeout bounds connecting; Config.OperationTimeout
// is the per-Receive long-poll the server may hold (a TimedOut fault just
// polls again), and every HTTP exchange is bounded by it plus
// Config.NetworkDelay, so a vanished host is reported, never waited on
// forever; the context passed to Start/Run is the overall command deadline.
//
// # Authentication
//
// Config.Auth chooses the method: [Basic], [NTLM], [Kerberos],
// [Negotiate] (Kerberos, else NTLM: Windows' default), [Certificate], or
// [Auto] (Negotiate, or Basic for servers that offer only Basic).
// NTLM, Kerberos and Negotiate authenticate each TCP connection once with
// "Authorization: Negotiate" tokens (raw NTLMSSP or raw Kerberos GSS
// tokens, as pywinrm sends them; SPNEGO replies are understood) and later
// requests on the connection carry no credentials; a 401 on an
// authenticated connection means the server dropped the context, and the
// request is sent once more on a new connection after a new handshake.
//
// On plain HTTP those mechanisms seal every message (MS-WSMV 2.2.9.1,
// protocol application/HTTP-SPNEGO-session-encrypted); a reply that is not
// sealed, or does not verify, is an error. The handshake runs on empty
// POSTs first, as pywinrm's encryption set-up does. On HTTPS there is no
// message encryption: the handshake carries channel bindings (RFC 5929
// tls-server-end-point of the certificate the connection saw) in NTLM's
// MsvAvChannelBindings or the Kerberos authenticator checksum, and NTLM's
// last leg carries the first request.
//
// Kerberos requires mutual authentication: the AP-REP in the server's
// final WWW-Authenticate must verify. It proves the server, so it goes to
// any host. NTLM does not, so over plain HTTP it goes only to hosts in
// Config.TrustedHosts, as with Windows' TrustedHosts; refusals are
// [*UntrustedHostError] values. Secrets never appear in errors.
//
// References: [MS-WSMV] 3.1.4.5-3.1.4.16 (shell operations, client side),
// 3.2.4.1 (client timers), 2.2.9.1 (message encryption); [MS-NLMP]
// (NTLMv2, through package auth/ntlm); RFC 4120, RFC 4121 (Kerberos,
// through package auth/kerberos); RFC 4559 (HTTP Negotiate); RFC 5929
// (channel bindings); winrm-protocol.md sections 4, 7 and 9.
package client
