package certmap

import (
	"errors"
	"testing"
)

func TestSubjectPattern(t *testing.T) {
	tests := []struct {
		pat     string
		wantErr error
		length  int
		match   []string
		noMatch []string
	}{
		{pat: "*", length: 1, match: []string{"a", "", "alice@corp.example"}},
		{pat: "*@mig.net", length: 9, match: []string{"someone@mig.net", "@mig.net", "X@MIG.NET"},
			noMatch: []string{"someone@mig.net.evil", "someone@xmig.net", "mig.net"}},
		{pat: "*.example.com", length: 13, match: []string{"host.example.com"}, noMatch: []string{"example.com"}},
		{pat: "alice@*", length: 7, match: []string{"alice@corp", "ALICE@x"}, noMatch: []string{"malice@corp"}},
		{pat: "Alice@Corp.Example", length: 18, match: []string{"alice@corp.example", "ALICE@CORP.EXAMPLE"},
			noMatch: []string{"alice@corp.example ", "alice@corp.exampl"}},
		{pat: "ü@x", length: 3, match: []string{"Ü@X"}},
		{pat: "😀@x", length: 4, match: []string{"😀@x"}}, // a surrogate pair counts two
		{pat: "", wantErr: errEmpty},
		{pat: "**", wantErr: errTwoStars},
		{pat: "*a*", wantErr: errTwoStars},
		{pat: "a*b", wantErr: errStarInside},
		{pat: "a\x00b", wantErr: errControl},
		{pat: "a\tb", wantErr: errControl},
		{pat: "\xff", wantErr: errNotUTF8},
		{pat: string(make([]byte, maxSubjectLen+1)), wantErr: errTooLong},
	}
	for _, tt := range tests {
		p, err := parseSubjectPattern(tt.pat)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("parseSubjectPattern(%q) error = %v; want %v", tt.pat, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if p.length != tt.length {
			t.Errorf("%q: length %d; want %d", tt.pat, p.length, tt.length)
		}
		for _, n := range tt.match {
			if !p.match(fold(n)) {
				t.Errorf("%q does not match %q", tt.pat, n)
			}
		}
		for _, n := range tt.noMatch {
			if p.match(fold(n)) {
				t.Errorf("%q matches %q", tt.pat, n)
			}
		}
	}
}

func TestURIPattern(t *testing.T) {
	const shell = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	tests := []struct {
		pat     string
		wantErr error
		match   []string
		noMatch []string
	}{
		{pat: "*", match: []string{"", shell + "/cmd"}},
		{pat: shell + "*", match: []string{shell, shell + "/cmd", "HTTP://SCHEMAS.MICROSOFT.COM/wbem/wsman/1/windows/shell/cmd"},
			noMatch: []string{"", "http://schemas.microsoft.com/wbem/wsman/1/config"}},
		{pat: shell + "/cmd", match: []string{shell + "/cmd"}, noMatch: []string{shell + "/cmd2", shell}},
		{pat: "", wantErr: errEmpty},
		{pat: "*" + shell, wantErr: errStarNotLast},
		{pat: "a*b", wantErr: errStarNotLast},
		{pat: "a**", wantErr: errTwoStars},
		{pat: "http://x/ y", wantErr: errWhitespace},
		{pat: "http://x/\u00a0y", wantErr: errWhitespace},
		{pat: "http://x/?a=b", wantErr: errQuestion},
		{pat: "http://x/\x7f", wantErr: errControl},
		{pat: string(make([]byte, maxURILen+1)), wantErr: errTooLong},
	}
	for _, tt := range tests {
		p, err := parseURIPattern(tt.pat)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("parseURIPattern(%q) error = %v; want %v", tt.pat, err, tt.wantErr)
			continue
		}
		for _, n := range tt.match {
			if !p.match(fold(n)) {
				t.Errorf("%q does not match %q", tt.pat, n)
			}
		}
		for _, n := range tt.noMatch {
			if p.match(fold(n)) {
				t.Errorf("%q matches %q", tt.pat, n)
			}
		}
	}
}

func TestThumbprint(t *testing.T) {
	// The Issuer selector of the MS-WSMV 4.2.3 example, as it appears in
	// the pretty-printed envelope.
	const spec = "\n5600a015ca5e8a26f638b74e819ae92096da5c8c\n"
	want := thumbprint{0x56, 0x00, 0xa0, 0x15, 0xca, 0x5e, 0x8a, 0x26, 0xf6, 0x38,
		0xb7, 0x4e, 0x81, 0x9a, 0xe9, 0x20, 0x96, 0xda, 0x5c, 0x8c}
	for _, in := range []string{
		spec,
		"5600A015CA5E8A26F638B74E819AE92096DA5C8C",
		"56 00 a0 15 ca 5e 8a 26 f6 38 b7 4e 81 9a e9 20 96 da 5c 8c",
		"56:00:A0:15:CA:5E:8A:26:F6:38:B7:4E:81:9A:E9:20:96:DA:5C:8C",
		"\u200e5600a015ca5e8a26f638b74e819ae92096da5c8c", // pasted from the Windows dialog
	} {
		got, err := parseThumbprint(in)
		if err != nil || got != want {
			t.Errorf("parseThumbprint(%q) = %x, %v; want %x", in, got, err, want)
		}
	}
	if s := want.String(); s != "5600A015CA5E8A26F638B74E819AE92096DA5C8C" {
		t.Errorf("String() = %s", s)
	}
	for _, bad := range []string{"", "5600a015", "5600a015ca5e8a26f638b74e819ae92096da5c8c00",
		"g600a015ca5e8a26f638b74e819ae92096da5c8c", "\xff", string(make([]byte, maxIssuerLen+1))} {
		if _, err := parseThumbprint(bad); err == nil {
			t.Errorf("parseThumbprint(%q) accepted", bad)
		}
	}
}
