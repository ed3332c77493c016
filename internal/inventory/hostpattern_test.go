package inventory

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseHostPattern(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		port  int
	}{
		{"web", []string{"web"}, 0},
		{"web.example.com:5986", []string{"web.example.com"}, 5986},
		{"192.0.2.1", []string{"192.0.2.1"}, 0},
		{"192.0.2.1:5985", []string{"192.0.2.1"}, 5985},
		{"2001:db8::1", []string{"2001:db8::1"}, 0},
		{"[2001:db8::1]", []string{"2001:db8::1"}, 0},
		{"[2001:db8::1]:5986", []string{"2001:db8::1"}, 5986},
		{"web[01:03].example.com", []string{"web01.example.com", "web02.example.com", "web03.example.com"}, 0},
		{"web[1:3]", []string{"web1", "web2", "web3"}, 0},
		{"web[8:11]", []string{"web8", "web9", "web10", "web11"}, 0},
		{"web[08:11]", []string{"web08", "web09", "web10", "web11"}, 0},
		{"web[001:010:3]", []string{"web001", "web004", "web007", "web010"}, 0},
		{"web[1:10:4]", []string{"web1", "web5", "web9"}, 0},
		{"web[:2]", []string{"web0", "web1", "web2"}, 0},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}, 0},
		{"db-[y:B]", []string{"db-y", "db-z", "db-A", "db-B"}, 0},
		{"db-[a:e:2]", []string{"db-a", "db-c", "db-e"}, 0},
		{"[a:b]-[1:2]", []string{"a-1", "a-2", "b-1", "b-2"}, 0},
		{"web[1:2].[a:b]:22", []string{"web1.a", "web1.b", "web2.a", "web2.b"}, 22},
		{"10.0.0.[1:3]", []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, 0},
		{"web[5:5]", []string{"web5"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			names, port, err := parseHostPattern(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(names, tt.names) || port != tt.port {
				t.Errorf("= %v, %d; want %v, %d", names, port, tt.names, tt.port)
			}
		})
	}
}

func TestParseHostPatternErrors(t *testing.T) {
	tests := []struct {
		in, want string
		limit    bool
	}{
		{"", "empty host", false},
		{"web:", "invalid port", false},
		{"web:http", "invalid port", false},
		{"web:0", "out of range", false},
		{"web:65536", "out of range", false},
		{"a:b:c", "not an IPv6 address", false},
		{"[2001:db8::1]x", "want [address]:port", false},
		{"web[1:3", "unterminated range", false},
		{"web1:3]", "invalid port", false},
		{"web]", "']' without '['", false},
		{"web[1]", "want [begin:end]", false},
		{"web[1:2:3:4]", "want [begin:end]", false},
		{"web[1:]", "no end", false},
		{"web[3:1]", "after end", false},
		{"web[c:a]", "after end", false},
		{"web[01:100]", "differ in width", false},
		{"web[1:10:0]", "not a positive number", false},
		{"web[1:10:-1]", "not a positive number", false},
		{"web[a:9]", "numbers or single letters", false},
		{"web[aa:zz]", "numbers or single letters", false},
		{"web[-1:3]", "numbers or single letters", false},
		{"web[1:9999999999]", "longer than 9 digits", false},
		{"web[0:100000]", "more than 100000 hosts", true},
		{"w[0:999]x[0:999]", "more than 100000 hosts", true},
		{"w[0:9]x[0:9]y[0:9]z[0:9]v[0:9]u[0:9]", "more than 100000 hosts", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, _, err := parseHostPattern(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want %q", err, tt.want)
			}
			if errors.Is(err, ErrLimit) != tt.limit {
				t.Errorf("errors.Is(err, ErrLimit) = %v; want %v", !tt.limit, tt.limit)
			}
		})
	}
}

// TestRangeAtLimit expands exactly MaxHosts names.
func TestRangeAtLimit(t *testing.T) {
	names, _, err := parseHostPattern(fmt.Sprintf("h[1:%d]", MaxHosts))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != MaxHosts || names[MaxHosts-1] != fmt.Sprintf("h%d", MaxHosts) {
		t.Errorf("got %d names, last %s", len(names), names[len(names)-1])
	}
}
