package client_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/encrypt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
)

// negServer is a small WinRM endpoint for the authentication tests: it
// runs NTLM (auth/ntlm's ServerContext) and Kerberos (auth/kerberos's
// Acceptor) handshakes per TCP connection, opens sealed requests and
// seals its replies with auth/encrypt on HTTP, checks channel bindings on
// HTTPS, and answers every authenticated Identify with a reply that
// numbers the request. It records what it saw for the tests to check.
type negServer struct {
	t      *testing.T
	srv    *httptest.Server
	ntlm   *ntlm.Server
	krb    *kerberos.Acceptor
	policy cbt.Policy
	// appData is the channel-binding data the server expects: that of its
	// own certificate, unless a test sets another.
	appData []byte
	cert    *x509.Certificate

	// Knobs, set before the first request.
	forgetAfter int         // forget a connection's context after this many sealed requests (0: never)
	always401   bool        // refuse every request after the handshake
	tamperAPRep atomic.Bool // corrupt the AP-REP
	noAPRep     atomic.Bool // send no AP-REP
	tamperReply bool        // corrupt every sealed reply
	plainReply  bool        // reply in clear text to sealed requests
	wantCert    bool        // require a TLS client certificate
	basicOnly   bool        // offer and accept only Basic (alice, testPassword)
	flipBinding bool        // expect the certificate's bindings with one bit changed

	mu     sync.Mutex
	events []event // guarded by mu
	conns  int     // guarded by mu
	served int     // guarded by mu: Identify replies
}

// event is one request as the server saw it.
type event struct {
	conn      int
	authz     string // Authorization scheme and token kind, e.g. "Negotiate NTLM-1"
	bodyLen   int
	sealed    bool
	status    int
	clientCrt bool
}

type connKey struct{}

// connState is one TCP connection's authentication.
type connState struct {
	id   int
	ntlm *ntlm.ServerContext
	wrap encrypt.Wrapper
	user string
	n    int // sealed requests on this context
}

const (
	testUser     = `LAB\alice`
	testPassword = "Secret-Pa55"
)

// newNegServer starts the endpoint over HTTP, or HTTPS with a fresh
// self-signed certificate.
func newNegServer(t *testing.T, https bool, opts ...func(*negServer)) *negServer {
	t.Helper()
	s := &negServer{t: t, policy: cbt.Strict}
	v := ntlm.HashValidator{Lookup: func(_ context.Context, user string) ([16]byte, error) {
		if !strings.EqualFold(user, "alice") {
			return [16]byte{}, ntlm.ErrBadCredentials
		}
		return ntlm.NTHash(testPassword), nil
	}}
	var err error
	if s.ntlm, err = ntlm.NewServer(ntlm.ServerConfig{Validator: v, NetBIOSDomain: "LAB", NetBIOSComputer: "WEB1"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		s.mu.Lock()
		s.conns++
		id := s.conns
		s.mu.Unlock()
		return context.WithValue(ctx, connKey{}, &connState{id: id})
	}
	s.srv.Config.ErrorLog = nil
	if https {
		cert := selfSigned(t, "localhost")
		s.cert, _ = x509.ParseCertificate(cert.Certificate[0])
		if s.appData == nil {
			s.appData = cbt.TLSServerEndPoint(s.cert)
			if s.flipBinding {
				s.appData[len(s.appData)-1] ^= 1
			}
		}
		s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		if s.wantCert {
			s.srv.TLS.ClientAuth = tls.RequireAnyClientCert
		}
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

// url returns the endpoint URL with host in place of 127.0.0.1.
func (s *negServer) url(host string) string {
	return strings.Replace(s.srv.URL, "127.0.0.1", host, 1) + "/wsman"
}

// tlsConfig trusts the server's certificate.
func (s *negServer) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.cert)
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

func (s *negServer) log() []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event(nil), s.events...)
}

func (s *negServer) record(e event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *negServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cs := r.Context().Value(connKey{}).(*connState)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	e := event{conn: cs.id, bodyLen: len(body), clientCrt: r.TLS != nil && len(r.TLS.PeerCertificates) > 0}
	_, _, _, e.sealed = encrypt.ParseContentType(r.Header.Get("Content-Type"))
	reply := func(status int) {
		e.status = status
		s.record(e)
		w.WriteHeader(status)
	}
	secure := r.TLS != nil
	authz := r.Header.Get("Authorization")
	if s.basicOnly {
		e.authz, _, _ = strings.Cut(authz, " ")
		if authz != "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:"+testPassword)) {
			w.Header().Set("WWW-Authenticate", `Basic realm="WSMAN"`)
			reply(http.StatusUnauthorized)
			return
		}
		cs.user = "alice"
		authz = ""
	}
	switch {
	case strings.HasPrefix(authz, "Negotiate "):
		tok, err := base64.StdEncoding.DecodeString(authz[len("Negotiate "):])
		if err != nil {
			reply(http.StatusBadRequest)
			return
		}
		if bytes.HasPrefix(tok, []byte("NTLMSSP\x00")) {
			e.authz = fmt.Sprintf("Negotiate NTLM-%d", tok[8])
			if tok[8] == 1 {
				cs.ntlm = s.ntlm.NewContext(ntlm.ChannelBinding{Policy: s.policy, Secure: secure, AppData: s.appData})
				cs.wrap = nil
			}
			if cs.ntlm == nil {
				reply(http.StatusUnauthorized)
				return
			}
			out, done, err := cs.ntlm.Step(r.Context(), tok)
			if err != nil {
				cs.ntlm = nil
				w.Header().Add("WWW-Authenticate", "Negotiate")
				reply(http.StatusUnauthorized)
				return
			}
			if !done {
				w.Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString(out))
				reply(http.StatusUnauthorized)
				return
			}
			cs.wrap, cs.user, cs.n = cs.ntlm.Session(), cs.ntlm.User(), 0
		} else {
			e.authz = "Negotiate Kerberos"
			if s.krb == nil {
				reply(http.StatusUnauthorized)
				return
			}
			kc, rep, err := s.krb.Accept(r.Context(), tok, kerberos.ChannelBinding{Policy: s.policy, Secure: secure, AppData: s.appData})
			if err != nil {
				w.Header().Add("WWW-Authenticate", "Negotiate")
				reply(http.StatusUnauthorized)
				return
			}
			if s.tamperAPRep.Load() {
				rep = bytes.Clone(rep)
				rep[len(rep)-3] ^= 0x40
			}
			if !s.noAPRep.Load() {
				w.Header().Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString(rep))
			}
			cs.wrap, cs.user, cs.n = kc, kc.Principal(), 0
		}
		if len(body) == 0 {
			reply(http.StatusOK)
			return
		}
	case authz != "":
		e.authz = strings.SplitN(authz, " ", 2)[0]
		if cs.wrap == nil && !(s.wantCert && authz == "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual") {
			reply(http.StatusUnauthorized)
			return
		}
	default:
		if cs.wrap == nil && r.Header.Get("WSMANIDENTIFY") != "unauthenticated" && !s.basicOnly {
			w.Header().Add("WWW-Authenticate", "Negotiate")
			reply(http.StatusUnauthorized)
			return
		}
	}
	if cs.wrap != nil && (s.always401 || (s.forgetAfter > 0 && cs.n >= s.forgetAfter)) {
		cs.wrap, cs.ntlm = nil, nil
		w.Header().Add("WWW-Authenticate", "Negotiate")
		reply(http.StatusUnauthorized)
		return
	}
	mustSeal := !secure && cs.wrap != nil && r.Header.Get("WSMANIDENTIFY") == ""
	if mustSeal {
		if !e.sealed {
			reply(http.StatusBadRequest)
			return
		}
		plain, _, err := encrypt.Open(cs.wrap, r.Header.Get("Content-Type"), body, 0)
		if err != nil {
			s.t.Errorf("server: opening a sealed request: %v", err)
			reply(http.StatusBadRequest)
			return
		}
		body = plain
		cs.n++
	}
	if !bytes.Contains(body, []byte("Identify/>")) {
		s.t.Errorf("server: request is not an Identify: %.200s", body)
		reply(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.served++
	n := s.served
	s.mu.Unlock()
	out := []byte(fmt.Sprintf(identifyReply, fmt.Sprintf("req-%d conn-%d user-%s", n, cs.id, cs.user)))
	if mustSeal && !s.plainReply {
		sealed, ct, err := encrypt.Seal(cs.wrap, encrypt.ProtocolSPNEGO, "UTF-8", out)
		if err != nil {
			s.t.Errorf("server: sealing: %v", err)
			return
		}
		if s.tamperReply {
			sealed[len(sealed)-30] ^= 1
		}
		w.Header().Set("Content-Type", ct)
		out = sealed
	} else {
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	}
	reply(http.StatusOK)
	w.Write(out)
}

const identifyReply = `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body><wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion><wsmid:ProductVendor>test</wsmid:ProductVendor><wsmid:ProductVersion>%s</wsmid:ProductVersion></wsmid:IdentifyResponse></s:Body></s:Envelope>`

// selfSigned makes an ECDSA certificate for host.
func selfSigned(t testing.TB, host string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
