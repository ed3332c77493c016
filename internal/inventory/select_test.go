package inventory

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

const selectINI = `bastion
[web]
web01.example.com
web02.example.com
web03.example.com
[db]
db1
db2
[dc]
dc1
dc2
[winsrv]
fe80::1
[prod:children]
web
db
[staging]
web03.example.com
[empty]
[db1]
web01.example.com
`

func TestSelect(t *testing.T) {
	inv, err := ParseINI(strings.NewReader(selectINI))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"bastion", "web01.example.com", "web02.example.com", "web03.example.com", "db1", "db2", "dc1", "dc2", "fe80::1"}
	tests := []struct {
		name     string
		patterns []string
		want     []string
	}{
		{"no pattern is all", nil, all},
		{"all", []string{"all"}, all},
		{"star", []string{"*"}, all},
		{"group", []string{"web"}, []string{"web01.example.com", "web02.example.com", "web03.example.com"}},
		{"parent group", []string{"prod"}, []string{"web01.example.com", "web02.example.com", "web03.example.com", "db1", "db2"}},
		{"ungrouped", []string{"ungrouped"}, []string{"bastion"}},
		{"empty group", []string{"empty"}, nil},
		{"host", []string{"dc2"}, []string{"dc2"}},
		{"IPv6 host", []string{"fe80::1"}, []string{"fe80::1"}},
		{"IPv6 host excluded, with commas", []string{"winsrv,!fe80::1"}, nil},
		{"host wins over group of the same name", []string{"db1"}, []string{"db1"}},
		{"union with colon, inventory order", []string{"dc:web"}, []string{"web01.example.com", "web02.example.com", "web03.example.com", "dc1", "dc2"}},
		{"union with comma", []string{"dc1,bastion"}, []string{"bastion", "dc1"}},
		{"union of arguments", []string{"dc1", "bastion"}, []string{"bastion", "dc1"}},
		{"no duplicates", []string{"web:prod:web01.example.com"}, []string{"web01.example.com", "web02.example.com", "web03.example.com", "db1", "db2"}},
		{"spaces trimmed", []string{" web , dc1 "}, []string{"web01.example.com", "web02.example.com", "web03.example.com", "dc1"}},
		{"intersection", []string{"prod:&staging"}, []string{"web03.example.com"}},
		{"exclusion", []string{"prod:!web"}, []string{"db1", "db2"}},
		{"exclusion of a host", []string{"web:!web02.example.com"}, []string{"web01.example.com", "web03.example.com"}},
		{"order of kinds does not matter", []string{"!web:prod"}, []string{"db1", "db2"}},
		{"only exclusions start from all", []string{"!prod:!dc"}, []string{"bastion", "fe80::1"}},
		{"only intersection starts from all", []string{"&staging"}, []string{"web03.example.com"}},
		{"intersections chain", []string{"all:&prod:&web:&staging"}, []string{"web03.example.com"}},
		{"exclusion wins over union", []string{"web:dc:!web"}, []string{"dc1", "dc2"}},
		{"glob on groups", []string{"d?"}, []string{"db1", "db2", "dc1", "dc2"}},
		{"glob on groups and hosts", []string{"db*"}, []string{"web01.example.com", "db1", "db2"}},
		{"glob on hosts", []string{"web0*.example.com"}, []string{"web01.example.com", "web02.example.com", "web03.example.com"}},
		{"glob class", []string{"web0[13].*"}, []string{"web01.example.com", "web03.example.com"}},
		{"glob negated class", []string{"dc[!1]"}, []string{"dc2"}},
		{"glob exclusion", []string{"all:!web*:!db*"}, []string{"bastion", "dc1", "dc2", "fe80::1"}},
		{"regexp", []string{`~(web|dc)0?2`}, []string{"web02.example.com", "dc2"}},
		{"subscript", []string{"web[0]"}, []string{"web01.example.com"}},
		{"negative subscript", []string{"web[-1]"}, []string{"web03.example.com"}},
		{"subscript range", []string{"prod[1:3]"}, []string{"web02.example.com", "web03.example.com", "db1"}},
		{"open subscript range", []string{"prod[3:]"}, []string{"db1", "db2"}},
		{"subscript range past the end", []string{"web[1:10]"}, []string{"web02.example.com", "web03.example.com"}},
		{"subscript with exclusion", []string{"web:!web[0]"}, []string{"web02.example.com", "web03.example.com"}},
		{"empty parts ignored", []string{"dc1,,dc2,"}, []string{"dc1", "dc2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, err := inv.Select(tt.patterns...)
			if err != nil {
				t.Fatal(err)
			}
			if got := hostNames(hs); !equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("Select(%q) = %q; want %q", tt.patterns, got, tt.want)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	inv, err := ParseINI(strings.NewReader(selectINI))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		patterns []string
		unknown  string // the UnknownPatternError's Pattern, or ""
		want     string
	}{
		{"unknown group", []string{"wbe"}, "wbe", `inventory: pattern "wbe" matches no host or group; groups: all, ungrouped, web, db, dc, winsrv, prod, staging, empty, db1; hosts: bastion, web01.example.com`},
		{"unknown in a union", []string{"web:dcc"}, "dcc", `pattern "dcc"`},
		{"unknown exclusion", []string{"prod:!stagign"}, "stagign", `pattern "stagign"`},
		{"unknown intersection", []string{"prod:&x"}, "x", `pattern "x"`},
		{"glob matching nothing", []string{"zz*"}, "zz*", `pattern "zz*"`},
		{"regexp matching nothing", []string{"~zz"}, "~zz", `pattern "~zz"`},
		{"case matters", []string{"WEB"}, "WEB", `pattern "WEB"`},
		{"regexp anchored at the start", []string{"~eb"}, "~eb", `pattern "~eb"`},
		{"IPv6 in a colon list splits", []string{"winsrv:!fe80::1"}, "1", `pattern "1"`},
		{"empty argument", []string{" , "}, "", `empty host pattern`},
		{"bare exclusion", []string{"!"}, "", `empty host pattern after & or !`},
		{"bad regexp", []string{"~(web"}, "", "missing closing )"},
		{"subscript out of range", []string{"web[3]"}, "", `pattern "web[3]": index out of range: it matches 3 hosts`},
		{"negative subscript out of range", []string{"web[-4]"}, "", `index out of range`},
		{"subscript of unknown", []string{"nope[0]"}, "nope[0]", `pattern "nope[0]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, err := inv.Select(tt.patterns...)
			if err == nil {
				t.Fatalf("Select(%q) = %q; want an error", tt.patterns, hostNames(hs))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			var u *UnknownPatternError
			if errors.As(err, &u) != (tt.unknown != "") {
				t.Fatalf("error %v: UnknownPatternError %v; want %v", err, !(tt.unknown != ""), tt.unknown != "")
			}
			if u != nil && (u.Pattern != tt.unknown || len(u.Groups) != 10 || len(u.Hosts) != 9) {
				t.Errorf("UnknownPatternError = %+v", u)
			}
		})
	}
}

func TestUnknownPatternErrorListsAtMost20(t *testing.T) {
	inv, err := ParseINI(strings.NewReader("[g]\nh[1:50]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = inv.Select("nope")
	if err == nil || !strings.HasSuffix(err.Error(), "h19, h20 and 30 more") {
		t.Errorf("error %v", err)
	}
}

// TestSelectHostErrors checks that invalid connection variables fail
// Select for the hosts selected only, naming the line.
func TestSelectHostErrors(t *testing.T) {
	inv, err := ParseINI(strings.NewReader(`good ansible_winrm_scheme=https
[linux]
l1 ansible_host="{{ lookup('env', 'X') }}"
l2 ansible_port=22x
[win]
w1 ansible_winrm_scheme=ftp
w2 ansible_winrm_server_cert_validation=no
w3 ansible_user="{{ u }}"
w4 ansible_winrm_path={{p}}
w5 ansible_host=""
w6 ansible_host=10.0.0.1:5986
w7 ansible_host=https://w7/wsman
[win2]
v1
[win2:vars]
ansible_winrm_transport={% if x %}ntlm{% endif %}
`))
	if err != nil {
		t.Fatal(err)
	}
	if hs, err := inv.Select("good"); err != nil || len(hs) != 1 {
		t.Fatalf("Select(good) = %v, %v", hostNames(hs), err)
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"l1", []string{`line 3: host l1: ansible_host "{{ lookup('env', 'X') }}": Jinja2 templates are not supported`}},
		{"l2", []string{`line 4: host l2: ansible_port "22x": want a port number 1-65535`}},
		{"w1", []string{`line 6: host w1: ansible_winrm_scheme "ftp": want http or https`}},
		{"w2", []string{`line 7: host w2: ansible_winrm_server_cert_validation "no": want validate or ignore`}},
		{"w3", []string{`line 8: host w3: ansible_user "{{ u }}": Jinja2`}},
		{"w4", []string{`line 9: host w4: ansible_winrm_path "{{p}}": Jinja2`}},
		{"w5", []string{`line 10: host w5: ansible_host "": not a host name or address`}},
		{"w6", []string{`line 11: host w6: ansible_host "10.0.0.1:5986": want a host name or address, without a port`}},
		{"w7", []string{`line 12: host w7: ansible_host "https://w7/wsman": want a host name`}},
		{"v1", []string{`line 16: host v1: ansible_winrm_transport`}},
		{"linux", []string{"host l1:", "host l2:"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			hs, err := inv.Select(tt.pattern)
			if err == nil {
				t.Fatalf("Select(%s) = %v; want an error", tt.pattern, hostNames(hs))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var e *Error
			if !errors.As(err, &e) || e.Line == 0 {
				t.Errorf("error %v is not an *Error with a line", err)
			}
		})
	}
	// Hosts still lists every host.
	if n := len(inv.Hosts()); n != 11 {
		t.Errorf("Hosts() has %d hosts; want 11", n)
	}
}

func TestConnection(t *testing.T) {
	inv, err := ParseINI(strings.NewReader(`[win]
a ansible_user=u1 ansible_winrm_user=u2 ansible_host=h1 ansible_winrm_host=h2 ansible_port=1 ansible_winrm_port=2
b ansible_port=5985
c ansible_port=5985 ansible_winrm_scheme=https ansible_winrm_path=/custom ansible_winrm_transport="ntlm, kerberos" ansible_winrm_server_cert_validation=ignore
d ansible_host=[2001:db8::1]
e
[win:vars]
ansible_user=group-user
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		addr string
		port int
		want Connection
	}{
		{"a", "h2", 2, Connection{User: "u2"}},
		{"b", "b", 5985, Connection{User: "group-user", Scheme: "http"}},
		{"c", "c", 5985, Connection{User: "group-user", Scheme: "https", Path: "/custom", Transports: []string{"ntlm", "kerberos"}, ServerCertValidation: "ignore"}},
		{"d", "2001:db8::1", 0, Connection{User: "group-user"}},
		{"e", "e", 0, Connection{User: "group-user"}},
	}
	for _, tt := range tests {
		h := findHost(t, inv, tt.host)
		c := h.Connection()
		if h.Address != tt.addr || h.Port != tt.port || c.User != tt.want.User || c.Scheme != tt.want.Scheme ||
			c.Path != tt.want.Path || !equal(c.Transports, tt.want.Transports) || c.ServerCertValidation != tt.want.ServerCertValidation {
			t.Errorf("%s: %s:%d %+v; want %s:%d %+v", tt.host, h.Address, h.Port, c, tt.addr, tt.port, tt.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"ntlm", []string{"ntlm"}},
		{"ntlm, kerberos", []string{"ntlm", "kerberos"}},
		{`["ntlm","kerberos"]`, []string{"ntlm", "kerberos"}},
		{`['ntlm', 'ssl']`, []string{"ntlm", "ssl"}},
	}
	for _, tt := range tests {
		if got := splitList(tt.in); !equal(got, tt.want) {
			t.Errorf("splitList(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestResultsAreCopies checks that callers cannot change the inventory.
func TestResultsAreCopies(t *testing.T) {
	inv, err := ParseINI(strings.NewReader("[g]\nh v=1\n[g:vars]\nw=2"))
	if err != nil {
		t.Fatal(err)
	}
	hs, _ := inv.Select("h")
	hs[0].Vars["v"] = "changed"
	hs[0].Groups[0] = "changed"
	inv.Hosts()[0].Vars["v"] = "changed"
	g := inv.Groups()
	g[2].Vars["w"] = "changed"
	g[2].Hosts[0] = "changed"
	inv.Warnings()
	h := inv.Hosts()[0]
	if h.Vars["v"] != "1" || h.Groups[0] != "g" || inv.Groups()[2].Vars["w"] != "2" || inv.Groups()[2].Hosts[0] != "h" {
		t.Errorf("inventory changed: %+v %+v", h, inv.Groups()[2])
	}
}

func TestSplitPatterns(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"web", []string{"web"}},
		{"web:db", []string{"web", "db"}},
		{"web,db:x", []string{"web", "db:x"}},
		{"web[0:2]:db", []string{"web[0:2]", "db"}},
		{"fe80::1", []string{"fe80::1"}},
		{"!fe80::1", []string{"!fe80::1"}},
		{"a:!b:&c", []string{"a", "!b", "&c"}},
		{" a : b ", []string{"a", "b"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		if got := splitPatterns(tt.in); !equal(got, tt.want) && len(got)+len(tt.want) > 0 {
			t.Errorf("splitPatterns(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"web*", "web01", true},
		{"web*", "db01", false},
		{"*.example.com", "web.example.com", true},
		{"*.example.com", "web.example.org", false},
		{"w?b", "web", true},
		{"w?b", "wb", false},
		{"w*b*c", "wxxbyyc", true},
		{"w*b*c", "wxxbyy", false},
		{"*a*a*a*a*b", strings.Repeat("a", 100), false},
		{"[ab]x", "bx", true},
		{"[ab]x", "cx", false},
		{"[!ab]x", "cx", true},
		{"[!ab]x", "ax", false},
		{"[a-c]", "b", true},
		{"[a-c]", "d", false},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"[a-]", "-", true},
		{"web[", "web[", true},
		{"web[x", "web[x", true},
		{"wé*", "wéb", true},
		{"exact", "exact", true},
		{"exact", "exac", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pat, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v; want %v", tt.pat, tt.name, got, tt.want)
		}
	}
}

// TestConcurrentUse runs the read methods in parallel, for -race.
func TestConcurrentUse(t *testing.T) {
	inv, err := ParseINI(strings.NewReader(selectINI))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				hs, err := inv.Select("prod:!db2")
				if err != nil || len(hs) != 4 {
					t.Errorf("Select = %v, %v", hostNames(hs), err)
				}
				hs[0].Vars["x"] = "y"
				inv.Hosts()
				inv.Groups()
				inv.Warnings()
			}
		})
	}
	wg.Wait()
}
