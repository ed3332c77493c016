package trust

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// fingerprintPrefix starts every fingerprint; it names the hash so that
// another one can be added later without ambiguity.
const fingerprintPrefix = "sha256:"

// knownHostsHeader is written at the top of a new known-hosts file.
const knownHostsHeader = "# psremote known hosts: host:port sha256:<SHA-256 of the server's DER certificate>\n"

// Errors about known-hosts files and fingerprints.
var (
	// ErrKnownHostsSyntax is wrapped by the error Open returns for a
	// malformed known-hosts file; the message names the file and line.
	ErrKnownHostsSyntax = errors.New("trust: malformed known_hosts file")
	// ErrBadFingerprint means a fingerprint is not "sha256:" followed by
	// 64 hexadecimal digits.
	ErrBadFingerprint = errors.New(`trust: fingerprint must be "sha256:" and 64 hex digits`)
)

// Fingerprint returns the SHA-256 fingerprint of cert's DER encoding as
// "sha256:" followed by 64 lower-case hex digits. This is the hash RFC 5929
// tls-server-end-point channel bindings use for SHA-256 certificates
// (winrm-protocol.md 9.6), taken over the whole leaf certificate.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return fingerprintPrefix + hex.EncodeToString(sum[:])
}

// parseFingerprint validates fp and returns it with lower-case hex.
func parseFingerprint(fp string) (string, error) {
	hexPart, ok := strings.CutPrefix(strings.ToLower(fp), fingerprintPrefix)
	if !ok || len(hexPart) != 2*sha256.Size {
		return "", fmt.Errorf("%w: %q", ErrBadFingerprint, fp)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", fmt.Errorf("%w: %q", ErrBadFingerprint, fp)
	}
	return fingerprintPrefix + hexPart, nil
}

// normalizeHostPort returns the known-hosts key for hostport: lower-case
// host, IPv6 in brackets, port explicit (DefaultHTTPSPort when omitted).
func normalizeHostPort(hostport string) (string, error) {
	t, err := parseTarget(hostport)
	if err != nil {
		return "", fmt.Errorf("trust: bad host: %w", err)
	}
	return t.hostPort(DefaultHTTPSPort), nil
}

// KnownHosts is a trust-on-first-use store of server certificate
// fingerprints, kept in a text file like OpenSSH's known_hosts. Each line is
//
//	host:port sha256:<hex>
//
// where the hex is the SHA-256 of the server's DER leaf certificate (see
// [Fingerprint]). Blank lines and lines starting with '#' are comments and
// survive rewrites. Host names are lower-cased, IPv6 addresses are written
// in brackets, and the port is always explicit; a host given without a port
// means [DefaultHTTPSPort]. A host:port may appear on one line only.
//
// A KnownHosts is safe for concurrent use. Writers in one process are
// serialized by a mutex, and writers in different processes by an
// exclusive flock(2) on "<path>.lock" (on systems without flock only the
// in-process lock applies). Every write re-reads the file under the lock,
// so entries added by other processes are kept, and replaces it atomically
// (temporary file, fsync, rename) with mode 0600, creating the directory
// with mode 0700 if needed.
type KnownHosts struct {
	path string

	// wmu serializes writers in this process. Lookup does not take it, so
	// a writer waiting for another process's file lock blocks no reader.
	// Whoever holds wmu commits every update queued so far in one
	// read-modify-write of the file (group commit), so a fan-out pinning
	// a thousand new hosts pays for a few dozen fsyncs, not a thousand.
	wmu sync.Mutex

	// qmu protects queue, the updates waiting for the next commit.
	qmu   sync.Mutex
	queue []*khUpdate

	// mu protects entries.
	mu      sync.RWMutex
	entries map[string]string // normalized host:port -> fingerprint
}

// Open loads the known-hosts file at path; an empty path means
// [DefaultKnownHostsPath]. A missing file is an empty store (it is created
// by the first Add). A malformed file is an error wrapping
// [ErrKnownHostsSyntax].
func Open(path string) (*KnownHosts, error) {
	if path == "" {
		p, err := DefaultKnownHostsPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	k := &KnownHosts{path: path}
	_, entries, err := k.load()
	if err != nil {
		return nil, err
	}
	k.entries = entries
	return k, nil
}

// Path returns the file the store reads and writes.
func (k *KnownHosts) Path() string { return k.path }

// Lookup returns the fingerprint recorded for hostport ("host",
// "host:port", "[v6]:port"; see [KnownHosts] for normalization). It
// answers from the file as read by Open or by this store's last write;
// Add, Replace and VerifyConnection re-read the file under the lock before
// they decide anything.
func (k *KnownHosts) Lookup(hostport string) (fingerprint string, ok bool) {
	key, err := normalizeHostPort(hostport)
	if err != nil {
		return "", false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	fingerprint, ok = k.entries[key]
	return fingerprint, ok
}

// Add records fp (as returned by [Fingerprint]) for hostport. Adding the
// fingerprint already recorded is a no-op. If a different fingerprint is
// recorded, possibly by another process since Open, Add changes nothing
// and returns a [*ChangedError]; use [KnownHosts.Replace] to overwrite.
func (k *KnownHosts) Add(hostport, fp string) error {
	return k.update(hostport, fp, func(key, known, fp string, ok bool) (bool, error) {
		if ok && known != fp {
			return false, &ChangedError{Host: key, Known: known, Got: fp, File: k.path}
		}
		return !ok, nil
	})
}

// Replace records fp for hostport, overwriting any fingerprint recorded
// before. The user accepting a changed certificate ends here.
func (k *KnownHosts) Replace(hostport, fp string) error {
	return k.update(hostport, fp, func(_, known, fp string, ok bool) (bool, error) {
		return !ok || known != fp, nil
	})
}

// decideFunc decides, from the current entry for key (known, ok), whether
// to write the new fingerprint fp; an error aborts without writing.
type decideFunc func(key, known, fp string, ok bool) (write bool, err error)

// update normalizes hostport and fp, then runs updateKey.
func (k *KnownHosts) update(hostport, fp string, decide decideFunc) error {
	key, err := normalizeHostPort(hostport)
	if err != nil {
		return err
	}
	norm, err := parseFingerprint(fp)
	if err != nil {
		return err
	}
	return k.updateKey(key, norm, decide)
}

// khUpdate is one queued change: decide runs against the entry for key
// as it stands when its batch is committed; err receives the outcome.
type khUpdate struct {
	key, fp string
	decide  decideFunc
	err     chan error
}

// updateKey runs decide against the file's current contents, under both
// the process and the file lock, and writes fp for key if decide says so.
// key and fp must be normalized. Concurrent calls are committed together:
// the caller that gets the process lock applies every queued update, in
// queue order, to one fresh read of the file and writes it once.
func (k *KnownHosts) updateKey(key, fp string, decide decideFunc) error {
	u := &khUpdate{key: key, fp: fp, decide: decide, err: make(chan error, 1)}
	k.qmu.Lock()
	k.queue = append(k.queue, u)
	k.qmu.Unlock()

	k.wmu.Lock()
	defer k.wmu.Unlock()
	select {
	case err := <-u.err: // an earlier holder committed it
		return err
	default:
	}
	k.qmu.Lock()
	batch := k.queue
	k.queue = nil
	k.qmu.Unlock()
	k.commit(batch)
	return <-u.err
}

// commit applies batch to the file under the file lock and reports each
// update's outcome on its channel. A failure to read, lock or write the
// file fails every update of the batch.
func (k *KnownHosts) commit(batch []*khUpdate) {
	fail := func(err error) {
		for _, u := range batch {
			u.err <- err
		}
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		fail(fmt.Errorf("trust: known_hosts directory: %w", err))
		return
	}
	unlock, err := lockFile(k.path + ".lock")
	if err != nil {
		fail(err)
		return
	}
	defer unlock()

	lines, entries, err := k.load()
	if err != nil {
		fail(err)
		return
	}
	results := make([]error, len(batch))
	dirty := false
	for i, u := range batch {
		known, ok := entries[u.key]
		write, derr := u.decide(u.key, known, u.fp, ok)
		results[i] = derr
		if write && derr == nil {
			lines = setLine(lines, u.key, u.fp)
			entries[u.key] = u.fp
			dirty = true
		}
	}
	if dirty {
		if err := k.write(lines); err != nil {
			fail(err)
			// Keep the cache as the file is: reload what is there.
			if _, fresh, lerr := k.load(); lerr == nil {
				k.mu.Lock()
				k.entries = fresh
				k.mu.Unlock()
			}
			return
		}
	}
	k.mu.Lock()
	k.entries = entries
	k.mu.Unlock()
	for i, u := range batch {
		u.err <- results[i]
	}
}

// khLine is one line of a known-hosts file: an entry (key != "") or a
// comment or blank line kept verbatim in text.
type khLine struct {
	text string
	key  string
	fp   string
}

// String returns the line as written to the file.
func (l khLine) String() string {
	if l.key == "" {
		return l.text
	}
	return l.key + " " + l.fp
}

// setLine returns lines with the entry for key set to fp, in place if
// present, appended otherwise.
func setLine(lines []khLine, key, fp string) []khLine {
	for i := range lines {
		if lines[i].key == key {
			lines[i].fp = fp
			return lines
		}
	}
	return append(lines, khLine{key: key, fp: fp})
}

// load reads and parses the file; a missing file is empty.
func (k *KnownHosts) load() ([]khLine, map[string]string, error) {
	data, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, map[string]string{}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("trust: %w", err)
	}
	return parseKnownHosts(data, k.path)
}

// parseKnownHosts parses a known-hosts file's contents; path is for
// messages only.
func parseKnownHosts(data []byte, path string) ([]khLine, map[string]string, error) {
	var lines []khLine
	entries := map[string]string{}
	firstLine := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			lines = append(lines, khLine{text: text})
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: %s:%d: %s", ErrKnownHostsSyntax, path, n, fmt.Sprintf(format, args...))
		}
		fields := strings.Fields(trimmed)
		if len(fields) != 2 {
			return nil, nil, bad(`want "host:port sha256:<hex>", got %d fields`, len(fields))
		}
		key, err := normalizeHostPort(fields[0])
		if err != nil {
			return nil, nil, bad("%v", err)
		}
		fp, err := parseFingerprint(fields[1])
		if err != nil {
			return nil, nil, bad("%v", err)
		}
		if first, dup := firstLine[key]; dup {
			return nil, nil, bad("%s is already listed on line %d", key, first)
		}
		firstLine[key] = n
		entries[key] = fp
		lines = append(lines, khLine{key: key, fp: fp})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrKnownHostsSyntax, path, err)
	}
	return lines, entries, nil
}

// write replaces the file with lines: a temporary file in the same
// directory, mode 0600, synced, renamed over the old file, and the
// directory synced so the rename survives a crash.
func (k *KnownHosts) write(lines []khLine) (err error) {
	var buf bytes.Buffer
	if len(lines) == 0 || lines[0].key != "" {
		buf.WriteString(knownHostsHeader)
	}
	for _, l := range lines {
		buf.WriteString(l.String())
		buf.WriteByte('\n')
	}

	dir := filepath.Dir(k.path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(k.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("trust: write known_hosts: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("trust: write known_hosts: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("trust: write known_hosts: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("trust: write known_hosts: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("trust: write known_hosts: %w", err)
	}
	if err := os.Rename(f.Name(), k.path); err != nil {
		return fmt.Errorf("trust: write known_hosts: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable; failures are ignored because some
// file systems cannot sync directories and the data is already written.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
