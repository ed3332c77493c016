package spnego

import (
	"bytes"
	"encoding/asn1"
	"testing"
)

// seedVectors adds every recorded token to the corpus.
func seedVectors(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.token)
	}
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00"))
	f.Add(WrapGSS(OIDKerberos, TokIDAPReq, []byte{0x6e, 0x00}))
	f.Add([]byte{0xa1, 0x80, 0x30, 0x00})
}

// FuzzClassify checks that Classify agrees with the parsers: whatever
// ParseInit or ParseResp accepts is classified as that kind.
func FuzzClassify(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		k := Classify(b)
		if _, err := ParseInit(b); err == nil && k != KindNegTokenInit {
			t.Fatalf("ParseInit accepts a token classified %v", k)
		}
		if _, err := ParseResp(b); err == nil && k != KindNegTokenResp {
			t.Fatalf("ParseResp accepts a token classified %v", k)
		}
		if _, _, _, err := UnwrapKerberos(b); err == nil && k != KindKerberos {
			t.Fatalf("UnwrapKerberos accepts a token classified %v", k)
		}
	})
}

func equalOIDs(a, b []asn1.ObjectIdentifier) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func equalInit(a, b *NegTokenInit) bool {
	if !equalOIDs(a.MechTypes, b.MechTypes) || a.ReqFlags.BitLength != b.ReqFlags.BitLength ||
		!bytes.Equal(a.ReqFlags.Bytes, b.ReqFlags.Bytes) || !bytes.Equal(a.MechToken, b.MechToken) ||
		!bytes.Equal(a.MechListMIC, b.MechListMIC) || (a.Hints == nil) != (b.Hints == nil) {
		return false
	}
	return a.Hints == nil || (a.Hints.Name == b.Hints.Name && bytes.Equal(a.Hints.Address, b.Hints.Address))
}

// FuzzParseInit checks that ParseInit never panics and that what it
// accepts re-encodes to an equal token, with a stable encoding.
func FuzzParseInit(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := ParseInit(b)
		if err != nil {
			return
		}
		out, err := it.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed token: %v", err)
		}
		if len(out) > len(b) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(b), len(out))
		}
		again, err := ParseInit(out)
		if err != nil {
			t.Fatalf("re-encoded token does not parse: %v", err)
		}
		if !equalInit(it, again) {
			t.Fatalf("round trip changed the token: %+v != %+v", it, again)
		}
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding not stable: %v", err)
		}
		if !bytes.Equal(again.RawMechTypes, it.RawMechTypes) {
			t.Fatalf("RawMechTypes differ after Marshal")
		}
	})
}

// FuzzParseResp checks that ParseResp never panics and that what it
// accepts re-encodes to an equal token, with a stable encoding.
func FuzzParseResp(f *testing.F) {
	seedVectors(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResp(b)
		if err != nil {
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed token: %v", err)
		}
		if len(out) > len(b) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(b), len(out))
		}
		again, err := ParseResp(out)
		if err != nil {
			t.Fatalf("re-encoded token does not parse: %v", err)
		}
		if again.State != r.State || !again.SupportedMech.Equal(r.SupportedMech) ||
			!bytes.Equal(again.ResponseToken, r.ResponseToken) || !bytes.Equal(again.MechListMIC, r.MechListMIC) {
			t.Fatalf("round trip changed the token: %+v != %+v", r, again)
		}
		if out2, err := again.Marshal(); err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding not stable: %v", err)
		}
	})
}
