package shell

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/psremote/psremote/internal/guid"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
)

// Config holds the engine's quotas and timers. Zero quota values mean
// unlimited, except where noted.
type Config struct {
	// AllowRemoteShellAccess gates shell creation.
	AllowRemoteShellAccess bool
	// IdleTimeout removes a shell nobody touched for this long. Required.
	IdleTimeout time.Duration
	// MaxShellsPerUser, MaxConcurrentUsers and MaxOperationsPerUser are
	// the Winrs and Service quotas.
	MaxShellsPerUser     uint32
	MaxConcurrentUsers   uint32
	MaxOperationsPerUser uint32
	// OutputBuffer bounds the unread bytes held per command stream.
	// Required.
	OutputBuffer int
	// ExitGrace is how long output pipes may stay open after the command
	// process exited (held by background descendants) before the command
	// is considered done anyway. Default 2s.
	ExitGrace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Owner is who a shell belongs to and what its processes run as.
type Owner struct {
	// Principal is the authenticated name; shells are isolated by it.
	Principal string
	// RunAs is the identity commands execute under.
	RunAs identity.User
	// ClientIP is the address the shell was created from.
	ClientIP string
}

// CreateOptions are the client's settings for a new shell.
type CreateOptions struct {
	ShellID          string
	Name             string
	ResourceURI      string
	Environment      [][2]string
	WorkingDirectory string
	IdleTimeout      time.Duration
	InputStreams     []string
	OutputStreams    []string
	CodePage         string
	NoProfile        bool
}

// Info describes a live shell.
type Info struct {
	ShellID       string
	Name          string
	ResourceURI   string
	Owner         string
	ClientIP      string
	IdleTimeout   time.Duration
	InputStreams  []string
	OutputStreams []string
	RunTime       time.Duration
	Inactivity    time.Duration
}

// Engine is the WinRS shell engine: shells, their commands and output
// streams, quotas and the idle timer. It knows nothing of HTTP or SOAP.
// All methods are safe for concurrent use.
type Engine struct {
	cfg  Config
	host *proc.Host

	mu     sync.Mutex
	shells map[string]*shell     // guarded by mu
	users  map[string]*userState // guarded by mu
	closed bool                  // guarded by mu

	wg   sync.WaitGroup // reaper, command readers and waiters
	stop chan struct{}  // closed by Close
}

type userState struct {
	shells int
	ops    int
}

// New starts an engine whose commands run through host.
func New(cfg Config, host *proc.Host) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExitGrace == 0 {
		cfg.ExitGrace = 2 * time.Second
	}
	if cfg.OutputBuffer <= 0 {
		cfg.OutputBuffer = 1 << 20
	}
	e := &Engine{cfg: cfg, host: host, shells: map[string]*shell{}, users: map[string]*userState{}, stop: make(chan struct{})}
	e.wg.Add(1)
	go e.reapIdle()
	return e
}

type shell struct {
	id       string
	owner    Owner
	opts     CreateOptions
	idle     time.Duration
	created  time.Time
	lastUsed atomic.Int64 // unix nanoseconds
	active   atomic.Int32 // requests in progress on this shell

	mu       sync.Mutex
	commands map[string]*command // guarded by mu
	deleted  bool                // guarded by mu
}

func (s *shell) info(now time.Time) Info {
	last := time.Unix(0, s.lastUsed.Load())
	return Info{ShellID: s.id, Name: s.opts.Name, ResourceURI: s.opts.ResourceURI, Owner: s.owner.Principal,
		ClientIP: s.owner.ClientIP, IdleTimeout: s.idle, InputStreams: s.opts.InputStreams,
		OutputStreams: s.opts.OutputStreams, RunTime: now.Sub(s.created), Inactivity: now.Sub(last)}
}

// BeginOp counts one in-flight operation against the user's
// MaxConcurrentOperationsPerUser quota. The returned func ends it.
func (e *Engine) BeginOp(principal string) (func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.takeOpLocked(principal); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { e.releaseOp(principal) }) }, nil
}

func (e *Engine) takeOpLocked(principal string) error {
	u := e.users[principal]
	if u == nil {
		u = &userState{}
		e.users[principal] = u
	}
	if e.cfg.MaxOperationsPerUser > 0 && uint32(u.ops) >= e.cfg.MaxOperationsPerUser {
		e.dropUserLocked(principal)
		return &QuotaError{Quota: QuotaOperationsPerUser, Limit: e.cfg.MaxOperationsPerUser}
	}
	u.ops++
	return nil
}

func (e *Engine) releaseOp(principal string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u := e.users[principal]; u != nil && u.ops > 0 {
		u.ops--
		e.dropUserLocked(principal)
	}
}

func (e *Engine) dropUserLocked(principal string) {
	if u := e.users[principal]; u != nil && u.ops == 0 && u.shells == 0 {
		delete(e.users, principal)
	}
}

// Create makes a new shell for owner.
func (e *Engine) Create(ctx context.Context, owner Owner, opts CreateOptions) (Info, error) {
	if !owner.RunAs.Valid() {
		return Info{}, fmt.Errorf("shell: create: %w", proc.ErrInvalidIdentity)
	}
	if !e.cfg.AllowRemoteShellAccess {
		return Info{}, ErrShellAccessDisabled
	}
	if len(opts.InputStreams) == 0 {
		opts.InputStreams = []string{"stdin"}
	}
	if len(opts.OutputStreams) == 0 {
		opts.OutputStreams = []string{"stdout", "stderr"}
	}
	for _, n := range opts.InputStreams {
		if n != "stdin" {
			return Info{}, &InvalidError{Code: 87, Msg: fmt.Sprintf("the input stream %q is not supported by this shell", n)}
		}
	}
	for _, n := range opts.OutputStreams {
		if n != "stdout" && n != "stderr" {
			return Info{}, &InvalidError{Code: 87, Msg: fmt.Sprintf("the output stream %q is not supported by this shell", n)}
		}
	}
	if opts.ShellID != "" && !validID(opts.ShellID) {
		return Info{}, &InvalidError{Code: 87, Msg: "the requested ShellId is not valid"}
	}
	idle := e.cfg.IdleTimeout
	if opts.IdleTimeout > 0 && opts.IdleTimeout < idle {
		// Windows treats requests below 60 s as 60 s.
		idle = max(opts.IdleTimeout, min(time.Minute, e.cfg.IdleTimeout))
	}
	now := e.cfg.Now()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Info{}, ErrClosed
	}
	u := e.users[owner.Principal]
	if u == nil || u.shells == 0 {
		if e.cfg.MaxConcurrentUsers > 0 && uint32(e.activeUsersLocked()) >= e.cfg.MaxConcurrentUsers {
			return Info{}, &QuotaError{Quota: QuotaConcurrentUsers, Limit: e.cfg.MaxConcurrentUsers}
		}
	}
	if u != nil && e.cfg.MaxShellsPerUser > 0 && uint32(u.shells) >= e.cfg.MaxShellsPerUser {
		return Info{}, &QuotaError{Quota: QuotaShellsPerUser, Limit: e.cfg.MaxShellsPerUser}
	}
	id := strings.ToUpper(opts.ShellID)
	if id == "" {
		id = newID()
	}
	if _, ok := e.shells[id]; ok {
		return Info{}, ErrExists
	}
	if u == nil {
		u = &userState{}
		e.users[owner.Principal] = u
	}
	u.shells++
	s := &shell{id: id, owner: owner, opts: opts, idle: idle, created: now, commands: map[string]*command{}}
	s.lastUsed.Store(now.UnixNano())
	e.shells[id] = s
	return s.info(now), nil
}

// activeUsersLocked counts users owning at least one shell.
func (e *Engine) activeUsersLocked() int {
	n := 0
	for _, u := range e.users {
		if u.shells > 0 {
			n++
		}
	}
	return n
}

// acquire finds owner's shell, marks it in use and touches its idle timer.
// The returned func must be called when the request ends.
func (e *Engine) acquire(owner Owner, id string) (*shell, func(), error) {
	e.mu.Lock()
	s, ok := e.shells[strings.ToUpper(strings.TrimPrefix(id, "uuid:"))]
	if !ok {
		s, ok = e.shells[strings.ToUpper(id)]
	}
	e.mu.Unlock()
	if !ok || s.owner.Principal != owner.Principal {
		return nil, nil, ErrShellNotFound
	}
	s.active.Add(1)
	s.lastUsed.Store(e.cfg.Now().UnixNano())
	return s, func() {
		s.lastUsed.Store(e.cfg.Now().UnixNano())
		s.active.Add(-1)
	}, nil
}

// Get describes one of owner's shells.
func (e *Engine) Get(owner Owner, id string) (Info, error) {
	s, release, err := e.acquire(owner, id)
	if err != nil {
		return Info{}, err
	}
	defer release()
	return s.info(e.cfg.Now()), nil
}

// List describes every shell of owner, ordered by creation.
func (e *Engine) List(owner Owner) []Info {
	now := e.cfg.Now()
	e.mu.Lock()
	var ss []*shell
	for _, s := range e.shells {
		if s.owner.Principal == owner.Principal {
			ss = append(ss, s)
		}
	}
	e.mu.Unlock()
	sort.Slice(ss, func(i, j int) bool { return ss[i].created.Before(ss[j].created) })
	out := make([]Info, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.info(now))
	}
	return out
}

// Count returns the number of live shells.
func (e *Engine) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.shells)
}

// Delete removes one of owner's shells, ending every process in it.
func (e *Engine) Delete(ctx context.Context, owner Owner, id string) error {
	s, release, err := e.acquire(owner, id)
	if err != nil {
		return err
	}
	release()
	e.remove(s)
	return nil
}

// remove unregisters s, kills its commands and releases its quotas.
func (e *Engine) remove(s *shell) {
	e.mu.Lock()
	if cur, ok := e.shells[s.id]; !ok || cur != s {
		e.mu.Unlock()
		return
	}
	delete(e.shells, s.id)
	if u := e.users[s.owner.Principal]; u != nil {
		u.shells--
		e.dropUserLocked(s.owner.Principal)
	}
	e.mu.Unlock()

	s.mu.Lock()
	s.deleted = true
	cmds := make([]*command, 0, len(s.commands))
	for _, c := range s.commands {
		cmds = append(cmds, c)
	}
	clear(s.commands)
	s.mu.Unlock()
	for _, c := range cmds {
		c.abort()
	}
}

// reapIdle removes shells whose idle timer expired (Shell Idle Timeout
// Timer, [MS-WSMV] 3.1.5.3).
func (e *Engine) reapIdle() {
	defer e.wg.Done()
	tick := min(max(e.cfg.IdleTimeout/20, 50*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		now := e.cfg.Now().UnixNano()
		var idle []*shell
		e.mu.Lock()
		for _, s := range e.shells {
			if s.active.Load() == 0 && now-s.lastUsed.Load() > int64(s.idle) {
				idle = append(idle, s)
			}
		}
		e.mu.Unlock()
		for _, s := range idle {
			e.remove(s)
		}
	}
}

// Close refuses new shells, removes every shell (ending their processes)
// and waits for the engine's goroutines or ctx.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.stop)
	}
	all := make([]*shell, 0, len(e.shells))
	for _, s := range e.shells {
		all = append(all, s)
	}
	e.mu.Unlock()
	for _, s := range all {
		e.remove(s)
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shell: close: %w", ctx.Err())
	}
}

// newID returns an upper-case random GUID.
func newID() string { return guid.New() }

// validID accepts client-chosen ids: GUID-like strings of at most 64
// characters.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '{' || r == '}' || r == ':') {
			return false
		}
	}
	return true
}
