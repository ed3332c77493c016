package inventory

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

const yamlExample = `# An Ansible inventory
all:
  vars:
    level: all
    site: hq
  hosts:
    bastion.example.com:
      ansible_host: 192.0.2.10
  children:
    web:
      hosts:
        web[01:03].example.com:
          ansible_user: admin
        web-old:
          ansible_host: 192.0.2.7
          ansible_port: 5985
          tags: [a, 1, true, null, 2.5]
          meta: {owner: "ops <ops@example.com>", n: 0x10}
      vars:
        ansible_winrm_transport: ntlm
        level: web
        empty:
    prod:
      children:
        web:
        db:
          hosts:
            db-[a:b]:5986:
            "[2001:db8::5]:5987": ~
      vars:
        level: prod
dc:
  hosts: dc1
`

func TestParseYAMLExample(t *testing.T) {
	inv, err := ParseYAML(strings.NewReader(yamlExample))
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
		groups = append(groups, fmt.Sprintf("%s%v", g.Name, g.Children))
	}
	if want := []string{"all[web prod ungrouped dc]", "ungrouped[]", "web[]", "prod[web db]", "db[]", "dc[]"}; !equal(groups, want) {
		t.Errorf("groups = %q; want %q", groups, want)
	}
	vars := []struct {
		host string
		want map[string]string
	}{
		{"bastion.example.com", map[string]string{"ansible_host": "192.0.2.10", "level": "all", "site": "hq"}},
		{"web01.example.com", map[string]string{"ansible_user": "admin", "ansible_winrm_transport": "ntlm", "level": "web", "site": "hq", "empty": ""}},
		{"web-old", map[string]string{
			"ansible_host": "192.0.2.7", "ansible_port": "5985", "ansible_winrm_transport": "ntlm", "level": "web", "site": "hq", "empty": "",
			"tags": `["a",1,true,null,2.5]`, "meta": `{"owner":"ops <ops@example.com>","n":16}`,
		}},
		{"db-a", map[string]string{"ansible_port": "5986", "level": "prod", "site": "hq"}},
		{"dc1", map[string]string{"level": "all", "site": "hq"}},
	}
	for _, v := range vars {
		if got := findHost(t, inv, v.host).Vars; !maps.Equal(got, v.want) {
			t.Errorf("%s vars = %v; want %v", v.host, got, v.want)
		}
	}
}

// TestYAMLMatchesINI parses the same inventory in both formats.
func TestYAMLMatchesINI(t *testing.T) {
	ini := "a\n[c]\nh1 x=1\n[p:children]\nc\n[p:vars]\nx=2\ny=2\n[all:vars]\nz=3"
	yml := "all:\n  hosts: {a: }\n  vars: {z: 3}\n  children:\n    p:\n      vars: {x: 2, y: 2}\n      children:\n        c:\n          hosts:\n            h1: {x: 1}\n"
	i1, err := ParseINI(strings.NewReader(ini))
	if err != nil {
		t.Fatal(err)
	}
	i2, err := ParseYAML(strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := i1.Hosts(), i2.Hosts()
	if !equal(hostLines(h1), hostLines(h2)) {
		t.Fatalf("hosts differ: %q vs %q", hostLines(h1), hostLines(h2))
	}
	for i := range h1 {
		if !maps.Equal(h1[i].Vars, h2[i].Vars) {
			t.Errorf("%s: %v vs %v", h1[i].Name, h1[i].Vars, h2[i].Vars)
		}
	}
}

func TestYAMLForms(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // hostLine of each host
	}{
		{"null group", "all:\n  children:\n    empty:\n", []string{}},
		{"hosts null", "all:\n  hosts:\n", []string{}},
		{"single host name", "web:\n  hosts: h1\n", []string{"h1 h1:0 [web]"}},
		{"single child name", "all:\n  children: web\nweb:\n  hosts: {h: }\n", []string{"h h:0 [web]"}},
		{"top-level groups", "web:\n  hosts: {h1: }\ndb:\n  hosts: {h2: }\n", []string{"h1 h1:0 [web]", "h2 h2:0 [db]"}},
		{"flow style", "{all: {hosts: {h1: {ansible_port: 5986}}}}", []string{"h1 h1:5986 [ungrouped]"}},
		{"JSON", `{"all": {"hosts": {"h1": {"ansible_host": "10.0.0.1"}}, "children": {"g": {"hosts": {"h2": null}}}}}`,
			[]string{"h1 10.0.0.1:0 [ungrouped]", "h2 h2:0 [g]"}},
		{"group in two places merges", "a:\n  children:\n    g:\n      hosts: {h1: }\nb:\n  children:\n    g:\n      hosts: {h2: }\n",
			[]string{"h1 h1:0 [a b g]", "h2 h2:0 [a b g]"}},
		{"host in two groups", "a:\n  hosts: {h: {x: 1}}\nb:\n  hosts: {h: {y: 2}}\n", []string{"h h:0 [a b]"}},
		{"document marker and comments", "---\n# c\nall:\n  hosts:\n    h: # c\n", []string{"h h:0 [ungrouped]"}},
		{"aliased group", "a: &g\n  hosts: {h: }\nb: *g\n", []string{"h h:0 [a b]"}},
		{"ranges and ports", "all:\n  hosts:\n    w[1:2]:22:\n    '[::1]:23':\n", []string{"w1 w1:22 [ungrouped]", "w2 w2:22 [ungrouped]", "::1 ::1:23 [ungrouped]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := ParseYAML(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := hostLines(inv.Hosts()); !equal(got, tt.want) {
				t.Errorf("hosts = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestYAMLValues(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"scalars as written", "a: 5986\nb: true\nc: yes\nd: 1.50\ne: '007'\nf: ~\ng:\nh: \"x y\"\n",
			map[string]string{"a": "5986", "b": "true", "c": "yes", "d": "1.50", "e": "007", "f": "", "g": "", "h": "x y"}},
		{"block scalar", "a: |\n  line1\n  line2\n", map[string]string{"a": "line1\nline2\n"}},
		{"sequence and mapping as JSON", "a: [1, x, {b: [true, ~]}]\nc: {}\nd: []\ne: [0o17, .inf, 1e3]\n",
			map[string]string{"a": `[1,"x",{"b":[true,null]}]`, "c": "{}", "d": "[]", "e": `[15,".inf",1000]`}},
		{"merge key", "<<: {a: base, b: base}\nb: own\n", map[string]string{"a": "base", "b": "own"}},
		{"merge list, earlier wins", "<<: [{a: first}, {a: second, b: second}]\n", map[string]string{"a": "first", "b": "second"}},
		{"unsafe tag", "a: !unsafe '{{ x }}'\n", map[string]string{"a": "{{ x }}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "all:\n  hosts:\n    h:\n" + indent(tt.in, "      ")
			inv, err := ParseYAML(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if got := findHost(t, inv, "h").Vars; !maps.Equal(got, tt.want) {
				t.Errorf("vars = %q; want %q", got, tt.want)
			}
		})
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func TestYAMLAnchorsAndMerge(t *testing.T) {
	in := `all:
  vars: &common
    ansible_winrm_transport: ntlm
    site: hq
  children:
    web:
      vars:
        <<: *common
        site: web
      hosts:
        w1: &hv {ansible_port: 5986}
        w2: *hv
`
	inv, err := ParseYAML(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"w1", "w2"} {
		h := findHost(t, inv, name)
		if h.Port != 5986 || h.Vars["site"] != "web" || h.Vars["ansible_winrm_transport"] != "ntlm" {
			t.Errorf("%s: port %d vars %v", name, h.Port, h.Vars)
		}
	}
}

func TestYAMLPasswords(t *testing.T) {
	in := `all:
  vars:
    ansible_password: s3cret
  hosts:
    h1:
      ansible_winrm_password: s3cret
      ansible_user: admin
      secret: !vault |
        $ANSIBLE_VAULT;1.1;AES256
        6162
    h[2:3]:
      ansible_become_pass: s3cret
`
	inv, err := ParseYAML(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range inv.Hosts() {
		for k, v := range h.Vars {
			if isSecretVar(k) || strings.Contains(v, "s3cret") || strings.Contains(v, "VAULT") || k == "secret" {
				t.Errorf("host %s keeps %s=%s", h.Name, k, v)
			}
		}
	}
	want := []string{
		"line 3: ansible_password ignored: psremote never takes passwords from an inventory",
		"line 6: ansible_winrm_password ignored: psremote never takes passwords from an inventory",
		"line 8: secret ignored: Ansible Vault values are not supported",
		"line 12: ansible_become_pass ignored: psremote never takes passwords from an inventory",
	}
	if got := inv.Warnings(); !equal(got, want) {
		t.Errorf("warnings =\n%q\nwant\n%q", got, want)
	}
	if findHost(t, inv, "h1").Vars["ansible_user"] != "admin" {
		t.Error("ansible_user lost")
	}
}

func TestParseYAMLErrors(t *testing.T) {
	nest := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%sg%d:\n%s  children:\n", strings.Repeat("    ", i), i, strings.Repeat("    ", i))
		}
		return b.String()
	}
	tests := []errCase{
		{name: "plugin", in: "plugin: amazon.aws.aws_ec2\nregions: [x]\n", line: 1, want: "inventory plugins (plugin: amazon.aws.aws_ec2) are not supported"},
		{name: "syntax", in: "all:\n  hosts: [\n", want: "invalid YAML: yaml: line"},
		{name: "empty", in: "# nothing\n", want: "empty YAML inventory"},
		{name: "top is a list", in: "- a\n- b\n", line: 1, want: "want a mapping of group names at the top level, got a sequence"},
		{name: "top is a scalar", in: "hosts\n", line: 1, want: `want a mapping of group names at the top level, got "hosts"`},
		{name: "group is a list", in: "all:\n  - h1\n", line: 2, want: "group all must be a mapping with hosts, vars or children, got a sequence"},
		{name: "hosts is a list", in: "web:\n  hosts:\n    - h1\n", line: 3, want: "group web: hosts must be a mapping, got a sequence"},
		{name: "vars is a string", in: "web:\n  vars: x\n", line: 2, want: `group web: vars must be a mapping, got "x"`},
		{name: "children is a list", in: "web:\n  children: [a]\n", line: 2, want: "group web: children must be a mapping"},
		{name: "unknown key", in: "web:\n  host:\n    h1:\n", line: 2, want: `group web: unexpected key "host": want hosts, vars or children`},
		{name: "host vars a string", in: "web:\n  hosts:\n    h1: x\n", line: 3, want: `host h1: variables must be a mapping, got "x"`},
		{name: "host vars a list", in: "web:\n  hosts:\n    h1: [a]\n", line: 3, want: `host h1: variables must be a mapping, got a sequence`},
		{name: "bad host", in: "web:\n  hosts:\n    'a b':\n", line: 3, want: `invalid host name "a b"`},
		{name: "bad range", in: "web:\n  hosts:\n    w[2:1]:\n", line: 3, want: `after end`},
		{name: "range too big", in: "web:\n  hosts:\n    w[0:100000]:\n", line: 3, want: `more than 100000 hosts`, isLimit: true},
		{name: "bad group name", in: "web:\n  children:\n    'a:b':\n", line: 3, want: `invalid group name "a:b"`},
		{name: "null group name", in: "~:\n  hosts: {h: }\n", line: 1, want: `invalid group name "~"`},
		{name: "non-scalar key", in: "? [a]\n: {}\n", line: 1, want: "want a scalar key, got a sequence"},
		{name: "all as child", in: "web:\n  children:\n    all:\n", line: 3, want: "group all cannot be a child of web"},
		{name: "cycle", in: "a:\n  children:\n    b:\n      children:\n        c:\nc:\n  children:\n    a:\n", line: 1, want: "group cycle: a > b > c > a"},
		{name: "self-containing alias", in: "a: &x\n  children:\n    b: *x\n", line: 3, want: "nested more than 64 deep", isLimit: true},
		{name: "too deep", in: nest(MaxGroupDepth + 1), line: 2*MaxGroupDepth + 1, want: "nested more than 64 deep", isLimit: true},
		{name: "merge of a scalar", in: "all:\n  vars:\n    <<: x\n", line: 3, want: `merge key: want a mapping, got "x"`},
		{name: "bad priority", in: "all:\n  children:\n    g:\n      vars:\n        ansible_group_priority: x\n", line: 5, want: "want an integer"},
		{name: "duplicate anchor use bomb", in: bomb(), want: "YAML too complex", isLimit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseYAML(strings.NewReader(tt.in))
			checkErr(t, tt, err)
		})
	}
}

// bomb is a "billion laughs" of aliases in a variable's value.
func bomb() string {
	var b strings.Builder
	b.WriteString("all:\n  vars:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "    l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}
