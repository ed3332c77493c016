package throttle

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Defaults for zero Config fields.
const (
	// DefaultFree is the default Config.Free.
	DefaultFree = 5
	// DefaultBase is the default Config.Base.
	DefaultBase = time.Second
	// DefaultMax is the default Config.Max.
	DefaultMax = 30 * time.Second
	// DefaultWindow is the default Config.Window.
	DefaultWindow = 10 * time.Minute
	// DefaultMaxEntries is the default Config.MaxEntries.
	DefaultMaxEntries = 1 << 16
)

const (
	// minEntries is the smallest table: one Failure touches three
	// counters, which must not evict each other.
	minEntries = 16
	// maxExcess caps a score at Free+maxExcess; beyond about 32 doublings
	// every delay is Max already.
	maxExcess = 40
	// forgotten is the score below which a counter is dropped.
	forgotten = 1.0 / 64
	// maxAccountKey bounds the bytes of an account name that are hashed.
	maxAccountKey = 1024
)

// ErrThrottled is returned by [Limiter.Wait] when the address already has
// more than Config.Max of held attempts queued. The caller answers the
// attempt as failed without checking it, and does not report it.
var ErrThrottled = errors.New("throttle: too many attempts queued for this address")

// Config configures a [Limiter]. Zero fields take the defaults.
type Config struct {
	// Free is the number of recent failures tolerated without delay; 0
	// means DefaultFree (5), a negative value none.
	Free int
	// Base is the delay after the first failure beyond Free; each further
	// failure doubles it. 0 means DefaultBase (1 s).
	Base time.Duration
	// Max caps every delay. 0 means DefaultMax (30 s); a Max below Base
	// is raised to Base.
	Max time.Duration
	// AccountMax caps the delay that failures against an account impose
	// on addresses that have not failed for it themselves. 0 means Base;
	// a negative value means no such delay.
	AccountMax time.Duration
	// Window is the half-life of a recorded failure. 0 means
	// DefaultWindow (10 min).
	Window time.Duration
	// MaxEntries bounds the counters kept; the least recently updated is
	// dropped when full. 0 means DefaultMaxEntries (65536); values below
	// 16 are raised to 16.
	MaxEntries int
	// Now is the clock; nil means time.Now. Wait sleeps in real time for
	// the durations this clock yields.
	Now func() time.Time
}

// kind distinguishes the three counters.
type kind uint8

const (
	kindAddr kind = iota + 1
	kindAccount
	kindPair
)

// key identifies a counter; it is fixed-size, so hostile account names
// cost no memory.
type key struct {
	kind kind
	addr [16]byte // address or /64 prefix, zero for accounts
	acct uint64   // account hash, zero for addresses
}

// entry is one counter, on the recency list.
type entry struct {
	key   key
	score float64
	at    time.Time // when score was last brought up to date
	// busyUntil is when the last attempt queued by Wait for this address
	// is released (address counters only).
	busyUntil  time.Time
	prev, next *entry
}

// Limiter holds failure counters. It is safe for concurrent use.
type Limiter struct {
	cfg  Config
	seed maphash.Seed

	mu sync.Mutex
	// entries and lru are guarded by mu. lru is the sentinel of a
	// circular list: lru.next is the most recently updated entry,
	// lru.prev the least.
	entries map[key]*entry
	lru     entry
}

// New returns a Limiter for cfg.
func New(cfg Config) *Limiter {
	switch {
	case cfg.Free == 0:
		cfg.Free = DefaultFree
	case cfg.Free < 0:
		cfg.Free = 0
	}
	if cfg.Base <= 0 {
		cfg.Base = DefaultBase
	}
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Max < cfg.Base {
		cfg.Max = cfg.Base
	}
	if cfg.AccountMax == 0 {
		cfg.AccountMax = cfg.Base
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	cfg.MaxEntries = max(cfg.MaxEntries, minEntries)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Limiter{cfg: cfg, seed: maphash.MakeSeed(), entries: make(map[key]*entry)}
	l.lru.next, l.lru.prev = &l.lru, &l.lru
	return l
}

// Delay returns how long to hold an attempt from addr for account before
// answering it (see the package documentation). It records nothing.
func (l *Limiter) Delay(addr netip.Addr, account string) time.Duration {
	a, h, now := addrKey(addr), l.accountHash(account), l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delayLocked(a, h, now)
}

// Wait holds an attempt from addr for account for its Delay, or until ctx
// is done (returning ctx.Err()). Attempts held at the same time from one
// address are queued one after another, so parallel connections do not
// multiply an attacker's rate; an attempt that would queue behind more
// than Config.Max of others gets [ErrThrottled] at once.
func (l *Limiter) Wait(ctx context.Context, addr netip.Addr, account string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	a, h, now := addrKey(addr), l.accountHash(account), l.cfg.Now()
	l.mu.Lock()
	d := l.delayLocked(a, h, now)
	if d <= 0 {
		l.mu.Unlock()
		return nil
	}
	until := now.Add(d)
	if e := l.entries[key{kind: kindAddr, addr: a}]; e != nil {
		start := now
		if e.busyUntil.After(start) {
			start = e.busyUntil
		}
		if start.Sub(now) > l.cfg.Max {
			l.mu.Unlock()
			return ErrThrottled
		}
		until = start.Add(d)
		e.busyUntil = until
	}
	l.mu.Unlock()

	t := time.NewTimer(until.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Failure records a failed attempt from addr for account.
func (l *Limiter) Failure(addr netip.Addr, account string) {
	a, h, now := addrKey(addr), l.accountHash(account), l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(key{kind: kindAddr, addr: a}, 1, now)
	l.addLocked(key{kind: kindAccount, acct: h}, 1, now)
	l.addLocked(key{kind: kindPair, addr: a, acct: h}, 1, now)
}

// Success records a successful login from addr as account: the address's
// failures for that account are forgotten, and taken off the address and
// account counters.
func (l *Limiter) Success(addr netip.Addr, account string) {
	a, h, now := addrKey(addr), l.accountHash(account), l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	pk := key{kind: kindPair, addr: a, acct: h}
	p := l.scoreLocked(pk, now)
	if p == 0 {
		return
	}
	l.removeLocked(l.entries[pk])
	l.subtractLocked(key{kind: kindAddr, addr: a}, p, now)
	l.subtractLocked(key{kind: kindAccount, acct: h}, p, now)
}

// Len returns the number of counters held, at most Config.MaxEntries.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// delayLocked computes Delay. l.mu must be held.
func (l *Limiter) delayLocked(a [16]byte, h uint64, now time.Time) time.Duration {
	d := l.curve(l.scoreLocked(key{kind: kindAddr, addr: a}, now))
	acct := l.curve(l.scoreLocked(key{kind: kindAccount, acct: h}, now))
	if acct == 0 {
		return d
	}
	// The account is under attack.
	if p := l.scoreLocked(key{kind: kindPair, addr: a, acct: h}, now); p >= 0.5 {
		acct = min(acct, l.steps(int(math.Floor(p+1e-9))))
	} else {
		acct = min(acct, max(l.cfg.AccountMax, 0))
	}
	return max(d, acct)
}

// curve maps a score to its delay: none up to Free failures, then Base
// doubling per failure, capped at Max.
func (l *Limiter) curve(score float64) time.Duration {
	return l.steps(int(math.Floor(score+1e-9)) - l.cfg.Free)
}

// steps returns Base·2^(n-1) capped at Max, or 0 for n <= 0.
func (l *Limiter) steps(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	if n-1 >= 62 {
		return l.cfg.Max
	}
	if l.cfg.Base > l.cfg.Max>>(n-1) {
		return l.cfg.Max
	}
	return l.cfg.Base << (n - 1)
}

// decayed returns e's score at now.
func (l *Limiter) decayed(e *entry, now time.Time) float64 {
	dt := now.Sub(e.at)
	if dt <= 0 {
		return e.score
	}
	return e.score * math.Exp2(-float64(dt)/float64(l.cfg.Window))
}

// scoreLocked returns the counter's score at now, dropping it once it is
// forgotten. l.mu must be held.
func (l *Limiter) scoreLocked(k key, now time.Time) float64 {
	e := l.entries[k]
	if e == nil {
		return 0
	}
	s := l.decayed(e, now)
	if s < forgotten && !e.busyUntil.After(now) {
		l.removeLocked(e)
		return 0
	}
	return s
}

// addLocked adds delta to a counter, creating it (and evicting the least
// recently updated counter when full). l.mu must be held.
func (l *Limiter) addLocked(k key, delta float64, now time.Time) {
	e := l.entries[k]
	if e == nil {
		if len(l.entries) >= l.cfg.MaxEntries {
			l.removeLocked(l.lru.prev)
		}
		e = &entry{key: k, at: now}
		l.entries[k] = e
	} else {
		e.score = l.decayed(e, now)
		if now.After(e.at) {
			e.at = now
		}
		e.unlink()
	}
	e.score = min(e.score+delta, float64(l.cfg.Free+maxExcess))
	e.prev, e.next = &l.lru, l.lru.next
	l.lru.next.prev = e
	l.lru.next = e
}

// subtractLocked takes delta off an existing counter. l.mu must be held.
func (l *Limiter) subtractLocked(k key, delta float64, now time.Time) {
	e := l.entries[k]
	if e == nil {
		return
	}
	e.score = max(l.decayed(e, now)-delta, 0)
	if now.After(e.at) {
		e.at = now
	}
	if e.score < forgotten && !e.busyUntil.After(now) {
		l.removeLocked(e)
	}
}

// removeLocked drops e. l.mu must be held.
func (l *Limiter) removeLocked(e *entry) {
	if e == nil || e == &l.lru {
		return
	}
	e.unlink()
	delete(l.entries, e.key)
}

func (e *entry) unlink() {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// addrKey groups addresses: IPv4 (including IPv4-mapped IPv6) by address,
// IPv6 by /64, zones ignored. Invalid addresses share the zero key.
func addrKey(addr netip.Addr) [16]byte {
	a := addr.Unmap().WithZone("")
	if !a.IsValid() {
		return [16]byte{}
	}
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			a = p.Addr()
		}
	}
	return a.As16()
}

// accountHash returns the case-folded account name's hash under this
// Limiter's seed.
func (l *Limiter) accountHash(account string) uint64 {
	if len(account) > maxAccountKey {
		account = account[:maxAccountKey]
	}
	return maphash.String(l.seed, strings.ToLower(account))
}
