package bench

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Server memory holding idle shells: a real `psremote serve` process
// (built from ./cmd/psremote) with an HTTP listener, the account store and
// no per-user shell limit; the test opens shells over HTTP and reads the
// server's VmRSS and VmHWM from /proc/PID/status. Target: 10,000 idle
// shells in at most 1 GiB.

// TestIdleShellRSS prints the server's RSS before and after opening
// 10,000 shells with PSREMOTE_BENCH=1, 100 shells otherwise, with
// checkpoints at a tenth and a half of them. It builds the psremote
// binary, so -short skips it.
func TestIdleShellRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status")
	}
	if testing.Short() {
		t.Skip("builds ./cmd/psremote; skipped with -short")
	}
	n := 100
	if heavy() {
		n = 10000
	}
	p := startServeProcess(t)
	c := newClient(p.url, p.user, p.password, 16)
	defer c.close()

	base := p.memory(t)
	// The first authenticated request verifies the password with argon2id
	// (m=19 MiB): its transient heap shows in the row after one shell
	// and in VmHWM, and is released again later.
	first, err := c.createShell()
	if err != nil {
		t.Fatal(err)
	}
	afterFirst := p.memory(t)

	rows := [][]string{
		{"", "VmRSS", "VmHWM", "threads", "RSS over baseline per shell"},
		{"idle server, no request yet (baseline)", mib(base.rss), mib(base.hwm), fmt.Sprint(base.threads), ""},
		{"after 1 shell (first Basic auth: argon2id)", mib(afterFirst.rss), mib(afterFirst.hwm), fmt.Sprint(afterFirst.threads), ""},
	}
	perShell := func(m procMem, k int) string {
		return fmt.Sprintf("%.2f KiB", float64(m.rss-base.rss)/float64(k)/1024)
	}
	ids := []string{first}
	var el time.Duration
	var full procMem
	var checkpoints []int
	var half procMem // at n/2, for the slope
	if n >= 100 {
		checkpoints = append(checkpoints, n/10, n/2)
	}
	checkpoints = append(checkpoints, n)
	for _, k := range checkpoints {
		more, d, err := createShells(c, k-len(ids), 8)
		if err != nil {
			t.Fatal(err)
		}
		ids, el = append(ids, more...), el+d
		full = p.memory(t)
		if k == n/2 {
			half = full
		}
		rows = append(rows, []string{fmt.Sprintf("after %d shells", k), mib(full.rss), mib(full.hwm), fmt.Sprint(full.threads), perShell(full, k)})
	}
	// Make sure the shells are really there.
	for _, id := range []string{ids[0], ids[len(ids)/2], ids[len(ids)-1]} {
		if err := c.getShell(id); err != nil {
			t.Fatalf("shell %s: %v", id, err)
		}
	}
	settle := 500 * time.Millisecond
	if heavy() {
		settle = 3 * time.Second
	}
	time.Sleep(settle) // let a GC cycle and the scavenger run
	settled := p.memory(t)
	rows = append(rows, []string{fmt.Sprintf("after %d shells, %v later", n, settle), mib(settled.rss), mib(settled.hwm), fmt.Sprint(settled.threads), perShell(settled, n)})

	const gib = 1 << 30
	peak := max(full.rss, settled.rss, settled.hwm)
	verdict := "within target"
	if peak > gib {
		verdict = "ABOVE target"
	}
	slope := "n/a"
	if half.rss > 0 {
		// Between n/2 and n the argon2id garbage is long gone, so this
		// is the cost of a shell alone.
		slope = fmt.Sprintf("%.2f KiB", float64(full.rss-half.rss)/float64(n-n/2)/1024)
	}
	t.Logf("server memory holding %d idle shells (pid %d; created in %v, %.0f shells/s over 8 connections)\n%s"+
		"RSS slope per shell from %d to %d shells: %s\n"+
		"RSS with %d shells / idle baseline: %.2fx; target <= 1 GiB: %s (peak VmHWM %s = %.1f%% of it)",
		n, p.cmd.Process.Pid, el.Round(time.Millisecond), float64(n-1)/el.Seconds(), table(rows),
		n/2, n, slope,
		n, float64(settled.rss)/float64(base.rss), verdict, mib(settled.hwm), 100*float64(peak)/gib)
}

// createShells opens n shells over workers concurrent connections.
func createShells(c *client, n, workers int) ([]string, time.Duration, error) {
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id, err := c.createShell()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("shell %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				ids[i] = id
			}
		}()
	}
	wg.Wait()
	return ids, time.Since(t0), firstErr
}

// serveProcess is a running `psremote serve`.
type serveProcess struct {
	cmd            *exec.Cmd
	url            string
	user, password string
	stderr         *lockedBuffer
	exited         chan struct{}
}

// startServeProcess builds psremote, adds a store account and starts the
// server on an ephemeral HTTP port. Cleanup stops it with SIGTERM.
func startServeProcess(t *testing.T) *serveProcess {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "psremote")
	build := exec.Command("go", "build", "-o", bin, "./cmd/psremote")
	build.Dir = ".." // the module root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/psremote: %v\n%s", err, out)
	}

	state := filepath.Join(dir, "state")
	// A root server accepts store users only if they are real accounts;
	// a non-root one runs every store user as itself.
	user := "bench"
	if os.Geteuid() == 0 {
		user = "root"
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	password := "Bench_" + hex.EncodeToString(rnd[:])
	add := exec.Command(bin, "user", "add", user, "--state-dir", state)
	add.Env = append(os.Environ(), "PSREMOTE_PASSWORD="+password)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("psremote user add: %v\n%s", err, out)
	}

	cfg := filepath.Join(dir, "psremote.yaml")
	yaml := fmt.Sprintf(`StateDir: %s
Service:
  AllowUnencrypted: true
  Auth:
    Basic: true
    BasicSources: [store]
Winrs:
  MaxShellsPerUser: 0
  MaxConcurrentUsers: 1000
Listeners:
  - Transport: HTTP
    Address: 127.0.0.1
    Port: 0
`, state)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	p := &serveProcess{user: user, password: password, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", cfg, "--log-level", "warn")
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(t) })

	urlc := make(chan string, 1)
	re := regexp.MustCompile(`psremote: listening HTTP (http://\S+)`)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.stderr.writeLine(sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case p.url = <-urlc:
	case <-p.exited:
		t.Fatalf("psremote serve exited early:\n%s", p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("psremote serve printed no listening line:\n%s", p.stderr.String())
	}
	return p
}

// stop ends the server we started with SIGTERM and waits for it.
func (p *serveProcess) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("psremote serve did not exit 30 s after SIGTERM; killing it\n%s", p.stderr.String())
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// procMem is the memory of a process as /proc/PID/status reports it.
type procMem struct {
	rss, hwm int64 // bytes
	threads  int
}

func (p *serveProcess) memory(t *testing.T) procMem {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	var m procMem
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n << 10 // kB
		case "VmHWM":
			m.hwm = n << 10
		case "Threads":
			m.threads = int(n)
		}
	}
	if m.rss == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", p.cmd.Process.Pid)
	}
	return m
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// lockedBuffer collects the server's stderr for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) writeLine(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 64<<10 {
		b.buf.WriteString(s)
		b.buf.WriteByte('\n')
	}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
