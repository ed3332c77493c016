package kerberos

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// Bounds on a principal map file.
const (
	maxMapFileSize = 1 << 20
	maxMapEntries  = 10000
)

// PrincipalMap maps Kerberos principals to local user names, like MIT's
// auth_to_local default rule plus an explicit table: an entry in the
// table wins; otherwise a single-component principal of the default realm
// maps to its name ("alice@EXAMPLE.TEST" -> "alice") unless the name holds
// '@', a backslash, spaces or control characters; anything else is refused with
// ErrUnmapped. It is immutable and safe for concurrent use.
type PrincipalMap struct {
	defaultRealm string
	explicit     map[string]string
}

// NewPrincipalMap returns a map for defaultRealm (empty: no realm is
// stripped) with the given explicit principal -> local user entries.
func NewPrincipalMap(defaultRealm string, explicit map[string]string) *PrincipalMap {
	m := &PrincipalMap{defaultRealm: defaultRealm, explicit: make(map[string]string, len(explicit))}
	for k, v := range explicit {
		m.explicit[k] = v
	}
	return m
}

// LoadPrincipalMap reads explicit entries from a file of lines
// "principal localuser" (whitespace-separated; '#' starts a comment; blank
// lines are ignored) and returns a map for defaultRealm. A missing file is
// an error; a principal listed twice is an error.
func LoadPrincipalMap(path, defaultRealm string) (*PrincipalMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kerberos: principal map: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMapFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("kerberos: principal map: %w", err)
	}
	if len(b) > maxMapFileSize {
		return nil, fmt.Errorf("kerberos: principal map %s is larger than %d bytes", path, maxMapFileSize)
	}
	explicit, err := parsePrincipalMap(b)
	if err != nil {
		return nil, fmt.Errorf("kerberos: principal map %s: %w", path, err)
	}
	return &PrincipalMap{defaultRealm: defaultRealm, explicit: explicit}, nil
}

func parsePrincipalMap(b []byte) (map[string]string, error) {
	m := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxMapFileSize)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		switch len(fields) {
		case 0:
			continue
		case 2:
		default:
			return nil, fmt.Errorf("line %d: want \"principal localuser\", got %d fields", n, len(fields))
		}
		p, u := fields[0], fields[1]
		if i := strings.LastIndex(p, "@"); i <= 0 || i == len(p)-1 {
			return nil, fmt.Errorf("line %d: principal %q is not name@REALM", n, p)
		}
		if _, dup := m[p]; dup {
			return nil, fmt.Errorf("line %d: principal %q listed twice", n, p)
		}
		if len(m) >= maxMapEntries {
			return nil, fmt.Errorf("more than %d entries", maxMapEntries)
		}
		m[p] = u
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// Map returns the local user name for principal ("name@REALM"), or an
// error wrapping ErrUnmapped.
func (m *PrincipalMap) Map(principal string) (string, error) {
	if u, ok := m.explicit[principal]; ok {
		return u, nil
	}
	i := strings.LastIndex(principal, "@")
	if i <= 0 {
		return "", fmt.Errorf("%w: %q is not name@REALM", ErrUnmapped, principal)
	}
	name, realm := principal[:i], principal[i+1:]
	if m.defaultRealm == "" || realm != m.defaultRealm {
		return "", fmt.Errorf("%w: %s is not in the default realm %q and has no explicit mapping", ErrUnmapped, principal, m.defaultRealm)
	}
	if strings.Contains(name, "/") {
		return "", fmt.Errorf("%w: %s has more than one name component and no explicit mapping", ErrUnmapped, principal)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r == '@' || r == '\\' || r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%w: %q is not a plausible local user name", ErrUnmapped, name)
	}
	return name, nil
}
