package inventory

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name, path, data string
		want             Format
	}{
		{"yml extension", "hosts.yml", "web1\n", FormatYAML},
		{"yaml extension", "hosts.YAML", "", FormatYAML},
		{"json extension", "hosts.json", "{}", FormatYAML},
		{"YAML content", "hosts", "# c\n\nall:\n  hosts:\n", FormatYAML},
		{"YAML key with value", "hosts", "web: {hosts: {a: }}", FormatYAML},
		{"YAML document marker", "hosts", "---\nall:\n", FormatYAML},
		{"JSON content", "hosts", "{\"all\": {}}", FormatYAML},
		{"section first", "hosts", "; c\n[web]\nweb1\n", FormatINI},
		{"section with comment", "hosts", "[web] # c\n", FormatINI},
		{"vars section", "hosts.ini", "[all:vars]\na=1\n", FormatINI},
		{"host vars first", "hosts", "web1 ansible_host=10.0.0.1\n", FormatINI},
		{"ungrouped hosts then a section", "hosts", "web1\nweb2\n[db]\ndb1\n", FormatINI},
		{"ungrouped hosts then host vars", "hosts", "web1\nweb2 a=b\n", FormatINI},
		{"plain list", "hosts.txt", "# hosts\nweb1\nweb2:5986\n", FormatList},
		{"list with IPv6", "hosts", "[::1]:5986\nfe80::1\n[2001:db8::1]\n", FormatList},
		{"list on one line", "hosts", "a, b c", FormatList},
		{"empty", "hosts", "", FormatList},
		{"comments only", "hosts", "# a\n; b\n", FormatList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.path, []byte(tt.data)); got != tt.want {
				t.Errorf("Detect(%q, %q) = %v; want %v", tt.path, tt.data, got, tt.want)
			}
		})
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{FormatList: "list", FormatINI: "ini", FormatYAML: "yaml"} {
		if f.String() != want {
			t.Errorf("%d.String() = %q; want %q", f, f.String(), want)
		}
	}
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             []string
	}{
		{"list", "hosts.txt", "web1\nweb2:5986\n", []string{"web1 web1:0 [ungrouped]", "web2 web2:5986 [ungrouped]"}},
		{"ini", "hosts", "web0\n[g]\nweb[1:2] ansible_port=5985\n", []string{"web0 web0:0 [ungrouped]", "web1 web1:5985 [g]", "web2 web2:5985 [g]"}},
		{"yaml", "inventory.yml", "all:\n  children:\n    g:\n      hosts:\n        web1:\n", []string{"web1 web1:0 [g]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Load(writeFile(t, tt.file, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := hostLines(inv.Hosts()); !equal(got, tt.want) {
				t.Errorf("hosts = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "inventory: ") {
			t.Errorf("error %v; want a wrapped fs.ErrNotExist", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Load(dir)
		var e *Error
		if !errors.As(err, &e) || e.File != dir || !strings.Contains(err.Error(), "inventory directories are not supported") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("syntax error names file and line", func(t *testing.T) {
		p := writeFile(t, "hosts", "[web]\nweb1\n[web:hots]\n")
		_, err := Load(p)
		var e *Error
		if !errors.As(err, &e) || e.File != p || e.Line != 3 || !strings.HasPrefix(err.Error(), "inventory: "+p+":3: section [web:hots]") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "big")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(MaxFileSize + 1); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, err = Load(p)
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), p+": input larger than") {
			t.Errorf("error %v", err)
		}
	})
}

func TestLoadWarningsNameFile(t *testing.T) {
	p := writeFile(t, "hosts", "[g]\nh ansible_password=x\n")
	inv, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := p + ": line 2: ansible_password ignored: psremote never takes passwords from an inventory"
	if w := inv.Warnings(); len(w) != 1 || w[0] != want {
		t.Errorf("warnings = %q; want %q", w, want)
	}
}

func TestErrorFormat(t *testing.T) {
	err := errors.New("bad")
	tests := []struct {
		e    *Error
		want string
	}{
		{&Error{Err: err}, "inventory: bad"},
		{&Error{Line: 3, Err: err}, "inventory: line 3: bad"},
		{&Error{File: "f", Err: err}, "inventory: f: bad"},
		{&Error{File: "f", Line: 3, Err: err}, "inventory: f:3: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
		if !errors.Is(tt.e, err) {
			t.Error("Unwrap lost the cause")
		}
	}
}
