package cbt

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"testing"
)

func loadCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The expected values were computed with openssl (DER) and Python's
// hashlib/struct, independently of this package.
func TestTLSServerEndPointAndHash(t *testing.T) {
	for _, tc := range []struct{ file, certHash, md5 string }{
		// ECDSA with SHA-384: the signature's hash is used.
		{"p384.pem", "da5c554742f6d1bd827a0f1fa987c2f46be126068c5354be9b98e1c039faef5ec0a52bcd6ee41e76cd4416cf55a8ea36", "e7669dd10686cd94fe1b9fdcd0abcb4a"},
		// RSA with SHA-1: upgraded to SHA-256.
		{"sha1.pem", "95717ba9ce9a7c3eda2711e51f50455cee113ee5ba58e0f515cb4411bed6521e", "78b31bd7f8b30109e1df04f5bbfe9b68"},
	} {
		app := TLSServerEndPoint(loadCert(t, tc.file))
		if got := hex.EncodeToString(app[len(Prefix):]); string(app[:len(Prefix)]) != Prefix || got != tc.certHash {
			t.Errorf("%s: app data %q, want prefix + %s", tc.file, app, tc.certHash)
		}
		if h := Hash(app); hex.EncodeToString(h[:]) != tc.md5 {
			t.Errorf("%s: Hash = %x, want %s", tc.file, h, tc.md5)
		}
	}
}

func TestStruct(t *testing.T) {
	got := hex.EncodeToString(Struct([]byte("ab")))
	want := "00000000" + "00000000" + "00000000" + "00000000" + "02000000" + "6162"
	if got != want {
		t.Fatalf("Struct = %s, want %s", got, want)
	}
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Policy
		err  bool
	}{{"", Relaxed, false}, {"Strict", Strict, false}, {"none", None, false}, {" RELAXED ", Relaxed, false}, {"lax", Relaxed, true}} {
		p, err := ParsePolicy(tc.in)
		if (err != nil) != tc.err || (!tc.err && p != tc.want) {
			t.Errorf("ParsePolicy(%q) = %v, %v", tc.in, p, err)
		}
	}
	for _, tc := range []struct {
		p                      Policy
		secure, present, match bool
		want                   error
	}{
		{Strict, true, false, false, ErrMissing},
		{Strict, true, true, false, ErrMismatch},
		{Strict, true, true, true, nil},
		{Strict, false, false, false, nil}, // plain HTTP: ignored
		{Relaxed, true, false, false, nil},
		{Relaxed, true, true, false, ErrMismatch},
		{Relaxed, true, true, true, nil},
		{None, true, true, false, nil},
	} {
		if got := tc.p.Check(tc.secure, tc.present, tc.match); !errors.Is(got, tc.want) || (tc.want == nil) != (got == nil) {
			t.Errorf("%v.Check(%v,%v,%v) = %v, want %v", tc.p, tc.secure, tc.present, tc.match, got, tc.want)
		}
	}
}
