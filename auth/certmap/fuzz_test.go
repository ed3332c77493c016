package certmap

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// FuzzPatterns feeds arbitrary text to the Subject, URI and Issuer
// parsers. None may panic; an accepted pattern must match what its shape
// promises and report its length in UTF-16 units.
func FuzzPatterns(f *testing.F) {
	for _, s := range []string{"*", "*@mig.net", "alice@*", "Alice@Corp.Example", "a*b", "**", "",
		"http://schemas.microsoft.com/wbem/wsman/1/windows/shell*", "http://a b", "http://a?b",
		"\n5600a015ca5e8a26f638b74e819ae92096da5c8c\n", goldenThumbprint, "\u200e56", "😀*", "\xff*"} {
		f.Add(s, "someone@mig.net")
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		parseThumbprint(pat)
		for _, parse := range []func(string) (pattern, error){parseSubjectPattern, parseURIPattern} {
			p, err := parse(pat)
			if err != nil {
				continue
			}
			if p.length != utf16Len(pat) {
				t.Fatalf("%q: length %d; want %d", pat, p.length, utf16Len(pat))
			}
			fn := fold(name)
			p.match(fn) // must not panic on any name
			switch p.kind {
			case kindExact:
				if !p.match(fold(pat)) {
					t.Fatalf("%q does not match itself", pat)
				}
			case kindAny:
				if !p.match(fn) {
					t.Fatalf("%q does not match %q", pat, name)
				}
			case kindSuffix:
				if !p.match(fn + p.lit) {
					t.Fatalf("%q does not match %q", pat, fn+p.lit)
				}
			case kindPrefix:
				if !p.match(p.lit + fn) {
					t.Fatalf("%q does not match %q", pat, p.lit+fn)
				}
			}
			if strings.Count(pat, "*") > 1 {
				t.Fatalf("%q accepted with several stars", pat)
			}
		}
	})
}

// FuzzParseUPNs feeds arbitrary subjectAltName values to the UPN parser.
// It must not panic; what it accepts must be usable names that survive
// re-encoding.
func FuzzParseUPNs(f *testing.F) {
	golden, _ := hex.DecodeString(goldenSAN)
	f.Add(golden)
	f.Add(sanDER([]string{"first@corp", "second@corp"}, []string{"m@mail"}))
	f.Add(sanDER(nil, []string{"only@mail"}))
	f.Add([]byte{0x30, 0x02, 0x80, 0x00})
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		upns, err := parseUPNs(der)
		if err != nil {
			return
		}
		for _, u := range upns {
			if checkText(u, maxSubjectLen) != nil {
				t.Fatalf("accepted unusable UPN %q", u)
			}
		}
		again, err := parseUPNs(sanDER(upns, nil))
		if err != nil || !slices.Equal(again, upns) {
			t.Fatalf("re-encoded %q parses as %q, %v", upns, again, err)
		}
	})
}
