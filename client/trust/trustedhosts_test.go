package trust

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTrustedHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string // canonical String()
		wantErr string // substring of the error; "" for success
	}{
		{name: "empty", in: "", want: ""},
		{name: "blank", in: "  ", want: ""},
		{name: "star", in: "*", want: "*"},
		{name: "star wins", in: "web1, *", want: "*"},
		{name: "names trimmed and lowered", in: " Web1 ,HOST.Example.COM. ", want: "web1,host.example.com"},
		{name: "empty entries skipped", in: ", web1,,web2,", want: "web1,web2"},
		{name: "suffix", in: "*.Contoso.com", want: "*.contoso.com"},
		{name: "suffix without dot", in: "*contoso.com", want: "*contoso.com"},
		{name: "suffix mid-label", in: "*-prod.example.com", want: "*-prod.example.com"},
		{name: "prefix", in: "WEB*", want: "web*"},
		{name: "prefix ending in dot", in: "web.*", want: "web.*"},
		{name: "local", in: "<LOCAL>", want: "<local>"},
		{name: "ipv4", in: "192.168.1.10", want: "192.168.1.10"},
		{name: "ipv6 bare", in: "0:0:0:0:0:0:0:1", want: "[::1]"},
		{name: "ipv6 brackets", in: "[2001:DB8::1]", want: "[2001:db8::1]"},
		{name: "ipv6 zone", in: "[fe80::1%eth0]", want: "[fe80::1%eth0]"},
		{name: "ipv4-mapped unmapped", in: "::ffff:10.0.0.1", want: "10.0.0.1"},
		{name: "ipv4 range", in: "192.168.1.*", want: "192.168.1.*"},
		{name: "ipv4 range one octet", in: "10.*", want: "10.*"},
		{name: "ipv4 range leading zeros", in: "010.001.*", want: "10.1.*"},
		{name: "underscore", in: "build_01", want: "build_01"},
		{name: "mixed", in: "*.lab, web*, <local>, 10.0.0.1, [::1], host", want: "*.lab,web*,<local>,10.0.0.1,[::1],host"},

		{name: "two stars", in: "*web*", wantErr: "at most one '*'"},
		{name: "star in middle", in: "web*.example.com", wantErr: "first or the last"},
		{name: "bare star dot", in: "*.", wantErr: "non-empty name part"},
		{name: "suffix ends with dot", in: "*.example.", wantErr: "must not end with '.'"},
		{name: "prefix starts with dot", in: ".web*", wantErr: "must not start with '.'"},
		{name: "double dot", in: "a..b", wantErr: "empty label"},
		{name: "space inside", in: "web 1", wantErr: "not allowed in a host name"},
		{name: "slash", in: "http://web1", wantErr: "not an IPv6 address"},
		{name: "port", in: "web1:5985", wantErr: "without a port"},
		{name: "bracketed port", in: "[::1]:5985", wantErr: `written "[address]"`},
		{name: "bracketed ipv4", in: "[10.0.0.1]", wantErr: "must hold an IPv6"},
		{name: "brackets not address", in: "[web1]", wantErr: "must hold an IPv6"},
		{name: "ipv6 wildcard", in: "fe80::*", wantErr: "IPv6"},
		{name: "ipv6 bracket wildcard", in: "[fe80::*]", wantErr: "IPv6"},
		{name: "ip suffix wildcard", in: "*.5", wantErr: "do not apply to IP addresses"},
		{name: "ip prefix not on octet", in: "192.168.1*", wantErr: "IPv4 range"},
		{name: "ip prefix four octets", in: "1.2.3.4.*", wantErr: "IPv4 range"},
		{name: "ip prefix octet too big", in: "256.*", wantErr: "IPv4 range"},
		{name: "bad ipv4", in: "300.1.1.1", wantErr: "not a valid IPv4"},
		{name: "short ipv4", in: "10.1", wantErr: "not a valid IPv4"},
		{name: "angle brackets", in: "<web>", wantErr: "<local>"},
		{name: "long label", in: strings.Repeat("a", 64) + ".com", wantErr: "label longer"},
		{name: "error names entry", in: "ok, bad name", wantErr: `entry 2 "bad name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTrustedHosts(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseTrustedHosts(%q) = %q, nil; want error containing %q", tt.in, got, tt.wantErr)
				}
				if !errors.Is(err, ErrBadTrustedHosts) {
					t.Errorf("err = %v; want it to wrap ErrBadTrustedHosts", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v; want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTrustedHosts(%q): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseTrustedHosts(%q).String() = %q; want %q", tt.in, got, tt.want)
			}
			// The canonical form parses back to itself.
			again, err := ParseTrustedHosts(got.String())
			if err != nil || again.String() != got.String() {
				t.Errorf("reparse of %q = %q, %v", got, again, err)
			}
		})
	}
}

func TestTrustedHostsMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list string
		host string
		want bool
	}{
		// Empty list and "*".
		{"", "web1", false},
		{"", "10.0.0.1", false},
		{"*", "web1", true},
		{"*", "web1.example.com:5985", true},
		{"*", "10.0.0.1", true},
		{"*", "[::1]:5985", true},
		{"*", "", false},              // malformed host
		{"*", "bad host", false},      // malformed host
		{"*", "web1:99999", false},    // bad port
		{"*", "[::1", false},          // unterminated bracket
		{"*", "::1:5985:x", false},    // not an address
		{"*", "web1:", false},         // empty port
		{"*", "[::1]x", false},        // junk after bracket
		{"*", "[web1]:5985", false},   // brackets hold a name
		{"*", "[10.0.0.1]:80", false}, // brackets hold IPv4

		// Exact names: case, trailing dot, ports.
		{"web1", "web1", true},
		{"web1", "WEB1", true},
		{"WEB1", "web1:5985", true},
		{"web1.example.com", "Web1.Example.Com.", true},
		{"web1.example.com", "web1.example.com:5986", true},
		{"web1", "web10", false},
		{"web1", "web1.example.com", false},
		{"web1.example.com", "web1", false},

		// Suffix.
		{"*.contoso.com", "web.contoso.com", true},
		{"*.contoso.com", "a.b.contoso.com:5985", true},
		{"*.contoso.com", "WEB.CONTOSO.COM", true},
		{"*.contoso.com", "contoso.com", false},
		{"*.contoso.com", "evilcontoso.com", false},
		{"*.contoso.com", "web.contoso.com.evil", false},
		{"*contoso.com", "contoso.com", true},
		{"*contoso.com", "evilcontoso.com", true},
		{"*.contoso.com", "10.0.0.1", false},

		// Prefix.
		{"web*", "web", true},
		{"web*", "web01", true},
		{"web*", "Web01.example.com:5985", true},
		{"web*", "myweb", false},
		{"web.*", "web.example.com", true},
		{"web.*", "web", false},

		// <local>: names without a period, never IPs.
		{"<local>", "web1", true},
		{"<local>", "localhost:5985", true},
		{"<local>", "web1.example.com", false},
		{"<local>", "web1.", true}, // trailing dot is not part of the name
		{"<local>", "::1", false},
		{"<local>", "[::1]:5985", false},
		{"<local>", "10.0.0.1", false},

		// IPv4.
		{"10.0.0.1", "10.0.0.1", true},
		{"10.0.0.1", "10.0.0.1:5985", true},
		{"10.0.0.1", "10.0.0.10", false},
		{"10.0.0.1", "::ffff:10.0.0.1", true},
		{"10.0.0.1", "[::ffff:10.0.0.1]:5985", true},
		{"10.0.0.1", "web1", false},

		// IPv4 ranges.
		{"192.168.1.*", "192.168.1.5", true},
		{"192.168.1.*", "192.168.1.255:5985", true},
		{"192.168.1.*", "192.168.10.5", false},
		{"192.168.1.*", "192.168.100.5", false},
		{"192.168.1.*", "192.168.1.example.com", false},
		{"10.*", "10.200.3.4", true},
		{"10.*", "100.1.1.1", false},
		{"10.*", "::ffff:10.1.2.3", true},
		{"10.*", "::a01:203", false}, // IPv6, not IPv4-mapped

		// IPv6, with or without brackets, any spelling.
		{"[::1]", "::1", true},
		{"[::1]", "[::1]:5985", true},
		{"::1", "[0:0:0:0:0:0:0:1]:5986", true},
		{"[2001:db8::1]", "[2001:DB8:0::1]", true},
		{"[2001:db8::1]", "2001:db8::2", false},
		{"[fe80::1]", "fe80::1%eth0", true},
		{"[fe80::1%eth0]", "fe80::1%eth0", true},
		{"[fe80::1%eth0]", "fe80::1%eth1", false},
		{"[fe80::1%eth0]", "fe80::1", false},

		// Name patterns never match IP literals.
		{"a*", "[::a]", false},
		{"web*", "[::1]", false},

		// Lists.
		{"web1, *.lab, 10.0.0.1", "db.lab", true},
		{"web1, *.lab, 10.0.0.1", "10.0.0.1:5985", true},
		{"web1, *.lab, 10.0.0.1", "db.prod", false},
	}
	for _, tt := range tests {
		th, err := ParseTrustedHosts(tt.list)
		if err != nil {
			t.Fatalf("ParseTrustedHosts(%q): %v", tt.list, err)
		}
		if got := th.Match(tt.host); got != tt.want {
			t.Errorf("ParseTrustedHosts(%q).Match(%q) = %v; want %v", tt.list, tt.host, got, tt.want)
		}
	}
}

func TestTrustedHostsAllAndEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list       string
		all, empty bool
	}{
		{"", false, true},
		{" , ", false, true},
		{"*", true, false},
		{"web1", false, false},
	}
	for _, tt := range tests {
		th, err := ParseTrustedHosts(tt.list)
		if err != nil {
			t.Fatal(err)
		}
		if th.All() != tt.all || th.IsEmpty() != tt.empty {
			t.Errorf("%q: All, IsEmpty = %v, %v; want %v, %v", tt.list, th.All(), th.IsEmpty(), tt.all, tt.empty)
		}
	}
	var zero TrustedHosts
	if zero.Match("web1") || !zero.IsEmpty() {
		t.Error("zero TrustedHosts trusts something")
	}
}

func FuzzParseTrustedHosts(f *testing.F) {
	for _, s := range []string{"*", "*.contoso.com,web*,<local>", "10.0.0.1,[::1],192.168.1.*", "a..b", "[fe80::1%eth0]"} {
		f.Add(s, "web1.contoso.com:5985")
	}
	f.Fuzz(func(t *testing.T, list, host string) {
		th, err := ParseTrustedHosts(list)
		if err != nil {
			return
		}
		again, err := ParseTrustedHosts(th.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", th, list, err)
		}
		if again.String() != th.String() {
			t.Fatalf("canonical form not stable: %q -> %q", th, again)
		}
		if th.Match(host) != again.Match(host) {
			t.Fatalf("%q and its canonical form %q disagree on %q", list, th, host)
		}
	})
}
