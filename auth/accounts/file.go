package accounts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFileSize bounds the store file; at about 120 bytes a line it holds
// tens of thousands of accounts.
const maxFileSize = 8 << 20

// entry is one account line: name:phc-hash:nthash:[more...]
type entry struct {
	name   string
	hash   phcHash
	nthash string   // reserved for NTLM: empty or 32 hex digits
	extra  []string // fields after nthash, kept verbatim
}

func (e *entry) line() string {
	f := append([]string{e.name, e.hash.String(), e.nthash}, e.extra...)
	return strings.Join(f, ":")
}

// line is one line of the file: an entry, or a comment or blank line kept
// verbatim (raw) so that rewriting the file does not lose it.
type line struct {
	raw   string
	entry *entry
}

// table is a parsed store file.
type table struct {
	lines  []line
	byName map[string]*entry
}

func newTable() *table { return &table{byName: make(map[string]*entry)} }

// parseTable parses a store file. Any malformed line or duplicate name is
// an error naming the line, so a damaged file fails closed rather than
// silently losing or confusing accounts.
func parseTable(path string, data []byte) (*table, error) {
	t := newTable()
	if len(data) == 0 {
		return t, nil
	}
	text := strings.TrimSuffix(string(data), "\n")
	for i, raw := range strings.Split(text, "\n") {
		if strings.TrimSpace(raw) == "" || strings.HasPrefix(raw, "#") {
			t.lines = append(t.lines, line{raw: raw})
			continue
		}
		e, err := parseEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("accounts: %s:%d: %w", path, i+1, err)
		}
		if _, dup := t.byName[e.name]; dup {
			return nil, fmt.Errorf("accounts: %s:%d: duplicate user %q", path, i+1, e.name)
		}
		t.byName[e.name] = e
		t.lines = append(t.lines, line{entry: e})
	}
	return t, nil
}

func parseEntry(raw string) (*entry, error) {
	f := strings.Split(raw, ":")
	if len(f) < 3 {
		return nil, errors.New("malformed entry: want name:hash:nthash:")
	}
	if err := checkName(f[0]); err != nil {
		return nil, err
	}
	h, err := parsePHC(f[1])
	if err != nil {
		return nil, fmt.Errorf("user %q: password hash: %w", f[0], err)
	}
	if !validNTHash(f[2]) {
		return nil, fmt.Errorf("user %q: NT hash field is not empty or 32 hex digits", f[0])
	}
	return &entry{name: f[0], hash: h, nthash: f[2], extra: f[3:]}, nil
}

func validNTHash(s string) bool {
	if s == "" {
		return true
	}
	if len(s) != 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// checkName validates an account name: 1..64 characters of UTF-8 with no ':',
// '\\', white space (line breaks included) or control character (NUL
// included).
func checkName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q: not UTF-8", ErrInvalidName, name)
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		return fmt.Errorf("%w: %q: want 1 to 64 characters", ErrInvalidName, name)
	}
	if i := strings.IndexFunc(name, badNameRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf("%w: %q: character %q not allowed", ErrInvalidName, name, r)
	}
	return nil
}

func badNameRune(r rune) bool {
	return r == ':' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r)
}

func (t *table) add(e *entry) {
	t.byName[e.name] = e
	t.lines = append(t.lines, line{entry: e})
}

func (t *table) remove(name string) {
	delete(t.byName, name)
	for i, l := range t.lines {
		if l.entry != nil && l.entry.name == name {
			t.lines = append(t.lines[:i], t.lines[i+1:]...)
			return
		}
	}
}

func (t *table) marshal() []byte {
	var b bytes.Buffer
	for _, l := range t.lines {
		if l.entry != nil {
			b.WriteString(l.entry.line())
		} else {
			b.WriteString(l.raw)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// checkMode refuses a store file that others may read or write.
func checkMode(path string, fi os.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("accounts: %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("accounts: %s has mode %04o and is accessible by group or others; fix with: chmod 600 %s",
			path, perm, path)
	}
	return nil
}

// readTable opens, checks and parses the store file. A missing file is an
// empty table with a nil FileInfo.
func readTable(path string) (*table, os.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return newTable(), nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: %w", err)
	}
	if err := checkMode(path, fi); err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, nil, fmt.Errorf("accounts: %s is larger than %d bytes", path, maxFileSize)
	}
	t, err := parseTable(path, data)
	if err != nil {
		return nil, nil, err
	}
	return t, fi, nil
}

// writeFileAtomic replaces path with data: it writes a temporary file in
// the same directory, syncs it, renames it over path and syncs the
// directory, so readers see either the old or the new file, whole.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp uses 0600 already; Chmod makes it independent of that.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("accounts: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("accounts: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: persist the rename
		d.Close()
	}
	return nil
}
