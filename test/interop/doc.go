// Package interop holds integration tests that drive real, unmodified
// third-party WinRM clients against a running `psremote serve`:
//
//   - pywinrm 0.3.0 (Debian's python3-winrm, run with /usr/bin/python3),
//     transports plaintext (Basic over HTTP), ssl (Basic over HTTPS),
//     certificate, ntlm (sealed on HTTP, channel-bound on HTTPS; MD4 via
//     testdata/openssl-legacy.cnf) and kerberos;
//   - github.com/masterzen/winrm (Go), Basic, NTLM, NTLM with message
//     encryption and Kerberos (gokrb5 SPNEGO), stdin streaming, large
//     output, exit codes, ctrl_c and terminate signals;
//   - winrm-client 0.0.11 (npm, Node 20), Basic and NTLM ("DOMAIN\user");
//   - curl --negotiate (MIT GSS-API SPNEGO with mutual authentication).
//
// TestMain builds cmd/psremote from the repository root, creates a test CA
// and server certificate, a Linux user (psremote-it, in group sudo) with
// the same name in the account store, a loopback MIT Kerberos realm
// (EXAMPLE.TEST: user1, HTTP/localhost and WSMAN/localhost; user1 is mapped
// to psremote-it), and starts two servers with an HTTP and an HTTPS
// listener on 127.0.0.1: the shared one (AllowUnencrypted true, Basic,
// Negotiate, Kerberos, certificates) and a strict one with Windows'
// defaults (AllowUnencrypted false, no Basic) and CbtHardeningLevel Strict.
// Tests of server authentication are in server_auth_*_test.go.
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
