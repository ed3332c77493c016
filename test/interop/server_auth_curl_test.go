package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const identifyEnvelope = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`

// TestServerAuthCurlNegotiate: curl --negotiate (MIT GSS-API, SPNEGO
// NegTokenInit with an optimistic Kerberos token, mutual authentication)
// with user1's ticket posts an Identify to the shared server's HTTP
// listener by the name localhost (SPN HTTP/localhost). The reply must be
// 200 with the authenticated Identify (security profiles included) and
// carry the acceptor's final token: an SPNEGO NegTokenResp with the AP-REP,
// which curl verifies.
func TestServerAuthCurlNegotiate(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "MIT Kerberos KDC", s.kdcErr)
	if _, err := exec.LookPath("curl"); err != nil {
		needPeer(t, "curl", err)
	}
	headers := filepath.Join(t.TempDir(), "headers")
	url := strings.Replace(s.httpURL, "127.0.0.1", "localhost", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", "-sS", "--noproxy", "*", "--negotiate", "-u", ":",
		"-D", headers, "-H", "Content-Type: application/soap+xml;charset=UTF-8", "--data-binary", "@-",
		"-w", "\nHTTP %{http_code}", url)
	cmd.Env = s.kdc.environ()
	cmd.Stdin = strings.NewReader(identifyEnvelope)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl: %v\n%s\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	out := stdout.String()
	if !strings.HasSuffix(out, "\nHTTP 200") || !strings.Contains(out, "ProductVendor>psremote<") ||
		!strings.Contains(out, "secprofile/http/spnego-kerberos") {
		t.Fatalf("curl output:\n%s\nstderr: %s", out, stderr.Bytes())
	}

	// The last response's WWW-Authenticate carries the mutual
	// authentication token.
	data, err := os.ReadFile(headers)
	if err != nil {
		t.Fatal(err)
	}
	var status, final string
	var statuses []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "HTTP/") {
			status, final = line, ""
			statuses = append(statuses, line)
		}
		// Exactly as Windows spells it.
		if v, ok := strings.CutPrefix(line, "WWW-Authenticate: "); ok {
			final = v
		}
	}
	// curl may send its token at once or only after a 401.
	if n := len(statuses); n == 0 || n > 2 || !strings.Contains(status, " 200") || (n == 2 && !strings.Contains(statuses[0], " 401")) {
		t.Fatalf("responses %q; want a 200, possibly after a 401", statuses)
	}
	tok, ok := strings.CutPrefix(final, "Negotiate ")
	if !ok {
		t.Fatalf("200 reply WWW-Authenticate = %q; want a Negotiate token\n%s", final, data)
	}
	b, err := base64.StdEncoding.DecodeString(tok)
	// NegTokenResp ([1]) whose negState is accept-completed (a0 03 0a 01 00).
	if err != nil || len(b) < 8 || b[0] != 0xa1 || !bytes.Contains(b, []byte{0xa0, 0x03, 0x0a, 0x01, 0x00}) {
		t.Errorf("final token %x (%v); want an SPNEGO NegTokenResp accept-completed", b, err)
	}
}
