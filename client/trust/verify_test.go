package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pki is a test CA with an intermediate, a leaf it issued for the loopback
// server, and two unrelated self-signed server certificates.
type pki struct {
	roots       *x509.CertPool
	caLeaf      tls.Certificate // leaf + intermediate
	caLeafOnly  tls.Certificate // leaf without the intermediate
	expired     tls.Certificate // CA-issued, expired
	wrongName   tls.Certificate // CA-issued for another host
	selfA       tls.Certificate
	selfB       tls.Certificate
	caRootPEM   []byte
	caLeafFP    string
	selfAFP     string
	selfBFP     string
	wrongNameFP string
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial atomic.Int64

// issue creates a certificate from tmpl signed by parent (self-signed when
// parent is nil).
func issue(t *testing.T, tmpl *x509.Certificate, parent *keyPair) keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{cert, key}
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
}

func serverTemplate(dns ...string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "server"},
		DNSNames:    dns,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func chain(leaf keyPair, extra ...keyPair) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{leaf.cert.Raw}, PrivateKey: leaf.key, Leaf: leaf.cert}
	for _, e := range extra {
		c.Certificate = append(c.Certificate, e.cert.Raw)
	}
	return c
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	root := issue(t, caTemplate("test root"), nil)
	inter := issue(t, caTemplate("test intermediate"), &root)
	leaf := issue(t, serverTemplate("localhost"), &inter)
	expiredTmpl := serverTemplate("localhost")
	expiredTmpl.NotBefore = time.Now().Add(-48 * time.Hour)
	expiredTmpl.NotAfter = time.Now().Add(-24 * time.Hour)
	expired := issue(t, expiredTmpl, &inter)
	wrong := serverTemplate("elsewhere.example")
	wrong.IPAddresses = nil
	wrongName := issue(t, wrong, &inter)
	selfA := issue(t, serverTemplate("localhost"), nil)
	selfB := issue(t, serverTemplate("localhost"), nil)

	p := &pki{
		roots:       x509.NewCertPool(),
		caLeaf:      chain(leaf, inter),
		caLeafOnly:  chain(leaf),
		expired:     chain(expired, inter),
		wrongName:   chain(wrongName, inter),
		selfA:       chain(selfA),
		selfB:       chain(selfB),
		caRootPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.cert.Raw}),
		caLeafFP:    Fingerprint(leaf.cert),
		selfAFP:     Fingerprint(selfA.cert),
		selfBFP:     Fingerprint(selfB.cert),
		wrongNameFP: Fingerprint(wrongName.cert),
	}
	p.roots.AddCert(root.cert)
	return p
}

// tlsServer is a loopback TLS server whose certificate can be swapped
// between connections, so one host:port can present different ones.
type tlsServer struct {
	addr    string
	port    string
	cert    atomic.Pointer[tls.Certificate]
	results chan error // server-side handshake result per connection
}

func startServer(t *testing.T) *tlsServer {
	t.Helper()
	s := &tlsServer{results: make(chan error, 1)}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.cert.Load(), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.addr = ln.Addr().String()
	_, s.port, _ = net.SplitHostPort(s.addr)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			tc.SetDeadline(time.Now().Add(10 * time.Second))
			err = tc.Handshake()
			if err == nil {
				_, err = tc.Write([]byte("ok"))
			}
			tc.Close()
			s.results <- err
		}
	}()
	return s
}

// dial connects to s, verifying it as hostport under p, and returns the
// client's error and the server's handshake result.
func (s *tlsServer) dial(t *testing.T, k *KnownHosts, hostport string, p Policy) (clientErr, serverErr error) {
	t.Helper()
	cfg, err := k.TLSConfig(hostport, p)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.addr, cfg)
	if err == nil {
		var buf []byte
		buf, err = io.ReadAll(conn)
		if err == nil && string(buf) != "ok" {
			err = errors.New("unexpected reply " + string(buf))
		}
		conn.Close()
	}
	select {
	case serverErr = <-s.results:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not finish the handshake")
	}
	return err, serverErr
}

// recorder collects Policy.OnAccept calls.
type recorder struct{ got []Outcome }

func (r *recorder) policy(p Policy) Policy {
	p.OnAccept = func(_ string, o Outcome, _ string) { r.got = append(r.got, o) }
	return p
}

// TestVerifyConnectionSequence runs handshakes against one host:port in
// order; each step sees the pins left by the steps before.
func TestVerifyConnectionSequence(t *testing.T) {
	t.Parallel()
	pk := newPKI(t)
	srv := startServer(t)
	k, err := Open(filepath.Join(t.TempDir(), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	withRoots := Policy{CARoots: pk.roots, AcceptNew: true}

	steps := []struct {
		name    string
		cert    tls.Certificate
		host    string // host part; "" means 127.0.0.1
		policy  Policy
		wantErr any     // nil, *ChangedError or *UnknownHostError
		want    Outcome // reported outcome on success
		wantPin string  // pin afterwards; "" = none
	}{
		{name: "CA-verified by IP SAN, not pinned", cert: pk.caLeaf, policy: withRoots, want: OutcomeVerified},
		{name: "CA-verified by DNS SAN, not pinned", cert: pk.caLeaf, host: "localhost", policy: withRoots, want: OutcomeVerified},
		{name: "intermediate missing", cert: pk.caLeafOnly, policy: Policy{CARoots: pk.roots}, wantErr: &UnknownHostError{}},
		{name: "CA unknown to system roots", cert: pk.caLeaf, policy: Policy{}, wantErr: &UnknownHostError{}},
		{name: "expired CA cert", cert: pk.expired, policy: Policy{CARoots: pk.roots}, wantErr: &UnknownHostError{}},
		{name: "self-signed refused without AcceptNew", cert: pk.selfA, policy: Policy{}, wantErr: &UnknownHostError{}},
		{name: "self-signed first use pinned", cert: pk.selfA, policy: DefaultPolicy(), want: OutcomeNew, wantPin: pk.selfAFP},
		{name: "same cert again", cert: pk.selfA, policy: DefaultPolicy(), want: OutcomeKnown, wantPin: pk.selfAFP},
		{name: "pinned cert needs no AcceptNew", cert: pk.selfA, policy: Policy{}, want: OutcomeKnown, wantPin: pk.selfAFP},
		{name: "other name is other pin", cert: pk.selfA, host: "localhost", policy: Policy{}, wantErr: &UnknownHostError{}, wantPin: pk.selfAFP},
		{name: "changed cert refused", cert: pk.selfB, policy: DefaultPolicy(), wantErr: &ChangedError{}, wantPin: pk.selfAFP},
		{name: "changed cert, insecure passes, pin kept", cert: pk.selfB, policy: Policy{Insecure: true}, want: OutcomeInsecure, wantPin: pk.selfAFP},
		{name: "changed cert accepted", cert: pk.selfB, policy: Policy{AcceptChanged: true}, want: OutcomeReplaced, wantPin: pk.selfBFP},
		{name: "new pin holds", cert: pk.selfB, policy: DefaultPolicy(), want: OutcomeKnown, wantPin: pk.selfBFP},
		{name: "old cert now refused", cert: pk.selfA, policy: DefaultPolicy(), wantErr: &ChangedError{}, wantPin: pk.selfBFP},
		{name: "CA-verified wins over pin", cert: pk.caLeaf, policy: withRoots, want: OutcomeVerified, wantPin: pk.selfBFP},
		{name: "CA cert not verifiable is changed cert", cert: pk.caLeaf, policy: DefaultPolicy(), wantErr: &ChangedError{}, wantPin: pk.selfBFP},
		{name: "insecure passes anything", cert: pk.wrongName, policy: Policy{Insecure: true}, want: OutcomeInsecure, wantPin: pk.selfBFP},
	}
	for _, s := range steps {
		srv.cert.Store(&s.cert)
		host := s.host
		if host == "" {
			host = "127.0.0.1"
		}
		hostport := net.JoinHostPort(host, srv.port)
		var rec recorder
		clientErr, serverErr := srv.dial(t, k, hostport, rec.policy(s.policy))
		checkErr(t, s.name, clientErr, s.wantErr)
		if s.wantErr == nil {
			if serverErr != nil {
				t.Errorf("%s: server handshake: %v", s.name, serverErr)
			}
			if len(rec.got) != 1 || rec.got[0] != s.want {
				t.Errorf("%s: OnAccept got %v; want [%v]", s.name, rec.got, s.want)
			}
		} else {
			// The failed verification aborted the handshake on both ends.
			if serverErr == nil {
				t.Errorf("%s: server handshake succeeded; want it aborted", s.name)
			}
			if len(rec.got) != 0 {
				t.Errorf("%s: OnAccept called (%v) for a refused certificate", s.name, rec.got)
			}
		}
		pin, ok := k.Lookup("127.0.0.1:" + srv.port)
		if ok != (s.wantPin != "") || pin != s.wantPin {
			t.Errorf("%s: pin = %q, %v; want %q", s.name, pin, ok, s.wantPin)
		}
	}

	// The pin is on disk for the next process.
	k2, err := Open(k.Path())
	if err != nil {
		t.Fatal(err)
	}
	if pin, _ := k2.Lookup("127.0.0.1:" + srv.port); pin != pk.selfBFP {
		t.Errorf("reopened pin = %q; want %q", pin, pk.selfBFP)
	}
	if _, ok := k2.Lookup("localhost:" + srv.port); ok {
		t.Error("localhost was pinned by a refused handshake")
	}
}

// TestVerifyConnectionErrors checks what the errors carry.
func TestVerifyConnectionErrors(t *testing.T) {
	t.Parallel()
	pk := newPKI(t)
	srv := startServer(t)
	k, err := Open(filepath.Join(t.TempDir(), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	hostport := "127.0.0.1:" + srv.port

	// Name mismatch: the chain is fine, the host is not in the SANs.
	srv.cert.Store(&pk.wrongName)
	err, _ = srv.dial(t, k, hostport, Policy{CARoots: pk.roots})
	var ue *UnknownHostError
	var he x509.HostnameError
	if !errors.As(err, &ue) || !errors.As(err, &he) {
		t.Fatalf("err = %v; want *UnknownHostError wrapping x509.HostnameError", err)
	}
	if ue.Host != hostport || ue.Got != pk.wrongNameFP {
		t.Errorf("UnknownHostError = %+v", ue)
	}

	srv.cert.Store(&pk.selfA)
	if err, _ := srv.dial(t, k, hostport, DefaultPolicy()); err != nil {
		t.Fatal(err)
	}
	srv.cert.Store(&pk.selfB)
	err, _ = srv.dial(t, k, hostport, DefaultPolicy())
	var ce *ChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v; want *ChangedError", err)
	}
	want := ChangedError{Host: hostport, Known: pk.selfAFP, Got: pk.selfBFP, File: k.Path()}
	if *ce != want {
		t.Errorf("ChangedError = %+v; want %+v", *ce, want)
	}
	for _, s := range []string{hostport, pk.selfAFP, pk.selfBFP, k.Path()} {
		if !strings.Contains(ce.Error(), s) {
			t.Errorf("ChangedError message %q lacks %q", ce.Error(), s)
		}
	}
}

func TestVerifyConnectionNilKnownHosts(t *testing.T) {
	t.Parallel()
	pk := newPKI(t)
	srv := startServer(t)
	var k *KnownHosts
	tests := []struct {
		name    string
		cert    tls.Certificate
		policy  Policy
		wantErr any
	}{
		{"CA-verified", pk.caLeaf, Policy{CARoots: pk.roots}, nil},
		{"self-signed refused", pk.selfA, DefaultPolicy(), &UnknownHostError{}},
		{"insecure", pk.selfA, Policy{Insecure: true}, nil},
	}
	for _, tt := range tests {
		srv.cert.Store(&tt.cert)
		err, _ := srv.dial(t, k, "127.0.0.1:"+srv.port, tt.policy)
		checkErr(t, tt.name, err, tt.wantErr)
	}
}

// TestVerifyConnectionDirect calls the returned function without a
// handshake, for the cases a real server cannot produce.
func TestVerifyConnectionDirect(t *testing.T) {
	t.Parallel()
	pk := newPKI(t)
	k, err := Open(filepath.Join(t.TempDir(), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		hostport string
		certs    []*x509.Certificate
		wantErr  any
	}{
		{"no certificate", "web1", nil, ErrNoCertificate},
		{"bad host", "web 1", []*x509.Certificate{pk.selfA.Leaf}, errAny},
		{"default port", "web1", []*x509.Certificate{pk.selfA.Leaf}, nil},
	}
	for _, tt := range tests {
		err := k.VerifyConnection(tt.hostport, DefaultPolicy())(tls.ConnectionState{PeerCertificates: tt.certs})
		checkErr(t, tt.name, err, tt.wantErr)
	}
	if pin, _ := k.Lookup("web1:5986"); pin != pk.selfAFP {
		t.Errorf("pin for web1:5986 = %q; want %q", pin, pk.selfAFP)
	}
	if _, err := k.TLSConfig("web 1", DefaultPolicy()); err == nil {
		t.Error("TLSConfig accepted a bad host")
	}
}

func TestTLSConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hostport, serverName string
	}{
		{"WinHost.Example:5986", "winhost.example"},
		{"10.0.0.1:5986", ""},
		{"[::1]:5986", ""},
	}
	for _, tt := range tests {
		cfg, err := (*KnownHosts)(nil).TLSConfig(tt.hostport, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ServerName != tt.serverName || !cfg.InsecureSkipVerify || cfg.VerifyConnection == nil || cfg.MinVersion != tls.VersionTLS12 {
			t.Errorf("TLSConfig(%q) = ServerName %q, InsecureSkipVerify %v, MinVersion %x", tt.hostport, cfg.ServerName, cfg.InsecureSkipVerify, cfg.MinVersion)
		}
	}
}

// TestVerifyConnectionUnwritable refuses a new host whose pin cannot be
// recorded rather than accepting it silently.
func TestVerifyConnectionUnwritable(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs Unix permissions enforced")
	}
	pk := newPKI(t)
	dir := t.TempDir()
	k, err := Open(filepath.Join(dir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	err = k.VerifyConnection("web1", DefaultPolicy())(tls.ConnectionState{PeerCertificates: []*x509.Certificate{pk.selfA.Leaf}})
	if err == nil {
		t.Fatal("accepted a new host whose pin could not be written")
	}
}

func TestLoadCertPool(t *testing.T) {
	t.Parallel()
	pk := newPKI(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(good, pk.caRootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("not pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := LoadCertPool(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pk.caLeaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates(pk.caLeaf)}); err != nil {
		t.Errorf("loaded pool does not verify the CA leaf: %v", err)
	}
	for _, p := range []string{empty, filepath.Join(dir, "missing.pem")} {
		if _, err := LoadCertPool(p); err == nil {
			t.Errorf("LoadCertPool(%s) succeeded", p)
		}
	}
}

func intermediates(c tls.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, der := range c.Certificate[1:] {
		cert, _ := x509.ParseCertificate(der)
		pool.AddCert(cert)
	}
	return pool
}

func TestOutcomeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		o    Outcome
		want string
	}{
		{OutcomeVerified, "verified"},
		{OutcomeInsecure, "insecure"},
		{OutcomeKnown, "known"},
		{OutcomeNew, "new"},
		{OutcomeReplaced, "replaced"},
		{Outcome(0), "Outcome(0)"},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("Outcome(%d).String() = %q; want %q", int(tt.o), got, tt.want)
		}
	}
}
