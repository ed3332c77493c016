package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/client/trust"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
)

// These tests run `psremote run` against in-process psremote servers on
// loopback: one server can open many listeners, so a hundred "hosts" are
// a hundred ports of one process. Every test gets its own
// XDG_CONFIG_HOME, so the client configuration and known_hosts never
// touch the real home directory.

const (
	fanUser     = "fan-user"
	fanPassword = "fan-pw"
)

type fanSource struct{}

func (fanSource) Name() string { return "fan" }
func (fanSource) VerifyPassword(_ context.Context, u, p string) error {
	if u == fanUser && p == fanPassword {
		return nil
	}
	return auth.ErrBadCredentials
}

// fanServer is an in-process psremote server with any number of
// listeners. Its commands run as the test's user with a home directory
// of their own, so a command can read files the test put there.
type fanServer struct {
	home  string
	bound []listener.Bound
	eng   *shell.Engine
	host  *proc.Host

	srv      *listener.Server
	stopOnce sync.Once
}

func startFanServer(t *testing.T, eps ...listener.Endpoint) *fanServer {
	t.Helper()
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &fanServer{home: t.TempDir()}
	user := self
	user.Home, user.Shell = s.home, "/bin/sh"
	quiet := slog.New(slog.DiscardHandler)
	s.host = proc.NewHost(self)
	s.eng = shell.New(shell.Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20}, s.host)
	svc := service.New(service.Config{Machine: "m", MaxEnvelopeSize: 512000, MaxTimeout: time.Minute,
		ServerUser: self, ProductVendor: "psremote", ProductVersion: "OS: 1.0.0 SP: 0.0 Stack: 3.0", Logger: quiet}, s.eng)
	s.srv = listener.New(listener.Config{
		Endpoints: eps,
		Mechanisms: []auth.Mechanism{auth.NewBasic(auth.BasicConfig{Sources: []auth.PasswordVerifier{fanSource{}},
			Resolve: func(string, string) (identity.User, error) { return user, nil }, AllowUnencrypted: true})},
		MaxEnvelopeSize: 512000, Service: svc, Logger: quiet, AllowUnencrypted: true})
	if s.bound, err = s.srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// stop shuts the server down and ends its shells and processes.
func (s *fanServer) stop() {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.srv.Shutdown(ctx)
		s.eng.Close(ctx)
		s.host.Close(ctx)
	})
}

// hostPort returns "127.0.0.1:port" of listener i.
func (s *fanServer) hostPort(t *testing.T, i int) string {
	t.Helper()
	u, err := url.Parse(s.bound[i].URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func (s *fanServer) hostPorts(t *testing.T) []string {
	t.Helper()
	out := make([]string, len(s.bound))
	for i := range s.bound {
		out[i] = s.hostPort(t, i)
	}
	return out
}

// writeHome writes a file in the remote user's home directory.
func (s *fanServer) writeHome(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.home, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// homeFiles lists the files of the remote home matching pattern.
func (s *fanServer) homeFiles(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(s.home, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitIdle waits until the server has no shell and no process left.
func (s *fanServer) waitIdle(t *testing.T) {
	t.Helper()
	if n := s.eng.Count(); n != 0 {
		t.Errorf("%d shells left on the server; want 0", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.host.Running() != 0 {
		if time.Now().After(deadline) {
			t.Errorf("%d processes still running on the server", s.host.Running())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fanCert makes a self-signed listener certificate and returns it with
// its PEM file (a --ca-file for it) and its SHA-256 pin.
func fanCert(t *testing.T) (cert tls.Certificate, pemFile, fp string) {
	t.Helper()
	dir := t.TempDir()
	cert, err := listener.SelfSigned(dir)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pemFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, pemFile, trust.Fingerprint(leaf)
}

func fanHTTPSEndpoints(n int, cert *tls.Certificate) []listener.Endpoint {
	eps := make([]listener.Endpoint, n)
	for i := range eps {
		eps[i] = listener.Endpoint{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: cert}
	}
	return eps
}

// fanClientHome points XDG_CONFIG_HOME at a new directory holding
// config as the client configuration, and returns the psremote
// configuration directory (where known_hosts goes by default).
func fanClientHome(t *testing.T, config string) string {
	t.Helper()
	xdg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", xdg)
	dir := filepath.Join(xdg, "psremote")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fanBuffer is a writer that several goroutines may use at once.
type fanBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (f *fanBuffer) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.Write(p)
}

func (f *fanBuffer) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.String()
}

func fanIO(out, errOut io.Writer) IO {
	env := map[string]string{passwordEnv: fanPassword}
	return IO{In: strings.NewReader(""), Out: out, Err: errOut, Getenv: func(k string) string { return env[k] }}
}

// fanResult is what one `psremote run` returned and printed.
type fanResult struct {
	err            error
	stdout, stderr string
	took           time.Duration
}

func (r fanResult) String() string {
	return fmt.Sprintf("err %v after %v\nstdout:\n%s\nstderr:\n%s", r.err, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// fanRun runs `psremote run args...` with PSREMOTE_PASSWORD set.
func fanRun(t *testing.T, args ...string) fanResult {
	t.Helper()
	var out, errOut fanBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := Run(ctx, fanIO(&out, &errOut), append([]string{"run"}, args...))
	return fanResult{err: err, stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
}

// fanStatus is the process exit status Main would return for err
// (-1 for a plain error, which Main turns into 1).
func fanStatus(err error) int {
	if err == nil {
		return 0
	}
	var es exitStatus
	if errors.As(err, &es) {
		return int(es)
	}
	return -1
}

// fanRefusedAddr returns a loopback address nothing listens on.
func fanRefusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// fanHangingListener accepts TCP connections and never answers: a host
// that hangs. With a certificate it completes the TLS handshake first,
// then never answers the HTTP request.
func fanHangingListener(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if cert != nil {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
					if tc.Handshake() == nil {
						io.Copy(io.Discard, tc)
					}
				}()
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// fanConnCounter is a TCP listener that records the connections it gets
// and serves none.
type fanConnCounter struct {
	l       net.Listener
	mu      sync.Mutex
	remotes []string // every connection's client address
	probes  []string // the addresses of before's own connections
}

func newFanConnCounter(t *testing.T) *fanConnCounter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &fanConnCounter{l: l}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.remotes = append(c.remotes, conn.RemoteAddr().String())
			c.mu.Unlock()
			conn.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return c
}

func (c *fanConnCounter) addr() string { return c.l.Addr().String() }

// before returns how many connections arrived so far. It connects once
// itself: connections are accepted in the order they were made, so when
// its own is accepted every earlier one has been counted.
func (c *fanConnCounter) before(t *testing.T) int {
	t.Helper()
	probe, err := net.Dial("tcp", c.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	me := probe.LocalAddr().String()
	c.mu.Lock()
	c.probes = append(c.probes, me)
	c.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		i := slices.Index(c.remotes, me)
		n := 0
		for _, r := range c.remotes[:max(i, 0)] {
			if !slices.Contains(c.probes, r) {
				n++
			}
		}
		c.mu.Unlock()
		if i >= 0 {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatal("probe connection not accepted")
		}
		time.Sleep(time.Millisecond)
	}
}

// fanLines parses "host: text" lines into host -> texts.
func fanLines(t *testing.T, out string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		h, text, ok := strings.Cut(line, ": ")
		if !ok {
			t.Errorf("line without a host prefix: %q", line)
			continue
		}
		got[h] = append(got[h], text)
	}
	return got
}

// fanRecord is one --json line.
type fanRecord struct {
	Host         string  `json:"host"`
	ExitCode     *int    `json:"exit_code"`
	Stdout       *string `json:"stdout"`
	Stderr       *string `json:"stderr"`
	StdoutBase64 string  `json:"stdout_base64"`
	StderrBase64 string  `json:"stderr_base64"`
	DurationMS   *int64  `json:"duration_ms"`
	Error        string  `json:"error"`
}

// fanRecords parses --json output into host -> record.
func fanRecords(t *testing.T, out string) map[string]fanRecord {
	t.Helper()
	recs := map[string]fanRecord{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var r fanRecord
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Errorf("JSON line %q: %v", line, err)
			continue
		}
		if r.DurationMS == nil {
			t.Errorf("JSON line %q has no duration_ms", line)
		}
		if _, dup := recs[r.Host]; dup {
			t.Errorf("host %s reported twice", r.Host)
		}
		recs[r.Host] = r
	}
	return recs
}

func fanStr(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func fanInt(p *int) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func fanSummary(ok, failed, unreachable, hosts int) string {
	return fmt.Sprintf("psremote: %d succeeded, %d failed, %d unreachable (%d hosts, ", ok, failed, unreachable, hosts)
}

// TestFanoutHundredHTTPS runs on 100 HTTPS listeners sharing one
// self-signed certificate: the first run pins all of them, the output is
// prefixed per host, --throttle bounds the shells open at once, and
// --json gives one parseable record per host.
func TestFanoutHundredHTTPS(t *testing.T) {
	const n = 100
	dir := fanClientHome(t, "# defaults: no TrustedHosts, known_hosts next to this file\n")
	known := filepath.Join(dir, "known_hosts")
	cert, _, fp := fanCert(t)
	srv := startFanServer(t, fanHTTPSEndpoints(n, &cert)...)
	hosts := srv.hostPorts(t)

	// Sample how many shells are open while the run goes on.
	var maxShells atomic.Int64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(200 * time.Microsecond)
		defer tick.Stop()
		for {
			if c := int64(srv.eng.Count()); c > maxShells.Load() {
				maxShells.Store(c)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	r := fanRun(t, "-H", strings.Join(hosts, ","), "-u", fanUser, "--throttle", "10", "--", "echo $((1+1))")
	close(stop)
	<-sampled
	t.Logf("%d hosts, --throttle 10: %v", n, r.took.Round(time.Millisecond))
	if r.err != nil {
		t.Fatalf("run: %v", r)
	}
	got := fanLines(t, r.stdout)
	for _, h := range hosts {
		if !slices.Equal(got[h], []string{"2"}) {
			t.Errorf("output of %s: %q; want [\"2\"]", h, got[h])
		}
	}
	if len(got) != n {
		t.Errorf("output from %d hosts; want %d", len(got), n)
	}
	if !strings.Contains(r.stderr, fanSummary(n, 0, 0, n)) {
		t.Errorf("no summary %q in stderr:\n%s", fanSummary(n, 0, 0, n), r.stderr)
	}
	if c := strings.Count(r.stderr, ": first connection, certificate "+fp+" pinned in "+known+"\n"); c != n {
		t.Errorf("%d first-connection notes; want %d\nstderr:\n%s", c, n, r.stderr)
	}
	kh, err := trust.Open(known)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if got, ok := kh.Lookup(h); got != fp {
			t.Errorf("known_hosts pin of %s: %q %v; want %s", h, got, ok, fp)
		}
	}
	if m := maxShells.Load(); m > 10 {
		t.Errorf("%d shells open at once with --throttle 10", m)
	}
	srv.waitIdle(t)

	// --json, pinned already. Each command waits until ten have started,
	// so this run only ends if --throttle 10 lets ten run at once.
	cmd := `touch "$HOME/b.$$"; i=0; while [ "$(ls "$HOME" | grep -c '^b\.')" -lt 10 ]; do ` +
		`i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05; done; echo $((6*7)); echo note >&2`
	r = fanRun(t, "-H", strings.Join(hosts, ","), "-u", fanUser, "--throttle", "10", "--json", "--", cmd)
	t.Logf("%d hosts, --json: %v", n, r.took.Round(time.Millisecond))
	if r.err != nil {
		t.Fatalf("run --json: %v", r)
	}
	recs := fanRecords(t, r.stdout)
	for _, h := range hosts {
		rec, ok := recs[h]
		if !ok {
			t.Errorf("no JSON record for %s", h)
			continue
		}
		if fanInt(rec.ExitCode) != "0" || fanStr(rec.Stdout) != "42\n" || fanStr(rec.Stderr) != "note\n" || rec.Error != "" {
			t.Errorf("record of %s: exit_code %s stdout %q stderr %q error %q; want 0, \"42\\n\", \"note\\n\", none",
				h, fanInt(rec.ExitCode), fanStr(rec.Stdout), fanStr(rec.Stderr), rec.Error)
		}
	}
	if len(recs) != n {
		t.Errorf("%d JSON records; want %d", len(recs), n)
	}
	if !strings.Contains(r.stderr, fanSummary(n, 0, 0, n)) || strings.Contains(r.stderr, "first connection") || strings.Contains(r.stderr, "\r") {
		t.Errorf("stderr of the second run: want the summary, no new pins, no progress line off a terminal:\n%s", r.stderr)
	}
	srv.waitIdle(t)
}

// TestFanoutExitStatuses checks the summary and exit status of every mix of
// outcomes: remote failures, a refused connection, hosts that hang, and
// --timeout.
func TestFanoutExitStatuses(t *testing.T) {
	fanClientHome(t, "")
	cert, _, _ := fanCert(t)
	good := startFanServer(t, fanHTTPSEndpoints(2, &cert)...)
	good.writeHome(t, "name", "good")
	good.writeHome(t, "code", "0")
	bad := startFanServer(t, fanHTTPSEndpoints(1, &cert)...)
	bad.writeHome(t, "name", "bad")
	bad.writeHome(t, "code", "7")
	ok1, ok2, fail := good.hostPort(t, 0), good.hostPort(t, 1), bad.hostPort(t, 0)
	refused := fanRefusedAddr(t)
	hangTCP := fanHangingListener(t, nil)    // TLS handshake never answered
	hangHTTP := fanHangingListener(t, &cert) // HTTP request never answered
	const cmd = `echo "on $(cat "$HOME/name")"; exit "$(cat "$HOME/code")"`
	timeouts := []string{"--operation-timeout", "1s", "--connect-timeout", "1s"}

	tests := []struct {
		name       string
		hosts      []string
		args       []string
		command    string // default cmd
		wantStatus int
		wantOut    string   // exact stdout; "-" means none, "" not checked
		wantErr    []string // in stderr
		notErr     []string // not in stderr
		maxTook    time.Duration
	}{
		{
			name: "all succeed", hosts: []string{ok1, ok2}, wantStatus: 0,
			wantErr: []string{fanSummary(2, 0, 0, 2)},
		},
		{
			name: "a command fails", hosts: []string{ok1, ok2, fail}, wantStatus: exitHostsFailed,
			wantErr: []string{fanSummary(2, 1, 0, 3)},
		},
		{
			name: "unreachable hosts", hosts: []string{ok1, ok2, fail, refused, hangTCP, hangHTTP}, wantStatus: exitUnreachable,
			wantErr: []string{fanSummary(2, 1, 3, 6), "psremote: " + refused + ": ", "connection refused",
				"psremote: " + hangTCP + ": ", "psremote: " + hangHTTP + ": "},
			// The silent HTTPS host costs the operation timeout plus
			// the client's fixed 5s network delay.
			maxTook: 15 * time.Second,
		},
		{
			name: "one host, remote exit code", hosts: []string{fail}, wantStatus: 7,
			wantOut: "on bad\n", notErr: []string{"succeeded"},
		},
		{
			name: "one host, success", hosts: []string{ok1}, wantStatus: 0,
			wantOut: "on good\n", notErr: []string{"succeeded"},
		},
		{
			name: "one host, refused", hosts: []string{refused}, wantStatus: exitSingleFailed,
			wantOut: "-", wantErr: []string{"psremote: " + refused + ": ", "connection refused"}, notErr: []string{"succeeded"},
		},
		{
			name: "one host, hangs", hosts: []string{hangTCP}, wantStatus: exitSingleFailed,
			wantOut: "-", wantErr: []string{"psremote: " + hangTCP + ": "}, maxTook: 5 * time.Second,
		},
		{
			name: "--timeout", hosts: []string{ok1, ok2}, args: []string{"--timeout", "1s"}, command: "sleep 30", wantStatus: exitHostsFailed,
			wantOut: "-", wantErr: []string{fanSummary(0, 2, 0, 2), "psremote: " + ok1 + ": timed out after 1s", "psremote: " + ok2 + ": timed out after 1s"},
			maxTook: 8 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.maxTook == 0 {
				tt.maxTook = 10 * time.Second
			}
			command := cmd
			if tt.command != "" {
				command = tt.command
			}
			args := append([]string{"-H", strings.Join(tt.hosts, ","), "-u", fanUser}, timeouts...)
			args = append(append(args, tt.args...), "--", command)
			r := fanRun(t, args...)
			if got := fanStatus(r.err); got != tt.wantStatus {
				t.Errorf("exit status %d; want %d\n%v", got, tt.wantStatus, r)
			}
			switch tt.wantOut {
			case "":
			case "-":
				if r.stdout != "" {
					t.Errorf("stdout %q; want none", r.stdout)
				}
			default:
				if r.stdout != tt.wantOut {
					t.Errorf("stdout %q; want %q", r.stdout, tt.wantOut)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			for _, w := range tt.notErr {
				if strings.Contains(r.stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, r.stderr)
				}
			}
			if r.took > tt.maxTook {
				t.Errorf("took %v; want at most %v", r.took, tt.maxTook)
			}
			if len(tt.hosts) > 1 && tt.wantOut == "" {
				got := fanLines(t, r.stdout)
				want := map[string][]string{ok1: {"on good"}, ok2: {"on good"}, fail: {"on bad"}}
				for _, h := range tt.hosts {
					if !slices.Equal(got[h], want[h]) {
						t.Errorf("output of %s: %q; want %q", h, got[h], want[h])
					}
				}
			}
			good.waitIdle(t)
			bad.waitIdle(t)
		})
	}

	t.Run("json", func(t *testing.T) {
		args := append([]string{"-H", strings.Join([]string{ok1, fail, refused}, ","), "-u", fanUser, "--json", "--progress", "always"}, timeouts...)
		// Output that is not UTF-8 comes as base64.
		r := fanRun(t, append(args, "--", `printf 'x\377\n'; echo "$(cat "$HOME/name")" >&2; exit "$(cat "$HOME/code")"`)...)
		if got := fanStatus(r.err); got != exitUnreachable {
			t.Errorf("exit status %d; want %d\n%v", got, exitUnreachable, r)
		}
		recs := fanRecords(t, r.stdout)
		if rec := recs[ok1]; fanInt(rec.ExitCode) != "0" || rec.Stdout != nil || rec.StdoutBase64 != "eP8K" || fanStr(rec.Stderr) != "good\n" || rec.Error != "" {
			t.Errorf("record of %s: %+v; want exit_code 0, stdout_base64 eP8K, stderr good", ok1, rec)
		}
		if rec := recs[fail]; fanInt(rec.ExitCode) != "7" || rec.StdoutBase64 != "eP8K" || fanStr(rec.Stderr) != "bad\n" || rec.Error != "" {
			t.Errorf("record of %s: %+v; want exit_code 7, stdout_base64 eP8K, stderr bad", fail, rec)
		}
		if rec := recs[refused]; rec.ExitCode != nil || !strings.Contains(rec.Error, "connection refused") {
			t.Errorf("record of %s: %+v; want exit_code null and a connection refused error", refused, rec)
		}
		if len(recs) != 3 {
			t.Errorf("%d records; want 3", len(recs))
		}
		for _, w := range []string{"] 3/3  ok 1  failed 1  unreachable 1", fanSummary(1, 1, 1, 3)} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr lacks %q:\n%q", w, r.stderr)
			}
		}
	})
}

// TestFanoutChangedCertificate restarts a server on the same port with a
// new certificate: the pinned host is refused until the change is
// accepted. --insecure and --ca-file pin nothing.
func TestFanoutChangedCertificate(t *testing.T) {
	dir := fanClientHome(t, "")
	known := filepath.Join(dir, "known_hosts")
	certA, _, fpA := fanCert(t)
	first := startFanServer(t, fanHTTPSEndpoints(1, &certA)...)
	hp := first.hostPort(t, 0)
	const cmd = `touch "$HOME/ran"; echo ran`

	r := fanRun(t, "-H", hp, "-u", fanUser, "--", cmd)
	if r.err != nil || r.stdout != "ran\n" || !strings.Contains(r.stderr, hp+": first connection, certificate "+fpA+" pinned in "+known) {
		t.Fatalf("first run: %v", r)
	}
	first.stop()

	certB, caB, fpB := fanCert(t)
	second := startFanServer(t, listener.Endpoint{Transport: "HTTPS", Addr: hp, URLPrefix: "wsman", Certificate: &certB})
	other := startFanServer(t, fanHTTPSEndpoints(1, &certB)...)
	otherHP := other.hostPort(t, 0)

	for _, hosts := range [][]string{{hp}, {hp, otherHP}} {
		r = fanRun(t, "-H", strings.Join(hosts, ","), "-u", fanUser, "--", cmd)
		want := exitSingleFailed
		if len(hosts) > 1 {
			want = exitUnreachable
			if !strings.Contains(r.stderr, fanSummary(1, 0, 1, 2)) {
				t.Errorf("no summary %q:\n%s", fanSummary(1, 0, 1, 2), r.stderr)
			}
		}
		if fanStatus(r.err) != want {
			t.Errorf("changed certificate, hosts %v: exit status %d; want %d\n%v", hosts, fanStatus(r.err), want, r)
		}
		for _, w := range []string{"psremote: " + hp + ": ", "changed", fpA, fpB, known} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("changed certificate: stderr lacks %q:\n%s", w, r.stderr)
			}
		}
		if strings.Contains(r.stdout, hp) || (len(hosts) == 1 && r.stdout != "") {
			t.Errorf("changed certificate: output from the refused host: %q", r.stdout)
		}
		if m := second.homeFiles(t, "ran"); len(m) != 0 {
			t.Fatalf("the command ran on a host whose certificate changed")
		}
	}
	kh, err := trust.Open(known)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := kh.Lookup(hp); got != fpA {
		t.Errorf("pin after refusal: %q; want the old %s", got, fpA)
	}

	r = fanRun(t, "-H", hp, "-u", fanUser, "--accept-changed-cert", "--", cmd)
	if r.err != nil || r.stdout != "ran\n" || !strings.Contains(r.stderr, hp+": changed certificate accepted, "+fpB+" pinned in "+known) {
		t.Errorf("--accept-changed-cert: %v", r)
	}
	if kh, err = trust.Open(known); err != nil {
		t.Fatal(err)
	}
	if got, _ := kh.Lookup(hp); got != fpB {
		t.Errorf("pin after --accept-changed-cert: %q; want %s", got, fpB)
	}
	if r = fanRun(t, "-H", hp, "-u", fanUser, "--", cmd); r.err != nil || r.stderr != "" {
		t.Errorf("run after the change was accepted: %v", r)
	}

	// Hosts not pinned yet: --insecure and a CA that signs the server
	// certificate (--ca-file or CAFile) are trusted without pinning.
	nopin := startFanServer(t, fanHTTPSEndpoints(3, &certB)...)
	if err := os.WriteFile(filepath.Join(dir, "ca.yaml"), []byte("CAFile: "+caB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, how := range [][]string{{"--insecure"}, {"--ca-file", caB}, {"--client-config", filepath.Join(dir, "ca.yaml")}} {
		h := nopin.hostPort(t, i)
		r = fanRun(t, append(append([]string{"-H", h, "-u", fanUser}, how...), "--", cmd)...)
		if r.err != nil || r.stdout != "ran\n" || r.stderr != "" {
			t.Errorf("%v: %v", how, r)
		}
		if kh, err = trust.Open(known); err != nil {
			t.Fatal(err)
		}
		if got, ok := kh.Lookup(h); ok {
			t.Errorf("%v pinned %s: %s", how, h, got)
		}
	}
	// The wrong CA falls back to trust on first use.
	_, caA, _ := fanCert(t)
	h := nopin.hostPort(t, 0)
	r = fanRun(t, "-H", h, "-u", fanUser, "--ca-file", caA, "--", cmd)
	if r.err != nil || !strings.Contains(r.stderr, h+": first connection, certificate "+fpB+" pinned") {
		t.Errorf("--ca-file with another CA: %v", r)
	}
}

// TestFanoutChangedCertificateHint checks that the refusal of a changed
// certificate tells how to accept it, as client/trust.ChangedError's
// documentation says the CLI does.
func TestFanoutChangedCertificateHint(t *testing.T) {
	fanClientHome(t, "")
	certA, _, _ := fanCert(t)
	first := startFanServer(t, fanHTTPSEndpoints(1, &certA)...)
	hp := first.hostPort(t, 0)
	if r := fanRun(t, "-H", hp, "-u", fanUser, "--", "true"); r.err != nil {
		t.Fatalf("first run: %v", r)
	}
	first.stop()
	certB, _, _ := fanCert(t)
	startFanServer(t, listener.Endpoint{Transport: "HTTPS", Addr: hp, URLPrefix: "wsman", Certificate: &certB})
	r := fanRun(t, "-H", hp, "-u", fanUser, "--", "true")
	if fanStatus(r.err) != exitSingleFailed || !strings.Contains(r.stderr, "--accept-changed-cert") {
		t.Errorf("want exit status 255 and a hint naming --accept-changed-cert\n%v", r)
	}
}

// TestFanoutUsage checks the command lines refused before anything runs.
func TestFanoutUsage(t *testing.T) {
	fanClientHome(t, "")
	for _, args := range [][]string{
		{"--", "true"},
		{"-H", "127.0.0.1:1"},
		{"-H", "127.0.0.1:1", "--throttle", "0", "--", "true"},
		{"-H", "127.0.0.1:1", "--timeout", "soon", "--", "true"},
	} {
		var ue *usageError
		if r := fanRun(t, args...); !errors.As(r.err, &ue) {
			t.Errorf("run %q: %v; want a usage error", args, r)
		}
	}
}

// TestFanoutTrustedHosts checks that Basic over HTTP goes only to trusted
// hosts with AllowUnencrypted, and that a refusal happens before any
// connection, for every host of the run.
func TestFanoutTrustedHosts(t *testing.T) {
	dir := fanClientHome(t, "TrustedHosts: other.example\nAllowUnencrypted: true\n")
	cfgFile := filepath.Join(dir, "config.yaml")
	trusted := newFanConnCounter(t)
	untrusted := newFanConnCounter(t)
	srv := startFanServer(t, listener.Endpoint{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"})
	endpoint := srv.bound[0].URL

	refusals := []struct {
		name    string
		config  string
		hosts   []string
		args    []string
		wantErr []string
	}{
		{"untrusted", "TrustedHosts: other.example\nAllowUnencrypted: true\n",
			[]string{"http://" + untrusted.addr() + "/wsman"}, nil,
			[]string{"TrustedHosts", "127.0.0.1", cfgFile}},
		{"--http and a port", "TrustedHosts: other.example\nAllowUnencrypted: true\n",
			[]string{untrusted.addr()}, []string{"--http"},
			[]string{"TrustedHosts", cfgFile}},
		{"AllowUnencrypted false", "TrustedHosts: 127.0.0.1\n",
			[]string{"http://" + untrusted.addr() + "/wsman"}, []string{"--auth", "basic"},
			[]string{"AllowUnencrypted", cfgFile}},
		// The whole run is refused before anything is sent, also to the
		// trusted host listed first.
		{"one of two untrusted", "TrustedHosts: 127.0.0.1\nAllowUnencrypted: true\n",
			[]string{"http://" + trusted.addr() + "/wsman", "http://localhost:" + strings.Split(untrusted.addr(), ":")[1] + "/wsman"}, nil,
			[]string{"TrustedHosts", "localhost", cfgFile}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(cfgFile, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			r := fanRun(t, append(append([]string{"-H", strings.Join(tt.hosts, ","), "-u", fanUser}, tt.args...), "--", "true")...)
			var ue *usageError
			if !errors.As(r.err, &ue) {
				t.Errorf("want a usage error (exit status 2)\n%v", r)
			}
			for _, w := range tt.wantErr {
				if r.err == nil || !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %v lacks %q", r.err, w)
				}
			}
			if n := untrusted.before(t) + trusted.before(t); n != 0 {
				t.Errorf("%d connections made before the refusal", n)
			}
		})
	}
	t.Run("trusted", func(t *testing.T) {
		for _, tc := range []struct{ config, flag string }{
			{"TrustedHosts: 127.0.0.1\nAllowUnencrypted: true\n", ""},
			{`TrustedHosts: "127.0.0.*"` + "\n", "--allow-unencrypted"},
		} {
			if err := os.WriteFile(cfgFile, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"-H", endpoint, "-u", fanUser}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			if r := fanRun(t, append(args, "--", "echo over http")...); r.err != nil || r.stdout != "over http\n" {
				t.Errorf("%q %s: %v", tc.config, tc.flag, r)
			}
		}
	})
}

// TestFanoutInventory selects hosts from an Ansible INI inventory and from
// a plain host list.
func TestFanoutInventory(t *testing.T) {
	fanClientHome(t, "TrustedHosts: 127.0.0.1\nAllowUnencrypted: true\n")
	cert, _, _ := fanCert(t)
	web := startFanServer(t,
		listener.Endpoint{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "wsman", Certificate: &cert},
		listener.Endpoint{Transport: "HTTPS", Addr: "127.0.0.1:0", URLPrefix: "custom", Certificate: &cert})
	web.writeHome(t, "name", "web")
	db := startFanServer(t, listener.Endpoint{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"})
	db.writeHome(t, "name", "db")
	port := func(s *fanServer, i int) string { return strings.Split(s.hostPort(t, i), ":")[1] }

	inv := filepath.Join(t.TempDir(), "hosts.ini")
	ini := fmt.Sprintf(`# two groups on loopback
[web]
web1 ansible_host=127.0.0.1 ansible_port=%s ansible_winrm_scheme=https
web2 ansible_host=127.0.0.1 ansible_port=%s ansible_winrm_scheme=https ansible_winrm_path=/custom ansible_password=ignored

[db]
db1 ansible_host=127.0.0.1 ansible_port=%s ansible_winrm_scheme=http

[all:vars]
ansible_user=%s
`, port(web, 0), port(web, 1), port(db, 0), fanUser)
	if err := os.WriteFile(inv, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	const cmd = `touch "$HOME/ran.$$"; cat "$HOME/name"`

	// No -u: the user comes from the inventory.
	r := fanRun(t, "-i", inv, "--limit", "web", "--", cmd)
	if r.err != nil {
		t.Fatalf("--limit web: %v", r)
	}
	got := fanLines(t, r.stdout)
	if !slices.Equal(got["web1"], []string{"web"}) || !slices.Equal(got["web2"], []string{"web"}) || len(got) != 2 {
		t.Errorf("--limit web output: %q", got)
	}
	if n := len(db.homeFiles(t, "ran.*")); n != 0 {
		t.Errorf("--limit web ran %d commands on db1", n)
	}
	if n := len(web.homeFiles(t, "ran.*")); n != 2 {
		t.Errorf("--limit web ran %d commands on the web hosts; want 2", n)
	}
	if !strings.Contains(r.stderr, fanSummary(2, 0, 0, 2)) || !strings.Contains(r.stderr, "psremote: "+inv+": ") {
		t.Errorf("--limit web: want the summary and a warning about ansible_password:\n%s", r.stderr)
	}

	r = fanRun(t, "-i", inv, "--limit", "db:web1", "--", cmd)
	got = fanLines(t, r.stdout)
	if r.err != nil || !slices.Equal(got["db1"], []string{"db"}) || !slices.Equal(got["web1"], []string{"web"}) || len(got) != 2 {
		t.Errorf("--limit db:web1: %v", r)
	}

	// A plain host list: names are shown without their ports. A list
	// gives a host one port only, so the second entry reaches the same
	// listener by the name localhost.
	list := filepath.Join(t.TempDir(), "hosts.txt")
	if err := os.WriteFile(list, []byte("# web servers\n127.0.0.1:"+port(web, 0)+"\n\nlocalhost:"+port(web, 0)+"  # same, by name\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = fanRun(t, "-f", list, "-u", fanUser, "--", cmd)
	got = fanLines(t, r.stdout)
	if r.err != nil || !slices.Equal(got["127.0.0.1"], []string{"web"}) || !slices.Equal(got["localhost"], []string{"web"}) || len(got) != 2 {
		t.Errorf("-f: %v", r)
	}
	web.waitIdle(t)
	db.waitIdle(t)
}

// TestFanoutScript sends a local script to /bin/sh -s on each host, with
// arguments after "--".
func TestFanoutScript(t *testing.T) {
	fanClientHome(t, "")
	cert, _, _ := fanCert(t)
	srv := startFanServer(t, fanHTTPSEndpoints(2, &cert)...)
	hosts := srv.hostPorts(t)
	script := filepath.Join(t.TempDir(), "fix.sh")
	body := `#!/bin/sh
# Commands here must not read stdin: it is the script.
set -eu
echo "first=$1 count=$#"
for a in "$@"; do printf '<%s>' "$a"; done
echo
uname -s
echo done >&2
exit 3
`
	if err := os.WriteFile(script, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	uname, err := os.ReadFile("/proc/sys/kernel/ostype")
	if err != nil {
		t.Skip("no /proc/sys/kernel/ostype:", err)
	}
	sys := strings.TrimSpace(string(uname))

	r := fanRun(t, "-H", hosts[0], "-u", fanUser, "--script", script, "--", "arg1", "arg2")
	if fanStatus(r.err) != 3 || r.stdout != "first=arg1 count=2\n<arg1><arg2>\n"+sys+"\n" || !strings.HasSuffix(r.stderr, "\ndone\n") {
		t.Errorf("one host: %v", r)
	}
	r = fanRun(t, "-H", strings.Join(hosts, ","), "-u", fanUser, "--script", script, "--", "arg1")
	if fanStatus(r.err) != exitHostsFailed || !strings.Contains(r.stderr, fanSummary(0, 2, 0, 2)) {
		t.Errorf("two hosts: %v", r)
	}
	got := fanLines(t, r.stdout)
	for _, h := range hosts {
		if want := []string{"first=arg1 count=1", "<arg1>", sys}; !slices.Equal(got[h], want) {
			t.Errorf("output of %s: %q; want %q", h, got[h], want)
		}
		if !strings.Contains(r.stderr, h+": done\n") {
			t.Errorf("no %q in stderr:\n%s", h+": done", r.stderr)
		}
	}
	if r := fanRun(t, "-H", hosts[0], "-u", fanUser, "--script", filepath.Join(t.TempDir(), "missing.sh")); r.err == nil || !strings.Contains(r.err.Error(), "--script") {
		t.Errorf("missing script: %v", r)
	}
	var ue *usageError
	if r := fanRun(t, "-H", hosts[0], "-u", fanUser); !errors.As(r.err, &ue) {
		t.Errorf("no command and no script: %v; want a usage error", r)
	}
	srv.waitIdle(t)
}

// TestFanoutScriptArgumentQuoting passes script arguments that the shell on
// the remote side would split or interpret.
func TestFanoutScriptArgumentQuoting(t *testing.T) {
	fanClientHome(t, "")
	cert, _, _ := fanCert(t)
	srv := startFanServer(t, fanHTTPSEndpoints(1, &cert)...)
	script := filepath.Join(t.TempDir(), "args.sh")
	if err := os.WriteFile(script, []byte(`for a in "$@"; do printf '<%s>' "$a"; done; echo`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := fanRun(t, "-H", srv.hostPort(t, 0), "-u", fanUser, "--script", script, "--", "two words", "x;touch injected", "$HOME")
	if want := "<two words><x;touch injected><$HOME>\n"; r.err != nil || r.stdout != want {
		t.Errorf("stdout %q; want %q\n%v", r.stdout, want, r)
	}
	if m := srv.homeFiles(t, "injected"); len(m) != 0 {
		t.Errorf("an argument ran as a command: %v", m)
	}
}

// fanCtrlCRun is runRun in the background with a signal channel the test
// feeds.
type fanCtrlCRun struct {
	sigs        chan os.Signal
	out, errOut fanBuffer
	done        chan struct{}
	err         error
}

func startFanCtrlCRun(t *testing.T, hosts []string, throttle int, command string) *fanCtrlCRun {
	t.Helper()
	c := &fanCtrlCRun{sigs: make(chan os.Signal, 2), done: make(chan struct{})}
	opts := &runOptions{
		conn: connOptions{hosts: hosts, user: fanUser, urlPrefix: "wsman",
			operationTimeout: 5 * time.Second, connectTimeout: 5 * time.Second},
		limit: "all", throttle: throttle, json: true, progress: "never", signals: c.sigs,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	go func() {
		defer close(c.done)
		c.err = runRun(ctx, fanIO(&c.out, &c.errOut), opts, []string{command})
	}()
	return c
}

// waitFiles waits until n files match pattern in the server's home.
func (c *fanCtrlCRun) waitFiles(t *testing.T, s *fanServer, pattern string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(s.homeFiles(t, pattern)) < n {
		select {
		case <-c.done:
			t.Fatalf("run ended early: %v\nstdout:\n%s\nstderr:\n%s", c.err, c.out.String(), c.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d commands started", len(s.homeFiles(t, pattern)), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait returns runRun's result, failing if it takes longer than limit.
func (c *fanCtrlCRun) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(limit):
		t.Errorf("run did not end within %v; terminating it", limit)
		c.sigs <- syscall.SIGTERM
		<-c.done
		return c.err
	}
}

// TestFanoutCtrlC interrupts commands on three hosts: one Ctrl-C sends
// ctrl_c to each, and a second one terminates commands that ignore it.
func TestFanoutCtrlC(t *testing.T) {
	fanClientHome(t, "")
	cert, _, _ := fanCert(t)
	srv := startFanServer(t, fanHTTPSEndpoints(3, &cert)...)
	hosts := srv.hostPorts(t)

	tests := []struct {
		name    string
		command string
		signals []os.Signal
		// wantCode is each host's exit_code; "null" means terminated,
		// with an error instead.
		wantCode   string
		wantStatus []int
	}{
		// The marker is written a little after the command started, so
		// the client has registered it for Ctrl-C by then.
		{"Ctrl-C", `sleep 0.2; touch "$HOME/started.$$"; sleep 30`, []os.Signal{os.Interrupt}, "130", []int{exitInterrupted}},
		{"Ctrl-C twice", `trap "" INT; sleep 0.2; touch "$HOME/started.$$"; sleep 30`, []os.Signal{os.Interrupt, os.Interrupt}, "null", []int{exitInterrupted}},
		// run's help text does not say; enter exits 143 after SIGTERM.
		{"SIGTERM", `trap "" INT; sleep 0.2; touch "$HOME/started.$$"; sleep 30`, []os.Signal{syscall.SIGTERM}, "null", []int{exitInterrupted, 143}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range srv.homeFiles(t, "started.*") {
				os.Remove(f)
			}
			c := startFanCtrlCRun(t, hosts, 10, tt.command)
			c.waitFiles(t, srv, "started.*", len(hosts))
			for i, sig := range tt.signals {
				if i > 0 {
					// The commands ignore the first Ctrl-C: the run goes on.
					select {
					case <-c.done:
						t.Fatalf("run ended after %d signals: %v", i, c.err)
					case <-time.After(500 * time.Millisecond):
					}
				}
				c.sigs <- sig
			}
			sent := time.Now()
			err := c.wait(t, 10*time.Second)
			t.Logf("ended %v after the last signal", time.Since(sent).Round(time.Millisecond))
			if !slices.Contains(tt.wantStatus, fanStatus(err)) {
				t.Errorf("exit status %d (%v); want one of %v\nstderr:\n%s", fanStatus(err), err, tt.wantStatus, c.errOut.String())
			}
			recs := fanRecords(t, c.out.String())
			for _, h := range hosts {
				rec, ok := recs[h]
				if !ok || fanInt(rec.ExitCode) != tt.wantCode || (rec.Error != "") != (tt.wantCode == "null") {
					t.Errorf("record of %s: exit_code %s error %q; want %s", h, fanInt(rec.ExitCode), rec.Error, tt.wantCode)
				}
			}
			if !strings.Contains(c.errOut.String(), fanSummary(0, 3, 0, 3)) {
				t.Errorf("no summary %q:\n%s", fanSummary(0, 3, 0, 3), c.errOut.String())
			}
			if tt.signals[0] == os.Interrupt && !strings.Contains(c.errOut.String(), "sending ctrl_c") {
				t.Errorf("no note about ctrl_c:\n%s", c.errOut.String())
			}
			srv.waitIdle(t)
		})
	}
}

// TestFanoutCtrlCStopsQueuedHosts interrupts a run while hosts still wait
// for a --throttle slot: none of them should start a command afterwards.
func TestFanoutCtrlCStopsQueuedHosts(t *testing.T) {
	fanClientHome(t, "")
	cert, _, _ := fanCert(t)
	srv := startFanServer(t, fanHTTPSEndpoints(3, &cert)...)
	hosts := srv.hostPorts(t)
	c := startFanCtrlCRun(t, hosts, 1, `sleep 0.2; touch "$HOME/started.$$"; sleep 30`)
	c.waitFiles(t, srv, "started.*", 1)
	c.sigs <- os.Interrupt
	err := c.wait(t, 10*time.Second)
	if fanStatus(err) != exitInterrupted {
		t.Errorf("exit status %d (%v); want %d", fanStatus(err), err, exitInterrupted)
	}
	if n := len(srv.homeFiles(t, "started.*")); n != 1 {
		t.Errorf("%d commands started; want only the one running at Ctrl-C", n)
	}
	srv.waitIdle(t)
}
