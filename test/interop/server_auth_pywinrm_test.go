package interop

import (
	"path/filepath"
	"strings"
	"testing"
)

// opensslLegacy enables MD4 (OpenSSL 3 disables it) for pywinrm's NTLM.
func opensslLegacy(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "openssl-legacy.cnf"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkPyCases compares pywinrm's results with the cases.
func checkPyCases(t *testing.T, results []pyResult, cases []pyCase) {
	t.Helper()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			if r.Error != "" {
				t.Fatalf("run_cmd(%q, %q) raised:\n%s", c.command, c.args, r.Error)
			}
			if string(r.StdOut) != c.wantOut {
				t.Errorf("std_out = %q; want %q", r.StdOut, c.wantOut)
			}
			if string(r.StdErr) != c.wantErr {
				t.Errorf("std_err = %q; want %q", r.StdErr, c.wantErr)
			}
			if r.StatusCode != c.wantCode {
				t.Errorf("status_code = %d; want %d", r.StatusCode, c.wantCode)
			}
		})
	}
}

// TestServerAuthPywinrmNTLM drives pywinrm's ntlm transport (requests-ntlm,
// raw NTLMSSP in the Negotiate scheme) against the strict server, which
// has Windows' defaults: on HTTP pywinrm must seal every message
// (message_encryption 'auto'), since a plaintext body would be refused;
// on HTTPS it must bind the login to the TLS channel, since
// CbtHardeningLevel is Strict.
func TestServerAuthPywinrmNTLM(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "pywinrm", checkPywinrm())
	ossl := map[string]string{"OPENSSL_CONF": opensslLegacy(t)}
	tests := []struct {
		name, endpoint, ca, user string
	}{
		{"http-sealed", s.strict.httpURL, "", testUser},
		{"https-cbt-strict", s.strict.httpsURL, s.caFile, `WORKGROUP\` + testUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			results := runPywinrm(t, s, "ntlm", tt.endpoint, tt.ca, pyCases, ossl, map[string]string{"WINRM_USER": tt.user})
			checkPyCases(t, results, pyCases)
		})
	}
	t.Run("wrong-password", func(t *testing.T) {
		t.Parallel()
		results := runPywinrm(t, s, "ntlm", s.strict.httpURL, "", pyCases[:1], ossl, map[string]string{"WINRM_PASSWORD": s.password + "x"})
		if !strings.Contains(results[0].Error, "InvalidCredentialsError") {
			t.Errorf("wrong password: %+v; want InvalidCredentialsError (HTTP 401)", results[0])
		}
	})
	// Without channel bindings, Strict refuses the login.
	t.Run("https-no-cbt", func(t *testing.T) {
		t.Parallel()
		results := runPywinrm(t, s, "ntlm", s.strict.httpsURL, s.caFile, pyCases[:1], ossl, map[string]string{"WINRM_SEND_CBT": "false"})
		if !strings.Contains(results[0].Error, "InvalidCredentialsError") {
			t.Errorf("no channel bindings under Strict: %+v; want InvalidCredentialsError (HTTP 401)", results[0])
		}
	})
	// pywinrm told not to encrypt on HTTP: the strict server refuses the
	// plaintext body with HTTP 500, as Windows does.
	t.Run("plaintext-refused", func(t *testing.T) {
		t.Parallel()
		results := runPywinrm(t, s, "ntlm", s.strict.httpURL, "", pyCases[:1], ossl, map[string]string{"WINRM_MESSAGE_ENCRYPTION": "never"})
		if !strings.Contains(results[0].Error, "Code 500") {
			t.Errorf("plaintext with AllowUnencrypted false: %+v; want WinRMTransportError code 500", results[0])
		}
	})
}

// TestServerAuthPywinrmKerberos drives pywinrm's kerberos transport
// (requests-kerberos over pykerberos: a raw Kerberos token in the
// Negotiate scheme, mutual authentication required, so the server must
// return its AP-REP) with user1's ticket from the loopback realm, which
// the server maps to the test user. Debian's pykerberos cannot wrap, so
// the body goes in clear (HTTP needs AllowUnencrypted true), and it sends
// no channel bindings (pykerberos has no channelBindings), so HTTPS works
// only under CbtHardeningLevel Relaxed: both against the shared server.
func TestServerAuthPywinrmKerberos(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "pywinrm", checkPywinrm())
	needPeer(t, "MIT Kerberos KDC", s.kdcErr)
	localhost := func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }
	tests := []struct {
		name, endpoint, ca string
	}{
		{"http", localhost(s.httpURL), ""},
		{"https", localhost(s.httpsURL), s.caFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := mergeEnv(s.kdc.env(), map[string]string{"WINRM_USER": kdcUser + "@" + kdcRealm, "WINRM_PASSWORD": ""})
			cases := append(pyCases[:len(pyCases):len(pyCases)], pyCase{name: "whoami", command: "id -un", wantOut: testUser + "\n"})
			results := runPywinrm(t, s, "kerberos", tt.endpoint, tt.ca, cases, env)
			checkPyCases(t, results, cases)
		})
	}
}
