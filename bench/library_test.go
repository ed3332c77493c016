package bench

import (
	"context"
	"testing"
	"time"

	psclient "github.com/psremote/psremote/client"
)

// TestWarmLatencyLibrary is the warm-latency report for psremote's own
// client library: `true` through Cmd.Run on one open shell, which returns
// as soon as the command is Done and sends the mandatory Signal terminate
// in the background (Shell.Close waits for it). Interleaved with local
// spawns like TestWarmLatency; same target (mean at most 1.5 × local).
func TestWarmLatencyLibrary(t *testing.T) {
	n, warm := 20, 3
	if heavy() {
		n, warm = 1000, 50
	}
	s := startServer(t)
	c, err := psclient.New(psclient.Config{Endpoint: s.url, Username: benchUser, Password: benchPassword})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	sh, err := c.CreateShell(ctx, psclient.ShellOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close(ctx)
	run := func() error { return sh.Command("true").Run(ctx) }
	for range warm {
		if err := localSpawn(); err != nil {
			t.Fatal(err)
		}
		if err := run(); err != nil {
			t.Fatal(err)
		}
	}
	local := make([]time.Duration, 0, n)
	remote := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if err := localSpawn(); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := run(); err != nil {
			t.Fatal(err)
		}
		local = append(local, t1.Sub(t0))
		remote = append(remote, time.Since(t1))
	}
	l, r := summarize(local), summarize(remote)
	verdict := "within target"
	if float64(r.mean) > 1.5*float64(l.mean) {
		verdict = "ABOVE target"
	}
	t.Logf("warm command latency through the client library: %d `true` commands on one shell\n%s\nratio library/local: mean %.2fx  p50 %.2fx  (target <= 1.50x on the mean: %s)",
		n, table([][]string{
			{"", "mean", "p50", "p99"},
			{"local /bin/sh -c true (os/exec)", us(l.mean), us(l.p50), us(l.p99)},
			{"client.Cmd.Run (terminate in background)", us(r.mean), us(r.p50), us(r.p99)},
		}), float64(r.mean)/float64(l.mean), float64(r.p50)/float64(l.p50), verdict)
}
