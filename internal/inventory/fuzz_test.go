package inventory

import (
	"bytes"
	"errors"
	"testing"
)

// checkInventory checks the invariants of an accepted inventory.
func checkInventory(t *testing.T, inv *Inventory) {
	t.Helper()
	hosts := inv.Hosts()
	if len(hosts) > MaxHosts {
		t.Fatalf("%d hosts", len(hosts))
	}
	groups := inv.Groups()
	if len(groups) < 2 || groups[0].Name != groupAll || groups[1].Name != groupUngrouped || len(groups) > MaxGroups {
		t.Fatalf("groups start %v", groups[:min(2, len(groups))])
	}
	if len(groups[0].Hosts) != len(hosts) {
		t.Fatalf("all has %d of %d hosts", len(groups[0].Hosts), len(hosts))
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if h.Name == "" || h.Address == "" || seen[h.Name] || h.Port < 0 || h.Port > 65535 {
			t.Fatalf("bad host %+v", h)
		}
		seen[h.Name] = true
		for k := range h.Vars {
			if isSecretVar(k) {
				t.Fatalf("host %s keeps %s", h.Name, k)
			}
		}
	}
	sel, err := inv.Select("all")
	var e *Error
	if err != nil && !errors.As(err, &e) {
		t.Fatalf("Select(all): %v", err)
	}
	if err == nil && len(sel) != len(hosts) {
		t.Fatalf("Select(all) = %d of %d hosts", len(sel), len(hosts))
	}
	for _, h := range hosts[:min(len(hosts), 20)] {
		if _, err := inv.Select(h.Name); err != nil && !errors.As(err, &e) {
			t.Fatalf("Select(%q): %v", h.Name, err)
		}
	}
}

func checkParseError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
}

// FuzzParseINI feeds arbitrary text to the INI parser: it must not
// panic, must fail with an *Error, and an accepted inventory must be
// consistent.
func FuzzParseINI(f *testing.F) {
	f.Add([]byte(iniExample))
	f.Add([]byte(selectINI))
	f.Add([]byte("a\n[g]\nweb[01:03]:22 x=\"y z\" # c\n[g:vars]\nv='w'\n[p:children]\ng\n"))
	f.Add([]byte("[a:children]\nb\n[b:children]\na\n"))
	f.Add([]byte("[g]\n[::1]:5986 ansible_password=x\nfe80::1\n[g:vars]\nansible_group_priority=3\n"))
	f.Add([]byte("h ansible_host={{x}} ansible_port=x ansible_winrm_scheme=ftp\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseINI(bytes.NewReader(data))
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkInventory(t, inv)
	})
}

// FuzzParseList feeds arbitrary text to the host list parser.
func FuzzParseList(f *testing.F) {
	f.Add([]byte("web1\nweb2:5986 # c\n[::1]:5985, fe80::1\n"))
	f.Add([]byte("a,b c\r\n\xef\xbb\xbfd"))
	f.Add([]byte("[a:c].x\nweb[1:2]\nh:0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseList(bytes.NewReader(data))
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkInventory(t, inv)
		for _, h := range inv.Hosts() {
			if len(h.Vars) != 0 || len(h.Groups) != 1 || h.Groups[0] != groupUngrouped {
				t.Fatalf("list host %+v", h)
			}
		}
	})
}

// FuzzParseYAML feeds arbitrary text to the YAML parser.
func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(yamlExample))
	f.Add([]byte("a: &x\n  children:\n    b: *x\n"))
	f.Add([]byte("all:\n  vars:\n    <<: [{a: 1}, {b: [1, {c: ~}]}]\n  hosts:\n    h[a:c]:22: {ansible_password: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseYAML(bytes.NewReader(data))
		if err != nil {
			checkParseError(t, err)
			return
		}
		checkInventory(t, inv)
	})
}
