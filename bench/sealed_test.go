package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/negotiate"
	"github.com/psremote/psremote/auth/ntlm"
	psclient "github.com/psremote/psremote/client"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/internal/testkdc"
)

// Streaming through message encryption: a command writing N bytes to
// stdout (1 GiB with PSREMOTE_BENCH=1, 32 MiB otherwise), received with
// the client library over plain HTTP (Basic), HTTPS (Basic), HTTP sealed
// with NTLM, HTTP sealed with Kerberos, and HTTPS with NTLM and Kerberos
// (TLS, channel binding, no sealing), all against one in-process server
// assembled as `psremote serve` does it, in one run. It prints MB/s and
// the ratios of the sealed streams to plain HTTP and to HTTPS.

const sealedPassword = "Bench-Passw0rd"

type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

func TestSealedStreaming(t *testing.T) {
	size := int64(32 << 20)
	if heavy() {
		size = 1 << 30
	}
	if v := os.Getenv("PSREMOTE_STREAM_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		size = n
	}
	kdc := testkdc.Start(t)
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.NewHost(self)
	eng := shell.New(shell.Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20}, host)
	quiet := slog.New(slog.DiscardHandler)
	svc := service.New(service.Config{Machine: "m", MaxEnvelopeSize: 512000, MaxTimeout: time.Minute,
		ServerUser: self, ProductVendor: "psremote", ProductVersion: "OS: 1.0.0 SP: 0.0 Stack: 3.0", Logger: quiet}, eng)
	acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{KeytabPath: kdc.Keytab})
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(string, string) (identity.User, error) { return self, nil }
	neg, err := negotiate.New(negotiate.Config{
		NTLMSources: []negotiate.NTLMSource{negotiate.StoreSource(func(_ context.Context, name string) ([16]byte, string, error) {
			if !strings.EqualFold(name, "bench") {
				return [16]byte{}, "", auth.ErrBadCredentials
			}
			return ntlm.NTHash(sealedPassword), "bench", nil
		})},
		NTLMServer:   ntlm.ServerConfig{NetBIOSDomain: "LAB", NetBIOSComputer: "BENCH"},
		CBT:          cbt.Relaxed,
		Resolve:      resolve,
		Kerberos:     acc,
		PrincipalMap: kerberos.NewPrincipalMap(testkdc.Realm, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	basic := auth.NewBasic(auth.BasicConfig{Sources: []auth.PasswordVerifier{staticSource{}}, Resolve: resolve, AllowUnencrypted: true})
	cert, pool := sealedCert(t)
	srv := listener.New(listener.Config{Endpoints: []listener.Endpoint{
		{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"},
		{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: &cert},
	}, Mechanisms: []auth.Mechanism{neg, basic}, MaxEnvelopeSize: 512000, Service: svc, Logger: quiet, AllowUnencrypted: true})
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
	httpURL := strings.Replace(bound[0].URL, "127.0.0.1", "localhost", 1)
	httpsURL := strings.Replace(bound[1].URL, "127.0.0.1", "localhost", 1)
	tc := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	krb := psclient.KerberosOptions{CCache: kdc.CCache, Krb5Conf: kdc.Krb5Conf}

	modes := []struct {
		name string
		cfg  psclient.Config
	}{
		{"http basic (plain)", psclient.Config{Endpoint: httpURL, Auth: psclient.Basic("bench", sealedPassword), TrustedHosts: "localhost", AllowUnencrypted: true}},
		{"https basic", psclient.Config{Endpoint: httpsURL, TLSConfig: tc, Auth: psclient.Basic("bench", sealedPassword)}},
		{"http ntlm sealed", psclient.Config{Endpoint: httpURL, Auth: psclient.NTLM(`LAB\bench`, sealedPassword), TrustedHosts: "localhost"}},
		{"http kerberos sealed", psclient.Config{Endpoint: httpURL, Auth: psclient.Kerberos(krb)}},
		{"https ntlm", psclient.Config{Endpoint: httpsURL, TLSConfig: tc, Auth: psclient.NTLM(`LAB\bench`, sealedPassword)}},
		{"https kerberos", psclient.Config{Endpoint: httpsURL, TLSConfig: tc, Auth: psclient.Kerberos(krb)}},
	}
	rate := map[string]float64{}
	for _, m := range modes {
		c, err := psclient.New(m.cfg)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		sh, err := c.CreateShell(ctx, psclient.ShellOptions{})
		if err != nil {
			cancel()
			t.Fatalf("%s: %v", m.name, err)
		}
		var w countingWriter
		cmd := sh.Command("head -c " + strconv.FormatInt(size, 10) + " /dev/zero")
		cmd.Stdout = &w
		t0 := time.Now()
		err = cmd.Run(ctx)
		el := time.Since(t0)
		sh.Close(ctx)
		c.Close()
		cancel()
		if err != nil || w.n.Load() != size {
			t.Fatalf("%s: %v, %d of %d bytes", m.name, err, w.n.Load(), size)
		}
		rate[m.name] = float64(size) / el.Seconds() / 1e6
		t.Logf("%-22s %6.0f MB/s (%d bytes in %v)", m.name, rate[m.name], size, el.Round(time.Millisecond))
	}
	for _, m := range modes[2:] {
		t.Logf("%-22s = %.2f x plain HTTP, %.2f x HTTPS", m.name, rate[m.name]/rate[modes[0].name], rate[m.name]/rate[modes[1].name])
	}
}

type staticSource struct{}

func (staticSource) Name() string { return "bench" }
func (staticSource) VerifyPassword(_ context.Context, user, password string) error {
	if user == "bench" && password == sealedPassword {
		return nil
	}
	return auth.ErrBadCredentials
}

// sealedCert is a self-signed ECDSA certificate for localhost.
func sealedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
