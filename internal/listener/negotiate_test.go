package listener

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/encrypt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/negotiate"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
)

// negOpts configures a test server with the Negotiate scheme.
type negOpts struct {
	allowUnencrypted bool
	policy           cbt.Policy
	kerberos         bool // add a Kerberos acceptor (an in-memory keytab)
	basic            bool
	logs             io.Writer // server log; nil discards it
}

// negServer is a listener with Negotiate (NTLM over a fake store holding
// alice/right) and the real service behind it.
type negServer struct {
	http, https string
	tls         *tls.Config
	cbt         []byte // channel-binding application data of the HTTPS certificate
}

func startNegotiate(t *testing.T, o negOpts) *negServer {
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
	resolve := func(string, string) (identity.User, error) { return self, nil }
	cfg := negotiate.Config{
		NTLMSources: []negotiate.NTLMSource{negotiate.StoreSource(func(_ context.Context, name string) ([16]byte, string, error) {
			if name != "alice" {
				return [16]byte{}, "", auth.ErrBadCredentials
			}
			return ntlm.NTHash("right"), "alice", nil
		})},
		CBT:     o.policy,
		Resolve: resolve,
	}
	if o.kerberos {
		kt := keytab.New()
		if err := kt.AddEntry("HTTP/localhost", "EXAMPLE.TEST", "pw", time.Unix(0, 0), 1, etypeID.AES128_CTS_HMAC_SHA1_96); err != nil {
			t.Fatal(err)
		}
		acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{Keytab: kt})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Kerberos, cfg.PrincipalMap = acc, kerberos.NewPrincipalMap("EXAMPLE.TEST", nil)
	}
	neg, err := negotiate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mechs := []auth.Mechanism{neg}
	if k := neg.KerberosScheme(); k != nil {
		mechs = append(mechs, k)
	}
	if o.basic {
		mechs = append(mechs, auth.NewBasic(auth.BasicConfig{Sources: []auth.PasswordVerifier{fakeSource{}},
			Resolve: resolve, AllowUnencrypted: o.allowUnencrypted}))
	}
	cert, err := SelfSigned(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if o.logs == nil {
		o.logs = io.Discard
	}
	srv := New(Config{Endpoints: []Endpoint{
		{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"},
		{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: &cert},
	}, Mechanisms: mechs, MaxEnvelopeSize: 16 << 10, MaxPacketRetrieval: 5 * time.Second, Service: svc,
		AllowUnencrypted: o.allowUnencrypted, Logger: slog.New(slog.NewTextHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
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
	return &negServer{http: bound[0].URL, https: bound[1].URL, tls: &tls.Config{RootCAs: pool, ServerName: "localhost"},
		cbt: cbt.TLSServerEndPoint(leaf)}
}

// rawConn is one TCP (or TLS) connection on which requests are sent in
// order, so that tests control which connection carries what.
type rawConn struct {
	t    *testing.T
	c    net.Conn
	br   *bufio.Reader
	host string
}

func (s *negServer) dial(t *testing.T, https bool) *rawConn {
	t.Helper()
	u := s.http
	if https {
		u = s.https
	}
	pu, _ := url.Parse(u)
	var c net.Conn
	var err error
	if https {
		c, err = tls.Dial("tcp", pu.Host, s.tls)
	} else {
		c, err = net.Dial("tcp", pu.Host)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReader(c), host: pu.Host}
}

// do sends one POST and returns the response with its body read.
func (rc *rawConn) do(authz, ct string, body []byte) (*http.Response, []byte) {
	rc.t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /wsman HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", rc.host, len(body))
	if ct != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
	}
	if authz != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authz)
	}
	b.WriteString("\r\n")
	b.Write(body)
	rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.c.Write(b.Bytes()); err != nil {
		rc.t.Fatal(err)
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		rc.t.Fatal(err)
	}
	return resp, data
}

// closedByServer reports whether the server closed the connection.
func (rc *rawConn) closedByServer() bool {
	rc.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := rc.br.ReadByte()
	return err == io.EOF
}

const soapCT = "application/soap+xml;charset=UTF-8"

func negotiateHdr(tok []byte) string { return "Negotiate " + base64.StdEncoding.EncodeToString(tok) }

// ntlmHandshake authenticates the connection with NTLM for alice,
// sending body on both legs (as go-ntlmssp does; nil as pywinrm's
// encryption set-up does), and returns the client and the final response.
func (rc *rawConn) ntlmHandshake(password string, cb []byte, body []byte) (*ntlm.ClientContext, *http.Response, []byte) {
	rc.t.Helper()
	c, err := ntlm.NewClient(ntlm.ClientConfig{User: `WORKGROUP\alice`, Password: password, ChannelBindings: cb})
	if err != nil {
		rc.t.Fatal(err)
	}
	ct := ""
	if body != nil {
		ct = soapCT
	}
	resp, _ := rc.do(negotiateHdr(c.Negotiate()), ct, body)
	chal := resp.Header.Values("WWW-Authenticate")
	if resp.StatusCode != 401 || len(chal) != 1 || !strings.HasPrefix(chal[0], "Negotiate ") {
		rc.t.Fatalf("NEGOTIATE leg: %d %q; want 401 with one Negotiate token", resp.StatusCode, chal)
	}
	tok, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(chal[0], "Negotiate "))
	am, err := c.Authenticate(tok)
	if err != nil {
		rc.t.Fatal(err)
	}
	resp, data := rc.do(negotiateHdr(am), ct, body)
	return c, resp, data
}

// sealed sends body encrypted with the client's session, with no
// Authorization, and returns the response and its opened body.
func (rc *rawConn) sealed(c *ntlm.ClientContext, body string) (*http.Response, string) {
	rc.t.Helper()
	enc, ct, err := encrypt.Seal(c.Session(), encrypt.ProtocolSPNEGO, "UTF-8", []byte(body))
	if err != nil {
		rc.t.Fatal(err)
	}
	resp, data := rc.do("", ct, enc)
	if _, _, _, ok := encrypt.ParseContentType(resp.Header.Get("Content-Type")); !ok {
		return resp, string(data)
	}
	plain, orig, err := encrypt.Open(c.Session(), resp.Header.Get("Content-Type"), data, 1<<20)
	if err != nil || orig != soapCT {
		rc.t.Fatalf("opening the reply (%s): %v, type %q", resp.Header.Get("Content-Type"), err, orig)
	}
	return resp, string(plain)
}

// TestEncryptedConnectionRules walks pywinrm's and masterzen's message
// encryption sequence on HTTP with AllowUnencrypted false.
func TestEncryptedConnectionRules(t *testing.T) {
	s := startNegotiate(t, negOpts{policy: cbt.Relaxed, basic: true})
	rc := s.dial(t, false)

	// Unauthenticated empty POST: 401 with the schemes offered on HTTP
	// (Basic is not, without AllowUnencrypted).
	resp, _ := rc.do("", "", nil)
	if got := resp.Header.Values("WWW-Authenticate"); resp.StatusCode != 401 || !slices.Equal(got, []string{"Negotiate"}) {
		t.Fatalf("empty POST: %d %q", resp.StatusCode, got)
	}
	// The handshake on empty bodies ends with an empty 200.
	c, resp, data := rc.ntlmHandshake("right", nil, nil)
	if resp.StatusCode != 200 || len(data) != 0 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("AUTHENTICATE leg: %d %q %q", resp.StatusCode, data, resp.Header.Values("WWW-Authenticate"))
	}
	// Encrypted requests ride the connection's context; replies are
	// sealed with the request's protocol.
	for i := range 3 {
		resp, plain := rc.sealed(c, identifyBody)
		if resp.StatusCode != 200 || !strings.Contains(plain, "OS: 1.0.0") || !strings.Contains(plain, "SecurityProfiles") {
			t.Fatalf("encrypted Identify %d: %d %s", i, resp.StatusCode, plain)
		}
		proto, _, _, ok := encrypt.ParseContentType(resp.Header.Get("Content-Type"))
		if !ok || proto != encrypt.ProtocolSPNEGO {
			t.Fatalf("reply Content-Type %q", resp.Header.Get("Content-Type"))
		}
	}
	// A fault reply to an encrypted request is sealed too.
	resp, plain := rc.sealed(c, `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body/></s:Envelope>`)
	if resp.StatusCode != 500 || !strings.Contains(resp.Header.Get("Content-Type"), "multipart/encrypted") {
		t.Errorf("fault: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), plain)
	}
	// Plaintext on the authenticated connection: refused, not processed.
	resp, data = rc.do("", soapCT, []byte(identifyBody))
	if resp.StatusCode != 500 || len(data) != 0 {
		t.Errorf("plaintext with AllowUnencrypted false: %d %q; want an empty 500", resp.StatusCode, data)
	}
	// Still authenticated afterwards.
	if resp, _ := rc.sealed(c, identifyBody); resp.StatusCode != 200 {
		t.Fatalf("after the refusal: %d", resp.StatusCode)
	}
	// An unauthenticated empty POST resets the connection's context.
	if resp, _ := rc.do("", "", nil); resp.StatusCode != 401 {
		t.Fatalf("empty POST on an authenticated connection: %d", resp.StatusCode)
	}
	if resp, _ := rc.sealed(c, identifyBody); resp.StatusCode != 401 {
		t.Fatalf("encrypted request after the reset: %d; want 401", resp.StatusCode)
	}
	// masterzen: a new handshake on the same connection, then go on.
	c, resp, _ = rc.ntlmHandshake("right", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("second handshake: %d", resp.StatusCode)
	}
	if resp, plain := rc.sealed(c, identifyBody); resp.StatusCode != 200 || !strings.Contains(plain, "OS: 1.0.0") {
		t.Fatalf("after re-authentication: %d %s", resp.StatusCode, plain)
	}

	// An encrypted request on a connection without a context: 401.
	other := s.dial(t, false)
	if resp, _ := other.sealed(c, identifyBody); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Negotiate" {
		t.Errorf("encrypted request on a fresh connection: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	// Wrong password: 401, no context.
	fresh := s.dial(t, false)
	if _, resp, _ := fresh.ntlmHandshake("wrong", nil, nil); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Negotiate" {
		t.Errorf("wrong password: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	if resp, _ := fresh.do("", soapCT, []byte(identifyBody)); resp.StatusCode != 401 {
		t.Errorf("after a failed handshake: %d", resp.StatusCode)
	}
}

// TestEncryptedRefusals: a tampered body, a replayed one and a protocol
// the context was not made for are refused with nothing processed, and
// the context is dropped.
func TestEncryptedRefusals(t *testing.T) {
	s := startNegotiate(t, negOpts{policy: cbt.Relaxed})
	body := func(c *ntlm.ClientContext) ([]byte, string) {
		enc, ct, err := encrypt.Seal(c.Session(), encrypt.ProtocolSPNEGO, "UTF-8", []byte(identifyBody))
		if err != nil {
			t.Fatal(err)
		}
		return enc, ct
	}
	tests := []struct {
		name   string
		mangle func(c *ntlm.ClientContext, rc *rawConn) (string, []byte)
		status int
	}{
		{"tampered", func(c *ntlm.ClientContext, _ *rawConn) (string, []byte) {
			enc, ct := body(c)
			enc[len(enc)-40] ^= 1
			return ct, enc
		}, 400},
		{"replayed", func(c *ntlm.ClientContext, rc *rawConn) (string, []byte) {
			enc, ct := body(c)
			if resp, _ := rc.do("", ct, enc); resp.StatusCode != 200 {
				t.Fatalf("first copy: %d", resp.StatusCode)
			}
			return ct, enc
		}, 400},
		{"skipped", func(c *ntlm.ClientContext, _ *rawConn) (string, []byte) {
			body(c) // sequence number 0 never sent
			enc, ct := body(c)
			return ct, enc
		}, 400},
		{"length lie", func(c *ntlm.ClientContext, _ *rawConn) (string, []byte) {
			enc, ct := body(c)
			return ct, bytes.Replace(enc, []byte("Length="+strconv.Itoa(len(identifyBody))), []byte("Length="+strconv.Itoa(len(identifyBody)-1)), 1)
		}, 400},
		{"kerberos protocol", func(c *ntlm.ClientContext, _ *rawConn) (string, []byte) {
			enc, ct, err := encrypt.Seal(c.Session(), encrypt.ProtocolKerberos, "UTF-8", []byte(identifyBody))
			if err != nil {
				t.Fatal(err)
			}
			return ct, enc
		}, 400},
		{"too large", func(c *ntlm.ClientContext, _ *rawConn) (string, []byte) {
			enc, ct, err := encrypt.Seal(c.Session(), encrypt.ProtocolSPNEGO, "UTF-8", bytes.Repeat([]byte("x"), 17<<10))
			if err != nil {
				t.Fatal(err)
			}
			return ct, enc
		}, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := s.dial(t, false)
			c, resp, _ := rc.ntlmHandshake("right", nil, nil)
			if resp.StatusCode != 200 {
				t.Fatal(resp.StatusCode)
			}
			ct, enc := tt.mangle(c, rc)
			resp, data := rc.do("", ct, enc)
			if resp.StatusCode != tt.status || len(data) != 0 {
				t.Fatalf("status %d body %q; want %d and nothing", resp.StatusCode, data, tt.status)
			}
			if tt.status != 400 || tt.name == "kerberos protocol" {
				return
			}
			if !rc.closedByServer() {
				t.Error("connection kept open after a broken encrypted request")
			}
		})
	}
}

// TestPlaintextNegotiate: with AllowUnencrypted, NTLM without sealing
// (masterzen's ClientNTLM: the body on every handshake leg) is served, and
// later requests ride the connection's context.
func TestPlaintextNegotiate(t *testing.T) {
	s := startNegotiate(t, negOpts{allowUnencrypted: true, policy: cbt.Relaxed, basic: true})
	rc := s.dial(t, false)
	resp, _ := rc.do("", soapCT, []byte(identifyBody))
	if got := resp.Header.Values("WWW-Authenticate"); resp.StatusCode != 401 || !slices.Equal(got, []string{"Negotiate", `Basic realm="WSMAN"`}) {
		t.Fatalf("challenge: %d %q", resp.StatusCode, got)
	}
	_, resp, data := rc.ntlmHandshake("right", nil, []byte(identifyBody))
	if resp.StatusCode != 200 || !strings.Contains(string(data), "OS: 1.0.0") {
		t.Fatalf("AUTHENTICATE with a body: %d %s", resp.StatusCode, data)
	}
	resp, data = rc.do("", soapCT, []byte(identifyBody))
	if resp.StatusCode != 200 || !strings.Contains(string(data), "OS: 1.0.0") {
		t.Fatalf("later request without Authorization: %d %s", resp.StatusCode, data)
	}
	// Another connection is not authenticated by this one.
	if resp, _ := s.dial(t, false).do("", soapCT, []byte(identifyBody)); resp.StatusCode != 401 {
		t.Errorf("other connection: %d", resp.StatusCode)
	}
}

// TestNegotiateChannelBinding applies CbtHardeningLevel on HTTPS, where
// no message encryption is needed.
func TestNegotiateChannelBinding(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy cbt.Policy
		send   string // "ours", "other" or ""
		ok     bool
	}{
		{"strict/ours", cbt.Strict, "ours", true},
		{"strict/none", cbt.Strict, "", false},
		{"strict/other", cbt.Strict, "other", false},
		{"relaxed/none", cbt.Relaxed, "", true},
		{"relaxed/other", cbt.Relaxed, "other", false},
		{"none/other", cbt.None, "other", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startNegotiate(t, negOpts{policy: tt.policy})
			var cb []byte
			switch tt.send {
			case "ours":
				cb = s.cbt
			case "other":
				cb = []byte("tls-server-end-point:" + strings.Repeat("x", 32))
			}
			rc := s.dial(t, true)
			_, resp, data := rc.ntlmHandshake("right", cb, []byte(identifyBody))
			if ok := resp.StatusCode == 200; ok != tt.ok {
				t.Fatalf("status %d %s; want success %v", resp.StatusCode, data, tt.ok)
			}
			if tt.ok && !strings.Contains(string(data), "OS: 1.0.0") {
				t.Errorf("plaintext over HTTPS: %s", data)
			}
		})
	}
	// Strict does not apply on plain HTTP, where there is no channel.
	s := startNegotiate(t, negOpts{policy: cbt.Strict, allowUnencrypted: true})
	if _, resp, _ := s.dial(t, false).ntlmHandshake("right", nil, []byte(identifyBody)); resp.StatusCode != 200 {
		t.Errorf("Strict on HTTP: %d", resp.StatusCode)
	}
}

// TestChallengeOrder: one WWW-Authenticate per enabled scheme, in
// Windows' order.
func TestChallengeOrder(t *testing.T) {
	s := startNegotiate(t, negOpts{policy: cbt.Relaxed, kerberos: true, basic: true})
	resp, _ := s.dial(t, true).do("", soapCT, []byte(identifyBody))
	want := []string{"Negotiate", "Kerberos", `Basic realm="WSMAN"`}
	if got := resp.Header.Values("WWW-Authenticate"); resp.StatusCode != 401 || !slices.Equal(got, want) {
		t.Errorf("HTTPS challenges %d %q; want %q", resp.StatusCode, got, want)
	}
	resp, _ = s.dial(t, false).do("", soapCT, []byte(identifyBody))
	if got := resp.Header.Values("WWW-Authenticate"); !slices.Equal(got, want[:2]) {
		t.Errorf("HTTP challenges %q; want %q", got, want[:2])
	}
}

// TestLogsHoldNoSecrets: failed logins and refused encrypted requests are
// logged with their reason, never with tokens, hashes or message bytes.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuf
	s := startNegotiate(t, negOpts{policy: cbt.Strict, logs: &logs})
	var sent []string
	record := func(tok []byte) []byte {
		sent = append(sent, base64.StdEncoding.EncodeToString(tok))
		return tok
	}
	// A wrong password on HTTP, a missing channel binding on HTTPS.
	for _, https := range []bool{false, true} {
		rc := s.dial(t, https)
		password := "wrong"
		if https {
			password = "right" // but no channel bindings
		}
		c, _ := ntlm.NewClient(ntlm.ClientConfig{User: "alice", Password: password})
		resp, _ := rc.do(negotiateHdr(record(c.Negotiate())), "", nil)
		tok, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(resp.Header.Get("WWW-Authenticate"), "Negotiate "))
		record(tok)
		am, err := c.Authenticate(tok)
		if err != nil {
			t.Fatal(err)
		}
		if resp, _ := rc.do(negotiateHdr(record(am)), "", nil); resp.StatusCode != 401 {
			t.Fatalf("bad login: %d", resp.StatusCode)
		}
	}
	// A tampered encrypted request.
	rc := s.dial(t, false)
	c, resp, _ := rc.ntlmHandshake("right", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	enc, ct, _ := encrypt.Seal(c.Session(), encrypt.ProtocolSPNEGO, "UTF-8", []byte(identifyBody))
	enc[len(enc)-30] ^= 0xff
	if resp, _ := rc.do("", ct, enc); resp.StatusCode != 400 {
		t.Fatalf("tampered: %d", resp.StatusCode)
	}
	out := logs.String()
	for _, want := range []string{"reason=bad-credentials", "reason=channel-binding", `reason="integrity (tampered)"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	hash := ntlm.NTHash("right")
	secrets := append(sent, hex.EncodeToString(hash[:]), "right", "wrong", "Envelope")
	for _, sec := range secrets {
		if strings.Contains(out, sec) || (len(sec) > 40 && strings.Contains(out, sec[:40])) {
			t.Errorf("log contains %.40q:\n%s", sec, out)
		}
	}
}

// syncBuf is a strings.Builder safe for the server's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
