package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"github.com/psremote/psremote/internal/identity"
)

// Errors returned by [Host.Start].
var (
	// ErrInvalidIdentity means the spec's identity is the zero value.
	ErrInvalidIdentity = errors.New("proc: refusing to start a process without a valid identity")
	// ErrIdentityMismatch means a non-root host was asked to run a
	// process as another user.
	ErrIdentityMismatch = errors.New("proc: a non-root server can only run processes as itself")
	// ErrClosed means the host is shutting down.
	ErrClosed = errors.New("proc: host is closed")
	// ErrBadDirectory means the working directory is missing or not a directory.
	ErrBadDirectory = errors.New("proc: the directory name is invalid")
)

// Spec describes one process to start.
type Spec struct {
	// User is the identity the process runs as; it must be Valid.
	User identity.User
	// Path is the program to execute. A name without a slash is looked up
	// in the PATH of Env.
	Path string
	// Args is argv, Args[0] included.
	Args []string
	// Env is the complete environment (see [LoginEnv]); nothing is
	// inherited from the server.
	Env []string
	// Dir is the working directory.
	Dir string
}

// Host is the only place psremote starts processes. It runs each one in
// its own session and process group under the requested identity, and
// tracks them all so that shutdown can end every one.
type Host struct {
	self identity.User
	root bool

	mu     sync.Mutex
	procs  map[*Process]struct{} // guarded by mu
	closed bool                  // guarded by mu
	wg     sync.WaitGroup        // one per running reaper goroutine
	// sink receives signals the server was started ignoring; see
	// resetIgnoredSignals. Never read: dropping them keeps them ignored.
	sink chan os.Signal
}

// NewHost returns a process host for a server running as self. It marks
// every descriptor the server inherited from its own parent (beyond
// stdin, stdout and stderr) close-on-exec: Go opens its own descriptors
// that way, but inherited ones would otherwise leak into every child.
func NewHost(self identity.User) *Host {
	closeInheritedOnExec()
	h := &Host{self: self, root: self.IsRoot(), procs: make(map[*Process]struct{})}
	h.resetIgnoredSignals()
	return h
}

// childSignals are the signals a remote command must receive with their
// default disposition: ctrl_c (SIGINT), ctrl_break and terminate.
var childSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTERM}

// resetIgnoredSignals makes sure children do not inherit an "ignore"
// disposition the server itself inherited (a server started from a
// non-interactive shell with & ignores SIGINT, one under nohup SIGHUP):
// an ignored signal stays ignored across exec, so ctrl_c would never
// reach the command. Handling the signal in this process instead (into
// a channel nobody reads) gives children the default disposition.
func (h *Host) resetIgnoredSignals() {
	var ignored []os.Signal
	for _, sig := range childSignals {
		if signal.Ignored(sig) {
			ignored = append(ignored, sig)
		}
	}
	if len(ignored) > 0 {
		h.sink = make(chan os.Signal, 1)
		signal.Notify(h.sink, ignored...)
	}
}

func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		syscall.CloseOnExec(fd)
	}
}

// Process is a started child. Its pipes belong to the caller, who must
// close them; the host closes nothing but what the child inherited.
type Process struct {
	// Stdin is the write end of the child's standard input.
	Stdin *os.File
	// Stdout and Stderr are the read ends of the child's output pipes.
	Stdout, Stderr *os.File

	pid  int
	host *Host
	done chan struct{} // closed when the child has been reaped
	// exitCode is valid after done is closed.
	exitCode int
}

// Pid returns the child's process id (also its process group id).
func (p *Process) Pid() int { return p.pid }

// Done is closed when the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode returns the exit status once Done is closed: the exit code, or
// 128 plus the signal number when a signal ended the process (the shell
// convention).
func (p *Process) ExitCode() int {
	<-p.done
	return p.exitCode
}

// Signal sends sig to the child's whole process group. Signalling a group
// whose members are all gone is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	err := syscall.Kill(-p.pid, sig)
	if err == syscall.ESRCH {
		return nil
	}
	if err != nil {
		return fmt.Errorf("proc: signal %v to group %d: %w", sig, p.pid, err)
	}
	return nil
}

// Kill ends the whole process group with SIGKILL.
func (p *Process) Kill() { _ = p.Signal(syscall.SIGKILL) }

// Check reports whether the host may start processes as u: u must be
// valid, and a non-root host can only run processes as itself.
func (h *Host) Check(u identity.User) error {
	if !u.Valid() {
		return ErrInvalidIdentity
	}
	if !h.root && u.UID != h.self.UID {
		return ErrIdentityMismatch
	}
	return nil
}

// Start starts a process. The returned process's group is killed if ctx
// is cancelled before the process has started (not after: the caller owns
// it from then on).
func (h *Host) Start(ctx context.Context, spec Spec) (*Process, error) {
	if err := h.Check(spec.User); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if st, err := os.Stat(spec.Dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %q", ErrBadDirectory, spec.Dir)
	}
	path := spec.Path
	if !containsSlash(path) {
		lp, err := LookPath(path, spec.Env)
		if err != nil {
			return nil, err
		}
		path = lp
	}

	// The child's ends stay blocking and out of the runtime poller; only
	// psremote's ends are made non-blocking (so reads and writes honour
	// deadlines). This saves an epoll registration and removal per end.
	inR, inW, err := pipe(false)
	if err != nil {
		return nil, fmt.Errorf("proc: stdin pipe: %w", err)
	}
	outR, outW, err := pipe(true)
	if err != nil {
		closeAll(inR, inW)
		return nil, fmt.Errorf("proc: stdout pipe: %w", err)
	}
	errR, errW, err := pipe(true)
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, fmt.Errorf("proc: stderr pipe: %w", err)
	}

	cmd := &exec.Cmd{
		Path:   path,
		Args:   spec.Args,
		Env:    spec.Env,
		Dir:    spec.Dir,
		Stdin:  inR,
		Stdout: outW,
		Stderr: errW,
		// Setsid gives the child its own session and process group, so
		// signals reach every descendant that stays in the group and no
		// controlling terminal of the server leaks in.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if h.root {
		cmd.SysProcAttr.Credential = &syscall.Credential{
			Uid:    spec.User.UID,
			Gid:    spec.User.GID,
			Groups: spec.User.Groups,
		}
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		closeAll(inR, inW, outR, outW, errR, errW)
		return nil, ErrClosed
	}
	err = cmd.Start()
	closeAll(inR, outW, errW) // the child has its copies
	if err != nil {
		h.mu.Unlock()
		closeAll(inW, outR, errR)
		return nil, fmt.Errorf("proc: start %s: %w", spec.Path, err)
	}
	p := &Process{Stdin: inW, Stdout: outR, Stderr: errR, pid: cmd.Process.Pid, host: h, done: make(chan struct{})}
	h.procs[p] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()

	go h.reap(p, cmd)
	return p, nil
}

// reap waits for the child and records its status. It is owned by the
// host: Close waits for every reaper.
func (h *Host) reap(p *Process, cmd *exec.Cmd) {
	defer h.wg.Done()
	err := cmd.Wait()
	code := 0
	if st := cmd.ProcessState; st != nil {
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		} else {
			code = st.ExitCode()
		}
	} else if err != nil {
		code = 255
	}
	p.exitCode = code
	h.mu.Lock()
	delete(h.procs, p)
	h.mu.Unlock()
	close(p.done)
}

// Running returns the number of children not yet reaped.
func (h *Host) Running() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.procs)
}

// Close refuses new processes, kills every running process group and
// waits until all have been reaped or ctx ends.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	for p := range h.procs {
		p.Kill()
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("proc: waiting for children: %w", ctx.Err())
	}
}

// Output pipe size: F_SETPIPE_SZ (fcntl.h) and the size asked for.
const (
	fSetPipeSz = 1031
	pipeSize   = 1 << 20
)

// pipe returns a close-on-exec pipe. When parentReads is true the read
// end belongs to psremote and is non-blocking, otherwise the write end.
func pipe(parentReads bool) (r, w *os.File, err error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	mine := fds[1]
	if parentReads {
		mine = fds[0]
	}
	if parentReads {
		// A larger pipe lets a fast writer hand over more per wake-up;
		// failure (an unprivileged pipe-max-size limit) is harmless.
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[0]), fSetPipeSz, pipeSize)
	}
	if err := syscall.SetNonblock(mine, true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1"), nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}
