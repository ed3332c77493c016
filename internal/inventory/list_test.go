package inventory

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // hostLine of each host
	}{
		{"empty", "", []string{}},
		{"comments and blanks", "# hosts\n\n   \n# more\n", []string{}},
		{"one per line", "web1\nweb2\n", []string{"web1 web1:0 [ungrouped]", "web2 web2:0 [ungrouped]"}},
		{"CRLF and BOM", "\xef\xbb\xbfweb1\r\nweb2\r\n", []string{"web1 web1:0 [ungrouped]", "web2 web2:0 [ungrouped]"}},
		{"ports", "web1:5985\n192.0.2.1:5986", []string{"web1 web1:5985 [ungrouped]", "192.0.2.1 192.0.2.1:5986 [ungrouped]"}},
		{"leading zeros in port", "web1:05986", []string{"web1 web1:5986 [ungrouped]"}},
		{"IPv6", "::1\n[2001:db8::1]\n[2001:db8::2]:5986 fe80::1%eth0", []string{
			"::1 ::1:0 [ungrouped]",
			"2001:db8::1 2001:db8::1:0 [ungrouped]",
			"2001:db8::2 2001:db8::2:5986 [ungrouped]",
			"fe80::1%eth0 fe80::1%eth0:0 [ungrouped]",
		}},
		{"commas and spaces", "a, b,c\td  e,,f", []string{
			"a a:0 [ungrouped]", "b b:0 [ungrouped]", "c c:0 [ungrouped]",
			"d d:0 [ungrouped]", "e e:0 [ungrouped]", "f f:0 [ungrouped]",
		}},
		{"trailing comment", "a b # c d\n  # e\nf#g", []string{"a a:0 [ungrouped]", "b b:0 [ungrouped]", "f f:0 [ungrouped]"}},
		{"duplicates once, in first place", "a\nb:5986\na\nb:5986\na", []string{"a a:0 [ungrouped]", "b b:5986 [ungrouped]"}},
		{"unicode name", "bücher.example", []string{"bücher.example bücher.example:0 [ungrouped]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseList(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := hostLines(inv.Hosts()); !equal(got, tt.want) {
				t.Errorf("hosts = %q; want %q", got, tt.want)
			}
			for _, h := range inv.Hosts() {
				if len(h.Vars) != 0 {
					t.Errorf("host %s has variables %v", h.Name, h.Vars)
				}
			}
			if g := findGroup(t, inv, "ungrouped"); len(g.Hosts) != len(tt.want) {
				t.Errorf("ungrouped has %d hosts; want %d", len(g.Hosts), len(tt.want))
			}
		})
	}
}

func TestParseListErrors(t *testing.T) {
	tests := []errCase{
		{name: "bad port", in: "a\nb:x", line: 2, want: `invalid port`},
		{name: "port zero", in: "a:0", line: 1, want: `out of range`},
		{name: "missing port", in: "\n\na:", line: 3, want: `missing port`},
		{name: "two colons", in: "a:1:2", line: 1, want: `not an IPv6 address`},
		{name: "bracket not IPv6", in: "ok\n[example.com]:1", line: 2, want: `is not an IPv6 address`},
		{name: "unclosed bracket", in: "[::1", line: 1, want: `missing ']'`},
		{name: "junk after bracket", in: "[::1]x", line: 1, want: `want [address]:port`},
		{name: "range", in: "web[01:03]", line: 1, want: `host ranges are supported only in Ansible inventories`},
		{name: "bracketed range", in: "[a:c].example.com", line: 1, want: `host ranges are supported only`},
		{name: "URL", in: "https://web:5986/wsman", line: 1, want: `URLs are not supported`},
		{name: "variable", in: "web ansible_host=x", line: 1, want: `variables are not supported`},
		{name: "section", in: "web\n[web]", line: 2, want: `is not an IPv6 address`},
		{name: "missing bracketed port", in: "[::1]:", line: 1, want: `missing port`},
		{name: "same host two ports", in: "h:5985\n\nh:5986", line: 3, want: `host h is listed on line 1 with port 5985`},
		{name: "same host with and without port", in: "h h:5985", line: 1, want: `host h is listed on line 1 with no port`},
		{name: "bad character", in: "a\nwe*b", line: 2, want: `invalid host name "we*b"`},
		{name: "control character", in: "a\x00b", line: 1, want: `invalid host name`},
		{name: "invalid UTF-8", in: "a\nb\n\xff", line: 3, want: `not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseList(strings.NewReader(tt.in))
			checkErr(t, tt, err)
		})
	}
}

func TestParseListLimits(t *testing.T) {
	t.Run("file size", func(t *testing.T) {
		big := strings.Repeat("a\n", MaxFileSize/2+1)
		_, err := ParseList(strings.NewReader(big))
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("error %v; want a size limit", err)
		}
	})
	t.Run("hosts", func(t *testing.T) {
		var b strings.Builder
		for i := range MaxHosts + 1 {
			fmt.Fprintf(&b, "h%d\n", i)
		}
		_, err := ParseList(strings.NewReader(b.String()))
		checkErr(t, errCase{line: MaxHosts + 1, want: "more than 100000 hosts", isLimit: true}, err)
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	for name, parse := range map[string]func(io.Reader) (*Inventory, error){
		"list": ParseList,
		"ini":  ParseINI,
		"yaml": ParseYAML,
	} {
		if _, err := parse(errReader{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("%s: error %v; want the read error", name, err)
		}
	}
}
