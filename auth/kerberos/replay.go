package kerberos

import (
	"fmt"
	"sync"
	"time"
)

// DefaultReplayCacheSize bounds an Acceptor's replay cache when
// AcceptorConfig.ReplayCacheSize is zero: at the default skew of five
// minutes, about 200 authentications a second.
const DefaultReplayCacheSize = 1 << 17

type replayKey [32]byte

type replayEntry struct {
	key    replayKey
	expiry time.Time
}

// replayCache remembers authenticators (RFC 4120 section 3.2.3) for ttl
// after they were first seen. Entries are kept in arrival order, so expired
// ones are dropped from the front. When it is full of live entries it
// refuses new authenticators rather than forget one that could then be
// replayed. It is safe for concurrent use.
type replayCache struct {
	ttl time.Duration
	max int

	// mu protects the following.
	mu    sync.Mutex
	seen  map[replayKey]time.Time // key -> expiry
	queue []replayEntry           // arrival order; queue[head:] is live
	head  int
}

func newReplayCache(ttl time.Duration, max int) *replayCache {
	return &replayCache{ttl: ttl, max: max, seen: make(map[replayKey]time.Time)}
}

// check records k as seen at now, or fails with ErrReplay if it was seen
// less than ttl ago.
func (c *replayCache) check(k replayKey, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(now)
	if exp, ok := c.seen[k]; ok && now.Before(exp) {
		return fmt.Errorf("%w: the same authenticator was presented before", ErrReplay)
	}
	if len(c.seen) >= c.max {
		return fmt.Errorf("%w: replay cache full (%d authenticators within %v)", ErrReplay, c.max, c.ttl)
	}
	exp := now.Add(c.ttl)
	c.seen[k] = exp
	c.queue = append(c.queue, replayEntry{k, exp})
	return nil
}

// expireLocked drops the entries that expired by now from the front of
// the queue and compacts it when most of it is dead. c.mu must be held.
func (c *replayCache) expireLocked(now time.Time) {
	for c.head < len(c.queue) && !now.Before(c.queue[c.head].expiry) {
		e := c.queue[c.head]
		// A key seen again after it expired has a newer entry; keep it.
		if exp, ok := c.seen[e.key]; ok && exp.Equal(e.expiry) {
			delete(c.seen, e.key)
		}
		c.queue[c.head] = replayEntry{}
		c.head++
	}
	if c.head > 0 && c.head >= len(c.queue)/2 {
		n := copy(c.queue, c.queue[c.head:])
		clear(c.queue[n:])
		c.queue = c.queue[:n]
		c.head = 0
	}
}

// len returns the number of remembered authenticators.
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
