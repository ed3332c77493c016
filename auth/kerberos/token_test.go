package kerberos

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// TestFrameToken checks the RFC 2743 section 3.1 framing byte for byte.
func TestFrameToken(t *testing.T) {
	for _, tc := range []struct {
		inner []byte
		want  string
	}{
		// 0x60, length 14, OID, TOK_ID 02 00, one byte.
		{[]byte{0xaa}, "600e" + "06092a864886f712010202" + "0200" + "aa"},
		// Lengths of 128 and more take the long form.
		{bytes.Repeat([]byte{1}, 200), "6081d5" + "06092a864886f712010202" + "0200" + hex.EncodeToString(bytes.Repeat([]byte{1}, 200))},
		{bytes.Repeat([]byte{1}, 300), "60820139" + "06092a864886f712010202" + "0200" + hex.EncodeToString(bytes.Repeat([]byte{1}, 300))},
	} {
		got := frameToken(oidKRB5, tokAPRep, tc.inner)
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("frameToken(%d bytes) = %x, want %s", len(tc.inner), got, tc.want)
		}
		oid, id, inner, err := unframeToken(got)
		if err != nil || !bytes.Equal(oid, oidKRB5) || id != tokAPRep || !bytes.Equal(inner, tc.inner) {
			t.Errorf("unframeToken: %x %x %d bytes %v", oid, id, len(inner), err)
		}
	}
	// Windows' legacy OID is accepted and reported back.
	ms := frameToken(oidMSKRB5, tokAPReq, []byte{0x6e})
	if oid, _, _, err := unframeToken(ms); err != nil || !bytes.Equal(oid, oidMSKRB5) {
		t.Errorf("MS OID: %x, %v", oid, err)
	}
}

func TestUnframeTokenErrors(t *testing.T) {
	good := frameToken(oidKRB5, tokAPReq, []byte{1, 2, 3})
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"not 0x60", append([]byte{0x61}, good[1:]...)},
		{"no length", []byte{0x60}},
		{"long length truncated", []byte{0x60, 0x82, 0x01}},
		{"indefinite length", []byte{0x60, 0x80}},
		{"five-byte length", []byte{0x60, 0x85, 1, 1, 1, 1, 1}},
		{"length too long", good[:len(good)-1]},
		{"length too short", append(append([]byte{}, good...), 0)},
		{"other OID", frameToken([]byte{0x06, 0x03, 0x2a, 0x03, 0x04}, tokAPReq, []byte{1})},
		{"no TOK_ID", []byte{0x60, 0x0c, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01}},
		{"huge length", []byte{0x60, 0x84, 0x7f, 0xff, 0xff, 0xff}},
	} {
		if _, _, _, err := unframeToken(tc.b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
	}
}

// TestGSSChecksum checks the RFC 4121 section 4.1.1 checksum encoding.
func TestGSSChecksum(t *testing.T) {
	c := gssChecksum{flags: flagMutual | flagConf | flagInteg}
	copy(c.bnd[:], bytes.Repeat([]byte{0xab}, 16))
	want := "10000000" + "abababababababababababababababab" + "32000000"
	if got := hex.EncodeToString(c.marshal()); got != want {
		t.Fatalf("marshal = %s, want %s", got, want)
	}
	back, err := parseGSSChecksum(c.marshal())
	if err != nil || back != c {
		t.Fatalf("parse(marshal) = %+v, %v", back, err)
	}
	// Delegation: DlgOpt 1, Dlgth 3, three bytes of KRB-CRED, then an
	// extension that is ignored.
	deleg := append(mustHex(t, "10000000"+"00000000000000000000000000000000"+"33000000"+"0100"+"0300"+"aabbcc"), 0xee, 0xee)
	if d, err := parseGSSChecksum(deleg); err != nil || d.flags != 0x33 {
		t.Errorf("with delegation: %+v, %v", d, err)
	}
	for _, tc := range []struct {
		name string
		b    string
	}{
		{"short", "10000000" + "0000"},
		{"Lgth not 16", "11000000" + "00000000000000000000000000000000" + "02000000"},
		{"delegation flag, no field", "10000000" + "00000000000000000000000000000000" + "01000000"},
		{"delegation truncated", "10000000" + "00000000000000000000000000000000" + "01000000" + "0100" + "0500" + "aabb"},
	} {
		if _, err := parseGSSChecksum(mustHex(t, tc.b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
	}
}

func TestParseDERLength(t *testing.T) {
	for _, tc := range []struct {
		b       []byte
		n, size int
	}{
		{[]byte{0x05}, 5, 1},
		{[]byte{0x81, 0x80}, 128, 2},
		{[]byte{0x82, 0x01, 0x00}, 256, 3},
		{[]byte{0x83, 0x01, 0x00, 0x00}, 65536, 4},
	} {
		n, size, err := parseDERLength(tc.b)
		if err != nil || n != tc.n || size != tc.size {
			t.Errorf("parseDERLength(%x) = %d, %d, %v", tc.b, n, size, err)
		}
		if got := appendDERLength(nil, tc.n); !bytes.Equal(got, tc.b) {
			t.Errorf("appendDERLength(%d) = %x, want %x", tc.n, got, tc.b)
		}
	}
}
