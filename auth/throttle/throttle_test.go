package throttle

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	attacker = netip.MustParseAddr("198.51.100.7")
	legit    = netip.MustParseAddr("203.0.113.20")
	other    = netip.MustParseAddr("192.0.2.1")
)

func newTest(cfg Config) (*Limiter, *clock) {
	c := newClock()
	cfg.Now = c.Now
	return New(cfg), c
}

func fail(l *Limiter, a netip.Addr, account string, n int) {
	for range n {
		l.Failure(a, account)
	}
}

func TestGrowthAndCap(t *testing.T) {
	l, _ := newTest(Config{Free: 2, Base: time.Second, Max: 30 * time.Second})
	want := []time.Duration{0, 0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second}
	for n, w := range want {
		if got := l.Delay(attacker, "root"); got != w {
			t.Errorf("after %d failures: Delay = %v; want %v", n, got, w)
		}
		l.Failure(attacker, "root")
	}
	fail(l, attacker, "root", 1000)
	if got := l.Delay(attacker, "root"); got != 30*time.Second {
		t.Errorf("after 1000 more: %v", got)
	}
	// The address is slowed whatever account it tries next.
	if got := l.Delay(attacker, "alice"); got != 30*time.Second {
		t.Errorf("same address, other account: %v", got)
	}
}

func TestDefaults(t *testing.T) {
	l, _ := newTest(Config{})
	fail(l, attacker, "root", DefaultFree)
	if got := l.Delay(attacker, "root"); got != 0 {
		t.Errorf("after Free failures: %v", got)
	}
	l.Failure(attacker, "root")
	if got := l.Delay(attacker, "root"); got != DefaultBase {
		t.Errorf("after Free+1 failures: %v; want %v", got, DefaultBase)
	}
	fail(l, attacker, "root", 100)
	if got := l.Delay(attacker, "root"); got != DefaultMax {
		t.Errorf("capped: %v; want %v", got, DefaultMax)
	}
	// A Limiter with the real clock works too.
	if New(Config{}).Delay(attacker, "root") != 0 {
		t.Error("fresh limiter delays")
	}
	// No free failures.
	l, _ = newTest(Config{Free: -1, Base: time.Second})
	l.Failure(attacker, "x")
	if got := l.Delay(attacker, "x"); got != time.Second {
		t.Errorf("Free < 0: %v", got)
	}
	// Max below Base is raised.
	l, _ = newTest(Config{Free: -1, Base: time.Second, Max: time.Millisecond})
	fail(l, attacker, "x", 5)
	if got := l.Delay(attacker, "x"); got != time.Second {
		t.Errorf("Max < Base: %v", got)
	}
}

func TestDecay(t *testing.T) {
	l, c := newTest(Config{Free: 2, Base: time.Second, Max: 30 * time.Second, Window: 10 * time.Minute})
	fail(l, attacker, "root", 8) // score 8: 30 s
	if got := l.Delay(attacker, "root"); got != 30*time.Second {
		t.Fatalf("start: %v", got)
	}
	c.Advance(10 * time.Minute) // score 4
	if got := l.Delay(attacker, "root"); got != 2*time.Second {
		t.Errorf("one half-life: %v; want 2s", got)
	}
	c.Advance(10 * time.Minute) // score 2
	if got := l.Delay(attacker, "root"); got != 0 {
		t.Errorf("two half-lives: %v; want 0", got)
	}
	l.Failure(attacker, "root") // 2 + 1
	if got := l.Delay(attacker, "root"); got != time.Second {
		t.Errorf("new failure on a decayed score: %v; want 1s", got)
	}
	c.Advance(24 * time.Hour)
	if got := l.Delay(attacker, "root"); got != 0 || l.Len() != 1 {
		// The address and account counters were read and dropped; the
		// pair counter is dropped when next read.
		t.Errorf("a day later: %v with %d counters", got, l.Len())
	}
	l.Success(attacker, "root")
	if l.Len() != 0 {
		t.Errorf("forgotten counters kept: %d", l.Len())
	}
	// A clock going backwards neither grows nor decays scores.
	fail(l, other, "x", 4)
	c.Advance(-time.Hour)
	if got := l.Delay(other, "x"); got != 2*time.Second {
		t.Errorf("clock went back: %v", got)
	}
}

func TestAddressIsolation(t *testing.T) {
	l, _ := newTest(Config{Free: 2, Base: time.Second})
	fail(l, attacker, "root", 50)
	if got := l.Delay(other, "alice"); got != 0 {
		t.Errorf("other address, other account: %v", got)
	}
	fail(l, other, "alice", 2)
	if got := l.Delay(other, "alice"); got != 0 {
		t.Errorf("other address within its free failures: %v", got)
	}
}

func TestLegitimateUserNotLockedOut(t *testing.T) {
	l, _ := newTest(Config{Free: 3, Base: time.Second, Max: 30 * time.Second})
	fail(l, attacker, "root", 500)
	if got := l.Delay(attacker, "root"); got != 30*time.Second {
		t.Fatalf("attacker: %v", got)
	}
	if got := l.Delay(legit, "root"); got != time.Second {
		t.Errorf("legitimate root from elsewhere: %v; want AccountMax = Base", got)
	}
	if got := l.Delay(legit, "Root"); got != time.Second {
		t.Errorf("account names are case-folded: %v", got)
	}
	if got := l.Delay(legit, "alice"); got != 0 {
		t.Errorf("legitimate other account: %v", got)
	}
	// One typo costs the legitimate user Base, not the account's 30 s.
	l.Failure(legit, "root")
	if got := l.Delay(legit, "root"); got != time.Second {
		t.Errorf("after a typo: %v; want 1s", got)
	}
	l.Failure(legit, "root")
	if got := l.Delay(legit, "root"); got != 2*time.Second {
		t.Errorf("after two typos: %v; want 2s", got)
	}
	l.Success(legit, "root")
	if got := l.Delay(legit, "root"); got != time.Second {
		t.Errorf("after logging in: %v; want the AccountMax 1s again", got)
	}
	if got := l.Delay(legit, "alice"); got != 0 {
		t.Errorf("after logging in, other account: %v", got)
	}
	if got := l.Delay(attacker, "root"); got != 30*time.Second {
		t.Errorf("attacker after the user's success: %v", got)
	}

	// With the account-wide delay switched off, other addresses wait nothing.
	l, _ = newTest(Config{Free: 3, Base: time.Second, AccountMax: -1})
	fail(l, attacker, "root", 500)
	if got := l.Delay(legit, "root"); got != 0 {
		t.Errorf("AccountMax < 0: %v", got)
	}
	l, _ = newTest(Config{Free: 3, Base: time.Second, AccountMax: 100 * time.Millisecond})
	fail(l, attacker, "root", 500)
	if got := l.Delay(legit, "root"); got != 100*time.Millisecond {
		t.Errorf("AccountMax 100ms: %v", got)
	}
}

func TestDistributedAttack(t *testing.T) {
	l, _ := newTest(Config{Free: 3, Base: time.Second, Max: 30 * time.Second})
	bots := make([]netip.Addr, 100)
	for i := range bots {
		bots[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		fail(l, bots[i], "root", 2) // each below its own Free
	}
	for _, b := range bots[:3] {
		if got := l.Delay(b, "root"); got != 2*time.Second {
			t.Errorf("bot %v on root: %v; want 2s (no free attempts on an attacked account)", b, got)
		}
		if got := l.Delay(b, "alice"); got != 0 {
			t.Errorf("bot %v on another account: %v", b, got)
		}
	}
	if got := l.Delay(legit, "root"); got != time.Second {
		t.Errorf("legitimate root: %v", got)
	}
}

func TestSuccessForgivesOnlyThatAccount(t *testing.T) {
	l, _ := newTest(Config{Free: 3, Base: time.Second})
	fail(l, attacker, "root", 10)
	l.Success(attacker, "guest") // an account the attacker owns
	if got := l.Delay(attacker, "root"); got != 30*time.Second {
		t.Errorf("success on guest forgave root: %v", got)
	}
	fail(l, other, "alice", 6)
	if l.Delay(other, "alice") == 0 {
		t.Fatal("no delay after 6 failures")
	}
	l.Success(other, "alice")
	if got := l.Delay(other, "alice"); got != 0 {
		t.Errorf("after success: %v", got)
	}
	if got := l.Delay(other, "bob"); got != 0 {
		t.Errorf("after success, address counter: %v", got)
	}
	l.Success(legit, "nobody") // nothing recorded: no effect, no panic
}

func TestIPv6Grouping(t *testing.T) {
	l, _ := newTest(Config{Free: 2, Base: time.Second})
	l.Failure(netip.MustParseAddr("2001:db8:1:2::1"), "x")
	l.Failure(netip.MustParseAddr("2001:db8:1:2:ffff:ffff:ffff:9"), "y")
	l.Failure(netip.MustParseAddr("2001:db8:1:2:abcd::5"), "z")
	if got := l.Delay(netip.MustParseAddr("2001:db8:1:2::77"), "w"); got != time.Second {
		t.Errorf("same /64: %v; want 1s", got)
	}
	if got := l.Delay(netip.MustParseAddr("2001:db8:1:3::1"), "w"); got != 0 {
		t.Errorf("next /64: %v", got)
	}
	// IPv4-mapped addresses count as IPv4; zones are ignored.
	fail(l, netip.MustParseAddr("::ffff:192.0.2.9"), "x", 3)
	if got := l.Delay(netip.MustParseAddr("192.0.2.9"), "w"); got != time.Second {
		t.Errorf("IPv4-mapped: %v", got)
	}
	if got := l.Delay(netip.MustParseAddr("192.0.2.10"), "w"); got != 0 {
		t.Errorf("neighbouring IPv4 address: %v", got)
	}
	fail(l, netip.MustParseAddr("fe80::1%eth0"), "x", 3)
	if got := l.Delay(netip.MustParseAddr("fe80::2%eth1"), "w"); got != time.Second {
		t.Errorf("zones: %v", got)
	}
	// Invalid addresses share one counter.
	fail(l, netip.Addr{}, "x", 3)
	if got := l.Delay(netip.Addr{}, "w"); got != time.Second {
		t.Errorf("invalid address: %v", got)
	}
}

func TestMemoryBound(t *testing.T) {
	const maxEntries = 1000
	l, _ := newTest(Config{Free: 3, Base: time.Second, MaxEntries: maxEntries})
	for i := range 100_000 {
		l.Failure(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "root")
		if n := len(l.entries); n > maxEntries {
			t.Fatalf("%d counters after %d addresses", n, i+1)
		}
	}
	n := 0
	for e := l.lru.next; e != &l.lru; e = e.next {
		n++
	}
	if n != l.Len() || n != maxEntries {
		t.Fatalf("list holds %d, map %d; want %d", n, l.Len(), maxEntries)
	}
	// The hammered account stays, being the most recently updated.
	if got := l.Delay(legit, "root"); got != time.Second {
		t.Errorf("account counter evicted: %v", got)
	}
	// Long account names cost no memory: keys are fixed-size hashes.
	long := string(make([]byte, 1<<20))
	l.Failure(legit, long)
	if l.Len() > maxEntries {
		t.Errorf("%d counters", l.Len())
	}
	// 100 000 addresses of one /64 share one address counter.
	l, _ = newTest(Config{})
	base := netip.MustParseAddr("2001:db8::").As16()
	for i := range 100_000 {
		b := base
		b[12], b[13], b[14], b[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		l.Failure(netip.AddrFrom16(b), "root")
	}
	if l.Len() != 3 {
		t.Errorf("one /64: %d counters; want 3", l.Len())
	}
	if New(Config{MaxEntries: 1}).cfg.MaxEntries != minEntries {
		t.Error("MaxEntries not raised to the minimum")
	}
}

func TestWait(t *testing.T) {
	const base = 20 * time.Millisecond
	ctx := context.Background()
	// An attempt with no delay is not held: were it held, it would be for
	// an hour.
	slow, _ := newTest(Config{Free: 1, Base: time.Hour, Max: time.Hour})
	slow.Failure(attacker, "root")
	start := time.Now()
	if err := slow.Wait(ctx, attacker, "root"); err != nil || time.Since(start) > time.Minute {
		t.Fatalf("attempt within Free: %v after %v", err, time.Since(start))
	}

	l, _ := newTest(Config{Free: 1, Base: base, Max: 100 * time.Millisecond})
	fail(l, attacker, "root", 2)
	start = time.Now()
	if err := l.Wait(ctx, attacker, "root"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < base {
		t.Errorf("held %v; want at least %v", el, base)
	}

	// Cancellation ends the wait early.
	l2, _ := newTest(Config{Free: -1, Base: time.Hour, Max: time.Hour})
	l2.Failure(attacker, "root")
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := l2.Wait(cctx, attacker, "root"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Minute {
		t.Errorf("cancelled wait: %v after %v", err, time.Since(start))
	}
	done, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := l2.Wait(done, legit, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("done context: %v", err)
	}
}

func TestWaitQueuesParallelAttempts(t *testing.T) {
	const d = 20 * time.Millisecond
	// Free 0 (via -1), one failure: every attempt is held d; Max 50ms
	// lets at most three attempts queue (starts at 0, 20, 40 ms).
	l, _ := newTest(Config{Free: -1, Base: d, Max: 50 * time.Millisecond})
	l.Failure(attacker, "root")
	var wg sync.WaitGroup
	var ok, throttled atomic.Int32
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			switch err := l.Wait(context.Background(), attacker, "root"); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrThrottled):
				throttled.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 3 || throttled.Load() != 5 {
		t.Errorf("%d held, %d throttled; want 3 and 5", ok.Load(), throttled.Load())
	}
	if el := time.Since(start); el < 3*d {
		t.Errorf("parallel attempts released after %v; want them queued, at least %v", el, 3*d)
	}
	// Another address is not queued behind the attacker.
	if got := l.Delay(legit, "alice"); got != 0 {
		t.Errorf("other address: Delay %v", got)
	}
	if err := l.Wait(context.Background(), legit, "alice"); err != nil {
		t.Errorf("other address: %v", err)
	}
}

func TestConcurrency(t *testing.T) {
	l, c := newTest(Config{Free: 2, Base: time.Microsecond, Max: 10 * time.Microsecond, MaxEntries: 64})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				a := netip.AddrFrom4([4]byte{10, 0, byte(g), byte(i % 50)})
				acct := []string{"root", "alice", "bob"}[i%3]
				l.Delay(a, acct)
				l.Failure(a, acct)
				if i%7 == 0 {
					l.Success(a, acct)
				}
				if i%100 == 0 {
					if err := l.Wait(context.Background(), a, acct); err != nil && !errors.Is(err, ErrThrottled) {
						t.Error(err)
					}
					c.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if n := l.Len(); n > 64 {
		t.Errorf("%d counters", n)
	}
}

func BenchmarkDelayFailure(b *testing.B) {
	l := New(Config{MaxEntries: 4096})
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	accounts := []string{"root", "Administrator", "alice", "bob"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a, acct := addrs[i%len(addrs)], accounts[i%len(accounts)]
		l.Delay(a, acct)
		l.Failure(a, acct)
		i++
	}
}
