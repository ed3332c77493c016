// Package proc is the process host: the only code in psremote that starts
// processes. Each child runs in a new session and process group under the
// exact uid, gid and supplementary groups of its identity (when the server
// runs as root), with a login-like environment built from nothing, and
// with no descriptor of the server except its three pipes. Signals go to
// the whole group; [Host.Close] kills every group and reaps every child.
//
// It implements no wire protocol; it serves the WinRS semantics of
// [MS-WSMV] 3.1.4.11 (Command) and 3.1.4.15 (Signal).
package proc
