package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Basic limits.
const (
	// maxBasicCredentials bounds the decoded "user:password" length.
	maxBasicCredentials = 4096
	// basicCacheTTL is how long a verified pair is remembered, like the
	// IIS/http.sys user token cache, so that clients sending Basic on
	// every request do not pay a slow hash or a PAM round trip each time.
	basicCacheTTL = 60 * time.Second
	// basicCacheMax bounds the cache; it is cleared when full.
	basicCacheMax = 4096
)

// BasicConfig configures [NewBasic].
type BasicConfig struct {
	// Sources are consulted in order; the first that accepts wins. A
	// source failure (not a mismatch) is remembered and reported only if no
	// later source accepts.
	Sources []PasswordVerifier
	// Resolve maps the user name to the local identity.
	Resolve Resolver
	// AllowUnencrypted permits Basic on plain HTTP (Service AllowUnencrypted).
	AllowUnencrypted bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Basic implements RFC 7617 Basic authentication with realm "WSMAN", as
// WinRM advertises it.
type Basic struct {
	cfg BasicConfig
	key [32]byte // HMAC key for cache entries, random per process

	mu       sync.Mutex
	cache    map[[32]byte]cacheEntry // guarded by mu
	inflight map[[32]byte]*flight    // guarded by mu: verifications under way
}

// flight is one verification under way; callers presenting the same
// credentials meanwhile wait for its outcome instead of hashing again.
type flight struct {
	done chan struct{}
	step Step  // set before done is closed
	err  error // set before done is closed
}

type cacheEntry struct {
	res     Result
	expires time.Time
}

// NewBasic returns a Basic mechanism.
func NewBasic(cfg BasicConfig) *Basic {
	b := &Basic{cfg: cfg, cache: make(map[[32]byte]cacheEntry), inflight: make(map[[32]byte]*flight)}
	if b.cfg.Now == nil {
		b.cfg.Now = time.Now
	}
	if _, err := rand.Read(b.key[:]); err != nil {
		panic(fmt.Sprintf("auth: no randomness: %v", err))
	}
	return b
}

// Scheme returns "Basic".
func (b *Basic) Scheme() string { return "Basic" }

// Challenge advertises Basic on HTTPS, and on HTTP only when unencrypted
// traffic is allowed.
func (b *Basic) Challenge(secure bool) (string, bool) {
	if !secure && !b.cfg.AllowUnencrypted {
		return "", false
	}
	return `Basic realm="WSMAN"`, true
}

// Accept verifies one Basic Authorization header.
func (b *Basic) Accept(ctx context.Context, r Request) (Step, error) {
	if !r.Secure && !b.cfg.AllowUnencrypted {
		return Step{}, ErrNotPermitted
	}
	if len(r.Credentials) > maxBasicCredentials*4/3+4 {
		return Step{}, fmt.Errorf("%w: Basic credentials too long", ErrMalformed)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Credentials))
	if err != nil {
		return Step{}, fmt.Errorf("%w: Basic: %v", ErrMalformed, err)
	}
	name, password, ok := strings.Cut(string(raw), ":")
	if !ok || name == "" {
		return Step{}, fmt.Errorf("%w: Basic: no user name", ErrMalformed)
	}
	name = stripLocalDomain(name)

	key := b.cacheKey(name, password)
	for {
		now := b.cfg.Now()
		b.mu.Lock()
		if e, ok := b.cache[key]; ok && now.Before(e.expires) {
			b.mu.Unlock()
			return Step{Done: true, Result: e.res}, nil
		}
		if f, ok := b.inflight[key]; ok {
			// The same name and password are being verified for another
			// request (a fan-out's first wave): share its outcome, so
			// argon2id or PAM runs once.
			b.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return Step{}, ctx.Err()
			}
			if errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded) {
				continue // that request went away; verify for this one
			}
			return f.step, f.err
		}
		f := &flight{done: make(chan struct{})}
		b.inflight[key] = f
		b.mu.Unlock()

		if r.Gate != nil {
			if err := r.Gate(ctx, name); err != nil {
				b.mu.Lock()
				delete(b.inflight, key)
				b.mu.Unlock()
				f.err = fmt.Errorf("%w: %w", ErrBadCredentials, err)
				close(f.done)
				return Step{}, f.err
			}
		}

		f.step, f.err = b.verify(ctx, name, password, key, now)
		b.mu.Lock()
		delete(b.inflight, key)
		b.mu.Unlock()
		close(f.done)
		return f.step, f.err
	}
}

// verify asks each source in turn and caches a success under key.
func (b *Basic) verify(ctx context.Context, name, password string, key [32]byte, now time.Time) (Step, error) {
	var sourceErr error
	for _, src := range b.cfg.Sources {
		err := src.VerifyPassword(ctx, name, password)
		if err == nil {
			u, err := b.cfg.Resolve(name, src.Name())
			if err != nil {
				return Step{}, fmt.Errorf("%w: %s: %v", ErrBadCredentials, name, err)
			}
			res := Result{Principal: name, User: u, Mechanism: "Basic"}
			b.remember(key, res, now)
			return Step{Done: true, Result: res}, nil
		}
		if !errors.Is(err, ErrBadCredentials) && sourceErr == nil {
			sourceErr = fmt.Errorf("auth: source %s: %w", src.Name(), err)
		}
	}
	if sourceErr != nil {
		return Step{}, sourceErr
	}
	return Step{}, fmt.Errorf("%w: user %q", ErrBadCredentials, name)
}

// stripLocalDomain accepts the Windows spellings of a local account:
// ".\user" and "HOST\user" are looked up as "user".
func stripLocalDomain(name string) string {
	if _, after, ok := strings.Cut(name, `\`); ok {
		return after
	}
	return name
}

func (b *Basic) cacheKey(name, password string) [32]byte {
	m := hmac.New(sha256.New, b.key[:])
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

func (b *Basic) remember(key [32]byte, res Result, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.cache) >= basicCacheMax {
		clear(b.cache)
	}
	b.cache[key] = cacheEntry{res: res, expires: now.Add(basicCacheTTL)}
}
