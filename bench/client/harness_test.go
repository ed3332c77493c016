package clientbench

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/cli"
)

const password = "Clientbench_pw_4e1d"

// heavy reports whether the full sizes were asked for (PSREMOTE_BENCH=1);
// otherwise the tests run smoke sizes so that go test ./... stays fast.
func heavy() bool { return os.Getenv("PSREMOTE_BENCH") == "1" }

// envInt reads a positive integer from the environment, or def.
func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

// lockedBuffer collects a command's stderr while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is `psremote serve` running in-process under the label
// side=server.
type server struct {
	dir      string
	httpURL  string
	httpsURL string
	stop     func()
}

var listenRE = regexp.MustCompile(`psremote: listening (HTTPS?) (\S+)`)

// startServer adds the current user to a fresh account store and runs
// `psremote serve` with one HTTP (AllowUnencrypted) and one HTTPS
// listener on 127.0.0.1, port 0.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "PSREMOTE_PASSWORD" {
			return password
		}
		return os.Getenv(k)
	}
	var errb lockedBuffer
	stdio := cli.IO{In: strings.NewReader(""), Out: io.Discard, Err: &errb, Getenv: env}
	if err := cli.Run(context.Background(), stdio, []string{"user", "add", me.Username, "--state-dir", filepath.Join(dir, "state")}); err != nil {
		t.Fatalf("user add: %v: %s", err, errb.String())
	}
	cfg := fmt.Sprintf(`StateDir: %s
Service:
  AllowUnencrypted: true
  Auth:
    BasicSources: [store]
Winrs:
  MaxConcurrentUsers: 1000
  MaxShellsPerUser: 0
Listeners:
  - {Transport: HTTP, Address: 127.0.0.1, Port: 0}
  - {Transport: HTTPS, Address: 127.0.0.1, Port: 0}
`, filepath.Join(dir, "state"))
	cfgFile := filepath.Join(dir, "psremote.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go pprof.Do(ctx, pprof.Labels("side", "server"), func(ctx context.Context) {
		done <- cli.Run(ctx, stdio, []string{"serve", "--config", cfgFile, "--log-level", "error"})
	})
	s := &server{dir: dir}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, m := range listenRE.FindAllStringSubmatch(errb.String(), -1) {
			if m[1] == "HTTP" {
				s.httpURL = m[2]
			} else {
				s.httpsURL = m[2]
			}
		}
		if s.httpURL != "" && s.httpsURL != "" {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v: %s", err, errb.String())
		default:
		}
	}
	if s.httpURL == "" || s.httpsURL == "" {
		t.Fatalf("serve did not report its listeners: %s", errb.String())
	}
	s.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}
	t.Cleanup(s.stop)
	return s
}

// run runs `psremote run URL -- args...` in-process under the label
// side=client, writing the command's stdout to out. HTTPS is verified
// with --ca-file against the server's self-signed certificate (no
// pinning, no system roots); HTTP uses a client config that trusts
// 127.0.0.1.
func (s *server) run(t *testing.T, url string, out io.Writer, args ...string) {
	t.Helper()
	cc := filepath.Join(s.dir, "client.yaml")
	if _, err := os.Stat(cc); err != nil {
		y := "TrustedHosts: \"127.0.0.1,localhost\"\nAllowUnencrypted: true\nKnownHostsFile: " + filepath.Join(s.dir, "known_hosts") + "\n"
		if err := os.WriteFile(cc, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	argv := []string{"run", "-H", url, "--client-config", cc}
	if strings.HasPrefix(url, "https:") {
		argv = append(argv, "--ca-file", filepath.Join(s.dir, "state", "tls", "selfsigned.pem"))
	}
	argv = append(argv, "--")
	argv = append(argv, args...)
	env := func(k string) string {
		if k == "PSREMOTE_PASSWORD" {
			return password
		}
		return os.Getenv(k)
	}
	var errb lockedBuffer
	stdio := cli.IO{In: strings.NewReader(""), Out: out, Err: &errb, Getenv: env}
	var err error
	pprof.Do(context.Background(), pprof.Labels("side", "client"), func(ctx context.Context) {
		err = cli.Run(ctx, stdio, argv)
	})
	if err != nil {
		t.Fatalf("psremote %s: %v: %s", strings.Join(argv, " "), err, errb.String())
	}
}

// countWriter counts bytes and writes, and drops them. psremote run
// writes each Receive reply's stdout in one piece, so writes is about the
// number of Receive round trips that carried output.
type countWriter struct{ n, writes int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	c.writes++
	return len(p), nil
}

// cpuNow is this process's user+system CPU time, read from /proc (the
// server, the client and the runtime together; children not included).
func cpuNow(t *testing.T) time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100 on Linux
}

// TestStream streams `head -c SIZE /dev/zero` through psremote run over
// HTTP and HTTPS, server and client in this process. Run it with
// -cpuprofile (one transport at a time with -run 'TestStream/http$') to
// see where the time goes; pprof -tagfocus=side=client|server separates
// the sides. Size: PSREMOTE_STREAM_BYTES, else 1 GiB with
// PSREMOTE_BENCH=1, else 4 MiB.
func TestStream(t *testing.T) {
	size := envInt("PSREMOTE_STREAM_BYTES", map[bool]int64{true: 1 << 30, false: 4 << 20}[heavy()])
	s := startServer(t)
	for _, tc := range []struct{ name, url string }{{"http", s.httpURL}, {"https", s.httpsURL}} {
		t.Run(tc.name, func(t *testing.T) {
			var w countWriter
			c0, t0 := cpuNow(t), time.Now()
			s.run(t, tc.url, &w, "head", "-c", strconv.FormatInt(size, 10), "/dev/zero")
			el, cpu := time.Since(t0), cpuNow(t)-c0
			if w.n != size {
				t.Fatalf("received %d bytes, want %d", w.n, size)
			}
			t.Logf("%s: %d bytes in %v = %.0f MB/s (in-process server+client; CPU %v = %.2f cores; %.1f ns CPU/byte; %d writes of %.0f KB, %v each)",
				tc.name, size, el.Round(time.Millisecond), float64(size)/el.Seconds()/1e6,
				cpu, cpu.Seconds()/el.Seconds(), float64(cpu.Nanoseconds())/float64(size),
				w.writes, float64(size)/float64(w.writes)/1e3, (el / time.Duration(w.writes)).Round(time.Microsecond))
		})
	}
}

// TestOneShotParts times the pieces of a one-shot `psremote run` that a
// fresh process pays once: loading the system root pool (crypto/x509,
// which reads SSL_CERT_FILE or /etc/ssl/certs/ca-certificates.crt and
// every file in SSL_CERT_DIR or /etc/ssl/certs), then one warm in-process
// run of `true` over HTTP and over HTTPS (--ca-file: the roots are not
// consulted).
func TestOneShotParts(t *testing.T) {
	t0 := time.Now()
	pool, err := x509.SystemCertPool()
	roots := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if pool == nil {
		t.Fatal("no system root pool")
	}
	t.Logf("x509.SystemCertPool, first call in this process: %v (SSL_CERT_FILE=%q SSL_CERT_DIR=%q)",
		roots.Round(10*time.Microsecond), os.Getenv("SSL_CERT_FILE"), os.Getenv("SSL_CERT_DIR"))
	s := startServer(t)
	n := int(envInt("PSREMOTE_ONESHOT_RUNS", map[bool]int64{true: 200, false: 5}[heavy()]))
	for _, tc := range []struct{ name, url string }{{"http", s.httpURL}, {"https", s.httpsURL}} {
		s.run(t, tc.url, io.Discard, "true") // warm-up
		t0 := time.Now()
		for range n {
			s.run(t, tc.url, io.Discard, "true")
		}
		t.Logf("in-process `psremote run %s -- true` (new connection, TLS, auth, shell, command, delete): mean %v over %d runs",
			tc.name, (time.Since(t0) / time.Duration(n)).Round(10*time.Microsecond), n)
	}
}
