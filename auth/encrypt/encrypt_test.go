package encrypt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const spnegoCT = `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"`

func TestParseContentType(t *testing.T) {
	tests := []struct {
		ct                 string
		protocol, boundary string
		multi, ok          bool
	}{
		{spnegoCT, ProtocolSPNEGO, Boundary, false, true},
		{`multipart/x-multi-encrypted;protocol="application/HTTP-CredSSP-session-encrypted";boundary="Encrypted Boundary"`, ProtocolCredSSP, Boundary, true, true},
		{`multipart/encrypted;protocol="application/HTTP-Kerberos-session-encrypted";boundary="Encrypted Boundary"`, ProtocolKerberos, Boundary, false, true},
		// Spacing, case, bare values, folded lines (MS-WSMV 4.5).
		{`Multipart/Encrypted ; Protocol = "application/http-spnego-session-encrypted" ; BOUNDARY = "Encrypted Boundary"`, ProtocolSPNEGO, Boundary, false, true},
		{"multipart/encrypted;\r\n\tprotocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"", ProtocolSPNEGO, Boundary, false, true},
		{`multipart/encrypted;protocol=application/HTTP-SPNEGO-session-encrypted;boundary=Encrypted Boundary`, ProtocolSPNEGO, Boundary, false, true},
		{`multipart/encrypted;boundary="Encrypted Boundary";protocol="application/HTTP-SPNEGO-session-encrypted";charset=utf-8`, ProtocolSPNEGO, Boundary, false, true},
		{`multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"`, ProtocolSPNEGO, Boundary, false, true},
		{`multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="a\"b;c"`, ProtocolSPNEGO, `a"b;c`, false, true},
		{`multipart/encrypted;protocol="application/x-other"; boundary="Encrypted Boundary"`, "application/x-other", Boundary, false, true},
		{`multipart/encrypted;;protocol="application/HTTP-SPNEGO-session-encrypted";flag;boundary="Encrypted Boundary"`, ProtocolSPNEGO, Boundary, false, true},
		{`multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="unterminated`, ProtocolSPNEGO, "unterminated", false, true},
		// Not encrypted, or unusable.
		{"application/soap+xml;charset=UTF-8", "", "", false, false},
		{"multipart/mixed;protocol=x;boundary=y", "", "", false, false},
		{"multipart/encrypted", "", "", false, false},
		{`multipart/encrypted;protocol=""`, "", "", false, false},
		{`multipart/encrypted;protocol="x";boundary=""`, "", "", false, false},
		{`multipart/encrypted;protocol="x";boundary="` + strings.Repeat("b", 71) + `"`, "", "", false, false},
		{"multipart/encrypted;protocol=x;" + strings.Repeat(" ", maxContentType), "", "", false, false},
		{"", "", "", false, false},
	}
	for _, tc := range tests {
		p, b, m, ok := ParseContentType(tc.ct)
		if p != tc.protocol || b != tc.boundary || m != tc.multi || ok != tc.ok {
			t.Errorf("ParseContentType(%q) = %q, %q, %v, %v; want %q, %q, %v, %v", tc.ct, p, b, m, ok, tc.protocol, tc.boundary, tc.multi, tc.ok)
		}
	}
}

// sealed returns a canonical NTLM-stub body for plain.
func sealed(t *testing.T, plain []byte) []byte {
	t.Helper()
	body, _, err := Seal(&stubWrapper{mode: "ntlm"}, ProtocolSPNEGO, "UTF-8", plain)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestOpenTolerance checks the variants of 9.5's decoder tolerance list
// against an NTLM-stub body, and the MS-WSMV 4.5 example's shape.
func TestOpenTolerance(t *testing.T) {
	plain := []byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`)
	canon := sealed(t, plain)
	r := func(b []byte, old, new string) []byte { return bytes.ReplaceAll(b, []byte(old), []byte(new)) }
	tests := []struct {
		name  string
		ct    string
		body  []byte
		otype string
	}{
		{"canonical", spnegoCT, canon, ""},
		{"no tabs", spnegoCT, r(canon, "\tC", "C"), ""},
		{"tabs and spaces", spnegoCT, r(r(canon, "\tContent", "  \tContent"), "\tOriginal", " Original"), ""},
		{"header names in any case", spnegoCT, r(r(canon, "Content-Type:", "content-TYPE:"), "OriginalContent:", "ORIGINALCONTENT:"), ""},
		{"header values in any case", spnegoCT, r(r(canon, "application/HTTP-SPNEGO", "Application/http-spnego"), "application/octet-stream", "Application/Octet-Stream"), ""},
		{"Length first", spnegoCT, r(canon, "type=application/soap+xml;charset=UTF-8;Length=85", "Length=85;type=application/soap+xml;charset=UTF-8"), ""},
		{"Length in the middle, spaced", spnegoCT, r(canon, "type=application/soap+xml;charset=UTF-8;Length=85", "type=application/soap+xml; length = 85 ;charset=UTF-8"), ""},
		{"no type= prefix", spnegoCT, r(canon, "type=application/soap+xml", "application/soap+xml"), ""},
		{"space after --", spnegoCT, r(canon, "--Encrypted", "-- Encrypted"), ""},
		{"tab after --", spnegoCT, r(canon, "--Encrypted", "--\tEncrypted"), ""},
		{"final delimiter without --", spnegoCT, r(canon, "Boundary--\r\n", "Boundary\r\n"), ""},
		{"final delimiter without -- or CRLF", spnegoCT, r(canon, "Boundary--\r\n", "Boundary"), ""},
		{"no final delimiter", spnegoCT, r(canon, "--Encrypted Boundary--\r\n", ""), ""},
		{"close delimiter without CRLF", spnegoCT, r(canon, "Boundary--\r\n", "Boundary--"), ""},
		{"epilogue after close", spnegoCT, append(bytes.Clone(canon), "epilogue\r\n"...), ""},
		{"CRLF before final delimiter", spnegoCT, r(canon, "--Encrypted Boundary--", "\r\n--Encrypted Boundary--"), ""},
		{"bare LF", spnegoCT, r(canon, "\r\n", "\n"), ""},
		{"preamble blank lines", spnegoCT, append([]byte("\r\n\r\n"), canon...), ""},
		{"blank lines in metadata", spnegoCT, r(canon, "Length=85\r\n", "Length=85\r\n\r\n"), ""},
		{"trailing spaces after delimiter", spnegoCT, r(canon, "Boundary\r\n", "Boundary  \r\n"), ""},
		{"extra metadata header", spnegoCT, r(canon, "\tOriginalContent", "\tX-Extra: 1\r\n\tOriginalContent"), ""},
		{"extra data header", spnegoCT, r(canon, "octet-stream\r\n", "octet-stream\r\n\tX-Extra: yes\r\n"), ""},
		{"no metadata Content-Type", spnegoCT, r(canon, "\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n", ""), ""},
		{"utf-16", spnegoCT, r(canon, "charset=UTF-8", "charset=UTF-16"), "application/soap+xml;charset=UTF-16"},
		{"quoted Length", spnegoCT, r(canon, "Length=85", `Length="85"`), ""},
		{"folded Content-Type", "multipart/encrypted;\r\n\tprotocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\"", canon, ""},
		{"other boundary", `multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="xyz"`, r(canon, "Encrypted Boundary", "xyz"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &stubWrapper{mode: "ntlm"}
			got, otype, err := Open(w, tc.ct, tc.body, 1000)
			if err != nil {
				t.Fatalf("Open: %v\n%q", err, tc.body)
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("plaintext %q", got)
			}
			want := tc.otype
			if want == "" {
				want = "application/soap+xml;charset=UTF-8"
			}
			if otype != want {
				t.Errorf("original type %q, want %q", otype, want)
			}
		})
	}
}

// TestOpenWSMVExample parses a body shaped like the MS-WSMV 4.5
// encryption example: "-- Encrypted Boundary" delimiters, no TABs,
// UTF-16, and the body ending in "-- Encrypted Boundary" after the
// ciphertext. (The example's ciphertext is printed with unprintable
// bytes as dots, so only its framing can be reproduced.)
func TestOpenWSMVExample(t *testing.T) {
	plain := bytes.Repeat([]byte{'<', 0}, 705)[:705] // odd length as in the example's Length=705
	w := &stubWrapper{mode: "ntlm"}
	hdr, ct, _ := w.WrapWinRM(plain)
	var body []byte
	body = append(body, "-- Encrypted Boundary\r\n"+
		"Content-Type: application/HTTP-SPNEGO-session-encrypted\r\n"+
		"OriginalContent: type=application/soap+xml;charset=UTF-16;Length=705\r\n"+
		"-- Encrypted Boundary\r\n"+
		"Content-Type: application/octet-stream\r\n"...)
	body = binary.LittleEndian.AppendUint32(body, 16)
	body = append(append(append(body, hdr...), ct...), "-- Encrypted Boundary\r\n"...)
	contentType := "multipart/encrypted;\r\n protocol=\"application/HTTP-SPNEGO-session-encrypted\";boundary=\"Encrypted Boundary\""
	got, otype, err := Open(&stubWrapper{mode: "ntlm"}, contentType, body, 512000)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) || otype != "application/soap+xml;charset=UTF-16" {
		t.Errorf("got %d bytes, type %q", len(got), otype)
	}
}

// TestOpenCredSSPTolerance: CredSSP ciphertext is longer than Length, so
// the part ends at the next delimiter, with or without TABs or the
// closing "--".
func TestOpenCredSSPTolerance(t *testing.T) {
	plain := gen(40000)
	body, ct, err := Seal(&stubWrapper{mode: "credssp"}, ProtocolCredSSP, "UTF-8", plain)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ct, "multipart/x-multi-encrypted;") || bytes.Count(body, []byte("Length=")) != 3 {
		t.Fatalf("Content-Type %q, %d parts", ct, bytes.Count(body, []byte("Length=")))
	}
	for name, b := range map[string][]byte{
		"canonical":   body,
		"no tabs":     bytes.ReplaceAll(body, []byte("\tC"), []byte("C")),
		"spaced":      bytes.ReplaceAll(body, []byte("--Encrypted"), []byte("-- Encrypted")),
		"no close":    bytes.TrimSuffix(body, []byte("--Encrypted Boundary--\r\n")),
		"final no --": bytes.ReplaceAll(body, []byte("Boundary--"), []byte("Boundary")),
	} {
		w := &stubWrapper{mode: "credssp"}
		got, _, err := Open(w, ct, b, 1<<20)
		if err != nil || !bytes.Equal(got, plain) || w.recv != 3 {
			t.Errorf("%s: %v (%d bytes, %d unwraps)", name, err, len(got), w.recv)
		}
	}
}

func TestSeal(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		n, parts int
		media    string
	}{
		{ProtocolSPNEGO, 40000, 1, "multipart/encrypted"},
		{ProtocolKerberos, 40000, 1, "multipart/encrypted"},
		{ProtocolCredSSP, 0, 1, "multipart/encrypted"},
		{ProtocolCredSSP, CredSSPChunk, 1, "multipart/encrypted"},
		{ProtocolCredSSP, CredSSPChunk + 1, 2, "multipart/x-multi-encrypted"},
		{ProtocolCredSSP, 3 * CredSSPChunk, 3, "multipart/x-multi-encrypted"},
	} {
		mode := map[string]string{ProtocolSPNEGO: "ntlm", ProtocolKerberos: "kerberos", ProtocolCredSSP: "credssp"}[tc.protocol]
		w := &stubWrapper{mode: mode}
		plain := gen(tc.n)
		body, ct, err := Seal(w, tc.protocol, "UTF-16", plain)
		if err != nil {
			t.Fatal(err)
		}
		wantCT := tc.media + `;protocol="` + tc.protocol + `";boundary="Encrypted Boundary"`
		if ct != wantCT || w.send != tc.parts {
			t.Errorf("%s %d: Content-Type %q, %d parts; want %q, %d", mode, tc.n, ct, w.send, wantCT, tc.parts)
		}
		if !bytes.HasPrefix(body, []byte("--Encrypted Boundary\r\n\tContent-Type: "+tc.protocol+"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-16;Length=")) ||
			!bytes.HasSuffix(body, []byte("--Encrypted Boundary--\r\n")) {
			t.Errorf("%s %d: framing %q...", mode, tc.n, body[:80])
		}
		got, otype, err := Open(&stubWrapper{mode: mode}, ct, body, 1<<20)
		if err != nil || !bytes.Equal(got, plain) || otype != "application/soap+xml;charset=UTF-16" {
			t.Errorf("%s %d: Open: %v, %q", mode, tc.n, err, otype)
		}
	}
	// A protocol in another case is sent in its canonical spelling; an
	// empty charset is UTF-8.
	body, ct, err := Seal(&stubWrapper{mode: "ntlm"}, "APPLICATION/http-spnego-SESSION-encrypted", "", []byte("x"))
	if err != nil || ct != spnegoCT || !bytes.Contains(body, []byte("\tContent-Type: "+ProtocolSPNEGO+"\r\n\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=1\r\n")) {
		t.Errorf("Seal = %q, %v", ct, err)
	}
}

func TestSealErrors(t *testing.T) {
	failing := &stubWrapper{mode: "ntlm", wrapErr: errStub}
	for _, tc := range []struct {
		name              string
		w                 Wrapper
		protocol, charset string
		want              error
	}{
		{"unknown protocol", &stubWrapper{mode: "ntlm"}, "application/HTTP-Foo-session-encrypted", "UTF-8", ErrProtocol},
		{"empty protocol", &stubWrapper{mode: "ntlm"}, "", "UTF-8", ErrProtocol},
		{"wrap error", failing, ProtocolSPNEGO, "UTF-8", errStub},
	} {
		if body, ct, err := Seal(tc.w, tc.protocol, tc.charset, []byte("x")); !errors.Is(err, tc.want) || body != nil || ct != "" {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, cs := range []string{"UTF-8\r\nX-Injected: 1", "a;Length=5", "a b", strings.Repeat("a", 41), "é"} {
		if _, _, err := Seal(&stubWrapper{mode: "ntlm"}, ProtocolSPNEGO, cs, []byte("x")); err == nil {
			t.Errorf("charset %q accepted", cs)
		}
	}
	if _, _, err := Seal(nil, ProtocolSPNEGO, "UTF-8", nil); err == nil {
		t.Error("nil Wrapper accepted")
	}
}

func TestOpenErrors(t *testing.T) {
	plain := []byte("<s:Envelope/>") // 13 bytes
	canon := sealed(t, plain)
	r := func(old, new string) []byte { return bytes.Replace(canon, []byte(old), []byte(new), 1) }
	// The data part's binary section of canon.
	dataAt := bytes.Index(canon, []byte("octet-stream\r\n")) + len("octet-stream\r\n")
	withL := func(l uint32) []byte {
		b := bytes.Clone(canon)
		binary.LittleEndian.PutUint32(b[dataAt:], l)
		return b
	}
	var manyParts []byte
	for range MaxParts + 1 {
		manyParts = append(manyParts, "--Encrypted Boundary\r\n\tOriginalContent: type=a;Length=0\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\x10\x00\x00\x00"...)
		manyParts = append(manyParts, make([]byte, 16)...)
	}
	manyHeaders := r("\tOriginalContent", strings.Repeat("\tX-A: 1\r\n", maxPartHeaders)+"\tOriginalContent")
	// Headers are unique by name in any case.
	for i := range maxPartHeaders {
		manyHeaders = bytes.Replace(manyHeaders, []byte("X-A:"), fmt.Appendf(nil, "X-%d:", i), 1)
	}
	tests := []struct {
		name     string
		ct       string
		body     []byte
		maxPlain int
		want     error
	}{
		{"plain SOAP", "application/soap+xml;charset=UTF-8", plain, 0, ErrNotEncrypted},
		{"no content type", "", canon, 0, ErrNotEncrypted},
		{"unknown protocol", `multipart/encrypted;protocol="application/x-foo";boundary="Encrypted Boundary"`, canon, 0, ErrProtocol},
		{"empty body", spnegoCT, nil, 0, ErrMalformed},
		{"garbage before delimiter", spnegoCT, append([]byte("junk"), canon...), 0, ErrMalformed},
		{"only the close delimiter", spnegoCT, []byte("--Encrypted Boundary--\r\n"), 0, ErrMalformed},
		{"only a delimiter", spnegoCT, []byte("--Encrypted Boundary\r\n"), 0, ErrMalformed},
		{"junk after boundary", spnegoCT, r("Boundary\r\n", "BoundaryXYZ\r\n"), 0, ErrMalformed},
		{"CR without LF", spnegoCT, r("Boundary\r\n", "Boundary\r"), 0, ErrMalformed},
		{"no OriginalContent", spnegoCT, r("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=13\r\n", ""), 0, ErrMalformed},
		{"no Length", spnegoCT, r(";Length=13", ""), 0, ErrMalformed},
		{"empty Length", spnegoCT, r("Length=13", "Length="), 0, ErrMalformed},
		{"negative Length", spnegoCT, r("Length=13", "Length=-13"), 0, ErrMalformed},
		{"hex Length", spnegoCT, r("Length=13", "Length=0xd"), 0, ErrMalformed},
		{"11-digit Length", spnegoCT, r("Length=13", "Length=00000000013"), 0, ErrMalformed},
		{"Length above 32 bits", spnegoCT, r("Length=13", "Length=4294967296"), 1 << 62, ErrMalformed},
		{"Length twice", spnegoCT, r("Length=13", "Length=13;Length=13"), 0, ErrMalformed},
		{"no type", spnegoCT, r("type=application/soap+xml;charset=UTF-8;", ""), 0, ErrMalformed},
		{"repeated header", spnegoCT, r("\tOriginalContent", "\tcontent-type: application/HTTP-SPNEGO-session-encrypted\r\n\tOriginalContent"), 0, ErrMalformed},
		{"too many headers", spnegoCT, manyHeaders, 0, ErrMalformed},
		{"metadata for another protocol", spnegoCT, r("\tContent-Type: application/HTTP-SPNEGO", "\tContent-Type: application/HTTP-Kerberos"), 0, ErrMalformed},
		{"data part type", spnegoCT, r("application/octet-stream", "text/plain"), 0, ErrMalformed},
		{"data part without Content-Type", spnegoCT, r("\tContent-Type: application/octet-stream\r\n", ""), 0, ErrMalformed},
		{"no delimiter before data", spnegoCT, r("Length=13\r\n--Encrypted Boundary\r\n", "Length=13\r\n"), 0, ErrMalformed},
		{"truncated length field", spnegoCT, canon[:dataAt+3], 0, ErrMalformed},
		{"header length too large", spnegoCT, withL(0xffffffff), 0, ErrMalformed},
		{"header length past the end", spnegoCT, withL(uint32(len(canon) - dataAt - 3)), 0, ErrMalformed},
		{"Length one short", spnegoCT, r("Length=13", "Length=12"), 0, ErrLength},
		{"Length one long", spnegoCT, r("Length=13", "Length=14"), 0, ErrLength},
		{"Length zero", spnegoCT, r("Length=13", "Length=0"), 0, ErrLength},
		{"Length over maxPlain", spnegoCT, canon, 12, ErrTooLarge},
		{"Length over the default bound", spnegoCT, r("Length=13", "Length=512001"), 0, ErrTooLarge},
		{"wrong signature", spnegoCT, withL(15), 0, errStub},
		{"too many parts", spnegoCT, manyParts, 0, ErrMalformed},
		{"junk after a part", spnegoCT, append(canon[:len(canon)-len("--Encrypted Boundary--\r\n")], "xx--Encrypted Boundary--\r\n"...), 0, ErrLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &stubWrapper{mode: "ntlm"}
			var wr Wrapper = w
			if tc.name == "too many parts" {
				wr = identityWrapper{}
			}
			got, otype, err := Open(wr, tc.ct, tc.body, tc.maxPlain)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %q, %v; want %v", got, otype, err, tc.want)
			}
			if got != nil || otype != "" {
				t.Errorf("output with an error: %q %q", got, otype)
			}
			if errors.Is(err, ErrTooLarge) && w.recv != 0 {
				t.Errorf("decrypted before refusing the size")
			}
			if strings.Contains(err.Error(), "Envelope") {
				t.Errorf("error shows plaintext: %v", err)
			}
		})
	}
	if _, _, err := Open(nil, spnegoCT, canon, 0); err == nil {
		t.Error("nil Wrapper accepted")
	}
}

// identityWrapper "protects" a message by prefixing 16 zero bytes and
// accepts any header: a wrapper under which every well-framed body opens.
type identityWrapper struct{}

func (identityWrapper) WrapWinRM(p []byte) ([]byte, []byte, error) {
	return make([]byte, 16), bytes.Clone(p), nil
}

func (identityWrapper) UnwrapWinRM(_, c []byte) ([]byte, error) { return bytes.Clone(c), nil }

// TestOpenTotalBound: the bound applies to the sum of the parts.
func TestOpenTotalBound(t *testing.T) {
	plain := gen(3 * CredSSPChunk)
	body, ct, err := Seal(&stubWrapper{mode: "credssp"}, ProtocolCredSSP, "UTF-8", plain)
	if err != nil {
		t.Fatal(err)
	}
	w := &stubWrapper{mode: "credssp"}
	if _, _, err := Open(w, ct, body, len(plain)-1); !errors.Is(err, ErrTooLarge) || w.recv != 2 {
		t.Errorf("Open = %v after %d unwraps; want ErrTooLarge after 2", err, w.recv)
	}
	if got, _, err := Open(&stubWrapper{mode: "credssp"}, ct, body, len(plain)); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open at the exact bound: %v", err)
	}
}

// TestOpenCiphertextContainingBoundary: NTLM and Kerberos parts end
// where Length says, even if the ciphertext happens to contain the
// delimiter text.
func TestOpenCiphertextContainingBoundary(t *testing.T) {
	// The stub XORs message 0 with 0x5a; choose a plaintext whose
	// ciphertext contains "--Encrypted Boundary--\r\n".
	needle := []byte("--Encrypted Boundary--\r\n")
	plain := append([]byte("<a>"), xorWith(needle, 0)...)
	plain = append(plain, "</a>"...)
	body := sealed(t, plain)
	got, _, err := Open(&stubWrapper{mode: "ntlm"}, spnegoCT, body, 1000)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open = %q, %v", got, err)
	}
}

// TestOpenMaxParts: MaxParts pairs open, one more does not.
func TestOpenMaxParts(t *testing.T) {
	pair := "--Encrypted Boundary\r\n\tOriginalContent: type=a;Length=1\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n\x10\x00\x00\x00" + strings.Repeat("\x00", 16) + "x"
	body := strings.Repeat(pair, MaxParts) + "--Encrypted Boundary--\r\n"
	got, otype, err := Open(identityWrapper{}, spnegoCT, []byte(body), 0)
	if err != nil || len(got) != MaxParts || otype != "a" {
		t.Fatalf("Open = %d bytes, %q, %v", len(got), otype, err)
	}
	if _, _, err := Open(identityWrapper{}, spnegoCT, []byte(pair+body), 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d parts: %v", MaxParts+1, err)
	}
}
