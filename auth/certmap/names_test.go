package certmap

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"slices"
	"testing"
)

// goldenSAN is the subjectAltName extension value holding one UPN,
// "local-user@localhost", assembled by hand from RFC 5280 4.2.1.6:
//
//	30 26                       GeneralNames
//	  a0 24                     otherName [0]
//	    06 0a 2b06010401823714 0203   1.3.6.1.4.1.311.20.2.3
//	    a0 16                   value [0] EXPLICIT
//	      0c 14 "local-user@localhost"  UTF8String
//
// OpenSSL 3.0 writes the same bytes for the Ansible guide's
// "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:local-user@localhost"
// (testdata/ansible-selfsigned-upn.pem).
const goldenSAN = "3026a024060a2b060104018237140203a0160c146c6f63616c2d75736572406c6f63616c686f7374"

// goldenThumbprint is the SHA-1 fingerprint OpenSSL printed for
// testdata/ansible-selfsigned-upn.pem ("openssl x509 -fingerprint -sha1").
const goldenThumbprint = "27:D7:AE:A5:49:55:CE:EA:30:DC:24:4C:A8:A7:C7:B0:C1:72:7E:8E"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadAnsibleCert(t testing.TB) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile("testdata/ansible-selfsigned-upn.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGoldenSAN(t *testing.T) {
	want := mustHex(t, goldenSAN)
	if got := sanDER([]string{"local-user@localhost"}, nil); !bytes.Equal(got, want) {
		t.Fatalf("test encoder:\n got %x\nwant %x", got, want)
	}
	upns, err := parseUPNs(want)
	if err != nil || !slices.Equal(upns, []string{"local-user@localhost"}) {
		t.Fatalf("parseUPNs = %q, %v", upns, err)
	}

	c := loadAnsibleCert(t)
	var ext []byte
	for _, e := range c.Extensions {
		if e.Id.Equal(oidSubjectAltName) {
			ext = e.Value
		}
	}
	if !bytes.Equal(ext, want) {
		t.Fatalf("OpenSSL subjectAltName:\n got %x\nwant %x", ext, want)
	}
	upns, err = UserPrincipalNames(c)
	if err != nil || !slices.Equal(upns, []string{"local-user@localhost"}) {
		t.Fatalf("UserPrincipalNames(openssl cert) = %q, %v", upns, err)
	}
	th, err := parseThumbprint(goldenThumbprint)
	if err != nil {
		t.Fatal(err)
	}
	if got := tp(c); got != hex.EncodeToString(th[:]) {
		t.Fatalf("thumbprint %s; OpenSSL says %s", got, goldenThumbprint)
	}
}

func TestUserPrincipalNames(t *testing.T) {
	root := newRoot(t, "root")
	multi, _ := root.issue(t, leafSpec{cn: "m", upns: []string{"first@corp", "second@corp"}, emails: []string{"m@mail"}})
	got, err := UserPrincipalNames(multi)
	if err != nil || !slices.Equal(got, []string{"first@corp", "second@corp"}) {
		t.Errorf("two UPNs: %q, %v", got, err)
	}
	if !slices.Equal(multi.EmailAddresses, []string{"m@mail"}) {
		t.Errorf("crypto/x509 did not see the e-mail SAN next to the UPNs: %q", multi.EmailAddresses)
	}
	plain, _ := root.issue(t, leafSpec{cn: "plain"})
	if got, err := UserPrincipalNames(plain); err != nil || got != nil {
		t.Errorf("no SAN: %q, %v", got, err)
	}
	if got, err := UserPrincipalNames(nil); err != nil || got != nil {
		t.Errorf("nil cert: %q, %v", got, err)
	}
}

// wrapSAN wraps GeneralName encodings in the GeneralNames SEQUENCE.
func wrapSAN(t testing.TB, names ...[]byte) []byte {
	t.Helper()
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true,
		Bytes: bytes.Join(names, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otherName encodes an otherName [0] with the given type and raw value
// field (the bytes after the OID).
func otherName(t testing.TB, oid asn1.ObjectIdentifier, value []byte) []byte {
	t.Helper()
	o, err := asn1.Marshal(oid)
	if err != nil {
		t.Fatal(err)
	}
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(o, value...)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func explicit0(t testing.TB, inner []byte) []byte {
	t.Helper()
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseUPNs(t *testing.T) {
	golden := mustHex(t, goldenSAN)
	utf8Val := func(s string) []byte {
		b, err := asn1.MarshalWithParams(s, "utf8")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ia5Val := []byte{0x16, 0x01, 'a'}
	dns := []byte{0x82, 0x04, 'h', 'o', 's', 't'}
	many := make([][]byte, maxGeneralNames+1)
	for i := range many {
		many[i] = dns
	}
	tests := []struct {
		name    string
		der     []byte
		want    []string
		wantErr bool
	}{
		{name: "golden", der: golden, want: []string{"local-user@localhost"}},
		{name: "other choices skipped", der: wrapSAN(t, dns, otherName(t, oidUPN, explicit0(t, utf8Val("u@x")))), want: []string{"u@x"}},
		{name: "other otherName type skipped", der: wrapSAN(t, otherName(t, asn1.ObjectIdentifier{1, 2, 3}, explicit0(t, ia5Val)))},
		{name: "empty sequence", der: []byte{0x30, 0x00}},
		{name: "not a sequence", der: []byte{0x04, 0x00}, wantErr: true},
		{name: "empty input", der: nil, wantErr: true},
		{name: "trailing bytes", der: append(append([]byte{}, golden...), 0), wantErr: true},
		{name: "truncated", der: golden[:len(golden)-1], wantErr: true},
		{name: "primitive otherName", der: []byte{0x30, 0x02, 0x80, 0x00}, wantErr: true},
		{name: "value not explicit", der: wrapSAN(t, otherName(t, oidUPN, utf8Val("u@x"))), wantErr: true},
		{name: "value not UTF8String", der: wrapSAN(t, otherName(t, oidUPN, explicit0(t, ia5Val))), wantErr: true},
		{name: "value trailing bytes", der: wrapSAN(t, otherName(t, oidUPN, append(explicit0(t, utf8Val("u@x")), 0x05, 0x00))), wantErr: true},
		{name: "UPN with NUL", der: wrapSAN(t, otherName(t, oidUPN, explicit0(t, utf8Val("root\x00@x")))), wantErr: true},
		{name: "UPN not UTF-8", der: wrapSAN(t, otherName(t, oidUPN, explicit0(t, []byte{0x0c, 0x02, 0xc3, 0x28}))), wantErr: true},
		{name: "empty UPN", der: wrapSAN(t, otherName(t, oidUPN, explicit0(t, []byte{0x0c, 0x00}))), wantErr: true},
		{name: "UPN too long", der: wrapSAN(t, otherName(t, oidUPN, explicit0(t, utf8Val(string(bytes.Repeat([]byte("a"), maxSubjectLen+1)))))), wantErr: true},
		{name: "bad OID", der: wrapSAN(t, []byte{0xa0, 0x02, 0x06, 0x00}), wantErr: true},
		{name: "too many names", der: wrapSAN(t, many...), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUPNs(tt.der)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformedName) {
					t.Fatalf("got %q, %v; want ErrMalformedName", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSubjectName(t *testing.T) {
	root := newRoot(t, "root")
	upn, _ := root.issue(t, leafSpec{cn: "alice", upns: []string{"alice@corp"}, emails: []string{"alice@mail"}})
	email, _ := root.issue(t, leafSpec{cn: "carol", emails: []string{"carol@mail"}})
	cn, _ := root.issue(t, leafSpec{cn: "dave"})
	none, _ := root.issue(t, leafSpec{})
	both := Options{EmailFallback: true, CommonNameFallback: true}
	tests := []struct {
		name string
		cert *x509.Certificate
		opts Options
		want string // "" means ErrNoMapping
	}{
		{"UPN", upn, Options{}, "alice@corp"},
		{"UPN beats fallbacks", upn, both, "alice@corp"},
		{"e-mail only, Windows", email, Options{}, ""},
		{"e-mail only, fallback", email, Options{EmailFallback: true}, "carol@mail"},
		{"e-mail only, CN fallback only", email, Options{CommonNameFallback: true}, "carol"},
		{"CN only, Windows", cn, Options{}, ""},
		{"CN only, e-mail fallback", cn, Options{EmailFallback: true}, ""},
		{"CN only, CN fallback", cn, both, "dave"},
		{"nothing", none, both, ""},
	}
	for _, tt := range tests {
		got, err := subjectName(tt.cert, tt.opts)
		if tt.want == "" {
			if !errors.Is(err, ErrNoMapping) {
				t.Errorf("%s: got %q, %v; want ErrNoMapping", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
