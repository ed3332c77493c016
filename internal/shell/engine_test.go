package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
)

func testEngine(t *testing.T, mod func(*Config)) (*Engine, *proc.Host, Owner) {
	t.Helper()
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.NewHost(self)
	cfg := Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20,
		ExitGrace: 300 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	e := New(cfg, host)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("engine close: %v", err)
		}
		if err := host.Close(ctx); err != nil {
			t.Errorf("host close: %v", err)
		}
		if n := host.Running(); n != 0 {
			t.Errorf("%d processes left running", n)
		}
	})
	return e, host, Owner{Principal: "tester", RunAs: self, ClientIP: "127.0.0.1"}
}

// result collects everything a command produced through Receive.
type result struct {
	stdout, stderr bytes.Buffer
	exit           int
	receives       int
}

func collect(t *testing.T, e *Engine, o Owner, sid, cid string, budget int) *result {
	t.Helper()
	r := &result{}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout", "stderr"}, budget, 5*time.Second)
		if errors.Is(err, ErrTimedOut) {
			continue
		}
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		r.receives++
		total := 0
		for _, c := range res.Chunks {
			total += len(c.Data)
			switch c.Stream {
			case "stdout":
				r.stdout.Write(c.Data)
			case "stderr":
				r.stderr.Write(c.Data)
			}
		}
		if total > budget {
			t.Fatalf("receive returned %d bytes over budget %d", total, budget)
		}
		res.Commit(true)
		if res.Done {
			r.exit = res.ExitCode
			return r
		}
	}
	t.Fatal("command did not finish")
	return nil
}

func run(t *testing.T, e *Engine, o Owner, sid string, spec CommandSpec) *result {
	t.Helper()
	cid, err := e.Command(context.Background(), o, sid, spec)
	if err != nil {
		t.Fatalf("command: %v", err)
	}
	return collect(t, e, o, sid, cid, 1<<20)
}

func newShell(t *testing.T, e *Engine, o Owner) string {
	t.Helper()
	info, err := e.Create(context.Background(), o, CreateOptions{ResourceURI: "cmd"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return info.ShellID
}

func TestCommandOutputAndExitCodes(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	tests := []struct {
		name           string
		spec           CommandSpec
		stdout, stderr string
		exit           int
	}{
		{"echo", CommandSpec{Command: "echo hello"}, "hello\n", "", 0},
		{"args joined", CommandSpec{Command: "printf", Arguments: []string{"%s-%s", "a", "b"}}, "a-b", "", 0},
		{"stderr and exit", CommandSpec{Command: "echo out; echo err >&2; exit 7"}, "out\n", "err\n", 7},
		{"skip cmd shell execs argv", CommandSpec{Command: "printf", Arguments: []string{"%s|", "a;b", "$(x)"}, SkipCmdShell: true}, "a;b|$(x)|", "", 0},
		{"binary", CommandSpec{Command: `printf '\001\377\000x'`}, "\x01\xff\x00x", "", 0},
		{"killed by signal", CommandSpec{Command: "kill -TERM $$"}, "", "", 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, e, o, sid, tt.spec)
			if r.stdout.String() != tt.stdout || r.stderr.String() != tt.stderr || r.exit != tt.exit {
				t.Errorf("got stdout %q stderr %q exit %d; want %q %q %d", r.stdout.String(), r.stderr.String(), r.exit, tt.stdout, tt.stderr, tt.exit)
			}
		})
	}
}

func TestEnvironmentAndWorkingDirectory(t *testing.T) {
	e, _, o := testEngine(t, nil)
	dir := t.TempDir()
	info, err := e.Create(context.Background(), o, CreateOptions{Environment: [][2]string{{"FOO", "bar baz"}}, WorkingDirectory: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, e, o, info.ShellID, CommandSpec{Command: `echo "$FOO"; pwd; echo "$HOME" "$USER"`})
	want := "bar baz\n" + dir + "\n" + o.RunAs.Home + " " + o.RunAs.Name + "\n"
	if r.stdout.String() != want {
		t.Errorf("got %q; want %q", r.stdout.String(), want)
	}

	bad, _ := e.Create(context.Background(), o, CreateOptions{WorkingDirectory: `d:\windows`})
	_, err = e.Command(context.Background(), o, bad.ShellID, CommandSpec{Command: "true"})
	var ie *InvalidError
	if !errors.As(err, &ie) || ie.Code != 267 {
		t.Errorf("bad directory: got %v; want InvalidError 267", err)
	}
}

func TestServerEnvironmentNotInherited(t *testing.T) {
	t.Setenv("PSREMOTE_SECRET_CANARY", "leak")
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	r := run(t, e, o, sid, CommandSpec{Command: "env"})
	if strings.Contains(r.stdout.String(), "PSREMOTE_SECRET_CANARY") {
		t.Errorf("child inherited the server environment:\n%s", r.stdout.String())
	}
}

func TestStdinSendAndEnd(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "cat; echo end"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, part := range []string{"one ", "two\n", ""} {
		if err := e.Send(ctx, o, sid, cid, "stdin", []byte(part), part == ""); err != nil {
			t.Fatalf("send %q: %v", part, err)
		}
	}
	r := collect(t, e, o, sid, cid, 1<<20)
	if got := r.stdout.String(); got != "one two\nend\n" || r.exit != 0 {
		t.Errorf("got %q exit %d", got, r.exit)
	}
	// Input for a finished command is discarded, not an error.
	if err := e.Send(ctx, o, sid, cid, "stdin", []byte("late"), false); err != nil {
		t.Errorf("send after exit: %v", err)
	}
	if err := e.Send(ctx, o, sid, cid, "pr", []byte("x"), false); err == nil {
		t.Error("send on an undeclared stream succeeded")
	}
}

func TestSendToStuckChildTimesOut(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 30"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// The pipe holds 64 KiB; 1 MiB can never be written to a sleeping child.
	err = e.Send(ctx, o, sid, cid, "stdin", make([]byte, 1<<20), false)
	if !errors.Is(err, ErrTimedOut) {
		t.Errorf("got %v; want ErrTimedOut", err)
	}
}

// TestBackPressureLosesNothing streams much more output than the buffer
// holds, in small Receives, and compares it with the same command run
// locally.
func TestBackPressureLosesNothing(t *testing.T) {
	e, _, o := testEngine(t, func(c *Config) { c.OutputBuffer = 64 << 10 })
	sid := newShell(t, e, o)
	const script = "seq 1 300000; seq 1 1000 >&2"
	want, err := exec.Command("/bin/sh", "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: script})
	if err != nil {
		t.Fatal(err)
	}
	// Let the child fill the buffer and block on the pipe.
	time.Sleep(200 * time.Millisecond)
	r := collect(t, e, o, sid, cid, 50000)
	if !bytes.Equal(r.stdout.Bytes(), want) {
		t.Errorf("stdout differs: got %d bytes; want %d", r.stdout.Len(), len(want))
	}
	if r.receives < len(want)/50000 {
		t.Errorf("only %d receives for %d bytes with a 50000-byte budget", r.receives, len(want))
	}
}

func TestUncommittedReceiveIsRedelivered(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "echo first; sleep 0.2; echo second"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout"}, 1<<20, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res.Commit(false) // the reply never reached the client
	r := collect(t, e, o, sid, cid, 1<<20)
	if got := r.stdout.String(); got != "first\nsecond\n" {
		t.Errorf("got %q; want both lines once", got)
	}
}

// TestReceiveWaitsForPreviousCommit: a Receive that arrives while the
// previous reply is still being written (a pipelining client, or one that
// uses a new connection per request) waits for that reply's Commit and so
// never gets the same output twice.
func TestReceiveWaitsForPreviousCommit(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "echo first; sleep 0.3; echo second"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout"}, 1<<20, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	next := make(chan *result, 1)
	go func() { next <- collect(t, e, o, sid, cid, 1<<20) }()
	time.Sleep(50 * time.Millisecond) // the next Receive is now waiting
	got := ""
	for _, c := range res.Chunks {
		got += string(c.Data)
	}
	res.Commit(true)
	r := <-next
	if got+r.stdout.String() != "first\nsecond\n" {
		t.Errorf("first reply %q, rest %q; want each line once", got, r.stdout.String())
	}
}

// TestReceiveOvertakesStuckWriter: a reply whose write never finishes
// delays the next Receive only until that Receive's timeout; its output
// is then delivered again rather than lost.
func TestReceiveOvertakesStuckWriter(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "echo only"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout"}, 1<<20, 5*time.Second)
	if err != nil || len(res.Chunks) == 0 {
		t.Fatalf("receive: %v %+v", err, res)
	}
	start := time.Now()
	res2, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout"}, 1<<20, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("second receive: %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("second receive did not wait for the first reply's commit (%v)", d)
	}
	if len(res2.Chunks) == 0 || string(res2.Chunks[0].Data) != "only\n" {
		t.Errorf("second receive got %+v; want the unacknowledged output again", res2.Chunks)
	}
	res.Commit(true) // the stuck writer finally finishes: ignored
	res2.Commit(true)
}

func TestReceiveCancelledLosesNothing(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 0.3; echo late"})
	if err != nil {
		t.Fatal(err)
	}
	// A client that drops its connection mid long-poll.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.Receive(ctx, o, sid, cid, []string{"stdout"}, 1<<20, 5*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want context deadline", err)
	}
	r := collect(t, e, o, sid, cid, 1<<20)
	if r.stdout.String() != "late\n" {
		t.Errorf("got %q", r.stdout.String())
	}
}

func TestReceiveTimesOut(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 5"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = e.Receive(context.Background(), o, sid, cid, []string{"stdout", "stderr"}, 1<<20, 100*time.Millisecond)
	if !errors.Is(err, ErrTimedOut) {
		t.Fatalf("got %v; want ErrTimedOut", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timed out after %v", d)
	}
}

func TestNewerReceiveSupersedes(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 0.5; echo x"})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout"}, 1<<20, 10*time.Second)
		first <- err
	}()
	time.Sleep(50 * time.Millisecond)
	r := collect(t, e, o, sid, cid, 1<<20)
	if err := <-first; !errors.Is(err, ErrTimedOut) {
		t.Errorf("superseded receive: got %v; want ErrTimedOut", err)
	}
	if r.stdout.String() != "x\n" {
		t.Errorf("got %q", r.stdout.String())
	}
}

func TestSignals(t *testing.T) {
	e, host, o := testEngine(t, nil)
	sid := newShell(t, e, o)

	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 100"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SignalCommand(context.Background(), o, sid, cid, SignalCtrlC); err != nil {
		t.Fatal(err)
	}
	if r := collect(t, e, o, sid, cid, 1<<20); r.exit != 130 {
		t.Errorf("ctrl_c exit %d; want 130", r.exit)
	}
	if err := e.SignalCommand(context.Background(), o, sid, cid, SignalTerminate); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout"}, 1, time.Second); !errors.Is(err, ErrCommandNotFound) {
		t.Errorf("receive after terminate: got %v; want ErrCommandNotFound", err)
	}

	// A trap script sees SIGINT; the whole group gets it.
	cid, _ = e.Command(context.Background(), o, sid, CommandSpec{Command: `trap 'echo caught; exit 5' INT; sleep 100 & wait`})
	time.Sleep(100 * time.Millisecond)
	e.SignalCommand(context.Background(), o, sid, cid, SignalCtrlC)
	if r := collect(t, e, o, sid, cid, 1<<20); r.exit != 5 || r.stdout.String() != "caught\n" {
		t.Errorf("trap: got %q exit %d", r.stdout.String(), r.exit)
	}
	e.SignalCommand(context.Background(), o, sid, cid, SignalTerminate)

	// Terminate kills a running command's whole group.
	cid, _ = e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 100 & sleep 100"})
	time.Sleep(50 * time.Millisecond)
	if err := e.SignalCommand(context.Background(), o, sid, cid, SignalTerminate); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return host.Running() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestDeleteEndsProcessesAndAbortsReceive(t *testing.T) {
	e, host, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 100"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.Receive(context.Background(), o, sid, cid, []string{"stdout"}, 1<<20, 10*time.Second)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := e.Delete(context.Background(), o, sid); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrAborted) {
		t.Errorf("pending receive: got %v; want ErrAborted", err)
	}
	waitFor(t, func() bool { return host.Running() == 0 })
	if _, err := e.Get(o, sid); !errors.Is(err, ErrShellNotFound) {
		t.Errorf("get after delete: %v", err)
	}
}

func TestBackgroundDescendantDoesNotHang(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	start := time.Now()
	r := run(t, e, o, sid, CommandSpec{Command: "sleep 30 & echo started"})
	if r.stdout.String() != "started\n" || r.exit != 0 {
		t.Errorf("got %q exit %d", r.stdout.String(), r.exit)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestIdleTimeoutReclaimsShell(t *testing.T) {
	e, host, o := testEngine(t, func(c *Config) { c.IdleTimeout = 300 * time.Millisecond })
	sid := newShell(t, e, o)
	if _, err := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 100"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return e.Count() == 0 })
	waitFor(t, func() bool { return host.Running() == 0 })
	if _, err := e.Get(o, sid); !errors.Is(err, ErrShellNotFound) {
		t.Errorf("got %v; want ErrShellNotFound", err)
	}
}

func TestQuotas(t *testing.T) {
	e, _, o := testEngine(t, func(c *Config) {
		c.MaxShellsPerUser, c.MaxConcurrentUsers, c.MaxOperationsPerUser = 2, 1, 3
	})
	ctx := context.Background()
	s1 := newShell(t, e, o)
	newShell(t, e, o)
	var qe *QuotaError
	if _, err := e.Create(ctx, o, CreateOptions{}); !errors.As(err, &qe) || qe.Quota != QuotaShellsPerUser || qe.Limit != 2 {
		t.Errorf("third shell: got %v; want MaxShellsPerUser 2", err)
	}
	other := o
	other.Principal = "someone-else"
	if _, err := e.Create(ctx, other, CreateOptions{}); !errors.As(err, &qe) || qe.Quota != QuotaConcurrentUsers {
		t.Errorf("second user: got %v; want MaxConcurrentUsers", err)
	}
	// Operations: two live commands plus one request hit the limit of 3.
	c1, _ := e.Command(ctx, o, s1, CommandSpec{Command: "sleep 100"})
	e.Command(ctx, o, s1, CommandSpec{Command: "sleep 100"})
	end, err := e.BeginOp(o.Principal)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.BeginOp(o.Principal); !errors.As(err, &qe) || qe.Quota != QuotaOperationsPerUser {
		t.Errorf("fourth operation: got %v; want MaxConcurrentOperationsPerUser", err)
	}
	end()
	// Unlike Windows, terminating a command gives its operation back.
	e.SignalCommand(ctx, o, s1, c1, SignalTerminate)
	end1, err := e.BeginOp(o.Principal)
	if err != nil {
		t.Errorf("after terminate: %v", err)
	} else {
		end1()
	}
	if _, err := e.BeginOp(o.Principal); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func TestShellsAreIsolatedByPrincipal(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	cid, _ := e.Command(context.Background(), o, sid, CommandSpec{Command: "sleep 100"})
	other := o
	other.Principal = "mallory"
	ctx := context.Background()
	checks := map[string]error{
		"get":     func() error { _, err := e.Get(other, sid); return err }(),
		"command": func() error { _, err := e.Command(ctx, other, sid, CommandSpec{Command: "id"}); return err }(),
		"send":    e.Send(ctx, other, sid, cid, "stdin", []byte("x"), true),
		"receive": func() error {
			_, err := e.Receive(ctx, other, sid, cid, []string{"stdout"}, 10, time.Second)
			return err
		}(),
		"signal": e.SignalCommand(ctx, other, sid, cid, SignalTerminate),
		"delete": e.Delete(ctx, other, sid),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrShellNotFound) {
			t.Errorf("%s on another user's shell: got %v; want ErrShellNotFound", name, err)
		}
	}
	if n := len(e.List(other)); n != 0 {
		t.Errorf("other user lists %d shells", n)
	}
	if _, err := e.Get(o, sid); err != nil {
		t.Errorf("owner lost the shell: %v", err)
	}
}

func TestInvalidIdentityRefused(t *testing.T) {
	e, _, o := testEngine(t, nil)
	o.RunAs = identity.User{}
	if _, err := e.Create(context.Background(), o, CreateOptions{}); !errors.Is(err, proc.ErrInvalidIdentity) {
		t.Errorf("got %v; want ErrInvalidIdentity", err)
	}
}

func TestManyConcurrentCommands(t *testing.T) {
	e, host, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cid, err := e.Command(context.Background(), o, sid, CommandSpec{Command: fmt.Sprintf("echo %d", i)})
			if err != nil {
				t.Error(err)
				return
			}
			r := collect(t, e, o, sid, cid, 1<<20)
			if r.stdout.String() != fmt.Sprintf("%d\n", i) {
				t.Errorf("command %d: got %q", i, r.stdout.String())
			}
			e.SignalCommand(context.Background(), o, sid, cid, SignalTerminate)
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { return host.Running() == 0 })
}

func TestNoServerDescriptorsInherited(t *testing.T) {
	e, _, o := testEngine(t, nil)
	sid := newShell(t, e, o)
	// The shell's own fds: 0, 1, 2, and the one ls opens for /proc/self/fd.
	r := run(t, e, o, sid, CommandSpec{Command: "ls /proc/self/fd | wc -l"})
	if got := strings.TrimSpace(r.stdout.String()); got != "4" {
		out := run(t, e, o, sid, CommandSpec{Command: "ls -l /proc/self/fd"})
		t.Errorf("child has %s descriptors; want 4 (0-2 plus ls's own):\n%s", got, out.stdout.String())
	}
}
