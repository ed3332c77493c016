package inventory

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

// iniExample exercises most of the INI format.
const iniExample = `# An Ansible inventory
; with both comment styles
bastion.example.com ansible_host=192.0.2.10

[web]
web[01:03].example.com ansible_user=admin
web-old ansible_host=192.0.2.7 ansible_port=5985 note="two words" quote='it''s'  # trailing comment
web01.example.com role=primary

[web:vars]
ansible_winrm_transport=ntlm
color = "blue"
level=web

[db]
db-[a:b]:5986
  [2001:db8::5]:5987

[dc]
dc1 level=host

[prod:children]
web
db   # comment

[prod:vars]
level=prod
color=red
ansible_winrm_scheme=https

[all:vars]
level=all
site=hq

[dc:vars]
level='dc'
`

func TestParseINIExample(t *testing.T) {
	inv, err := ParseINI(strings.NewReader(iniExample))
	if err != nil {
		t.Fatal(err)
	}
	wantHosts := []string{
		"bastion.example.com 192.0.2.10:0 [ungrouped]",
		"web01.example.com web01.example.com:0 [prod web]",
		"web02.example.com web02.example.com:0 [prod web]",
		"web03.example.com web03.example.com:0 [prod web]",
		"web-old 192.0.2.7:5985 [prod web]",
		"db-a db-a:5986 [db prod]",
		"db-b db-b:5986 [db prod]",
		"2001:db8::5 2001:db8::5:5987 [db prod]",
		"dc1 dc1:0 [dc]",
	}
	if got := hostLines(inv.Hosts()); !equal(got, wantHosts) {
		t.Errorf("hosts =\n%q\nwant\n%q", got, wantHosts)
	}
	var groups []string
	for _, g := range inv.Groups() {
		groups = append(groups, fmt.Sprintf("%s%v%v", g.Name, g.Children, g.Hosts))
	}
	wantGroups := []string{
		"all[ungrouped dc prod][bastion.example.com web01.example.com web02.example.com web03.example.com web-old db-a db-b 2001:db8::5 dc1]",
		"ungrouped[][bastion.example.com]",
		"web[][web01.example.com web02.example.com web03.example.com web-old]",
		"db[][db-a db-b 2001:db8::5]",
		"dc[][dc1]",
		"prod[web db][web01.example.com web02.example.com web03.example.com web-old db-a db-b 2001:db8::5]",
	}
	if !equal(groups, wantGroups) {
		t.Errorf("groups =\n%q\nwant\n%q", groups, wantGroups)
	}

	vars := []struct {
		host string
		want map[string]string
	}{
		{"bastion.example.com", map[string]string{"ansible_host": "192.0.2.10", "level": "all", "site": "hq"}},
		{"web01.example.com", map[string]string{
			"ansible_user": "admin", "role": "primary", "ansible_winrm_transport": "ntlm",
			"color": "blue", "level": "web", "ansible_winrm_scheme": "https", "site": "hq",
		}},
		{"web-old", map[string]string{
			"ansible_host": "192.0.2.7", "ansible_port": "5985", "note": "two words", "quote": "its",
			"ansible_winrm_transport": "ntlm", "color": "blue", "level": "web", "ansible_winrm_scheme": "https", "site": "hq",
		}},
		{"db-a", map[string]string{"ansible_port": "5986", "level": "prod", "color": "red", "ansible_winrm_scheme": "https", "site": "hq"}},
		{"dc1", map[string]string{"level": "host", "site": "hq"}},
	}
	for _, v := range vars {
		if got := findHost(t, inv, v.host).Vars; !maps.Equal(got, v.want) {
			t.Errorf("%s vars = %v; want %v", v.host, got, v.want)
		}
	}
	if got := findGroup(t, inv, "dc").Vars; !maps.Equal(got, map[string]string{"level": "dc"}) {
		t.Errorf("dc vars = %v", got)
	}
	if w := inv.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

// TestINIPrecedence checks host > child group > parent group > all, and
// ansible_group_priority and names at equal depth.
func TestINIPrecedence(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"host wins", "[g]\nh v=host\n[g:vars]\nv=group\n[all:vars]\nv=all", "host"},
		{"group wins over all", "[g]\nh\n[g:vars]\nv=group\n[all:vars]\nv=all", "group"},
		{"child wins over parent", "[c]\nh\n[p:children]\nc\n[c:vars]\nv=child\n[p:vars]\nv=parent", "child"},
		{"grandchild over child, declared first", "[gp:vars]\nv=gp\n[gp:children]\np\n[p:children]\nc\n[p:vars]\nv=p\n[c]\nh\n[c:vars]\nv=c", "c"},
		{"deepest path counts", "[a:children]\nb\n[b:children]\nc\n[c]\nh\n[x]\nh\n[x:children]\nc\n[x:vars]\nv=x\n[b:vars]\nv=b", "b"},
		{"equal depth: later name wins", "[b]\nh\n[a]\nh\n[a:vars]\nv=a\n[b:vars]\nv=b", "b"},
		{"equal depth: priority wins", "[b]\nh\n[a]\nh\n[a:vars]\nv=a\nansible_group_priority=10\n[b:vars]\nv=b", "a"},
		{"all:vars lowest", "h\n[all:vars]\nv=all\n[ungrouped:vars]\nv=ungrouped", "ungrouped"},
		{"later host line wins", "[a]\nh v=1\n[b]\nh v=2", "2"},
		{"later vars line wins", "[a]\nh\n[a:vars]\nv=1\nv=2", "2"},
		{"second vars section merges", "[a]\nh\n[a:vars]\nv=1\nw=1\n[a:vars]\nv=2", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseINI(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			h := findHost(t, inv, "h")
			if got := h.Vars["v"]; got != tt.want {
				t.Errorf("v = %q; want %q (vars %v)", got, tt.want, h.Vars)
			}
			if _, ok := h.Vars["ansible_group_priority"]; ok {
				t.Error("ansible_group_priority is a group setting, not a variable")
			}
		})
	}
}

// TestINIUngrouped checks that ungrouped holds exactly the hosts in no
// group but all, as in Ansible.
func TestINIUngrouped(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"before sections", "a\nb\n[g]\nc", []string{"a", "b"}},
		{"also in a group later", "a\nb\n[g]\na", []string{"b"}},
		{"[all] section", "[all]\na\n[g]\nb", []string{"a"}},
		{"[ungrouped] section", "[ungrouped]\na\n[g]\na\nb", []string{}},
		{"none", "[g]\na", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseINI(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := findGroup(t, inv, "ungrouped").Hosts; !equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("ungrouped = %v; want %v", got, tt.want)
			}
			if got := findGroup(t, inv, "all").Hosts; len(got) != len(inv.Hosts()) {
				t.Errorf("all = %v; want every host", got)
			}
		})
	}
}

func TestINIChildren(t *testing.T) {
	tests := []struct {
		name, in string
		group    string
		want     []string
	}{
		{"child declared later", "[p:children]\nc\n[c]\nh", "p", []string{"h"}},
		{"child declared by children", "[p:children]\nc\n[c:children]\nd\n[d]\nh", "p", []string{"h"}},
		{"diamond counts once", "[top:children]\nl\nr\n[l:children]\nb\n[r:children]\nb\n[b]\nh1\nh2", "top", []string{"h1", "h2"}},
		{"empty group", "[p:children]\nc\n[c]", "p", []string{}},
		{"inventory order", "[p:children]\nc2\nc1\n[c1]\na\n[c2]\nb", "p", []string{"a", "b"}},
		{"all:children", "[all:children]\ng\n[g]\nh", "all", []string{"h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseINI(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := findGroup(t, inv, tt.group).Hosts; !equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("%s = %v; want %v", tt.group, got, tt.want)
			}
		})
	}
}

func TestParseINIErrors(t *testing.T) {
	deep := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "[g%d:children]\ng%d\n", i, i+1)
		}
		fmt.Fprintf(&b, "[g%d]\nh\n", n)
		return b.String()
	}
	tests := []errCase{
		{name: "unknown section type", in: "a\n[web:hots]\nb", line: 2, want: `section [web:hots] has unknown type "hots"`},
		{name: "section with space", in: "[web servers]", line: 1, want: `invalid section "[web servers]"`},
		{name: "section without name", in: "[:vars]", line: 1, want: `invalid section`},
		{name: "bad group name", in: "[web*]", line: 1, want: `invalid group name "web*"`},
		{name: "host without =", in: "[web]\nweb1 ansible_port", line: 2, want: `want key=value host variable, got "ansible_port"`},
		{name: "empty variable name", in: "[web]\nweb1 =x", line: 2, want: `empty variable name`},
		{name: "unterminated quote", in: "[web]\n\nweb1 a=\"b", line: 3, want: `unterminated " quote`},
		{name: "unterminated single quote", in: "web1 a='b", line: 1, want: `unterminated ' quote`},
		{name: "backslash at end", in: "web1 a=b\\", line: 1, want: `backslash at end of line`},
		{name: "bad port", in: "[web]\nweb1:99999", line: 2, want: `out of range`},
		{name: "bad range", in: "[web]\nok\nweb[3:1]", line: 3, want: `begin "3" is after end "1"`},
		{name: "range too big", in: "[web]\nweb[1:100001]", line: 2, want: `more than 100000 hosts`, isLimit: true},
		{name: "hosts over limit", in: "[a]\nh[1:60000]\n[b]\ng[1:60000]", line: 4, want: `more than 100000 hosts`, isLimit: true},
		{name: "vars line without =", in: "[web:vars]\nnot a var", line: 2, want: `want key=value in [web:vars]`},
		{name: "vars for undefined group", in: "[web]\nh\n[wbe:vars]\na=1", line: 3, want: `section [wbe:vars] is for undefined group wbe`},
		{name: "undefined child", in: "[web]\nh\n[prod:children]\nweb\nwbe", line: 5, want: `section [prod:children] includes undefined group wbe`},
		{name: "first undefined reported", in: "[p:children]\nx\n[y:vars]\na=1\n[q:children]\nz", line: 2, want: `undefined group x`},
		{name: "two names in children", in: "[p:children]\na b", line: 2, want: `want one group name per line`},
		{name: "bad child name", in: "[p:children]\na:b", line: 2, want: `invalid group name "a:b"`},
		{name: "all as child", in: "[p:children]\nall", line: 2, want: `group all cannot be a child of p`},
		{name: "self child", in: "[p:children]\np", line: 2, want: `group p cannot be a child of itself`},
		{name: "cycle", in: "[a:children]\nb\n[b:children]\nc\n[c:children]\na", line: 1, want: `group cycle: a > b > c > a`},
		{name: "cycle below all", in: "[top:children]\na\n[a:children]\nb\n[b:children]\na", line: 2, want: `group cycle: a > b > a`},
		{name: "too deep", in: deep(MaxGroupDepth), line: 2 * MaxGroupDepth, want: `nested 65 deep, more than 64`, isLimit: true},
		{name: "bad priority", in: "[g]\nh\n[g:vars]\nansible_group_priority=high", line: 4, want: `want an integer`},
		{name: "invalid UTF-8", in: "[g]\nh x=\xc3", line: 2, want: `not valid UTF-8`},
		{name: "host name with =", in: "a=b", line: 1, want: `invalid host name "a=b"`},
		{name: "host name bad IPv6", in: "a:b:c", line: 1, want: `not an IPv6 address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseINI(strings.NewReader(tt.in))
			checkErr(t, tt, err)
		})
	}
}

// TestINIDepthAtLimit accepts groups nested exactly MaxGroupDepth deep.
func TestINIDepthAtLimit(t *testing.T) {
	var b strings.Builder
	for i := 1; i < MaxGroupDepth; i++ {
		fmt.Fprintf(&b, "[g%d:children]\ng%d\n", i, i+1)
	}
	fmt.Fprintf(&b, "[g%d]\nh\n[g%d:vars]\nv=deep\n[g1:vars]\nv=top\n", MaxGroupDepth, MaxGroupDepth)
	inv, err := ParseINI(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	h := findHost(t, inv, "h")
	if len(h.Groups) != MaxGroupDepth || h.Vars["v"] != "deep" {
		t.Errorf("groups %d, v=%q", len(h.Groups), h.Vars["v"])
	}
}

// TestINIResolveLimit refuses an inventory whose resolved hosts would be
// huge although the file is small.
func TestINIResolveLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("h[1:100000]\n[all:vars]\n")
	for i := range 50 {
		fmt.Fprintf(&b, "v%d=x\n", i)
	}
	_, err := ParseINI(strings.NewReader(b.String()))
	checkErr(t, errCase{want: "too large to resolve", isLimit: true}, err)
}

func TestINIGroupLimit(t *testing.T) {
	var b strings.Builder
	for i := range MaxGroups {
		fmt.Fprintf(&b, "[g%d]\n", i)
	}
	_, err := ParseINI(strings.NewReader(b.String()))
	checkErr(t, errCase{line: MaxGroups - 1, want: "more than 10000 groups", isLimit: true}, err)
}

// TestINIPasswords checks that password variables never reach Vars and
// are reported.
func TestINIPasswords(t *testing.T) {
	in := `h1 ansible_password=hunter2 ansible_user=admin
[g]
h2 ansible_ssh_pass=x ansible_winrm_password=y ansible_become_pass=z
h[3:4] ansible_password=x
[g:vars]
ansible_password=s3cret
ansible_winrm_pass=s3cret
vaulted=$ANSIBLE_VAULT;1.1;AES256
password_policy=strict
[all:vars]
ANSIBLE_PASSWORD=x
`
	inv, err := ParseINI(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range inv.Hosts() {
		for k, v := range h.Vars {
			if isSecretVar(k) || strings.Contains(v, "s3cret") || strings.Contains(v, "hunter2") || strings.Contains(v, "VAULT") {
				t.Errorf("host %s keeps %s=%s", h.Name, k, v)
			}
		}
	}
	if v := findHost(t, inv, "h1").Vars["ansible_user"]; v != "admin" {
		t.Errorf("ansible_user = %q; other variables must stay", v)
	}
	if v := findHost(t, inv, "h2").Vars["password_policy"]; v != "strict" {
		t.Errorf("password_policy = %q; only ansible_* password variables are dropped", v)
	}
	want := []string{
		"line 1: ansible_password ignored: psremote never takes passwords from an inventory",
		"line 3: ansible_ssh_pass ignored: psremote never takes passwords from an inventory",
		"line 3: ansible_winrm_password ignored: psremote never takes passwords from an inventory",
		"line 3: ansible_become_pass ignored: psremote never takes passwords from an inventory",
		"line 4: ansible_password ignored: psremote never takes passwords from an inventory",
		"line 6: ansible_password ignored: psremote never takes passwords from an inventory",
		"line 7: ansible_winrm_pass ignored: psremote never takes passwords from an inventory",
		"line 8: vaulted ignored: Ansible Vault values are not supported",
		"line 11: ANSIBLE_PASSWORD ignored: psremote never takes passwords from an inventory",
	}
	if got := inv.Warnings(); !equal(got, want) {
		t.Errorf("warnings =\n%q\nwant\n%q", got, want)
	}
}

func TestINIWarningsBounded(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, "h%d ansible_password=x\n", i)
	}
	inv, err := ParseINI(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(inv.Warnings()); n != maxWarnings {
		t.Errorf("%d warnings; want %d", n, maxWarnings)
	}
}

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a b\tc", []string{"a", "b", "c"}},
		{`a="b c" d='e f'`, []string{"a=b c", "d=e f"}},
		{`a="b\"c\\d\e"`, []string{`a=b"c\d\e`}},
		{`a='b\c'`, []string{`a=b\c`}},
		{`a=b\ c`, []string{"a=b c"}},
		{`a=""`, []string{"a="}},
		{`""`, []string{""}},
		{`a b#c d`, []string{"a", "b"}},
		{`a "#b" c # d`, []string{"a", "#b", "c"}},
		{`x="a"'b'c`, []string{"x=abc"}},
	}
	for _, tt := range tests {
		got, err := shellSplit(tt.in)
		if err != nil || !equal(got, tt.want) {
			t.Errorf("shellSplit(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestUnquoteValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, `plain`},
		{`"quoted"`, `quoted`},
		{`'single'`, `single`},
		{`"a\"b\\c\nd"`, "a\"b\\c\nd"},
		{`'it\'s'`, `it's`},
		{`"a" "b"`, `"a" "b"`},
		{`"unbalanced`, `"unbalanced`},
		{`"a\"`, `"a\"`},
		{`'mixed"`, `'mixed"`},
		{`"\q"`, `\q`},
		{`"`, `"`},
		{`value # not a comment`, `value # not a comment`},
	}
	for _, tt := range tests {
		if got := unquoteValue(tt.in); got != tt.want {
			t.Errorf("unquoteValue(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSection(t *testing.T) {
	tests := []struct {
		in         string
		name, kind string
		ok         bool
	}{
		{"[web]", "web", "", true},
		{"[web:vars]", "web", "vars", true},
		{"[web:children] # c", "web", "children", true},
		{"[web] ; c", "web", "", true},
		{"[web:odd]", "web", "odd", true},
		{"[web] x", "", "", false},
		{"[web:]", "", "", false},
		{"[::1]", "", "", false},
		{"[::1]:5986", "", "", false},
		{"[web", "", "", false},
		{"[a b]", "", "", false},
	}
	for _, tt := range tests {
		name, kind, ok := parseSection(tt.in)
		if name != tt.name || kind != tt.kind || ok != tt.ok {
			t.Errorf("parseSection(%q) = %q, %q, %v; want %q, %q, %v", tt.in, name, kind, ok, tt.name, tt.kind, tt.ok)
		}
	}
}
