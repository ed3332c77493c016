//go:build spnegogen

package spnego

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/psremote/psremote/internal/testkdc"
)

// TestGenerateMIT rewrites testdata/mit.txt with real SPNEGO exchanges
// between MIT krb5 initiator and acceptor contexts (python3-gssapi):
// Kerberos through a throwaway KDC and, with the Debian package
// gss-ntlmssp, NTLM. The tokens differ on every run (keys, nonces,
// timestamps); the tests only need them to be real. Run with
//
//	go test -tags spnegogen -run TestGenerateMIT ./auth/spnego
//
// It needs krb5-kdc, krb5-admin-server, krb5-user, python3-gssapi and
// gss-ntlmssp. The NTLM mechanism is enabled through a private
// GSS_MECH_CONFIG; /etc/gss/mech.d need not (and should not) list it.
func TestGenerateMIT(t *testing.T) {
	const ntlmSO = "/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so"
	if _, err := os.Stat(ntlmSO); err != nil {
		t.Skip("gss-ntlmssp not installed")
	}
	kdc := testkdc.Start(t)
	dir := t.TempDir()
	mech := filepath.Join(dir, "mech")
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(mech, []byte("gssntlmssp_v1 1.3.6.1.4.1.311.2.2.10 "+ntlmSO+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(users, []byte("EXAMPLE:user1:Passw0rd-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, which string) []byte {
		cmd := exec.CommandContext(t.Context(), "/usr/bin/python3", "testdata/gen_mit.py", which)
		cmd.Env = append(env, "GSS_MECH_CONFIG="+mech, "NTLM_USER_FILE="+users,
			"GEN_NTLM_USER=EXAMPLE\\user1", "GEN_NTLM_PASSWORD=Passw0rd-1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gen_mit.py %s: %v\n%s", which, err, stderr.String())
		}
		return out
	}
	var noKDC []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") {
			noKDC = append(noKDC, kv)
		}
	}
	noKDC = append(noKDC, "KRB5_CONFIG=/dev/null", "KRB5_KTNAME=FILE:"+filepath.Join(dir, "none.keytab"),
		"KRB5CCNAME=FILE:"+filepath.Join(dir, "none.ccache"))

	var buf bytes.Buffer
	buf.WriteString("# Real SPNEGO exchanges recorded from MIT krb5 1.20 (python3-gssapi) with\n" +
		"# gss-ntlmssp 1.2 by gen_test.go (go test -tags spnegogen -run TestGenerateMIT).\n" +
		"# Format: name kind hex.\n")
	buf.Write(run(kdc.Environ(), "krb5"))
	buf.Write(run(noKDC, "ntlm"))
	if err := os.WriteFile("testdata/mit.txt", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote testdata/mit.txt:\n%s", buf.String())
}
