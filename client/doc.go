// Package client is a WinRM client library: it runs commands on a host
// running psremote or Windows WinRM through WinRS command shells, with an
// API shaped like os/exec.
//
//	c, _ := client.New(client.Config{Endpoint: "https://host:5986/wsman", Username: "u", Password: "p"})
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
// References: [MS-WSMV] 3.1.4.5-3.1.4.16 (shell operations, client side),
// 3.2.4.1 (client timers); winrm-protocol.md sections 4 and 7.
package client
