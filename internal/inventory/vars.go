package inventory

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// The Ansible variables psremote reads. Where Ansible's WinRM connection
// plugin accepts several names for one setting, the later name of the
// list wins, as in Ansible.
var (
	hostVars = []string{"ansible_host", "ansible_winrm_host"}
	portVars = []string{"ansible_port", "ansible_winrm_port"}
	userVars = []string{"ansible_user", "ansible_winrm_user"}
)

const (
	varPort           = "ansible_port"
	varScheme         = "ansible_winrm_scheme"
	varPath           = "ansible_winrm_path"
	varTransport      = "ansible_winrm_transport"
	varCertValidation = "ansible_winrm_server_cert_validation"
	varGroupPriority  = "ansible_group_priority"
)

// isSecretVar reports whether an Ansible variable holds a password:
// ansible_password and every ansible_* name ending in _pass, _password,
// _passwd or _passphrase (ansible_ssh_pass, ansible_winrm_password,
// ansible_become_pass, ...). psremote never takes a password from an
// inventory, so the parsers drop these.
func isSecretVar(name string) bool {
	n := strings.ToLower(name)
	if !strings.HasPrefix(n, "ansible_") {
		return false
	}
	for _, s := range []string{"_pass", "_password", "_passwd", "_passphrase"} {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// isVaultValue reports whether a value is Ansible Vault ciphertext.
func isVaultValue(v string) bool {
	return strings.HasPrefix(strings.TrimSpace(v), "$ANSIBLE_VAULT;")
}

// isTemplate reports whether a value uses Jinja2, which psremote does not
// evaluate.
func isTemplate(v string) bool {
	return strings.Contains(v, "{{") || strings.Contains(v, "{%")
}

// varVal is a variable's value and the line that set it.
type varVal struct {
	val  string
	line int
}

// lastVar returns the value of the last of names that vars sets.
func lastVar(vars map[string]string, names []string) string {
	v := ""
	for _, n := range names {
		if x, ok := vars[n]; ok {
			v = x
		}
	}
	return v
}

// lastVarVal is lastVar for unresolved variables.
func lastVarVal(vars map[string]varVal, names []string) (string, varVal, bool) {
	var (
		name string
		v    varVal
		ok   bool
	)
	for _, n := range names {
		if x, found := vars[n]; found {
			name, v, ok = n, x, true
		}
	}
	return name, v, ok
}

// splitList splits a list variable such as "ntlm, kerberos" (INI) or
// ["ntlm","kerberos"] (YAML) into its items.
func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '[' || r == ']' || r == '"' || r == '\'' || unicode.IsSpace(r)
	})
	if len(f) == 0 {
		return nil
	}
	return f
}

// parsePort parses a TCP port number, 1 to 65535.
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	p, _ := strconv.Atoi(s)
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %s out of range 1-65535", s)
	}
	return p, nil
}

// checkHostVars resolves a host's address and port from its merged
// variables and checks the connection variables psremote uses.
func checkHostVars(name string, vars map[string]varVal, addr string, port int) (string, int, error) {
	bad := func(v string, x varVal, format string, args ...any) error {
		return lineErrorf(x.line, "host %s: %s %q: %s", name, v, x.val, fmt.Sprintf(format, args...))
	}
	if v, x, ok := lastVarVal(vars, hostVars); ok {
		a := strings.TrimSpace(x.val)
		if len(a) > 2 && a[0] == '[' && a[len(a)-1] == ']' {
			if ip, err := netip.ParseAddr(a[1 : len(a)-1]); err == nil && ip.Is6() {
				a = a[1 : len(a)-1]
			}
		}
		switch {
		case isTemplate(a):
			return "", 0, bad(v, x, "Jinja2 templates are not supported")
		case a == "" || strings.ContainsFunc(a, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			return "", 0, bad(v, x, "not a host name or address")
		case strings.Contains(a, ":"):
			if ip, err := netip.ParseAddr(a); err != nil || !ip.Is6() {
				return "", 0, bad(v, x, "want a host name or address, without a port (set ansible_port) or URL")
			}
		}
		addr = a
	}
	if v, x, ok := lastVarVal(vars, portVars); ok {
		p, err := parsePort(strings.TrimSpace(x.val))
		if err != nil {
			return "", 0, bad(v, x, "want a port number 1-65535")
		}
		port = p
	}
	if v, x, ok := lastVarVal(vars, userVars); ok && isTemplate(x.val) {
		return "", 0, bad(v, x, "Jinja2 templates are not supported")
	}
	if x, ok := vars[varScheme]; ok && x.val != "http" && x.val != "https" {
		return "", 0, bad(varScheme, x, "want http or https")
	}
	if x, ok := vars[varCertValidation]; ok && x.val != "validate" && x.val != "ignore" {
		return "", 0, bad(varCertValidation, x, "want validate or ignore")
	}
	for _, v := range []string{varPath, varTransport} {
		if x, ok := vars[v]; ok && isTemplate(x.val) {
			return "", 0, bad(v, x, "Jinja2 templates are not supported")
		}
	}
	return addr, port, nil
}

// Characters that may not appear in names because patterns give them a
// meaning or the formats use them as syntax. Host names may also hold ':'
// when they are IPv6 addresses.
const (
	badNameChars      = ",!&*?[]~=#;'\"\\"
	badGroupNameChars = badNameChars + ":"
)

// checkName reports why name is not a valid host (group false) or group
// name.
func checkName(name string, group bool) error {
	kind, bad := "host", badNameChars
	if group {
		kind, bad = "group", badGroupNameChars
	}
	if name == "" {
		return fmt.Errorf("empty %s name", kind)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(bad, r) || r == unicode.ReplacementChar {
			return fmt.Errorf("invalid %s name %q: %q not allowed", kind, name, r)
		}
	}
	if !group && strings.Contains(name, ":") {
		if ip, err := netip.ParseAddr(name); err != nil || !ip.Is6() {
			return fmt.Errorf("invalid host name %q: ':' is allowed only in IPv6 addresses", name)
		}
	}
	return nil
}
