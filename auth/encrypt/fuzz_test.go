package encrypt

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzOpen feeds bodies to Open under identityWrapper (which accepts
// every header, so the fuzzer reaches the length checks) and the strict
// NTLM stub. Whatever opens must respect the bound and survive a Seal and
// Open round trip.
func FuzzOpen(f *testing.F) {
	for _, c := range loadPyCases(f) {
		f.Add(c.ContentType, c.body, 64<<10)
	}
	f.Add(spnegoCT, []byte("-- Encrypted Boundary\r\nOriginalContent: type=application/soap+xml;charset=UTF-16;Length=2\r\n-- Encrypted Boundary\r\nContent-Type: application/octet-stream\r\n\x10\x00\x00\x000123456789abcdefxx-- Encrypted Boundary\r\n"), 100)
	f.Add(spnegoCT, []byte("--Encrypted Boundary\r\n\tOriginalContent: Length=3;type=a\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\x00\x00\x00\x00abc"), 3)
	f.Fuzz(func(t *testing.T, ct string, body []byte, maxPlain int) {
		_, _, _ = Open(&stubWrapper{mode: "ntlm"}, ct, body, maxPlain) // must not panic
		plain, otype, err := Open(identityWrapper{}, ct, body, maxPlain)
		if err != nil {
			if plain != nil || otype != "" {
				t.Fatalf("output with error %v", err)
			}
			return
		}
		limit := maxPlain
		if limit <= 0 {
			limit = DefaultMaxPlain
		}
		if len(plain) > limit || otype == "" {
			t.Fatalf("%d bytes over the bound %d, type %q", len(plain), limit, otype)
		}
		protocol, _, _, _ := ParseContentType(ct)
		sealedBody, sealedCT, err := Seal(identityWrapper{}, protocol, "UTF-8", plain)
		if err != nil {
			t.Fatalf("Seal of an opened plaintext: %v", err)
		}
		again, _, err := Open(identityWrapper{}, sealedCT, sealedBody, limit)
		if err != nil || !bytes.Equal(again, plain) {
			t.Fatalf("Seal/Open round trip: %v", err)
		}
	})
}

// FuzzParseContentType checks that ParseContentType never panics and
// that its results, written back in canonical form, parse the same.
func FuzzParseContentType(f *testing.F) {
	f.Add(spnegoCT)
	f.Add(`multipart/x-multi-encrypted;protocol="application/HTTP-CredSSP-session-encrypted";boundary="Encrypted Boundary"`)
	f.Add("Multipart/Encrypted;\r\n\tProtocol = application/http-kerberos-session-encrypted ; boundary=\"a\\\"b\"")
	f.Add(`multipart/encrypted;protocol="x`)
	f.Fuzz(func(t *testing.T, ct string) {
		protocol, boundary, multi, ok := ParseContentType(ct)
		if !ok {
			if protocol != "" || boundary != "" || multi {
				t.Fatalf("values without ok")
			}
			return
		}
		if protocol == "" || boundary == "" || len(boundary) > maxBoundary {
			t.Fatalf("ok with protocol %q boundary %q", protocol, boundary)
		}
		media := mediaEncrypted
		if multi {
			media = mediaMultiEncrypted
		}
		q := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		canon := media + `;protocol="` + q.Replace(protocol) + `";boundary="` + q.Replace(boundary) + `"`
		if len(canon) > maxContentType {
			return
		}
		p2, b2, m2, ok2 := ParseContentType(canon)
		if !ok2 || p2 != protocol || b2 != boundary || m2 != multi {
			t.Fatalf("%q reparsed as %q %q %v %v", canon, p2, b2, m2, ok2)
		}
	})
}
