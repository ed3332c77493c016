package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fp returns a valid fingerprint made of one repeated hex digit.
func fp(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

func TestFingerprint(t *testing.T) {
	t.Parallel()
	// SHA-256 of the empty string, as a stand-in DER encoding.
	got := Fingerprint(&x509.Certificate{Raw: []byte{}})
	want := "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Errorf("Fingerprint = %s; want %s", got, want)
	}
}

func TestNormalizeHostPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "web1", want: "web1:5986"},
		{in: "WEB1.Example.COM.", want: "web1.example.com:5986"},
		{in: "web1:5985", want: "web1:5985"},
		{in: "web1:05985", want: "web1:5985"},
		{in: "10.0.0.1", want: "10.0.0.1:5986"},
		{in: "10.0.0.1:443", want: "10.0.0.1:443"},
		{in: "::1", want: "[::1]:5986"},
		{in: "[::1]", want: "[::1]:5986"},
		{in: "[0:0::1]:5985", want: "[::1]:5985"},
		{in: "[2001:DB8::1]:5986", want: "[2001:db8::1]:5986"},
		{in: "::ffff:10.0.0.1", want: "10.0.0.1:5986"},
		{in: "", wantErr: true},
		{in: "web1:", wantErr: true},
		{in: "web1:0", wantErr: true},
		{in: "web1:65536", wantErr: true},
		{in: "web1:+5", wantErr: true},
		{in: "web1:http", wantErr: true},
		{in: "web 1", wantErr: true},
		{in: "[web1]:5986", wantErr: true},
		{in: "::1:5986:x", wantErr: true},
		{in: "a:b:c", wantErr: true},
	}
	for _, tt := range tests {
		got, err := normalizeHostPort(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("normalizeHostPort(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestKnownHostsAddLookupReplace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cfg", "psremote", "known_hosts")
	k, err := Open(path)
	if err != nil {
		t.Fatalf("Open(missing): %v", err)
	}
	if _, ok := k.Lookup("web1"); ok {
		t.Fatal("empty store knows web1")
	}

	// Each step runs on the same store, in order.
	steps := []struct {
		name    string
		op      string // "add" or "replace"
		host    string
		fp      string
		wantErr any // nil, *ChangedError or a sentinel
		lookup  string
		wantFP  string // "" means not known
	}{
		{name: "add new", op: "add", host: "WEB1", fp: fp('a'), lookup: "web1:5986", wantFP: fp('a')},
		{name: "add same is no-op", op: "add", host: "web1:5986", fp: fp('a'), lookup: "web1", wantFP: fp('a')},
		{name: "add different", op: "add", host: "web1", fp: fp('b'),
			wantErr: &ChangedError{}, lookup: "web1", wantFP: fp('a')},
		{name: "other port, upper-case hex", op: "add", host: "web1:5985", fp: strings.ToUpper(fp('c')), lookup: "web1:5985", wantFP: fp('c')},
		{name: "replace", op: "replace", host: "web1", fp: fp('d'), lookup: "web1", wantFP: fp('d')},
		{name: "replace unknown adds", op: "replace", host: "[::1]", fp: fp('e'), lookup: "::1", wantFP: fp('e')},
		{name: "bad fingerprint", op: "add", host: "web2", fp: "sha1:abcd", wantErr: ErrBadFingerprint, lookup: "web2"},
		{name: "short fingerprint", op: "add", host: "web2", fp: "sha256:abcd", wantErr: ErrBadFingerprint, lookup: "web2"},
		{name: "non-hex fingerprint", op: "add", host: "web2", fp: "sha256:" + strings.Repeat("g", 64), wantErr: ErrBadFingerprint, lookup: "web2"},
		{name: "bad host", op: "add", host: "web 2", fp: fp('f'), wantErr: errAny, lookup: "web2"},
	}
	for _, s := range steps {
		var err error
		switch s.op {
		case "add":
			err = k.Add(s.host, s.fp)
		case "replace":
			err = k.Replace(s.host, s.fp)
		}
		checkErr(t, s.name, err, s.wantErr)
		got, ok := k.Lookup(s.lookup)
		if ok != (s.wantFP != "") || got != s.wantFP {
			t.Errorf("%s: Lookup(%q) = %q, %v; want %q", s.name, s.lookup, got, ok, s.wantFP)
		}
	}

	// A ChangedError from Add carries both fingerprints and the file.
	err = k.Add("web1", fp('9'))
	var ce *ChangedError
	if !errors.As(err, &ce) || ce.Host != "web1:5986" || ce.Known != fp('d') || ce.Got != fp('9') || ce.File != path {
		t.Errorf("Add changed: err = %#v", err)
	}

	// Persistence: a fresh Open sees everything.
	k2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"web1": fp('d'), "web1:5985": fp('c'), "[::1]:5986": fp('e')} {
		if got, ok := k2.Lookup(host); !ok || got != want {
			t.Errorf("reopened Lookup(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantFile := knownHostsHeader +
		"web1:5986 " + fp('d') + "\n" +
		"web1:5985 " + fp('c') + "\n" +
		"[::1]:5986 " + fp('e') + "\n"
	if string(data) != wantFile {
		t.Errorf("file =\n%s\nwant\n%s", data, wantFile)
	}
}

// errAny matches any non-nil error in checkErr.
var errAny = errors.New("any error")

// checkErr compares err with want: nil, errAny, a sentinel (errors.Is) or
// a pointer to an error type (errors.As).
func checkErr(t *testing.T, name string, err error, want any) {
	t.Helper()
	switch w := want.(type) {
	case nil:
		if err != nil {
			t.Errorf("%s: err = %v; want nil", name, err)
		}
	case *ChangedError:
		var ce *ChangedError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v; want *ChangedError", name, err)
		}
	case *UnknownHostError:
		var ue *UnknownHostError
		if !errors.As(err, &ue) {
			t.Errorf("%s: err = %v; want *UnknownHostError", name, err)
		}
	case error:
		if w == errAny {
			if err == nil {
				t.Errorf("%s: err = nil; want an error", name)
			}
		} else if !errors.Is(err, w) {
			t.Errorf("%s: err = %v; want %v", name, err, w)
		}
	default:
		t.Fatalf("%s: bad want %T", name, want)
	}
}

func TestKnownHostsPermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "new", "psremote")
	path := filepath.Join(dir, "known_hosts")
	k, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the directory (stat err %v); want it created on first write", err)
	}
	if err := k.Add("web1", fp('a')); err != nil {
		t.Fatal(err)
	}
	// A lax existing file is tightened by the rewrite.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("web2", fp('b')); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{path, 0o600},
		{path + ".lock", 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.want {
			t.Errorf("mode of %s = %v; want %v", c.path, fi.Mode(), c.want)
		}
	}
	// No temporary files are left behind.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v; want known_hosts and known_hosts.lock", names)
	}
}

func TestKnownHostsKeepsComments(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts")
	orig := "# my servers\n\nWEB1 " + strings.ToUpper(fp('a')) + "\n   # indented comment\n[::1]:5985\t" + fp('b') + "\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := k.Lookup("web1:5986"); got != fp('a') {
		t.Errorf("Lookup(web1) = %q; want %q", got, fp('a'))
	}
	if err := k.Replace("web1", fp('c')); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("web2:5985", fp('d')); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# my servers\n\nweb1:5986 " + fp('c') + "\n   # indented comment\n[::1]:5985 " + fp('b') + "\nweb2:5985 " + fp('d') + "\n"
	if string(data) != want {
		t.Errorf("file =\n%s\nwant\n%s", data, want)
	}
}

func TestOpenMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content, wantErr string
	}{
		{"one field", "web1\n", ":1: want"},
		{"three fields", "web1 " + fp('a') + " extra\n", ":1: want"},
		{"space in host", "# c\nweb 1:5986\n", ":2: trust: fingerprint"},
		{"bad host chars", "web/1 " + fp('a') + "\n", ":1: trust: bad host"},
		{"bad port", "web1:0 " + fp('a') + "\n", ":1: trust: bad host"},
		{"bad fingerprint", "web1 sha256:00\n", ":1: trust: fingerprint"},
		{"inline comment", "web1 " + fp('a') + " # note\n", ":1: want"},
		{"duplicate", "web1 " + fp('a') + "\nWEB1:5986 " + fp('a') + "\n", ":2: web1:5986 is already listed on line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path)
			if !errors.Is(err, ErrKnownHostsSyntax) || !strings.Contains(err.Error(), path+tt.wantErr) {
				t.Errorf("Open = %v; want ErrKnownHostsSyntax containing %q", err, path+tt.wantErr)
			}
		})
	}
}

func TestOpenUnreadable(t *testing.T) {
	t.Parallel()
	// A directory where the file should be.
	dir := t.TempDir()
	if _, err := Open(dir); err == nil || errors.Is(err, ErrKnownHostsSyntax) {
		t.Errorf("Open(directory) = %v; want a read error", err)
	}
}

func TestOpenDefaultPath(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	k, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(xdg, "psremote", "known_hosts"); k.Path() != want {
		t.Errorf("Path() = %q; want %q", k.Path(), want)
	}
}

// TestKnownHostsConcurrentWriters adds distinct hosts from many goroutines,
// half through one shared store and half through stores of their own (so
// only the file lock orders them), and checks that nothing is lost.
func TestKnownHostsConcurrentWriters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts")
	shared, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			k := shared
			if i%2 == 1 {
				var err error
				if k, err = Open(path); err != nil {
					errs <- err
					return
				}
			}
			host := fmt.Sprintf("host%d", i)
			if err := k.Add(host, fp("0123456789abcdef"[i%16])); err != nil {
				errs <- err
			}
			if _, ok := k.Lookup(host); !ok {
				errs <- fmt.Errorf("%s not found after Add", host)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkHosts(t, path, "host", n)
}

// TestKnownHostsConcurrentProcesses runs writers in separate processes, so
// only flock orders them.
func TestKnownHostsConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no flock")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts")
	const procs, perProc = 4, 15
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAddHosts$")
		cmd.Env = append(os.Environ(),
			"TRUST_HELPER_PATH="+path,
			"TRUST_HELPER_PREFIX=p"+strconv.Itoa(p)+"-",
			"TRUST_HELPER_COUNT="+strconv.Itoa(perProc))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	}
	for p := range procs {
		checkHosts(t, path, "p"+strconv.Itoa(p)+"-", perProc)
	}
}

// TestHelperAddHosts is the writer process of
// TestKnownHostsConcurrentProcesses; it does nothing in a normal run.
func TestHelperAddHosts(t *testing.T) {
	path := os.Getenv("TRUST_HELPER_PATH")
	if path == "" {
		return
	}
	prefix := os.Getenv("TRUST_HELPER_PREFIX")
	count, _ := strconv.Atoi(os.Getenv("TRUST_HELPER_COUNT"))
	k, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range count {
		if err := k.Add(fmt.Sprintf("%s%d", prefix, i), fp('a')); err != nil {
			t.Fatal(err)
		}
	}
}

// checkHosts checks that the file at path lists prefix0..prefix<n-1>.
func checkHosts(t *testing.T, path, prefix string, n int) {
	t.Helper()
	k, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, ok := k.Lookup(fmt.Sprintf("%s%d", prefix, i)); !ok {
			t.Errorf("%s%d lost", prefix, i)
		}
	}
}

// TestKnownHostsGroupCommitConflicts races Adds of one host with different
// fingerprints through one store: whatever the batching, exactly one wins
// and every other gets a ChangedError naming the winner.
func TestKnownHostsGroupCommitConflicts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "known_hosts")
	k, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = k.Add("contested", fp("0123456789abcdef"[i])) })
	}
	wg.Wait()
	winner, ok := k.Lookup("contested")
	if !ok {
		t.Fatal("no fingerprint recorded")
	}
	wins := 0
	for i, err := range errs {
		var ce *ChangedError
		switch {
		case err == nil:
			wins++
			if got := fp("0123456789abcdef"[i]); got != winner {
				t.Errorf("Add %d succeeded with %s but %s is recorded", i, got, winner)
			}
		case errors.As(err, &ce):
			if ce.Known != winner {
				t.Errorf("ChangedError names %s, recorded is %s", ce.Known, winner)
			}
		default:
			t.Errorf("Add %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d Adds succeeded, want 1", wins)
	}
	reopened, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := reopened.Lookup("contested"); got != winner {
		t.Errorf("file has %q, store has %q", got, winner)
	}
}
