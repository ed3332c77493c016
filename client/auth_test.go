package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/client/trust"
	"github.com/psremote/psremote/internal/testserver"
)

func newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	if cfg.OperationTimeout == 0 {
		cfg.OperationTimeout = 5 * time.Second
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// identify runs n authenticated Identify requests and checks that the
// replies number them in order.
func identify(t *testing.T, c *client.Client, n int) []string {
	t.Helper()
	var versions []string
	for i := range n {
		r, err := c.Identify(context.Background(), false)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		versions = append(versions, r.ProductVersion)
	}
	return versions
}

func TestNTLMSealedHTTPHandshakeShape(t *testing.T) {
	s := newNegServer(t, false)
	c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.NTLM(testUser, testPassword), TrustedHosts: "127.0.0.1"})
	const n = 40
	got := identify(t, c, n)
	for i, v := range got {
		if want := fmt.Sprintf("req-%d conn-1 user-alice", i+1); v != want {
			t.Errorf("reply %d: %q, want %q", i+1, v, want)
		}
	}
	ev := s.log()
	// One connection: NEGOTIATE (empty POST) -> 401, AUTHENTICATE (empty
	// POST) -> 200, then n sealed requests without Authorization.
	if len(ev) != n+2 {
		t.Fatalf("%d requests, want %d: %+v", len(ev), n+2, ev)
	}
	want := []event{
		{conn: 1, authz: "Negotiate NTLM-1", status: 401},
		{conn: 1, authz: "Negotiate NTLM-3", status: 200},
	}
	for i, w := range want {
		if ev[i] != w {
			t.Errorf("handshake leg %d: %+v, want %+v", i+1, ev[i], w)
		}
	}
	for i, e := range ev[2:] {
		if e.conn != 1 || e.authz != "" || !e.sealed || e.status != 200 || e.bodyLen == 0 {
			t.Errorf("request %d: %+v, want sealed, no Authorization, on connection 1", i+1, e)
		}
	}
}

func TestNTLMConcurrentOneHandshakePerConnection(t *testing.T) {
	s := newNegServer(t, false)
	c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.NTLM(testUser, testPassword), TrustedHosts: "127.0.0.*"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if _, err := c.Identify(context.Background(), false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	handshakes := map[int]int{}
	requests := 0
	for _, e := range s.log() {
		switch e.authz {
		case "Negotiate NTLM-1":
			handshakes[e.conn]++
		case "":
			requests++
			if !e.sealed {
				t.Errorf("unsealed request %+v", e)
			}
		}
	}
	if requests != 200 {
		t.Errorf("%d sealed requests, want 200", requests)
	}
	for conn, n := range handshakes {
		if n != 1 {
			t.Errorf("connection %d: %d handshakes", conn, n)
		}
	}
	if len(handshakes) > 8 {
		t.Errorf("%d connections for 8 concurrent callers", len(handshakes))
	}
}

func TestNTLMRehandshakeAfterContextLost(t *testing.T) {
	s := newNegServer(t, false, func(s *negServer) { s.forgetAfter = 3 })
	c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.NTLM(testUser, testPassword), TrustedHosts: "*"})
	got := identify(t, c, 7)
	if got[6] != "req-7 conn-3 user-alice" {
		t.Errorf("last reply %q: want the 7th request served on the third connection", got[6])
	}
	var legs []string
	for _, e := range s.log() {
		legs = append(legs, fmt.Sprintf("%d:%s:%d", e.conn, e.authz, e.status))
	}
	want := "1:Negotiate NTLM-1:401 1:Negotiate NTLM-3:200 1::200 1::200 1::200 1::401 " +
		"2:Negotiate NTLM-1:401 2:Negotiate NTLM-3:200 2::200 2::200 2::200 2::401 " +
		"3:Negotiate NTLM-1:401 3:Negotiate NTLM-3:200 3::200"
	if g := strings.Join(legs, " "); g != want {
		t.Errorf("requests:\n got %s\nwant %s", g, want)
	}
}

func TestNTLMRefusedAfterHandshakeIsNotRetriedForever(t *testing.T) {
	s := newNegServer(t, false, func(s *negServer) { s.always401 = true })
	c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.NTLM(testUser, testPassword), TrustedHosts: "*"})
	_, err := c.Identify(context.Background(), false)
	if !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if n := len(s.log()); n != 3 {
		t.Errorf("%d requests, want 3 (two legs and the refused request)", n)
	}
}

func TestNTLMHTTPSChannelBindings(t *testing.T) {
	s := newNegServer(t, true) // CbtHardeningLevel Strict
	cfg := client.Config{Endpoint: s.url("localhost"), Auth: client.NTLM(testUser, testPassword), TLSConfig: s.tlsConfig()}
	c := newClient(t, cfg)
	got := identify(t, c, 5)
	if got[4] != "req-5 conn-1 user-alice" {
		t.Errorf("replies %q", got)
	}
	ev := s.log()
	// On HTTPS the request rides the AUTHENTICATE leg; nothing is sealed.
	want := []event{
		{conn: 1, authz: "Negotiate NTLM-1", status: 401},
		{conn: 1, authz: "Negotiate NTLM-3", status: 200, bodyLen: ev[1].bodyLen},
	}
	for i, w := range want {
		if ev[i] != w {
			t.Errorf("leg %d: %+v, want %+v", i+1, ev[i], w)
		}
	}
	if ev[1].bodyLen == 0 {
		t.Error("the AUTHENTICATE leg carries no request")
	}
	for _, e := range ev[2:] {
		if e.authz != "" || e.sealed || e.conn != 1 {
			t.Errorf("request %+v: want plain, no Authorization", e)
		}
	}

	// A server expecting other bindings (another certificate) refuses.
	other := selfSigned(t, "localhost")
	s2 := newNegServer(t, true, func(s *negServer) { s.appData = []byte("tls-server-end-point:" + string(other.Certificate[0][:32])) })
	c2 := newClient(t, client.Config{Endpoint: s2.url("localhost"), Auth: client.NTLM(testUser, testPassword), TLSConfig: s2.tlsConfig()})
	if _, err := c2.Identify(context.Background(), false); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("mismatched bindings: err = %v, want ErrUnauthorized", err)
	}
}

// TestNTLMChannelBindingValue checks the value itself: a Strict server
// holding exactly cbt.TLSServerEndPoint(its certificate) accepts (the
// NTLM acceptor compares MsvAvChannelBindings with cbt.Hash of it), and
// the same with one byte changed refuses.
func TestNTLMChannelBindingValue(t *testing.T) {
	s := newNegServer(t, true)
	c := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.NTLM(testUser, testPassword), TLSConfig: s.tlsConfig()})
	identify(t, c, 1)

	s2 := newNegServer(t, true, func(s *negServer) { s.flipBinding = true })
	if want := cbt.TLSServerEndPoint(s2.cert); bytes.Equal(s2.appData, want) || len(s2.appData) != len(want) {
		t.Fatal("the server's bindings were not changed")
	}
	c2 := newClient(t, client.Config{Endpoint: s2.url("localhost"), Auth: client.NTLM(testUser, testPassword), TLSConfig: s2.tlsConfig()})
	if _, err := c2.Identify(context.Background(), false); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("bindings off by one bit accepted: %v", err)
	}
}

func TestNTLMWrongPasswordAndUser(t *testing.T) {
	s := newNegServer(t, false)
	for _, tc := range []struct{ user, pw string }{
		{testUser, "wrong-password-123"},
		{`LAB\mallory`, testPassword},
	} {
		c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.NTLM(tc.user, tc.pw), TrustedHosts: "*"})
		_, err := c.Identify(context.Background(), false)
		if !errors.Is(err, client.ErrUnauthorized) {
			t.Fatalf("%s: err = %v, want ErrUnauthorized", tc.user, err)
		}
		if strings.Contains(err.Error(), tc.pw) || !strings.Contains(err.Error(), tc.user) {
			t.Errorf("error %q: must name the user and never the password", err)
		}
	}
}

func TestNTLMOverHTTPNeedsTrustedHost(t *testing.T) {
	tests := []struct {
		name, endpoint, trusted string
		ok                      bool
	}{
		{"untrusted", "http://web1:5985/wsman", "", false},
		{"other host", "http://web1:5985/wsman", "web2,*.lab", false},
		{"trusted by name", "http://web1:5985/wsman", "web2,web1", true},
		{"trusted by suffix", "http://web1.lab:5985/wsman", "*.lab", true},
		{"trusted by star", "http://10.0.0.5:5985/wsman", "*", true},
		{"https needs no trust", "https://web1:5986/wsman", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(client.Config{Endpoint: tc.endpoint, Auth: client.NTLM(testUser, testPassword), TrustedHosts: tc.trusted})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ue *client.UntrustedHostError
			if !errors.As(err, &ue) || !errors.Is(err, trust.ErrNotTrustedHost) {
				t.Fatalf("err = %v, want *UntrustedHostError", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "web1") || !strings.Contains(msg, "TrustedHosts") || strings.Contains(msg, testPassword) {
				t.Errorf("message %q must name the host and TrustedHosts, never the password", msg)
			}
		})
	}
	if _, err := client.New(client.Config{Endpoint: "http://h/wsman", Auth: client.NTLM(testUser, "p"), TrustedHosts: "a*b*"}); err == nil {
		t.Error("malformed TrustedHosts accepted")
	}
}

func TestSealedReplyChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		knob func(*negServer)
		want error
		text string
	}{
		{"tampered reply", func(s *negServer) { s.tamperReply = true }, ntlm.ErrIntegrity, ""},
		{"plaintext reply", func(s *negServer) { s.plainReply = true }, nil, "unencrypted reply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newNegServer(t, false, tc.knob)
			c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.NTLM(testUser, testPassword), TrustedHosts: "*"})
			_, err := c.Identify(context.Background(), false)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v %q", err, tc.want, tc.text)
			}
		})
	}
}

func TestAnonymousIdentifyWithConnectionAuth(t *testing.T) {
	s := newNegServer(t, false)
	c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.NTLM(testUser, testPassword), TrustedHosts: "*"})
	identify(t, c, 1)
	if _, err := c.Identify(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	identify(t, c, 1)
	ev := s.log()
	anon := ev[3]
	if anon.authz != "" || anon.sealed || anon.conn == 1 {
		t.Errorf("anonymous Identify %+v: want plain, unauthenticated, on its own connection", anon)
	}
	if last := ev[len(ev)-1]; last.conn != 1 || !last.sealed {
		t.Errorf("authenticated request after it %+v: want the authenticated connection 1 (%+v)", last, ev)
	}
}

func TestCertificateAuth(t *testing.T) {
	s := newNegServer(t, true, func(s *negServer) { s.wantCert = true })
	cert := selfSigned(t, "alice")
	c := newClient(t, client.Config{Endpoint: s.url("localhost"), Auth: client.Certificate(cert), TLSConfig: s.tlsConfig()})
	identify(t, c, 2)
	for _, e := range s.log() {
		if e.authz != "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual" || !e.clientCrt {
			t.Errorf("request %+v: want the https/mutual Authorization and a client certificate", e)
		}
	}
	if _, err := client.New(client.Config{Endpoint: "http://h:5985/wsman", Auth: client.Certificate(cert)}); err == nil {
		t.Error("certificate authentication over HTTP accepted")
	}
	if _, err := client.New(client.Config{Endpoint: "https://h/wsman", Auth: client.Basic("u", "p"), Username: "u"}); err == nil {
		t.Error("Auth and Username both accepted")
	}
}

func TestNegotiateFallsBackToNTLM(t *testing.T) {
	dir := t.TempDir()
	noKrb := client.KerberosOptions{CCache: dir + "/no-ccache", Krb5Conf: dir + "/no-krb5.conf"}
	s := newNegServer(t, false)
	c := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.Negotiate(testUser, testPassword, noKrb), TrustedHosts: "127.0.0.1"})
	identify(t, c, 3)
	if e := s.log()[0]; e.authz != "Negotiate NTLM-1" {
		t.Errorf("first leg %+v: want NTLM", e)
	}

	// Over HTTP to an untrusted host the fall-back is refused, with
	// Kerberos's reason.
	c2 := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.Negotiate(testUser, testPassword, noKrb)})
	_, err := c2.Identify(context.Background(), false)
	var ue *client.UntrustedHostError
	if !errors.As(err, &ue) || ue.Mechanism != "Negotiate" || !strings.Contains(err.Error(), "Kerberos") {
		t.Fatalf("err = %v, want *UntrustedHostError naming Kerberos's failure", err)
	}
	// A plain user name with a password is a local account: NTLM at
	// once, so New already knows it needs a trusted host.
	if _, err := client.New(client.Config{Endpoint: "http://web1/wsman", Auth: client.Negotiate("alice", "pw", client.KerberosOptions{})}); !errors.As(err, &ue) {
		t.Errorf("local account over HTTP: err = %v, want *UntrustedHostError", err)
	}
	// No password and no ticket: nothing to fall back to.
	c3 := newClient(t, client.Config{Endpoint: s.url("127.0.0.1"), Auth: client.Negotiate("", "", noKrb), TrustedHosts: "*"})
	if _, err := c3.Identify(context.Background(), false); err == nil || !strings.Contains(err.Error(), "needs a password") {
		t.Errorf("no credentials: err = %v", err)
	}
}

func TestAutoUsesBasicWhenServerOffersOnlyBasic(t *testing.T) {
	noKrb := client.KerberosOptions{CCache: t.TempDir() + "/none", Krb5Conf: t.TempDir() + "/none"}
	cfg := server(t) // psremote with Basic only, HTTPS
	cfg.Username, cfg.Password = "", ""
	cfg.Auth = client.Auto("u", "p", noKrb)
	c := newClient(t, cfg)
	sh, err := c.CreateShell(context.Background(), client.ShellOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sh.Command("echo", "hi").Output(context.Background())
	sh.Close(context.Background())
	if err != nil || string(out) != "hi\n" {
		t.Fatalf("output %q, %v", out, err)
	}

	// Over plain HTTP, Basic needs AllowUnencrypted and a trusted host.
	srv := testserver.Start(t, testserver.Options{User: "u", Password: "p"})
	for _, tc := range []struct {
		allow   bool
		trusted string
		ok      bool
	}{{true, "127.0.0.1", true}, {false, "127.0.0.1", false}} {
		c := newClient(t, client.Config{Endpoint: srv.URL(), Auth: client.Auto("u", "p", noKrb), AllowUnencrypted: tc.allow, TrustedHosts: tc.trusted})
		_, err := c.Identify(context.Background(), false)
		if tc.ok != (err == nil) {
			t.Errorf("AllowUnencrypted=%v: err = %v", tc.allow, err)
		}
		if err != nil && (!errors.Is(err, client.ErrUnauthorized) || !errors.Is(err, trust.ErrUnencryptedNotAllowed) || !strings.Contains(err.Error(), "offers only Basic")) {
			t.Errorf("refusal %q should say the server offers only Basic, which needs AllowUnencrypted", err)
		}
	}
}

func TestAutoSwitchReusesTheConnection(t *testing.T) {
	noKrb := client.KerberosOptions{CCache: t.TempDir() + "/none", Krb5Conf: t.TempDir() + "/none"}
	s := newNegServer(t, true, func(s *negServer) { s.basicOnly = true })
	c := newClient(t, client.Config{Endpoint: s.url("localhost"), TLSConfig: s.tlsConfig(), Auth: client.Auto("alice", testPassword, noKrb)})
	identify(t, c, 3)
	var got []string
	for _, e := range s.log() {
		got = append(got, fmt.Sprintf("%d:%s:%d", e.conn, e.authz, e.status))
	}
	// One NTLM NEGOTIATE refused with a Basic-only 401, then Basic on the
	// same TLS connection for every request.
	if want := "1:Negotiate:401 1:Basic:200 1:Basic:200 1:Basic:200"; strings.Join(got, " ") != want {
		t.Errorf("requests %s, want %s", strings.Join(got, " "), want)
	}
	// Explicit Negotiate does not switch.
	c2 := newClient(t, client.Config{Endpoint: s.url("localhost"), TLSConfig: s.tlsConfig(), Auth: client.Negotiate("alice", testPassword, noKrb)})
	if _, err := c2.Identify(context.Background(), false); !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "offers Basic") {
		t.Errorf("Negotiate against a Basic-only server: %v", err)
	}
}
