package listener

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/throttle"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
)

type fakeSource struct{}

func (fakeSource) Name() string { return "fake" }
func (fakeSource) VerifyPassword(_ context.Context, user, password string) error {
	if user == "alice" && password == "right" {
		return nil
	}
	return auth.ErrBadCredentials
}

type testServer struct {
	http, https string
	cert        *x509.Certificate
	client      *http.Client
}

func startServer(t *testing.T, allowUnencrypted bool) *testServer {
	t.Helper()
	return startServerWith(t, allowUnencrypted, nil)
}

func startServerWith(t *testing.T, allowUnencrypted bool, lim *throttle.Limiter) *testServer {
	t.Helper()
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.NewHost(self)
	eng := shell.New(shell.Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20}, host)
	svc := service.New(service.Config{Machine: "m", MaxEnvelopeSize: 16 << 10, MaxTimeout: 2 * time.Second,
		ServerUser: self, ProductVendor: "psremote", ProductVersion: "OS: 1.0.0 SP: 0.0 Stack: 3.0",
		SecurityProfiles: func(secure bool) []string { return []string{"p"} }}, eng)
	basic := auth.NewBasic(auth.BasicConfig{Sources: []auth.PasswordVerifier{fakeSource{}},
		Resolve:          func(string, string) (identity.User, error) { return self, nil },
		AllowUnencrypted: allowUnencrypted})
	cert, err := SelfSigned(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Endpoints: []Endpoint{
		{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"},
		{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: &cert},
	}, Mechanisms: []auth.Mechanism{basic}, MaxEnvelopeSize: 16 << 10, MaxPacketRetrieval: time.Second, Service: svc,
		Limiter: lim, AllowUnencrypted: allowUnencrypted})
	bound, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		eng.Close(ctx)
		host.Close(ctx)
	})
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &testServer{http: bound[0].URL, https: bound[1].URL, cert: leaf,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

const identifyBody = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`

func (ts *testServer) post(t *testing.T, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestUnauthenticatedGets401WithChallenges(t *testing.T) {
	ts := startServer(t, false)
	resp, body := ts.post(t, ts.https, identifyBody[:10], nil)
	if resp.StatusCode != 401 || body != "" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if got := resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != `Basic realm="WSMAN"` {
		t.Errorf("challenges %q", got)
	}
	// Plain HTTP without AllowUnencrypted: Basic is neither offered nor accepted.
	resp, _ = ts.post(t, ts.http, identifyBody, map[string]string{"Authorization": basicHdr("alice", "right")})
	if resp.StatusCode != 401 || len(resp.Header.Values("WWW-Authenticate")) != 0 {
		t.Errorf("basic over http: status %d challenges %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	resp, _ = ts.post(t, ts.https, identifyBody, map[string]string{"Authorization": basicHdr("alice", "wrong")})
	if resp.StatusCode != 401 {
		t.Errorf("wrong password: status %d", resp.StatusCode)
	}
	resp, body = ts.post(t, ts.https, identifyBody, map[string]string{"Authorization": basicHdr("alice", "right")})
	if resp.StatusCode != 200 || !strings.Contains(body, "OS: 1.0.0") {
		t.Errorf("right password: status %d %s", resp.StatusCode, body)
	}
}

func basicHdr(u, p string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(u, p)
	return req.Header.Get("Authorization")
}

func TestAnonymousIdentify(t *testing.T) {
	ts := startServer(t, false)
	for _, tc := range []struct {
		url string
		hdr map[string]string
	}{
		{ts.http, map[string]string{"WSMANIDENTIFY": "unauthenticated"}},
		{ts.https, map[string]string{"WSMANIDENTIFY": "unauthenticated"}},
		{strings.Replace(ts.http, "/wsman", "/wsman-anon/identify", 1), nil},
	} {
		resp, body := ts.post(t, tc.url, identifyBody, tc.hdr)
		if resp.StatusCode != 200 || !strings.Contains(body, "OS: 0.0.0 SP: 0.0 Stack: 3.0") || strings.Contains(body, "SecurityProfiles") {
			t.Errorf("%s: status %d %s", tc.url, resp.StatusCode, body)
		}
	}
	// The header does not open anything but Identify.
	resp, _ := ts.post(t, ts.http, strings.Replace(identifyBody, "Identify/", "Other/", 1), map[string]string{"WSMANIDENTIFY": "unauthenticated"})
	if resp.StatusCode != 401 {
		t.Errorf("non-identify with header: %d", resp.StatusCode)
	}
}

func TestHTTPErrors(t *testing.T) {
	ts := startServer(t, true)
	auth := map[string]string{"Authorization": basicHdr("alice", "right")}
	resp, _ := ts.post(t, ts.http, strings.Repeat("x", 17<<10), auth)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", resp.StatusCode)
	}
	// Oversized chunked body (no Content-Length) is cut off too.
	req, _ := http.NewRequest(http.MethodPost, ts.http, io.MultiReader(strings.NewReader(strings.Repeat("x", 20<<10))))
	req.Header.Set("Authorization", auth["Authorization"])
	r2, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked: %d", r2.StatusCode)
	}
	g, err := ts.client.Get(ts.http)
	if err != nil {
		t.Fatal(err)
	}
	g.Body.Close()
	if g.StatusCode != http.StatusMethodNotAllowed || g.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d allow %q", g.StatusCode, g.Header.Get("Allow"))
	}
	resp, _ = ts.post(t, strings.Replace(ts.http, "/wsman", "/other", 1), identifyBody, auth)
	if resp.StatusCode != 404 {
		t.Errorf("other path: %d", resp.StatusCode)
	}
	// An authenticated empty POST is accepted with an empty 200.
	resp, body := ts.post(t, ts.http, "", auth)
	if resp.StatusCode != 200 || body != "" {
		t.Errorf("empty post: %d %q", resp.StatusCode, body)
	}
}

func TestSlowBodyIsCutOff(t *testing.T) {
	ts := startServer(t, true)
	addr := strings.TrimPrefix(strings.TrimSuffix(ts.http, "/wsman"), "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nAuthorization: "+basicHdr("alice", "right")+"\r\n\r\nabc")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := io.ReadAll(io.LimitReader(c, 12))
	if err != nil || !bytes.HasPrefix(line, []byte("HTTP/1.1 500")) {
		t.Errorf("got %q %v; want a 500 once MaxPacketRetrieval passed", line, err)
	}
}

func TestThumbprintLookup(t *testing.T) {
	dir := t.TempDir()
	cert, err := SelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	os.MkdirAll(certs, 0o700)
	pemData, _ := os.ReadFile(filepath.Join(dir, "tls", "selfsigned.pem"))
	keyData, _ := os.ReadFile(filepath.Join(dir, "tls", "selfsigned.key"))
	os.WriteFile(filepath.Join(certs, "server.pem"), pemData, 0o644)
	os.WriteFile(filepath.Join(certs, "server.key"), keyData, 0o600)
	tp := Thumbprint(cert.Certificate[0])
	lower := strings.ToLower(tp[:4]) + " " + tp[4:]
	got, err := FindByThumbprint(certs, lower)
	if err != nil {
		t.Fatal(err)
	}
	if Thumbprint(got.Certificate[0]) != tp {
		t.Error("wrong certificate")
	}
	if _, err := FindByThumbprint(certs, strings.Repeat("0", 40)); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("missing thumbprint: %v", err)
	}
	// The self-signed certificate is generated once and kept.
	again, _ := SelfSigned(dir)
	if Thumbprint(again.Certificate[0]) != tp {
		t.Error("self-signed certificate was regenerated")
	}
	if st, _ := os.Stat(filepath.Join(dir, "tls", "selfsigned.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
}

// TestFailedLoginsAreThrottled: failed Basic logins are counted against
// the client address and the account they claimed, a success clears
// them, and another account from the same address is not affected more
// than the address itself.
func TestFailedLoginsAreThrottled(t *testing.T) {
	now := time.Unix(1e9, 0)
	lim := throttle.New(throttle.Config{Free: 2, Base: time.Millisecond, Max: 5 * time.Millisecond, Now: func() time.Time { return now }})
	ts := startServerWith(t, false, lim)
	basic := func(user, pw string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))}
	}
	lo := netip.MustParseAddr("127.0.0.1")
	other := netip.MustParseAddr("192.0.2.7")
	for range 5 {
		resp, _ := ts.post(t, ts.https, identifyBody, basic("alice", "wrong"))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: status %d", resp.StatusCode)
		}
	}
	if d := lim.Delay(lo, "alice"); d <= 0 {
		t.Fatalf("after 5 failures from 127.0.0.1 alice's delay is %v; want > 0", d)
	}
	if d := lim.Delay(other, "bob"); d != 0 {
		t.Errorf("an unrelated address and account got delay %v", d)
	}
	// The right password still gets in (after the delay) and forgives.
	resp, _ := ts.post(t, ts.https, identifyBody, basic("alice", "right"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("right password: status %d", resp.StatusCode)
	}
	if d := lim.Delay(lo, "alice"); d >= 5*time.Millisecond {
		t.Errorf("after a success the delay is still %v", d)
	}
}
