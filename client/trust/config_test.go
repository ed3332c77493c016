package trust

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultPaths(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		name, xdg, wantDir string
	}{
		{"XDG_CONFIG_HOME set", "/xdg/config", "/xdg/config/psremote"},
		{"XDG_CONFIG_HOME unset", "", filepath.Join(home, ".config", "psremote")},
		{"XDG_CONFIG_HOME relative is ignored", "rel/config", filepath.Join(home, ".config", "psremote")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", tt.xdg)
			dir, err := ConfigDir()
			if err != nil || dir != tt.wantDir {
				t.Errorf("ConfigDir() = %q, %v; want %q", dir, err, tt.wantDir)
			}
			cfg, err := DefaultConfigPath()
			if err != nil || cfg != filepath.Join(tt.wantDir, "config.yaml") {
				t.Errorf("DefaultConfigPath() = %q, %v", cfg, err)
			}
			kh, err := DefaultKnownHostsPath()
			if err != nil || kh != filepath.Join(tt.wantDir, "known_hosts") {
				t.Errorf("DefaultKnownHostsPath() = %q, %v", kh, err)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	home := t.TempDir()
	xdg := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	defaultKH := filepath.Join(xdg, "psremote", "known_hosts")

	tests := []struct {
		name    string
		content *string // nil: no file
		want    Config  // Path is filled in by the test
		wantErr string
	}{
		{name: "missing file gives defaults", want: Config{KnownHostsFile: defaultKH}},
		{name: "empty file", content: ptr(""), want: Config{KnownHostsFile: defaultKH}},
		{name: "comments only", content: ptr("# nothing\n"), want: Config{KnownHostsFile: defaultKH}},
		{
			name: "all keys",
			content: ptr(`TrustedHosts: "*.lab, web1, 10.0.0.1"
AllowUnencrypted: true
KnownHostsFile: /var/lib/psremote/known_hosts
CAFile: /etc/pki/ca.pem
`),
			want: Config{TrustedHosts: "*.lab, web1, 10.0.0.1", AllowUnencrypted: true,
				KnownHostsFile: "/var/lib/psremote/known_hosts", CAFile: "/etc/pki/ca.pem"},
		},
		{
			name:    "home and relative paths",
			content: ptr("KnownHostsFile: ~/pins\nCAFile: certs/ca.pem\n"),
			want:    Config{KnownHostsFile: filepath.Join(home, "pins"), CAFile: "<dir>/certs/ca.pem"},
		},
		{name: "star quoted", content: ptr(`TrustedHosts: "*"`), want: Config{TrustedHosts: "*", KnownHostsFile: defaultKH}},
		{name: "local unquoted", content: ptr(`TrustedHosts: <local>`), want: Config{TrustedHosts: "<local>", KnownHostsFile: defaultKH}},

		{name: "unknown key", content: ptr("TrustedHost: web1\n"), wantErr: "field TrustedHost not found"},
		{name: "wrong case key", content: ptr("trustedhosts: web1\n"), wantErr: "field trustedhosts not found"},
		{name: "bad TrustedHosts", content: ptr("TrustedHosts: \"web 1\"\n"), wantErr: `invalid TrustedHosts: entry 1 "web 1"`},
		{name: "bad bool", content: ptr("AllowUnencrypted: maybe\n"), wantErr: "cannot unmarshal"},
		{name: "unquoted star", content: ptr("TrustedHosts: *\n"), wantErr: `must be quoted: TrustedHosts: "*"`},
		{name: "unquoted star suffix", content: ptr("TrustedHosts: *.lab\n"), wantErr: "must be quoted"},
		{name: "list instead of string", content: ptr("TrustedHosts: [a, b]\n"), wantErr: "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.yaml")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := LoadConfig(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("LoadConfig = %+v, %v; want error naming %s and containing %q", got, err, path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Path = path
			want.CAFile = strings.Replace(want.CAFile, "<dir>", dir, 1)
			if *got != want {
				t.Errorf("LoadConfig =\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestLoadConfigDefaultPath(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	if err := os.MkdirAll(filepath.Join(xdg, "psremote"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(xdg, "psremote", "config.yaml")
	if err := os.WriteFile(path, []byte("AllowUnencrypted: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path || !c.AllowUnencrypted {
		t.Errorf("LoadConfig(\"\") = %+v; want it read from %s", c, path)
	}
	// A directory in place of the file is an error, not the defaults.
	if _, err := LoadConfig(xdg); err == nil {
		t.Error("LoadConfig(directory) succeeded")
	}
}

func TestPermitUnencrypted(t *testing.T) {
	t.Parallel()
	const file = "/home/u/.config/psremote/config.yaml"
	tests := []struct {
		name         string
		trusted      string
		allow        bool
		host         string
		wantErrs     []error  // sentinels the error must wrap; nil = permitted
		wantMentions []string // substrings of the message
	}{
		{name: "allowed and trusted", trusted: "web1", allow: true, host: "web1:5985"},
		{name: "star", trusted: "*", allow: true, host: "10.0.0.7:5985"},
		{name: "ipv6 trusted", trusted: "[::1]", allow: true, host: "[::1]:5985"},
		{
			name: "not allowed", trusted: "web1", allow: false, host: "web1:5985",
			wantErrs:     []error{ErrUnencryptedNotAllowed},
			wantMentions: []string{`set "AllowUnencrypted: true" in ` + file, "HTTPS"},
		},
		{
			name: "not trusted", trusted: "web2", allow: true, host: "web1:5985",
			wantErrs:     []error{ErrNotTrustedHost},
			wantMentions: []string{`web1:5985 is not in TrustedHosts`, `add "web1" to TrustedHosts in ` + file},
		},
		{
			name: "neither", trusted: "", allow: false, host: "[2001:db8::5]:5985",
			wantErrs:     []error{ErrUnencryptedNotAllowed, ErrNotTrustedHost},
			wantMentions: []string{"AllowUnencrypted is false", `add "[2001:db8::5]" to TrustedHosts`},
		},
		{
			name: "suffix does not cover parent", trusted: "*.lab", allow: true, host: "lab",
			wantErrs: []error{ErrNotTrustedHost},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{TrustedHosts: tt.trusted, AllowUnencrypted: tt.allow, Path: file}
			err := c.PermitUnencrypted(tt.host)
			if tt.wantErrs == nil {
				if err != nil {
					t.Fatalf("PermitUnencrypted(%q) = %v; want nil", tt.host, err)
				}
				return
			}
			var ue *UnencryptedError
			if !errors.As(err, &ue) {
				t.Fatalf("PermitUnencrypted(%q) = %v; want *UnencryptedError", tt.host, err)
			}
			for _, w := range tt.wantErrs {
				if !errors.Is(err, w) {
					t.Errorf("err = %v; want it to wrap %v", err, w)
				}
			}
			if len(ue.Unwrap()) != len(tt.wantErrs) {
				t.Errorf("err wraps %v; want exactly %v", ue.Unwrap(), tt.wantErrs)
			}
			for _, m := range tt.wantMentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q lacks %q", err, m)
				}
			}
		})
	}
}

func TestPermitUnencryptedBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		c       Config
		host    string
		wantErr error
	}{
		{"bad list", Config{TrustedHosts: "a**", AllowUnencrypted: true, Path: "/c.yaml"}, "web1", ErrBadTrustedHosts},
		{"bad host", Config{TrustedHosts: "*", AllowUnencrypted: true}, "web 1", nil},
	}
	for _, tt := range tests {
		err := tt.c.PermitUnencrypted(tt.host)
		var ue *UnencryptedError
		if err == nil || errors.As(err, &ue) {
			t.Errorf("%s: err = %v; want a plain error", tt.name, err)
		}
		if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: err = %v; want %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestPermitNTLM(t *testing.T) {
	c := &Config{TrustedHosts: "web1,*.lab,10.0.0.*,[fe80::1]", Path: "/etc/psremote-test/config.yaml"}
	tests := []struct {
		host  string
		ok    bool
		entry string
	}{
		{"web1", true, ""},
		{"WEB1:5985", true, ""},
		{"db.lab", true, ""},
		{"10.0.0.7", true, ""},
		{"[fe80::1]:5985", true, ""},
		{"web2", false, `add "web2" to TrustedHosts in /etc/psremote-test/config.yaml`},
		{"lab", false, `add "lab"`},
		{"10.0.1.7:5985", false, `add "10.0.1.7"`},
		{"[fe80::2]:5985", false, `add "[fe80::2]"`},
	}
	for _, tt := range tests {
		err := c.PermitNTLM(tt.host)
		if tt.ok {
			if err != nil {
				t.Errorf("PermitNTLM(%q) = %v; want nil", tt.host, err)
			}
			continue
		}
		var nt *NotTrustedError
		if !errors.As(err, &nt) || !errors.Is(err, ErrNotTrustedHost) || errors.Is(err, ErrUnencryptedNotAllowed) {
			t.Errorf("PermitNTLM(%q) = %v; want a *NotTrustedError", tt.host, err)
			continue
		}
		if !strings.Contains(nt.Fix(), tt.entry) || !strings.Contains(err.Error(), "NTLM") || !strings.Contains(err.Error(), nt.Fix()) {
			t.Errorf("PermitNTLM(%q): %q, fix %q; want %q", tt.host, err, nt.Fix(), tt.entry)
		}
	}
	// AllowUnencrypted does not matter: NTLM seals.
	if err := (&Config{TrustedHosts: "*"}).PermitNTLM("any"); err != nil {
		t.Errorf("TrustedHosts * refused: %v", err)
	}
	for _, bad := range []struct{ list, host string }{{"a*b*", "h"}, {"*", ""}} {
		if err := (&Config{TrustedHosts: bad.list}).PermitNTLM(bad.host); err == nil {
			t.Errorf("PermitNTLM(%q) with TrustedHosts %q accepted", bad.host, bad.list)
		}
	}
}
