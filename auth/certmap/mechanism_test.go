package certmap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/internal/identity"
)

// recordingResolver resolves every name to a fixed test identity and
// remembers what it was asked.
type recordingResolver struct {
	principal, source string
	err               error
}

func (rr *recordingResolver) resolve(principal, source string) (identity.User, error) {
	rr.principal, rr.source = principal, source
	if rr.err != nil {
		return identity.User{}, rr.err
	}
	return identity.New(principal, 1000, 1000, []uint32{1000}, []string{principal}, "/home/"+principal, "/bin/sh"), nil
}

var _ auth.Mechanism = (*Mechanism)(nil)

func TestMechanismSchemeAndChallenge(t *testing.T) {
	mm := NewMechanism(&Mapper{}, (&recordingResolver{}).resolve)
	if mm.Scheme() != AuthorizationURI || AuthorizationURI != "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual" {
		t.Errorf("Scheme() = %q", mm.Scheme())
	}
	for _, secure := range []bool{false, true} {
		if v, ok := mm.Challenge(secure); ok || v != "" {
			t.Errorf("Challenge(%v) = %q, %v; want nothing", secure, v, ok)
		}
	}
}

func TestMechanismAccept(t *testing.T) {
	p := newPKI(t)
	root := tp(p.root.cert)
	m, err := NewMapper([]Rule{
		{Issuer: root, Subject: "*@corp.example", URI: "*", UserName: "alice", Enabled: true},
		{Issuer: root, Subject: "first@corp.example", URI: "*", UserName: "missing", Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	noEKULeaf, _ := p.root.issue(t, leafSpec{cn: "x", upns: []string{"x@corp.example"}, noEKU: true})
	noEKU := [][]*x509.Certificate{{noEKULeaf, p.root.cert}}
	verifiedAlice := connState([][]*x509.Certificate{p.alice})
	unverified := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{p.alice[0]}}

	tests := []struct {
		name    string
		req     auth.Request
		now     time.Time
		resErr  error
		wantErr error
	}{
		{name: "ok", req: auth.Request{Secure: true, TLS: verifiedAlice}},
		{name: "http", req: auth.Request{Secure: false, TLS: verifiedAlice}, wantErr: auth.ErrNotPermitted},
		{name: "no TLS state", req: auth.Request{Secure: true}, wantErr: auth.ErrNotPermitted},
		{name: "credentials", req: auth.Request{Secure: true, TLS: verifiedAlice, Credentials: "Zm9v"}, wantErr: auth.ErrMalformed},
		{name: "no certificate", req: auth.Request{Secure: true, TLS: &tls.ConnectionState{}}, wantErr: auth.ErrBadCredentials},
		{name: "unverified certificate", req: auth.Request{Secure: true, TLS: unverified}, wantErr: auth.ErrBadCredentials},
		{name: "empty verified chain", req: auth.Request{Secure: true, TLS: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{}}}},
			wantErr: auth.ErrBadCredentials},
		{name: "expired since the handshake", req: auth.Request{Secure: true, TLS: verifiedAlice}, now: testNow.Add(2 * time.Hour),
			wantErr: auth.ErrBadCredentials},
		{name: "not yet valid", req: auth.Request{Secure: true, TLS: verifiedAlice}, now: testNow.Add(-2 * time.Hour),
			wantErr: auth.ErrBadCredentials},
		{name: "no client auth usage", req: auth.Request{Secure: true, TLS: connState(noEKU)}, wantErr: auth.ErrBadCredentials},
		{name: "no mapping", req: auth.Request{Secure: true, TLS: connState([][]*x509.Certificate{p.dave})}, wantErr: ErrNoMapping},
		{name: "resolver fails", req: auth.Request{Secure: true, TLS: verifiedAlice}, resErr: identity.ErrUnknownUser,
			wantErr: auth.ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := &recordingResolver{err: tt.resErr}
			mm := NewMechanism(m, rr.resolve)
			if !tt.now.IsZero() {
				mm.now = func() time.Time { return tt.now }
			}
			step, err := mm.Accept(context.Background(), tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || step.Done {
					t.Fatalf("Accept = %+v, %v; want %v", step, err, tt.wantErr)
				}
				if errors.Is(tt.wantErr, ErrNoMapping) && !errors.Is(err, auth.ErrBadCredentials) {
					t.Fatalf("no-mapping error %v does not wrap auth.ErrBadCredentials", err)
				}
				return
			}
			if err != nil || !step.Done || step.Reply != "" {
				t.Fatalf("Accept = %+v, %v", step, err)
			}
			r := step.Result
			if r.Principal != "alice@corp.example" || r.Mechanism != "ClientCertificate" || r.User.Name != "alice" || !r.User.Valid() {
				t.Fatalf("Result = %+v", r)
			}
			if rr.principal != "alice" || rr.source != MechanismName {
				t.Fatalf("resolver asked (%q, %q)", rr.principal, rr.source)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewMechanism(m, (&recordingResolver{}).resolve).Accept(ctx, auth.Request{Secure: true, TLS: verifiedAlice}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := NewMechanism(nil, nil).Accept(context.Background(), auth.Request{Secure: true, TLS: verifiedAlice}); err == nil {
		t.Error("mechanism without mapper accepted")
	}
	invalid := func(string, string) (identity.User, error) { return identity.User{}, nil }
	if _, err := NewMechanism(m, invalid).Accept(context.Background(), auth.Request{Secure: true, TLS: verifiedAlice}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("invalid identity accepted: %v", err)
	}
}

func TestMechanismURIRules(t *testing.T) {
	p := newPKI(t)
	root := tp(p.root.cert)
	rule := func(subject, uri, user string) Rule {
		return Rule{Issuer: root, Subject: subject, URI: uri, UserName: user, Enabled: true}
	}
	chains := [][]*x509.Certificate{p.alice}
	tests := []struct {
		name     string
		rules    []Rule
		authUser string // "" means Accept fails
		allowed  []string
		denied   []string
	}{
		{name: "star rule", rules: []Rule{rule("*", "*", "u1")}, authUser: "u1", allowed: []string{shellURI, wmiURI}},
		{name: "URI-only rules naming one account", rules: []Rule{rule("*", shellPat, "u1"), rule("alice@*", wmiURI, "u1")},
			authUser: "u1", allowed: []string{shellURI, wmiURI}, denied: []string{"http://schemas.microsoft.com/wbem/wsman/1/config"}},
		{name: "URI-only rules naming two accounts", rules: []Rule{rule("*", shellPat, "u1"), rule("*", wmiURI, "u2")}},
		{name: "URI rule with another account denies", rules: []Rule{rule("*", "*", "u1"), rule("*", shellPat, "u2")},
			authUser: "u1", allowed: []string{wmiURI}, denied: []string{shellURI}},
		{name: "URI rule with the same account", rules: []Rule{rule("*", "*", "u1"), rule("alice@corp.example", shellPat, "u1")},
			authUser: "u1", allowed: []string{wmiURI, shellURI}},
		{name: "tie at authentication", rules: []Rule{rule("*@corp.example", "*", "u1"), rule("alice@corp.ex*", "*", "u2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapper(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			rr := &recordingResolver{}
			mm := NewMechanism(m, rr.resolve)
			step, err := mm.Accept(context.Background(), auth.Request{Secure: true, TLS: connState(chains)})
			if tt.authUser == "" {
				if !errors.Is(err, ErrNoMapping) {
					t.Fatalf("Accept = %+v, %v; want ErrNoMapping", step, err)
				}
				return
			}
			if err != nil || step.Result.User.Name != tt.authUser {
				t.Fatalf("Accept = %+v, %v; want %s", step, err, tt.authUser)
			}
			for _, u := range tt.allowed {
				if err := mm.Authorize(chains, u); err != nil {
					t.Errorf("Authorize(%s) = %v", u, err)
				}
			}
			for _, u := range tt.denied {
				if err := mm.Authorize(chains, u); !errors.Is(err, ErrNoMapping) {
					t.Errorf("Authorize(%s) = %v; want ErrNoMapping", u, err)
				}
			}
		})
	}
	if err := NewMechanism(nil, nil).Authorize(chains, shellURI); !errors.Is(err, ErrNoMapping) {
		t.Errorf("Authorize without mapper = %v", err)
	}
	m, _ := NewMapper([]Rule{rule("*", "*", "u1")})
	if err := NewMechanism(m, nil).Authorize(nil, shellURI); !errors.Is(err, ErrNoMapping) {
		t.Errorf("Authorize without chains = %v", err)
	}
}

// TestListenerShape runs the mechanism the way internal/listener does:
// an HTTPS server asking for (not requiring) client certificates, the
// Authorization header split at its first space, and r.TLS passed in.
func TestListenerShape(t *testing.T) {
	p := newPKI(t)
	m, err := NewMapper([]Rule{
		{Issuer: tp(p.root.cert), Subject: "*@corp.example", URI: "*", UserName: "alice", Enabled: true},
		{Issuer: tp(p.inter.cert), Subject: "bob@corp.example", URI: "*", UserName: "bob", Enabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	mm := NewMechanism(m, (&recordingResolver{}).resolve)
	var reached atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		scheme, creds, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if scheme != mm.Scheme() {
			http.Error(w, "scheme", http.StatusUnauthorized)
			return
		}
		step, err := mm.Accept(r.Context(), auth.Request{Credentials: creds, Secure: r.TLS != nil, TLS: r.TLS, RemoteAddr: r.RemoteAddr})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if err := mm.Authorize(r.TLS.VerifiedChains, shellURI); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s %s", step.Result.Principal, step.Result.User.Name)
	}))
	pool := x509.NewCertPool()
	pool.AddCert(p.root.cert)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()

	expiredLeaf, expiredKey := p.root.issue(t, leafSpec{cn: "old", upns: []string{"old@corp.example"},
		notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-24 * time.Hour)})
	strangerCA := newRoot(t, "Stranger CA")
	strangerLeaf, strangerKey := strangerCA.issue(t, leafSpec{cn: "eve", upns: []string{"eve@corp.example"}})
	aliceLeaf, aliceKey := p.root.issue(t, leafSpec{cn: "alice", upns: []string{"alice@corp.example"}})
	bobLeaf, bobKey := p.inter.issue(t, leafSpec{cn: "bob", upns: []string{"bob@corp.example"}})

	type clientCert struct {
		chain [][]byte
		key   any
	}
	tests := []struct {
		name      string
		cert      *clientCert
		header    string
		wantCode  int    // 0: the TLS handshake must fail
		wantBody  string // prefix
		noHandler bool
	}{
		{name: "alice", cert: &clientCert{[][]byte{aliceLeaf.Raw}, aliceKey}, header: AuthorizationURI,
			wantCode: 200, wantBody: "alice@corp.example alice"},
		{name: "bob through the intermediate", cert: &clientCert{[][]byte{bobLeaf.Raw, p.inter.cert.Raw}, bobKey}, header: AuthorizationURI,
			wantCode: 200, wantBody: "bob@corp.example bob"},
		{name: "no certificate", header: AuthorizationURI, wantCode: 401, wantBody: "auth: bad credentials: no client certificate"},
		{name: "certificate but Basic", cert: &clientCert{[][]byte{aliceLeaf.Raw}, aliceKey}, header: "Basic Zm9vOmJhcg==", wantCode: 401},
		{name: "expired", cert: &clientCert{[][]byte{expiredLeaf.Raw}, expiredKey}, header: AuthorizationURI, noHandler: true},
		{name: "unknown CA", cert: &clientCert{[][]byte{strangerLeaf.Raw}, strangerKey}, header: AuthorizationURI, noHandler: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := srv.Client().Transport.(*http.Transport).Clone()
			if tt.cert != nil {
				// Sent whatever CAs the server names, as OpenSSL-based
				// clients (pywinrm, pypsrp) do.
				c := &tls.Certificate{Certificate: tt.cert.chain, PrivateKey: tt.cert.key}
				tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
			}
			defer tr.CloseIdleConnections()
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/wsman", strings.NewReader("<s:Envelope/>"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", tt.header)
			before := reached.Load()
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if tt.noHandler {
				if err == nil {
					resp.Body.Close()
				}
				if reached.Load() != before {
					t.Fatal("handler ran for a certificate the handshake must refuse")
				}
				if err == nil {
					t.Fatalf("request succeeded with status %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode || !strings.HasPrefix(string(body), tt.wantBody) {
				t.Fatalf("got %d %q; want %d %q", resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}
