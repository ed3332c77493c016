// Package interop holds integration tests that drive real, unmodified
// third-party WinRM clients against a running `psremote serve`:
//
//   - pywinrm 0.3.0 (Debian's python3-winrm, run with /usr/bin/python3),
//     transports plaintext (Basic over HTTP) and ssl (Basic over HTTPS);
//   - github.com/masterzen/winrm (Go), Basic over HTTP and HTTPS, stdin
//     streaming, large output, exit codes, ctrl_c and terminate signals;
//   - winrm-client 0.0.11 (npm, Node 20), Basic over HTTP.
//
// TestMain builds cmd/psremote from the repository root, creates a test CA
// and server certificate, a Linux user (psremote-it, in group sudo) with
// the same name in the account store, and starts one shared server with an
// HTTP and an HTTPS listener on 127.0.0.1.
//
// The package needs root (to create the user and run commands as it). It
// skips when not root or when a peer is missing, unless CI=true or
// PSREMOTE_INTEROP=1, in which case it fails instead, so CI cannot pass
// without running the peers. PSREMOTE_BIN=/path/to/psremote tests a
// prebuilt binary instead of building one. This is a separate module so
// the product never depends on the clients.
//
// Run: cd test/interop && go test -count=1 ./...   (as root)
package interop
