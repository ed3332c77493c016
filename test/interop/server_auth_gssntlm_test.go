package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	gssNTLMOnce sync.Once
	gssNTLMErr  error
)

// checkGSSNTLM finds python3-gssapi and the gss-ntlmssp mechanism.
func checkGSSNTLM() error {
	gssNTLMOnce.Do(func() {
		// gss-ntlmssp registers NTLMSSP's OID with MIT GSS-API here.
		confs, _ := filepath.Glob("/etc/gss/mech.d/*")
		found := false
		for _, c := range confs {
			if b, err := os.ReadFile(c); err == nil && bytes.Contains(b, []byte("1.3.6.1.4.1.311.2.2.10")) {
				found = true
			}
		}
		if !found {
			gssNTLMErr = errors.New("gss-ntlmssp is not installed (apt-get install gss-ntlmssp)")
			return
		}
		if out, err := exec.Command(pythonBin, "-c", "import gssapi, gssapi.raw; gssapi.raw.set_neg_mechs").CombinedOutput(); err != nil {
			gssNTLMErr = fmt.Errorf("%s cannot import gssapi (apt-get install python3-gssapi): %v: %s", pythonBin, err, out)
		}
	})
	return gssNTLMErr
}

// TestServerAuthSPNEGONTLM drives MIT GSS-API's SPNEGO with the
// gss-ntlmssp mechanism (testdata/gss_spnego_ntlm.py) against the strict
// server's HTTP listener: the SPNEGO-wrapped NTLM of Windows clients, with
// mechListMICs both ways (MIT verifies the server's before it calls the
// context complete) and sealed messages after the NTLM RC4 reset of
// MS-SPNG 3.1.5.1.
func TestServerAuthSPNEGONTLM(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "python3-gssapi with gss-ntlmssp", checkGSSNTLM())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonBin, "testdata/gss_spnego_ntlm.py", testUser, s.password, s.strict.httpURL)
	cmd.Env = pyEnv(map[string]string{"KRB5CCNAME": "FILE:/nonexistent", "KRB5_CONFIG": "/dev/null"})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gss_spnego_ntlm.py: %v\nstdout: %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	var out struct {
		Legs     [][2]any `json:"legs"`
		Complete bool     `json:"complete"`
		Replies  []struct {
			Status      int    `json:"status"`
			ContentType string `json:"content_type"`
			Body        string `json:"body"`
		} `json:"replies"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("bad output %q: %v", stdout.Bytes(), err)
	}
	if !out.Complete || len(out.Legs) != 2 {
		t.Fatalf("handshake: complete %v, legs %v; want two legs, complete", out.Complete, out.Legs)
	}
	if st, _ := out.Legs[0][0].(float64); st != 401 {
		t.Errorf("first leg status %v; want 401", out.Legs[0][0])
	}
	// The final token: NegTokenResp accept-completed with a 16-byte
	// mechListMIC ([3] OCTET STRING).
	final, _ := out.Legs[1][1].(string)
	tok, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(final, "Negotiate "))
	if st, _ := out.Legs[1][0].(float64); st != 200 || err != nil ||
		!bytes.Contains(tok, []byte{0xa0, 0x03, 0x0a, 0x01, 0x00}) || !bytes.Contains(tok, []byte{0xa3, 0x12, 0x04, 0x10}) {
		t.Errorf("final leg %v; want 200 with accept-completed and a mechListMIC", out.Legs[1])
	}
	if len(out.Replies) != 3 {
		t.Fatalf("replies: %+v", out.Replies)
	}
	for i, r := range out.Replies {
		if r.Status != 200 || !strings.HasPrefix(r.ContentType, "multipart/encrypted;") ||
			!strings.Contains(r.Body, "ProductVendor>psremote<") || !strings.Contains(r.Body, "secprofile/http/spnego-kerberos") {
			t.Errorf("sealed Identify %d: %+v", i, r)
		}
	}
}
