package certmap

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

const (
	shellURI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
	shellPat = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell*"
	wmiURI   = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service"
)

// pki is the test hierarchy shared by the mapping tables.
type pki struct {
	root, inter, other *testCA
	// chains, verified by crypto/x509
	alice, bob, carol, dave, self, multi []*x509.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{root: newRoot(t, "Root CA"), other: newRoot(t, "Other CA")}
	p.inter = p.root.intermediate(t, "Issuing CA")
	roots := []*x509.Certificate{p.root.cert, p.other.cert}

	leaf, _ := p.root.issue(t, leafSpec{cn: "alice", upns: []string{"alice@corp.example"}, emails: []string{"alice@mail.example"}})
	p.alice = verified(t, leaf, roots)[0]
	leaf, _ = p.inter.issue(t, leafSpec{cn: "bob", upns: []string{"bob@corp.example"}})
	p.bob = verified(t, leaf, roots, p.inter.cert)[0]
	leaf, _ = p.root.issue(t, leafSpec{cn: "carol", emails: []string{"carol@corp.example"}})
	p.carol = verified(t, leaf, roots)[0]
	leaf, _ = p.root.issue(t, leafSpec{cn: "dave"})
	p.dave = verified(t, leaf, roots)[0]
	leaf, _ = p.root.issue(t, leafSpec{cn: "multi", upns: []string{"first@corp.example", "second@corp.example"}})
	p.multi = verified(t, leaf, roots)[0]
	self, _ := selfSigned(t, leafSpec{cn: "self", upns: []string{"self@localhost"}})
	p.self = verified(t, self, []*x509.Certificate{self})[0]
	return p
}

func TestMap(t *testing.T) {
	p := newPKI(t)
	root, inter, other := tp(p.root.cert), tp(p.inter.cert), tp(p.other.cert)
	rule := func(issuer, subject, uri, user string) Rule {
		return Rule{Issuer: issuer, Subject: subject, URI: uri, UserName: user, Enabled: true}
	}
	disabled := func(r Rule) Rule { r.Enabled = false; return r }

	tests := []struct {
		name  string
		rules []Rule
		opts  Options
		chain []*x509.Certificate
		uri   string
		want  string // "" means ErrNoMapping
	}{
		{name: "suffix", rules: []Rule{rule(root, "*@corp.example", "*", "u1")}, chain: p.alice, uri: shellURI, want: "u1"},
		{name: "star", rules: []Rule{rule(root, "*", "*", "u1")}, chain: p.alice, uri: shellURI, want: "u1"},
		{name: "prefix", rules: []Rule{rule(root, "alice@*", "*", "u1")}, chain: p.alice, uri: shellURI, want: "u1"},
		{name: "case-insensitive", rules: []Rule{rule(strings.ToUpper(root), "ALICE@Corp.Example", "HTTP://SCHEMAS.MICROSOFT.COM/wbem/wsman/1/windows/SHELL*", "u1")},
			chain: p.alice, uri: shellURI, want: "u1"},
		{name: "subject mismatch", rules: []Rule{rule(root, "*@other.example", "*", "u1")}, chain: p.alice, uri: shellURI},
		{name: "longer subject wins", rules: []Rule{rule(root, "*@corp.example", "*", "u1"), rule(root, "alice@corp.example", "*", "u2")},
			chain: p.alice, uri: shellURI, want: "u2"},
		{name: "longer subject wins over longer URI", rules: []Rule{rule(root, "*", shellURI, "u1"), rule(root, "*@corp.example", "*", "u2")},
			chain: p.alice, uri: shellURI, want: "u2"},
		{name: "longer URI breaks subject tie", rules: []Rule{rule(root, "*@corp.example", "*", "u1"), rule(root, "*@corp.example", shellPat, "u2")},
			chain: p.alice, uri: shellURI, want: "u2"},
		{name: "URI rule not applicable", rules: []Rule{rule(root, "*@corp.example", "*", "u1"), rule(root, "*@corp.example", shellPat, "u2")},
			chain: p.alice, uri: wmiURI, want: "u1"},
		{name: "only URI rule, other URI", rules: []Rule{rule(root, "*@corp.example", shellPat, "u2")}, chain: p.alice, uri: wmiURI},
		{name: "exact URI", rules: []Rule{rule(root, "*", shellURI, "u1")}, chain: p.alice, uri: shellURI, want: "u1"},
		{name: "empty URI matches only star", rules: []Rule{rule(root, "alice@corp.example", shellPat, "u2"), rule(root, "*", "*", "u1")},
			chain: p.alice, uri: "", want: "u1"},
		{name: "tie", rules: []Rule{rule(root, "*@corp.example", "*", "u1"), rule(root, "alice@corp.ex*", "*", "u2")},
			chain: p.alice, uri: shellURI},
		{name: "tie with same user is still a tie", rules: []Rule{rule(root, "*@corp.example", "*", "u1"), rule(root, "alice@corp.ex*", "*", "u1")},
			chain: p.alice, uri: shellURI},
		{name: "tie broken by a better rule", rules: []Rule{rule(root, "*@corp.example", "*", "u1"), rule(root, "alice@corp.ex*", "*", "u2"),
			rule(root, "alice@corp.example", "*", "u3")}, chain: p.alice, uri: shellURI, want: "u3"},
		{name: "disabled rule ignored", rules: []Rule{rule(root, "*", "*", "u1"), disabled(rule(root, "alice@corp.example", "*", "u2"))},
			chain: p.alice, uri: shellURI, want: "u1"},
		{name: "all disabled", rules: []Rule{disabled(rule(root, "*", "*", "u1"))}, chain: p.alice, uri: shellURI},
		{name: "disabled rule breaks no tie", rules: []Rule{rule(root, "*@corp.example", "*", "u1"), disabled(rule(root, "alice@corp.ex*", "*", "u2"))},
			chain: p.alice, uri: shellURI, want: "u1"},
		{name: "wrong issuer", rules: []Rule{rule(other, "*", "*", "u1")}, chain: p.alice, uri: shellURI},
		{name: "leaf is not its own issuer", rules: []Rule{rule(tp(p.alice[0]), "*", "*", "u1")}, chain: p.alice, uri: shellURI},
		{name: "no rules", chain: p.alice, uri: shellURI},
		{name: "direct issuer", rules: []Rule{rule(inter, "*", "*", "u1")}, chain: p.bob, uri: shellURI, want: "u1"},
		{name: "root above intermediate", rules: []Rule{rule(root, "*", "*", "u2")}, chain: p.bob, uri: shellURI, want: "u2"},
		{name: "direct issuer level first", rules: []Rule{rule(inter, "*", "*", "u1"), rule(root, "bob@corp.example", "*", "u2")},
			chain: p.bob, uri: shellURI, want: "u1"},
		{name: "root when direct issuer's rules miss the URI", rules: []Rule{rule(inter, "*", shellPat, "u1"), rule(root, "*", "*", "u2")},
			chain: p.bob, uri: wmiURI, want: "u2"},
		{name: "same pattern at two levels is no tie", rules: []Rule{rule(inter, "*", "*", "u1"), rule(root, "*", "*", "u2")},
			chain: p.bob, uri: shellURI, want: "u1"},
		{name: "self-signed is its own issuer", rules: []Rule{rule(tp(p.self[0]), "self@localhost", "*", "u1")}, chain: p.self, uri: shellURI, want: "u1"},
		{name: "first UPN is the name", rules: []Rule{rule(root, "first@corp.example", "*", "u1")}, chain: p.multi, uri: shellURI, want: "u1"},
		{name: "second UPN is not", rules: []Rule{rule(root, "second@corp.example", "*", "u1")}, chain: p.multi, uri: shellURI},
		{name: "e-mail cert, Windows", rules: []Rule{rule(root, "*", "*", "u1")}, chain: p.carol, uri: shellURI},
		{name: "e-mail cert, fallback", rules: []Rule{rule(root, "carol@corp.example", "*", "u1")}, opts: Options{EmailFallback: true},
			chain: p.carol, uri: shellURI, want: "u1"},
		{name: "e-mail SAN of a UPN cert is not used", rules: []Rule{rule(root, "alice@mail.example", "*", "u1")}, opts: Options{EmailFallback: true},
			chain: p.alice, uri: shellURI},
		{name: "CN cert, Windows", rules: []Rule{rule(root, "*", "*", "u1")}, chain: p.dave, uri: shellURI},
		{name: "CN cert, fallback", rules: []Rule{rule(root, "dave", "*", "u1")}, opts: Options{CommonNameFallback: true},
			chain: p.dave, uri: shellURI, want: "u1"},
		{name: "empty chain", rules: []Rule{rule(root, "*", "*", "u1")}, chain: nil, uri: shellURI},
		{name: "nil certificate", rules: []Rule{rule(root, "*", "*", "u1")}, chain: []*x509.Certificate{p.alice[0], nil}, uri: shellURI},
		{name: "local account prefix", rules: []Rule{rule(root, "*", "*", `.\admin`)}, chain: p.alice, uri: shellURI, want: "admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapperOptions(tt.rules, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Map(tt.chain, tt.uri)
			if tt.want == "" {
				if !errors.Is(err, ErrNoMapping) || got != "" {
					t.Fatalf("Map = %q, %v; want ErrNoMapping", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Map = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestSpecExample maps with the rule of MS-WSMV 4.2.3 (Issuer
// 5600a015..., Subject "*@mig.net", URI "*", certAdminAccount), its
// selectors spelled as the example envelope spells them. No certificate
// can have that issuer thumbprint, so the issuer levels are given.
func TestSpecExample(t *testing.T) {
	m, err := NewMapper([]Rule{{
		Issuer:   "\n5600a015ca5e8a26f638b74e819ae92096da5c8c\n",
		Subject:  "*@mig.net",
		URI:      "*",
		UserName: "certAdminAccount",
		Enabled:  true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.rules[0].issuer.String(); got != "5600A015CA5E8A26F638B74E819AE92096DA5C8C" {
		t.Fatalf("issuer %s", got)
	}
	issuer, _ := parseThumbprint("5600a015ca5e8a26f638b74e819ae92096da5c8c")
	levels := [][]thumbprint{{issuer}}
	mt, err := m.choose("someone@mig.net", levels, "http://schemas.microsoft.com/wbem/wsman/1/config", true)
	if err != nil || mt.user != "certAdminAccount" || mt.name != "someone@mig.net" {
		t.Fatalf("choose = %+v, %v", mt, err)
	}
	for _, name := range []string{"someone@mig.net.evil", "someone@notmig.net"} {
		if _, err := m.choose(name, levels, "x", true); !errors.Is(err, ErrNoMapping) {
			t.Errorf("%q mapped: %v", name, err)
		}
	}
	if _, err := m.choose("someone@mig.net", [][]thumbprint{{{1}}}, "x", true); !errors.Is(err, ErrNoMapping) {
		t.Errorf("other issuer mapped: %v", err)
	}
}

// TestAnsibleSelfSigned maps the certificate made by the Ansible guide's
// OpenSSL recipe with the mapping the guide creates: Subject = its UPN,
// Issuer = the last element of its chain (itself), here in OpenSSL's
// fingerprint spelling.
func TestAnsibleSelfSigned(t *testing.T) {
	c := loadAnsibleCert(t)
	m, err := NewMapper([]Rule{{Issuer: goldenThumbprint, Subject: "local-user@localhost", URI: "*", UserName: "local-user", Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Map([]*x509.Certificate{c}, shellURI)
	if err != nil || got != "local-user" {
		t.Fatalf("Map = %q, %v", got, err)
	}
}

func TestMapChains(t *testing.T) {
	p := newPKI(t)
	// The same leaf verified along two paths: through the intermediate to
	// the root, and through the intermediate to another anchor.
	crossChain := []*x509.Certificate{p.bob[0], p.bob[1], p.other.cert}
	chains := [][]*x509.Certificate{p.bob, crossChain}
	m, err := NewMapper([]Rule{{Issuer: tp(p.other.cert), Subject: "*", URI: "*", UserName: "u1", Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.MapChains(chains, shellURI); err != nil || got != "u1" {
		t.Errorf("second chain's anchor: %q, %v", got, err)
	}
	if _, err := m.Map(p.bob, shellURI); !errors.Is(err, ErrNoMapping) {
		t.Errorf("first chain alone mapped: %v", err)
	}
	mixed := [][]*x509.Certificate{p.bob, p.alice}
	if _, err := m.MapChains(mixed, shellURI); !errors.Is(err, ErrNoMapping) {
		t.Errorf("chains with different leaves mapped: %v", err)
	}
	if _, err := m.MapChains(nil, shellURI); !errors.Is(err, ErrNoMapping) {
		t.Errorf("no chains mapped: %v", err)
	}
	long := make([]*x509.Certificate, maxChainDepth+1)
	for i := range long {
		long[i] = p.bob[0]
	}
	if _, err := m.Map(long, shellURI); !errors.Is(err, ErrNoMapping) {
		t.Errorf("over-long chain mapped: %v", err)
	}
}

func TestNewMapperErrors(t *testing.T) {
	const issuer = "5600a015ca5e8a26f638b74e819ae92096da5c8c"
	ok := Rule{Issuer: issuer, Subject: "*@mig.net", URI: "*", UserName: "u", Enabled: true}
	with := func(f func(*Rule)) []Rule { r := ok; f(&r); return []Rule{r} }
	tests := []struct {
		name  string
		rules []Rule
		field string
		index int
	}{
		{"short issuer", with(func(r *Rule) { r.Issuer = "5600a015" }), "Issuer", 0},
		{"non-hex issuer", with(func(r *Rule) { r.Issuer = strings.Repeat("z", 40) }), "Issuer", 0},
		{"empty issuer", with(func(r *Rule) { r.Issuer = "  " }), "Issuer", 0},
		{"empty subject", with(func(r *Rule) { r.Subject = "" }), "Subject", 0},
		{"inner star", with(func(r *Rule) { r.Subject = "a*b" }), "Subject", 0},
		{"two stars", with(func(r *Rule) { r.Subject = "*a*" }), "Subject", 0},
		{"empty URI", with(func(r *Rule) { r.URI = " " }), "URI", 0},
		{"URI leading star", with(func(r *Rule) { r.URI = "*shell" }), "URI", 0},
		{"URI white space", with(func(r *Rule) { r.URI = "http://a b" }), "URI", 0},
		{"URI question mark", with(func(r *Rule) { r.URI = "http://a?b" }), "URI", 0},
		{"empty user", with(func(r *Rule) { r.UserName = "" }), "UserName", 0},
		{"bare local prefix", with(func(r *Rule) { r.UserName = `.\` }), "UserName", 0},
		{"domain user", with(func(r *Rule) { r.UserName = `CORP\alice` }), "UserName", 0},
		{"control in user", with(func(r *Rule) { r.UserName = "a\nb" }), "UserName", 0},
		{"long user", with(func(r *Rule) { r.UserName = strings.Repeat("a", maxUserNameLen+1) }), "UserName", 0},
		{"duplicate", []Rule{ok, {Issuer: strings.ToUpper(issuer), Subject: " *@MIG.NET ", URI: "*", UserName: "other"}}, "", 1},
		{"second rule bad", []Rule{ok, {Issuer: issuer, Subject: "**", URI: "*", UserName: "u"}}, "Subject", 1},
	}
	for _, tt := range tests {
		m, err := NewMapper(tt.rules)
		var re *RuleError
		if m != nil || !errors.Is(err, ErrInvalidRule) || !errors.As(err, &re) {
			t.Errorf("%s: NewMapper = %v, %v; want a *RuleError", tt.name, m, err)
			continue
		}
		if re.Field != tt.field || re.Index != tt.index {
			t.Errorf("%s: %v: field %q index %d; want %q %d", tt.name, err, re.Field, re.Index, tt.field, tt.index)
		}
	}
	if _, err := NewMapper(make([]Rule, MaxRules+1)); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("too many rules: %v", err)
	}
	// Different URIs, subjects or issuers are not duplicates.
	distinct := []Rule{ok, {Issuer: issuer, Subject: "*@mig.net", URI: "http://x*", UserName: "u"},
		{Issuer: issuer, Subject: "a@mig.net", URI: "*", UserName: "u"},
		{Issuer: strings.Repeat("ab", 20), Subject: "*@mig.net", URI: "*", UserName: "u"}}
	if _, err := NewMapper(distinct); err != nil {
		t.Errorf("distinct rules refused: %v", err)
	}
	if _, err := NewMapper(nil); err != nil {
		t.Errorf("empty table refused: %v", err)
	}
}
