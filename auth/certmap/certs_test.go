package certmap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"sync/atomic"
	"testing"
	"time"
)

// Test PKI: built fresh by each test that needs it, with P-256 keys.

// testNow is the fixed "now" the certificates are valid around.
var testNow = time.Now()

var serial atomic.Int64

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func create(t testing.TB, tmpl, parent *x509.Certificate, pub, signer any) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testNow.Add(-time.Hour),
		NotAfter:              testNow.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
}

func newRoot(t testing.TB, cn string) *testCA {
	t.Helper()
	k := newKey(t)
	tmpl := caTemplate(cn)
	return &testCA{cert: create(t, tmpl, tmpl, &k.PublicKey, k), key: k}
}

func (ca *testCA) intermediate(t testing.TB, cn string) *testCA {
	t.Helper()
	k := newKey(t)
	return &testCA{cert: create(t, caTemplate(cn), ca.cert, &k.PublicKey, ca.key), key: k}
}

// leafSpec describes a client certificate.
type leafSpec struct {
	cn                  string
	upns, emails        []string
	noEKU               bool
	notBefore, notAfter time.Time
}

func (s leafSpec) template() *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: s.cn},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if s.noEKU {
		tmpl.ExtKeyUsage = nil
	}
	if !s.notBefore.IsZero() {
		tmpl.NotBefore = s.notBefore
	}
	if !s.notAfter.IsZero() {
		tmpl.NotAfter = s.notAfter
	}
	if len(s.upns) > 0 || len(s.emails) > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidSubjectAltName, Value: sanDER(s.upns, s.emails)}}
	}
	return tmpl
}

// issue returns a client certificate signed by ca, and its key.
func (ca *testCA) issue(t testing.TB, s leafSpec) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k := newKey(t)
	return create(t, s.template(), ca.cert, &k.PublicKey, ca.key), k
}

// selfSigned returns a self-signed client certificate, and its key.
func selfSigned(t testing.TB, s leafSpec) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k := newKey(t)
	tmpl := s.template()
	return create(t, tmpl, tmpl, &k.PublicKey, k), k
}

// sanDER encodes a GeneralNames holding UPN otherNames then rfc822Names,
// built independently of the parser under test.
func sanDER(upns, emails []string) []byte {
	var body []byte
	oid, err := asn1.Marshal(oidUPN)
	if err != nil {
		panic(err)
	}
	for _, u := range upns {
		str, err := asn1.MarshalWithParams(u, "utf8")
		if err != nil {
			panic(err)
		}
		val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: str})
		if err != nil {
			panic(err)
		}
		on, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true,
			Bytes: append(append([]byte{}, oid...), val...)})
		if err != nil {
			panic(err)
		}
		body = append(body, on...)
	}
	for _, e := range emails {
		b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, Bytes: []byte(e)})
		if err != nil {
			panic(err)
		}
		body = append(body, b...)
	}
	seq, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		panic(err)
	}
	return seq
}

// tp returns c's thumbprint as Windows shows it.
func tp(c *x509.Certificate) string {
	s := sha1.Sum(c.Raw)
	return hex.EncodeToString(s[:])
}

// verified returns the chains crypto/x509 verifies for leaf, the way
// crypto/tls fills VerifiedChains for a server requiring client auth.
func verified(t testing.TB, leaf *x509.Certificate, roots []*x509.Certificate, inters ...*x509.Certificate) [][]*x509.Certificate {
	t.Helper()
	rp, ip := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		rp.AddCert(r)
	}
	for _, c := range inters {
		ip.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: rp, Intermediates: ip, CurrentTime: testNow,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatalf("verify %q: %v", leaf.Subject.CommonName, err)
	}
	return chains
}

// connState is what crypto/tls reports for a verified client.
func connState(chains [][]*x509.Certificate) *tls.ConnectionState {
	return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{chains[0][0]}, VerifiedChains: chains}
}
