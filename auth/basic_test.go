package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/identity"
)

// countingSource accepts one password and counts verifications; when gate
// is set, each verification waits for it (or the context).
type countingSource struct {
	password string
	calls    atomic.Int32
	gate     chan struct{}
}

func (s *countingSource) Name() string { return "test" }

func (s *countingSource) VerifyPassword(ctx context.Context, user, password string) error {
	s.calls.Add(1)
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if password != s.password {
		return ErrBadCredentials
	}
	return nil
}

func resolveTest(name, _ string) (identity.User, error) {
	return identity.New(name, 1000, 1000, nil, nil, "/home/"+name, "/bin/sh"), nil
}

func basicReq(user, pw string, secure bool) Request {
	return Request{Credentials: base64.StdEncoding.EncodeToString([]byte(user + ":" + pw)), Secure: secure}
}

func TestBasicAccept(t *testing.T) {
	src := &countingSource{password: "pw"}
	b := NewBasic(BasicConfig{Sources: []PasswordVerifier{src}, Resolve: resolveTest})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		req  Request
		want error
		user string
	}{
		{"ok", basicReq("alice", "pw", true), nil, "alice"},
		{"local domain", basicReq(`.\bob`, "pw", true), nil, "bob"},
		{"host domain", basicReq(`HOST\carol`, "pw", true), nil, "carol"},
		{"wrong password", basicReq("alice", "nope", true), ErrBadCredentials, ""},
		{"plain HTTP", basicReq("alice", "pw", false), ErrNotPermitted, ""},
		{"not base64", Request{Credentials: "!!!", Secure: true}, ErrMalformed, ""},
		{"no colon", Request{Credentials: base64.StdEncoding.EncodeToString([]byte("alice")), Secure: true}, ErrMalformed, ""},
		{"empty name", basicReq("", "pw", true), ErrMalformed, ""},
		{"too long", Request{Credentials: string(make([]byte, 8000)), Secure: true}, ErrMalformed, ""},
	} {
		st, err := b.Accept(ctx, tc.req)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			continue
		}
		if tc.want == nil && (!st.Done || st.Result.User.Name != tc.user || !st.Result.User.Valid() || st.Result.Mechanism != "Basic") {
			t.Errorf("%s: step = %+v", tc.name, st)
		}
	}
}

func TestBasicCache(t *testing.T) {
	src := &countingSource{password: "pw"}
	now := time.Unix(1e9, 0)
	b := NewBasic(BasicConfig{Sources: []PasswordVerifier{src}, Resolve: resolveTest, Now: func() time.Time { return now }})
	ctx := context.Background()
	for range 3 {
		if _, err := b.Accept(ctx, basicReq("alice", "pw", true)); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("%d verifications for 3 identical logins, want 1", n)
	}
	// A wrong password is never answered from the cache of a right one.
	if _, err := b.Accept(ctx, basicReq("alice", "pw2", true)); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	now = now.Add(basicCacheTTL + time.Second)
	if _, err := b.Accept(ctx, basicReq("alice", "pw", true)); err != nil {
		t.Fatal(err)
	}
	if n := src.calls.Load(); n != 3 {
		t.Fatalf("%d verifications, want 3 (expired entry re-verified)", n)
	}
}

// TestBasicSingleFlight: concurrent first logins with the same credentials
// verify once; different credentials are not coalesced.
func TestBasicSingleFlight(t *testing.T) {
	src := &countingSource{password: "pw", gate: make(chan struct{})}
	b := NewBasic(BasicConfig{Sources: []PasswordVerifier{src}, Resolve: resolveTest})
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = b.Accept(ctx, basicReq("alice", "pw", true)) })
	}
	var wrong error
	wg.Go(func() { _, wrong = b.Accept(ctx, basicReq("alice", "bad", true)) })
	// Wait until both distinct verifications started and the rest queued.
	deadline := time.Now().Add(10 * time.Second)
	for src.calls.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(src.gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
	}
	if !errors.Is(wrong, ErrBadCredentials) {
		t.Errorf("wrong password: %v", wrong)
	}
	if c := src.calls.Load(); c != 2 {
		t.Errorf("%d verifications, want 2 (one per distinct credential pair)", c)
	}
}

// TestBasicSingleFlightLeaderCancelled: when the request doing the
// verification goes away, a waiter verifies for itself instead of
// inheriting the cancellation.
func TestBasicSingleFlightLeaderCancelled(t *testing.T) {
	src := &countingSource{password: "pw", gate: make(chan struct{})}
	b := NewBasic(BasicConfig{Sources: []PasswordVerifier{src}, Resolve: resolveTest})
	lctx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() { _, err := b.Accept(lctx, basicReq("alice", "pw", true)); leaderErr <- err }()
	for src.calls.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	waiterErr := make(chan error, 1)
	go func() { _, err := b.Accept(context.Background(), basicReq("alice", "pw", true)); waiterErr <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	for src.calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	close(src.gate)
	if err := <-waiterErr; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}
