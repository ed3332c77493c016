package bench

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Commands per second with K concurrent shells: K workers, each with its
// own shell and keep-alive connection, run `true` commands in a loop,
// compared with K goroutines spawning /bin/sh -c true locally.

// TestThroughput prints commands/s at 1, 8 and 64 concurrent shells with
// PSREMOTE_BENCH=1, and a small smoke run otherwise. Each level runs
// three rounds of (local, psremote), about 1,000 commands per round and
// side, so a burst of load from elsewhere on the machine hits both sides;
// the rates are totals over the rounds, and the per-round ratios show
// the spread.
func TestThroughput(t *testing.T) {
	levels, total, minPer, rounds := []int{1, 4}, 20, 5, 1
	if heavy() {
		levels, total, minPer, rounds = []int{1, 8, 64}, 1000, 16, 3
	}
	s := startServer(t)
	c := s.client(max(levels[len(levels)-1], 4))
	defer c.close()

	rows := [][]string{{"shells", "commands", "local cmd/s", "psremote cmd/s", "psremote/local", "per round", "psremote p50", "p99", "max"}}
	for _, k := range levels {
		per := max((total+k-1)/k, minPer)
		shells, err := openShells(c, k)
		if err != nil {
			t.Fatal(err)
		}
		// Warm every connection and shell once.
		if _, _, err := remoteThroughput(c, shells, 1); err != nil {
			t.Fatal(err)
		}
		var localT, remoteT time.Duration
		var lat []time.Duration
		var ratios []string
		for range rounds {
			lt, err := localThroughput(k, per)
			if err != nil {
				t.Fatal(err)
			}
			rt, l, err := remoteThroughput(c, shells, per)
			if err != nil {
				t.Fatal(err)
			}
			localT, remoteT, lat = localT+lt, remoteT+rt, append(lat, l...)
			ratios = append(ratios, fmt.Sprintf("%.2f", lt.Seconds()/rt.Seconds()))
		}
		for _, id := range shells {
			if err := c.deleteShell(id); err != nil {
				t.Fatal(err)
			}
		}
		ops := float64(rounds * k * per)
		lr, rr := ops/localT.Seconds(), ops/remoteT.Seconds()
		ls := summarize(lat)
		rows = append(rows, []string{fmt.Sprint(k), fmt.Sprintf("%d x %d", rounds, k*per),
			fmt.Sprintf("%.0f", lr), fmt.Sprintf("%.0f", rr), fmt.Sprintf("%.2fx", rr/lr), strings.Join(ratios, " "),
			us(ls.p50), us(ls.p99), us(ls.max)})
	}
	t.Logf("throughput: K shells, each running `true` in a loop on its own connection, vs K goroutines spawning /bin/sh -c true (os/exec)\n%s"+
		"psremote/local is the throughput ratio (1.00x = as fast as spawning locally; its inverse is the slowdown);\n"+
		"p50/p99/max are per-command latencies (Command+Receive+Signal) under that load", table(rows))
}

// openShells creates k shells.
func openShells(c *client, k int) ([]string, error) {
	ids := make([]string, k)
	for i := range ids {
		id, err := c.createShell()
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// remoteThroughput runs per commands on each shell, one worker per shell,
// and returns the wall time and the latency of every command.
func remoteThroughput(c *client, shells []string, per int) (time.Duration, []time.Duration, error) {
	lat := make([][]time.Duration, len(shells))
	el, err := parallel(len(shells), per, func(w int) error {
		t0 := time.Now()
		_, err := c.run(shells[w], "true")
		lat[w] = append(lat[w], time.Since(t0))
		return err
	})
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return el, all, err
}

// localThroughput is the baseline: k goroutines each spawning per
// /bin/sh -c true. It returns the wall time.
func localThroughput(k, per int) (time.Duration, error) {
	return parallel(k, per, func(int) error { return localSpawn() })
}

// parallel runs op per times in each of k workers and returns the wall
// time they took.
func parallel(k, per int, op func(worker int) error) (time.Duration, error) {
	var wg sync.WaitGroup
	errs := make([]error, k)
	start := make(chan struct{})
	for w := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range per {
				if err := op(w); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return el, nil
}

// localRate holds the last local sub-benchmark's commands/s per level.
var localRate sync.Map // int -> float64

// BenchmarkThroughput is TestThroughput with b.N commands per level,
// shared by K workers. The psremote sub-benchmarks report cmd/s and
// x-local, the ratio of their throughput to the local one (run first).
func BenchmarkThroughput(b *testing.B) {
	s := startServer(b)
	c := s.client(64)
	defer c.close()
	for _, k := range []int{1, 8, 64} {
		shells, err := openShells(c, k)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("shells=%d/local", k), func(b *testing.B) {
			rate := benchParallel(b, k, func(int) error { return localSpawn() })
			localRate.Store(k, rate)
		})
		b.Run(fmt.Sprintf("shells=%d/psremote", k), func(b *testing.B) {
			rate := benchParallel(b, k, func(w int) error {
				_, err := c.run(shells[w], "true")
				return err
			})
			if lr, ok := localRate.Load(k); ok {
				b.ReportMetric(rate/lr.(float64), "x-local")
			}
		})
		for _, id := range shells {
			c.deleteShell(id)
		}
	}
}

// benchParallel shares b.N operations among k workers and reports ops/s.
func benchParallel(b *testing.B, k int, op func(worker int) error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, k)
	b.ResetTimer()
	for w := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(w); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "cmd/s")
	return rate
}
