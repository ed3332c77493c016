package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/psremote/psremote/internal/proc"
)

// Stream indexes.
const (
	stdout = iota
	stderr
)

var streamNames = [2]string{"stdout", "stderr"}

// readChunk is the most a reader takes from a pipe at once.
const readChunk = 256 << 10

// errSuperseded ends a Receive replaced by a newer one for the same command.
var errSuperseded = errors.New("shell: receive superseded")

// CommandSpec is a Command request.
type CommandSpec struct {
	// CommandID is a client-chosen id, optional.
	CommandID string
	Command   string
	Arguments []string
	// SkipCmdShell executes Command directly with Arguments as argv
	// instead of through /bin/sh -c (WINRS_SKIP_CMD_SHELL).
	SkipCmdShell bool
}

// Signals a client may send ([MS-WSMV] 2.2.4.38).
type Signal int

// Signal kinds.
const (
	SignalTerminate Signal = iota
	SignalCtrlC
	SignalCtrlBreak
)

// Chunk is output taken by a Receive.
type Chunk struct {
	Stream string
	Data   []byte
	// End marks the stream's final chunk.
	End bool
}

// ReceiveResult is what one Receive delivers. The caller must call
// Commit exactly once: with true when the reply reached the client, with
// false to put the data back for the next Receive.
type ReceiveResult struct {
	CommandID string
	Chunks    []Chunk
	// Done reports the final state; ExitCode is valid then.
	Done     bool
	ExitCode int
	Commit   func(delivered bool)
}

type outStream struct {
	buf  []byte // unread output is buf[off:]
	off  int
	eof  bool
	want bool // the shell's OutputStreams include it
}

func (o *outStream) unread() int { return len(o.buf) - o.off }

// command is one process in a shell and its buffered output.
type command struct {
	id    string
	shell *shell
	eng   *Engine
	p     *proc.Process
	owner string // principal, for the operations quota

	mu         sync.Mutex
	out        [2]outStream
	changed    chan struct{} // closed and replaced whenever output or state changes
	space      chan struct{} // closed and replaced whenever buffered output is consumed
	exited     bool
	exitCode   int
	aborted    bool
	finished   bool // the final state reached the client
	opHeld     bool // counts against the operations quota
	stdinDone  bool
	inRead     [2]bool // a reader is blocked in read(2)
	recvGen    uint64
	recvCancel context.CancelFunc
	// unacked is non-nil while a Receive's result is being written to
	// the client: it is closed by that result's Commit. A later Receive
	// waits for it, so a client that sends its next Receive as soon as it
	// has read a reply (pipelining, or a new connection per request as
	// winrm-client does) never races the commit and gets the data twice.
	unacked   chan struct{}
	stdinMu   sync.Mutex    // serialises Send
	started   chan struct{} // closed once the start attempt is over; p is set then if it succeeded
	startedAt time.Time     // when p was started; set before started is closed
}

func (c *command) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Command starts a command in one of owner's shells. Everything that can
// be checked beforehand (identity, working directory, the program for a
// direct exec) is checked before the reply; the process itself is then
// started by an engine-owned goroutine, so the fork and exec overlap the
// reply's trip to the client and the client's first Receive. A start
// that still fails (which needs, for example, a program that disappeared
// in between) finishes the command with exit code 127 and the reason on
// stderr, as a shell reports a command it cannot run.
func (e *Engine) Command(ctx context.Context, owner Owner, shellID string, spec CommandSpec) (string, error) {
	s, release, err := e.acquire(owner, shellID)
	if err != nil {
		return "", err
	}
	defer release()

	env := proc.LoginEnv(owner.RunAs, s.opts.Environment)
	var argv []string
	path := ""
	if spec.SkipCmdShell {
		if spec.Command == "" {
			return "", &InvalidError{Code: 87, Msg: "the command is empty"}
		}
		if path, err = proc.LookPath(spec.Command, env); err != nil {
			return "", &InvalidError{Code: 2, Msg: "The system cannot find the file specified. ", Err: err}
		}
		argv = append([]string{spec.Command}, spec.Arguments...)
	} else {
		line := strings.Join(append([]string{spec.Command}, spec.Arguments...), " ")
		path = "/bin/sh"
		argv = []string{"/bin/sh", "-c", line}
	}
	dir := s.opts.WorkingDirectory
	if dir == "" {
		dir = owner.RunAs.Home
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			dir = "/"
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", &InvalidError{Code: 267, Msg: "The directory name is invalid. ", Err: proc.ErrBadDirectory}
	}
	if err := e.host.Check(owner.RunAs); err != nil {
		return "", fmt.Errorf("shell: command: %w", err)
	}
	id := strings.ToUpper(spec.CommandID)
	if id != "" && !validID(id) {
		return "", &InvalidError{Code: 87, Msg: "the requested CommandId is not valid"}
	}
	if id == "" {
		id = newID()
	}

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return "", ErrClosed
	}
	if err := e.takeOpLocked(owner.Principal); err != nil {
		e.mu.Unlock()
		return "", err
	}
	e.wg.Add(1) // the starter goroutine; under e.mu so Close cannot miss it
	e.mu.Unlock()
	c := &command{id: id, shell: s, eng: e, owner: owner.Principal, opHeld: true,
		changed: make(chan struct{}), space: make(chan struct{}), started: make(chan struct{})}
	for _, n := range s.opts.OutputStreams {
		for i, sn := range streamNames {
			if n == sn {
				c.out[i].want = true
			}
		}
	}

	s.mu.Lock()
	if s.deleted || s.commands[id] != nil {
		exists := !s.deleted
		s.mu.Unlock()
		e.wg.Done()
		c.releaseOp()
		if exists {
			return "", ErrExists
		}
		return "", ErrShellNotFound
	}
	s.commands[id] = c
	s.mu.Unlock()

	go c.start(proc.Spec{User: owner.RunAs, Path: path, Args: argv, Env: env, Dir: dir})
	return id, nil
}

// start starts the process and the goroutines that serve it.
func (c *command) start(spec proc.Spec) {
	defer c.eng.wg.Done()
	p, err := c.eng.host.Start(context.Background(), spec)
	c.mu.Lock()
	defer close(c.started)
	if err != nil {
		o := &c.out[stderr]
		if o.want {
			o.buf = append(o.buf, fmt.Sprintf("psremote: cannot run %s: %v\n", spec.Path, err)...)
		}
		c.out[stdout].eof, c.out[stderr].eof = true, true
		c.exited, c.exitCode = true, 127
		c.notifyLocked()
		c.mu.Unlock()
		return
	}
	c.p = p
	c.startedAt = time.Now()
	aborted := c.aborted
	c.eng.wg.Add(3)
	c.mu.Unlock()
	go c.read(stdout, p.Stdout)
	go c.read(stderr, p.Stderr)
	go c.wait()
	if aborted {
		// Terminated or deleted while starting.
		c.killProcess()
	}
}

// read copies one output pipe into its bounded buffer. When the buffer is
// full it stops reading, so the child blocks on a full pipe: output is
// slowed, never dropped.
func (c *command) read(i int, f *os.File) {
	defer c.eng.wg.Done()
	defer f.Close()
	tmp := make([]byte, readChunk)
	limit := c.eng.cfg.OutputBuffer
	for {
		c.mu.Lock()
		for !c.aborted && c.out[i].unread() >= limit {
			sp := c.space
			c.mu.Unlock()
			<-sp
			c.mu.Lock()
		}
		if c.aborted {
			c.mu.Unlock()
			return
		}
		room := min(limit-c.out[i].unread(), readChunk)
		c.inRead[i] = true
		c.mu.Unlock()

		n, err := f.Read(tmp[:room])
		c.mu.Lock()
		c.inRead[i] = false
		if err == nil {
			// wait may have set a deadline while this read was already
			// returning data: the pipe is not silent, so clear it.
			f.SetReadDeadline(time.Time{})
		}
		if n > 0 && c.out[i].want {
			o := &c.out[i]
			if o.off > 0 && o.off >= len(o.buf)/2 {
				o.buf = append(o.buf[:0], o.buf[o.off:]...)
				o.off = 0
			}
			o.buf = append(o.buf, tmp[:n]...)
		}
		if err != nil {
			c.out[i].eof = true
		}
		// Wake waiters only for something they act on: output a Receive
		// can deliver, or an end of stream once the process has exited
		// (before that an EOF changes nothing). Fewer wake-ups matter
		// for short commands.
		if n > 0 && c.out[i].want || err != nil && c.exited {
			c.notifyLocked()
		}
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// wait records the exit status, then bounds how long descendants that
// inherited the pipes may keep the command from finishing.
func (c *command) wait() {
	defer c.eng.wg.Done()
	<-c.p.Done()
	code := c.p.ExitCode()
	c.mu.Lock()
	c.exited, c.exitCode = true, code
	if c.finalLocked() {
		c.notifyLocked()
	}
	c.mu.Unlock()

	t := time.NewTimer(c.eng.cfg.ExitGrace)
	defer t.Stop()
	for {
		c.mu.Lock()
		done := c.aborted || c.out[stdout].eof && c.out[stderr].eof
		ch := c.changed
		c.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-t.C:
			// Descendants still hold the pipes: stop waiting for a pipe
			// that stayed silent. Only a reader blocked in read is cut
			// short; one waiting for buffer space is left alone, so no
			// output already written is lost.
			c.mu.Lock()
			now := time.Now()
			for i, f := range [2]*os.File{c.p.Stdout, c.p.Stderr} {
				if c.inRead[i] {
					f.SetReadDeadline(now)
				}
			}
			c.mu.Unlock()
			t.Reset(c.eng.cfg.ExitGrace)
		case <-c.eng.stop:
			return
		}
	}
}

// finalLocked reports whether the command has nothing more to produce.
func (c *command) finalLocked() bool {
	return c.exited && c.out[stdout].eof && c.out[stderr].eof
}

func (c *command) releaseOp() {
	c.mu.Lock()
	held := c.opHeld
	c.opHeld = false
	c.mu.Unlock()
	if held {
		c.eng.releaseOp(c.owner)
	}
}

// abort kills the process group and wakes every waiter.
func (c *command) abort() {
	c.mu.Lock()
	if c.aborted {
		c.mu.Unlock()
		return
	}
	c.aborted = true
	if c.recvCancel != nil {
		c.recvCancel()
	}
	c.notifyLocked()
	close(c.space)
	c.space = make(chan struct{})
	p := c.p
	c.mu.Unlock()
	if p != nil {
		c.killProcess()
	}
	// Otherwise start sees aborted and kills the process it started.
	c.releaseOp()
}

// killProcess ends the process group and unblocks the readers.
func (c *command) killProcess() {
	c.p.Kill()
	c.p.Stdin.Close()
	// Unblock readers waiting for pipe data from descendants that escaped
	// the process group.
	c.p.Stdout.SetReadDeadline(time.Now())
	c.p.Stderr.SetReadDeadline(time.Now())
}

// lookup finds a command of s, or the only command when id is empty.
func (s *shell) lookup(id string) (*command, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted {
		return nil, ErrShellNotFound
	}
	if id == "" {
		if len(s.commands) == 1 {
			for _, c := range s.commands {
				return c, nil
			}
		}
		return nil, ErrCommandNotFound
	}
	c, ok := s.commands[strings.ToUpper(id)]
	if !ok {
		return nil, ErrCommandNotFound
	}
	return c, nil
}

// Send writes input to a command's stdin; end closes it. Input for a
// finished command is discarded ([MS-WSMV] 3.1.4.13). The write honours
// ctx's deadline, so a child that never reads cannot hold the request.
func (e *Engine) Send(ctx context.Context, owner Owner, shellID, commandID, stream string, data []byte, end bool) error {
	s, release, err := e.acquire(owner, shellID)
	if err != nil {
		return err
	}
	defer release()
	if stream != "stdin" {
		return &InvalidError{Code: 87, Msg: fmt.Sprintf("the stream %q is not an input stream of this shell", stream)}
	}
	if commandID == "" {
		return &InvalidError{Code: 87, Msg: "input for a command shell must name a CommandId"}
	}
	c, err := s.lookup(commandID)
	if err != nil {
		return err
	}
	select {
	case <-c.started:
	case <-ctx.Done():
		return ErrTimedOut
	}
	c.stdinMu.Lock()
	defer c.stdinMu.Unlock()
	c.mu.Lock()
	closed := c.p == nil || c.stdinDone || c.exited || c.aborted
	c.mu.Unlock()
	if closed {
		return nil
	}
	if len(data) > 0 {
		if dl, ok := ctx.Deadline(); ok {
			c.p.Stdin.SetWriteDeadline(dl)
		} else {
			c.p.Stdin.SetWriteDeadline(time.Time{})
		}
		if _, err := c.p.Stdin.Write(data); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return ErrTimedOut
			}
			if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) {
				return nil // the child closed its input: discard like Windows
			}
			return fmt.Errorf("shell: send: %w", err)
		}
	}
	if end {
		c.mu.Lock()
		c.stdinDone = true
		c.mu.Unlock()
		c.p.Stdin.Close()
	}
	return nil
}

// Receive waits until a command has output or finishes, up to timeout, and
// takes at most budget bytes of output. A newer Receive for the same
// command supersedes a waiting one, which then times out.
func (e *Engine) Receive(ctx context.Context, owner Owner, shellID, commandID string, streams []string, budget int, timeout time.Duration) (*ReceiveResult, error) {
	s, release, err := e.acquire(owner, shellID)
	if err != nil {
		return nil, err
	}
	defer release()
	c, err := s.lookup(commandID)
	if err != nil {
		return nil, err
	}
	var want [2]bool
	for _, n := range streams {
		for i, sn := range streamNames {
			if n == sn && c.out[i].want {
				want[i] = true
			}
		}
	}
	budget = max(budget, 1)

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// Let the previous reply's write finish first. A writer that never
	// finishes (a client that stopped reading) is overtaken when this
	// Receive's own timeout ends: its Commit is then ignored.
	c.mu.Lock()
	for c.unacked != nil {
		ch := c.unacked
		c.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			timer.Reset(0)
			c.mu.Lock()
			if c.unacked == ch {
				c.unacked = nil
			}
			c.mu.Unlock()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
	}
	c.mu.Unlock()

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	if c.recvCancel != nil {
		c.recvCancel()
	}
	c.recvGen++
	gen := c.recvGen
	c.recvCancel = cancel
	c.mu.Unlock()
	for {
		c.mu.Lock()
		if c.aborted {
			c.mu.Unlock()
			return nil, ErrAborted
		}
		if c.recvGen != gen {
			c.mu.Unlock()
			return nil, ErrTimedOut
		}
		if res := c.takeLocked(want, budget, gen); res != nil {
			c.mu.Unlock()
			return res, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return nil, ErrTimedOut
		case <-rctx.Done():
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Superseded or aborted: the checks at the top of the loop
			// report which.
		}
	}
}

// takeLocked builds a result if there is anything to deliver: output of
// a wanted stream, or the final state. Output is only peeked; Commit
// consumes it.
func (c *command) takeLocked(want [2]bool, budget int, gen uint64) *ReceiveResult {
	final := c.finalLocked()
	has := false
	for i := range c.out {
		if want[i] && c.out[i].unread() > 0 {
			has = true
		}
	}
	if !has && !final {
		return nil
	}
	if c.finished && !has {
		// The final state was delivered already; report it again.
		return &ReceiveResult{CommandID: c.id, Done: true, ExitCode: c.exitCode, Commit: func(bool) {}}
	}
	res := &ReceiveResult{CommandID: c.id}
	var took [2]int
	// Share the budget between wanted streams so neither starves.
	nwant := 0
	for i := range want {
		if want[i] && c.out[i].unread() > 0 {
			nwant++
		}
	}
	left := budget
	for pass := 0; pass < 2; pass++ {
		for i := range c.out {
			if !want[i] {
				continue
			}
			avail := c.out[i].unread() - took[i]
			if avail <= 0 || left <= 0 {
				continue
			}
			n := avail
			if pass == 0 && nwant > 1 {
				n = min(n, budget/nwant)
			}
			n = min(n, left)
			took[i] += n
			left -= n
		}
	}
	allTaken := true
	for i := range c.out {
		if want[i] && took[i] < c.out[i].unread() {
			allTaken = false
		}
	}
	for i := range c.out {
		if took[i] > 0 {
			o := &c.out[i]
			res.Chunks = append(res.Chunks, Chunk{Stream: streamNames[i], Data: o.buf[o.off : o.off+took[i]]})
		}
	}
	if final && allTaken {
		res.Done = true
		res.ExitCode = c.exitCode
		for i := range c.out {
			if want[i] {
				res.Chunks = append(res.Chunks, Chunk{Stream: streamNames[i], End: true})
			}
		}
	}
	// Copy out: the buffer may be compacted before the reply is written.
	for i := range res.Chunks {
		res.Chunks[i].Data = append([]byte(nil), res.Chunks[i].Data...)
	}
	done := res.Done
	unacked := make(chan struct{})
	c.unacked = unacked
	res.Commit = func(delivered bool) {
		c.mu.Lock()
		if c.unacked == unacked {
			close(unacked)
			c.unacked = nil
		}
		if !delivered {
			c.mu.Unlock()
			return
		}
		if c.recvGen != gen {
			// A newer Receive already re-took this data.
			c.mu.Unlock()
			return
		}
		for i := range c.out {
			c.out[i].off += took[i]
		}
		if done {
			c.finished = true
			// Drop output of streams the client did not ask for.
			for i := range c.out {
				c.out[i].buf, c.out[i].off = nil, 0
			}
		}
		close(c.space)
		c.space = make(chan struct{})
		c.mu.Unlock()
		if done {
			c.releaseOp()
		}
	}
	return res
}

// SignalCommand delivers a signal to a command, or to every command of
// the shell when commandID is empty. Terminate ends the command's process
// group and forgets the command.
func (e *Engine) SignalCommand(ctx context.Context, owner Owner, shellID, commandID string, sig Signal) error {
	s, release, err := e.acquire(owner, shellID)
	if err != nil {
		return err
	}
	defer release()
	var cmds []*command
	if commandID == "" {
		s.mu.Lock()
		for _, c := range s.commands {
			cmds = append(cmds, c)
		}
		s.mu.Unlock()
	} else {
		c, err := s.lookup(commandID)
		if err != nil {
			return err
		}
		cmds = []*command{c}
	}
	for _, c := range cmds {
		switch sig {
		case SignalTerminate:
			s.mu.Lock()
			if s.commands[c.id] == c {
				delete(s.commands, c.id)
			}
			s.mu.Unlock()
			c.abort()
		case SignalCtrlC:
			c.signal(ctx, syscall.SIGINT)
		case SignalCtrlBreak:
			c.signal(ctx, syscall.SIGTERM)
		}
	}
	return nil
}

// signal delivers sig to the command's process group, once started.
func (c *command) signal(ctx context.Context, sig syscall.Signal) {
	select {
	case <-c.started:
	case <-ctx.Done():
		return
	}
	// A shell that has only just been exec'd can lose a signal while it
	// sets itself up and forks the command (dash drops a SIGINT that
	// arrives within its first millisecond or so), so a signal sent right
	// after Command waits until the process is signalSettle old.
	if wait := signalSettle - time.Since(c.startedAt); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	c.mu.Lock()
	live := c.p != nil && !c.exited && !c.aborted
	c.mu.Unlock()
	if live {
		_ = c.p.Signal(sig)
	}
}

// signalSettle is the youngest a process may be when it is signalled.
const signalSettle = 50 * time.Millisecond
