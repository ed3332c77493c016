package kerberos

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrincipalMap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map")
	content := `# principal  local user
alice@OTHER.TEST   alice2
svc/host@EXAMPLE.TEST  svcuser   # trailing comment

bob@EXAMPLE.TEST robert
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := LoadPrincipalMap(path, "EXAMPLE.TEST")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		principal, want string
		err             bool
	}{
		{"alice@EXAMPLE.TEST", "alice", false},
		{"bob@EXAMPLE.TEST", "robert", false}, // explicit wins
		{"alice@OTHER.TEST", "alice2", false},
		{"svc/host@EXAMPLE.TEST", "svcuser", false},
		{"carol@OTHER.TEST", "", true},     // other realm, unmapped
		{"admin/x@EXAMPLE.TEST", "", true}, // two components
		{"alice@example.test", "", true},   // realms are case-sensitive
		{"alice", "", true},                // no realm
		{"@EXAMPLE.TEST", "", true},        // no name
		{"a@b@EXAMPLE.TEST", "", true},     // '@' in the name
		{"a b@EXAMPLE.TEST", "", true},     // a space in the name
		{"user1@EXAMPLE.TEST", "user1", false},
	} {
		got, err := m.Map(tc.principal)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Map(%q) = %q, %v", tc.principal, got, err)
		}
		if err != nil && !errors.Is(err, ErrUnmapped) {
			t.Errorf("Map(%q): %v does not wrap ErrUnmapped", tc.principal, err)
		}
	}

	n := NewPrincipalMap("", map[string]string{"x@Y": "z"})
	if u, err := n.Map("x@Y"); err != nil || u != "z" {
		t.Errorf("explicit without default realm: %q, %v", u, err)
	}
	if _, err := n.Map("x@"); err == nil {
		t.Error("empty default realm mapped a principal")
	}
}

func TestLoadPrincipalMapErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, msg string }{
		{"one field", "alice@X\n", "line 1: want"},
		{"three fields", "\n\nalice@X a b\n", "line 3: want"},
		{"no realm", "alice a\n", "not name@REALM"},
		{"empty realm", "alice@ a\n", "not name@REALM"},
		{"duplicate", "a@X u\na@X v\n", "line 2: principal \"a@X\" listed twice"},
		{"too large", strings.Repeat("#", maxMapFileSize+1), "larger than"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPrincipalMap(path, "X"); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.msg)
		}
	}
	if _, err := LoadPrincipalMap(filepath.Join(dir, "missing"), "X"); err == nil {
		t.Error("missing file accepted")
	}
}
