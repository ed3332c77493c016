package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
)

// Warm command latency: on one open shell, run `true` commands one after
// another (Command, Receive until Done, Signal terminate) and compare each
// with a local `/bin/sh -c true` spawned and waited for through os/exec.
// The two are interleaved one by one, so machine noise hits both alike.
// Target: psremote mean at most 1.5 × the local mean.

// TestWarmLatency prints the warm-latency report: 1,000 commands of each
// kind with PSREMOTE_BENCH=1, a 20-command smoke run otherwise. Two
// diagnostic rows, interleaved too, help attribute the difference: one
// minimal authenticated request (Get of the shell: HTTP, Basic, XML, no
// process) and the server's process layer alone (proc.Host.Start, drain
// the pipes, wait: no HTTP).
func TestWarmLatency(t *testing.T) {
	n, warm := 20, 3
	if heavy() {
		n, warm = 1000, 50
	}
	s := startServer(t)
	c := s.client(4)
	defer c.close()
	sh, err := c.createShell()
	if err != nil {
		t.Fatal(err)
	}
	defer c.deleteShell(sh)
	ph, err := newProcProbe()
	if err != nil {
		t.Fatal(err)
	}
	defer ph.close()

	for range warm {
		if err := localSpawn(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.run(sh, "true"); err != nil {
			t.Fatal(err)
		}
	}

	local := make([]time.Duration, 0, n)
	remote := make([]time.Duration, 0, n)
	var cmdD, recvD, sigD, getD, procD []time.Duration
	var localCPU, remoteCPU cpuTimes
	polls := 0
	for range n {
		c0 := readCPU()
		t0 := time.Now()
		if err := localSpawn(); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		c1 := readCPU()
		p, err := c.run(sh, "true")
		if err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		c2 := readCPU()
		local = append(local, t1.Sub(t0))
		remote = append(remote, t2.Sub(t1))
		cmdD, recvD, sigD = append(cmdD, p.command), append(recvD, p.receive), append(sigD, p.signal)
		polls += p.polls
		localCPU = addCPU(localCPU, c1.sub(c0))
		remoteCPU = addCPU(remoteCPU, c2.sub(c1))

		t3 := time.Now()
		if err := c.getShell(sh); err != nil {
			t.Fatal(err)
		}
		t4 := time.Now()
		if err := ph.run(); err != nil {
			t.Fatal(err)
		}
		getD, procD = append(getD, t4.Sub(t3)), append(procD, time.Since(t4))
	}

	ls, rs := summarize(local), summarize(remote)
	rows := [][]string{
		{"", "mean", "p50", "p99", "max"},
		row("local /bin/sh -c true (os/exec)", ls),
		row("psremote Command+Receive+Signal", rs),
		row("  Command request", summarize(cmdD)),
		row("  Receive until Done", summarize(recvD)),
		row("  Signal terminate", summarize(sigD)),
		row("diag: Get shell request (no process)", summarize(getD)),
		row("diag: proc.Host spawn+drain+wait", summarize(procD)),
	}
	ratio := float64(rs.mean) / float64(ls.mean)
	verdict := "within target"
	if ratio > 1.5 {
		verdict = "ABOVE target"
	}
	t.Logf("warm command latency: %d `true` commands on one shell, interleaved with %d local spawns (after %d warm-up each)\n%s"+
		"ratio psremote/local: mean %.2fx  p50 %.2fx  p99 %.2fx  (target <= 1.50x on the mean: %s)\n"+
		"Receive requests per command: %.2f\n"+
		"CPU per command: local = %s in this process + %s in the child; psremote = %s in this process (client+server) + %s in the child",
		n, n, warm, table(rows),
		ratio, float64(rs.p50)/float64(ls.p50), float64(rs.p99)/float64(ls.p99), verdict,
		float64(polls)/float64(n),
		us(localCPU.self/time.Duration(n)), us(localCPU.children/time.Duration(n)),
		us(remoteCPU.self/time.Duration(n)), us(remoteCPU.children/time.Duration(n)))
}

// procProbe runs /bin/sh -c true through the server's process layer the
// way the shell engine does (login environment, own session, pipes), but
// without HTTP, SOAP or the engine.
type procProbe struct {
	host *proc.Host
	self identity.User
	env  []string
}

func newProcProbe() (*procProbe, error) {
	self, err := identity.Current()
	if err != nil {
		return nil, err
	}
	return &procProbe{host: proc.NewHost(self), self: self, env: proc.LoginEnv(self, nil)}, nil
}

func (p *procProbe) run() error {
	dir := p.self.Home
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = "/"
	}
	pr, err := p.host.Start(context.Background(), proc.Spec{User: p.self, Path: "/bin/sh",
		Args: []string{"/bin/sh", "-c", "true"}, Env: p.env, Dir: dir})
	if err != nil {
		return err
	}
	pr.Stdin.Close()
	io.Copy(io.Discard, pr.Stdout)
	io.Copy(io.Discard, pr.Stderr)
	pr.Stdout.Close()
	pr.Stderr.Close()
	if code := pr.ExitCode(); code != 0 {
		return fmt.Errorf("proc probe: exit code %d", code)
	}
	return nil
}

func (p *procProbe) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p.host.Close(ctx)
}

func addCPU(a, b cpuTimes) cpuTimes {
	return cpuTimes{self: a.self + b.self, children: a.children + b.children}
}

func row(name string, s summary) []string {
	return []string{name, us(s.mean), us(s.p50), us(s.p99), us(s.max)}
}

// localNsPerOp is the mean of the last BenchmarkWarmCommand/local run in
// this process, for the psremote sub-benchmark's ratio.
var localNsPerOp float64

// BenchmarkWarmCommand measures the same thing as TestWarmLatency with
// b.N iterations; run it with -benchtime=1000x. Its psremote
// sub-benchmark reports p50/p99 and x-local, the ratio of its ns/op to the
// local sub-benchmark's, which runs first. Profile the server with
//
//	go test -run='^$' -bench='WarmCommand/psremote' -benchtime=1000x -cpuprofile=cpu.out ./bench
func BenchmarkWarmCommand(b *testing.B) {
	s := startServer(b)
	// Label this goroutine, and so every goroutine it starts from now on
	// (the sub-benchmarks, the HTTP transport's connection goroutines),
	// side=client. The server's goroutines were started before and stay
	// unlabelled, so a CPU profile splits cleanly:
	//	go tool pprof -tagignore=side=client ...   the server alone
	//	go tool pprof -tagfocus=side=client ...    the benchmark client
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("side", "client")))
	c := s.client(4)
	defer c.close()
	sh, err := c.createShell()
	if err != nil {
		b.Fatal(err)
	}
	defer c.deleteShell(sh)
	for range 10 {
		if _, err := c.run(sh, "true"); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("local", func(b *testing.B) {
		pprof.Do(context.Background(), pprof.Labels("side", "local"), func(context.Context) {
			for b.Loop() {
				if err := localSpawn(); err != nil {
					b.Fatal(err)
				}
			}
		})
		localNsPerOp = float64(b.Elapsed()) / float64(b.N)
	})
	b.Run("psremote", func(b *testing.B) {
		d := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			if _, err := c.run(sh, "true"); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(t0))
		}
		s := summarize(d)
		b.ReportMetric(float64(s.p50), "p50-ns")
		b.ReportMetric(float64(s.p99), "p99-ns")
		if localNsPerOp > 0 {
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/localNsPerOp, "x-local")
		}
	})
}

// BenchmarkGetShell is a diagnostic: one minimal authenticated request
// (Get of an open shell) per iteration, i.e. the HTTP, Basic and SOAP
// cost that each of a command's three requests pays, without a process.
// The client is labelled side=client as in BenchmarkWarmCommand.
func BenchmarkGetShell(b *testing.B) {
	s := startServer(b)
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("side", "client")))
	c := s.client(4)
	defer c.close()
	sh, err := c.createShell()
	if err != nil {
		b.Fatal(err)
	}
	defer c.deleteShell(sh)
	for b.Loop() {
		if err := c.getShell(sh); err != nil {
			b.Fatal(err)
		}
	}
}
