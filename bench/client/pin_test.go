package clientbench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/psremote/psremote/client/trust"
)

// TestPinCost measures what a first-contact fan-out pays in the client
// for trust on first use: N new hosts pinned one after another through
// KnownHosts.VerifyConnection, as the TLS handshakes of `psremote run -f`
// do (the pins are serialized by the process and file locks). Wall time
// against this process's CPU time separates the parsing and rewriting of
// known_hosts (CPU) from the fsyncs (waiting). N: PSREMOTE_PIN_HOSTS, else
// 1000 with PSREMOTE_BENCH=1, else 50.
func TestPinCost(t *testing.T) {
	n := int(envInt("PSREMOTE_PIN_HOSTS", map[bool]int64{true: 1000, false: 50}[heavy()]))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pin-cost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	kh, err := trust.Open(filepath.Join(t.TempDir(), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	p := trust.DefaultPolicy()
	p.CARoots = x509.NewCertPool() // CA verification fails at once, as for a self-signed server
	host := func(i int) string { return fmt.Sprintf("127.1.%d.%d:25986", i/250, 1+i%250) }

	measure := func(what string) {
		c0, t0 := cpuNow(t), time.Now()
		for i := range n {
			if err := kh.VerifyConnection(host(i), p)(cs); err != nil {
				t.Fatal(err)
			}
		}
		el, cpu := time.Since(t0), cpuNow(t)-c0
		t.Logf("%s %d hosts: %v wall (%v per host), %v CPU", what, n, el.Round(time.Millisecond),
			(el / time.Duration(n)).Round(time.Microsecond), cpu)
	}
	measure("pin new")       // each: lock, reread and reparse the file, rewrite it, fsync file and directory
	measure("verify pinned") // each: in-memory lookup
}
