package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/internal/testserver"
)

const (
	enterTestUser     = "enter-user"
	enterTestPassword = "enter-pw"
)

// enterServer starts an in-process server on loopback HTTP and returns
// its URL and shell engine. Commands run as the test's user with
// SHELL=/bin/sh, so enter's default command is a predictable sh -i.
func enterServer(t *testing.T) (string, *shell.Engine) {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{User: enterTestUser, Password: enterTestPassword,
		RunAs: func(u identity.User) identity.User { u.Shell = "/bin/sh"; return u }})
	return srv.URL(), srv.Engine
}

// lockedBuffer is an io.Writer the test can read while enter writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// enterSession is one enter run with its stdin fed from a pipe.
type enterSession struct {
	t           *testing.T
	stdin       *io.PipeWriter
	out, errOut *lockedBuffer
	done        chan struct{} // closed when enter has returned
	err         error         // enter's result, valid after done
}

// startEnter runs "enter URL args..." in the background, through Run
// when signals is nil, else through the enter command with signals as
// its signal source.
func startEnter(t *testing.T, url string, signals <-chan os.Signal, args ...string) *enterSession {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() }) // ends the client's stdin pump
	s := &enterSession{t: t, stdin: pw, out: &lockedBuffer{}, errOut: &lockedBuffer{}, done: make(chan struct{})}
	env := map[string]string{passwordEnv: enterTestPassword}
	stdio := IO{In: pr, Out: s.out, Err: s.errOut, Getenv: func(k string) string { return env[k] }}
	// A client configuration of its own: Basic over HTTP to the loopback
	// server needs it in TrustedHosts, and nothing touches ~/.config.
	clientCfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(clientCfg, []byte("TrustedHosts: 127.0.0.1\nAllowUnencrypted: true\nKnownHostsFile: known_hosts\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	argv := append([]string{"enter", url, "-u", enterTestUser, "--client-config", clientCfg}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	go func() {
		defer close(s.done)
		if signals == nil {
			s.err = Run(ctx, stdio, argv)
			return
		}
		cmd := newEnterCommand(stdio, &enterOptions{signals: signals})
		cmd.SetArgs(argv[1:])
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		s.err = cmd.ExecuteContext(ctx)
	}()
	return s
}

// typeLine writes one line to the session's stdin, as a cooked terminal
// delivers it.
func (s *enterSession) typeLine(line string) {
	s.t.Helper()
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(s.stdin, line+"\n")
		written <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			s.t.Fatalf("typing %q: %v", line, err)
		}
	case <-s.done:
		s.t.Fatalf("typing %q: enter already returned %v\nstdout: %q\nstderr: %q", line, s.err, s.out.String(), s.errOut.String())
	}
}

// waitOutput waits until stdout contains want.
func (s *enterSession) waitOutput(want string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(s.out.String(), want) {
		select {
		case <-s.done:
			s.t.Fatalf("waiting for %q: enter returned %v\nstdout: %q\nstderr: %q", want, s.err, s.out.String(), s.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q in output\nstdout: %q\nstderr: %q", want, s.out.String(), s.errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait returns enter's result.
func (s *enterSession) wait() error {
	s.t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(20 * time.Second):
		s.t.Fatalf("enter did not end\nstdout: %q\nstderr: %q", s.out.String(), s.errOut.String())
		return nil
	}
}

func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return -1
}

func checkNoShells(t *testing.T, eng *shell.Engine) {
	t.Helper()
	if n := eng.Count(); n != 0 {
		t.Errorf("%d shells left on the server; want 0", n)
	}
}

func TestEnterExitCode(t *testing.T) {
	url, eng := enterServer(t)
	s := startEnter(t, url, nil)
	s.typeLine("echo hi")
	s.waitOutput("hi\n")
	if e := s.errOut.String(); !strings.Contains(e, "$ ") && !strings.Contains(e, "# ") {
		t.Errorf("no sh prompt on stderr: %q", s.errOut.String())
	}
	s.typeLine("exit 3")
	if err := s.wait(); exitCodeOf(err) != 3 {
		t.Errorf("enter: %v; want exit status 3", err)
	}
	checkNoShells(t, eng)
}

func TestEnterEOF(t *testing.T) {
	url, eng := enterServer(t)
	s := startEnter(t, url, nil)
	s.typeLine("echo ready")
	s.waitOutput("ready\n")
	s.stdin.Close() // Ctrl-D
	if err := s.wait(); err != nil {
		t.Errorf("enter after EOF: %v; want exit status 0", err)
	}
	checkNoShells(t, eng)
}

func TestEnterCtrlCInterruptsCommand(t *testing.T) {
	url, eng := enterServer(t)
	sigs := make(chan os.Signal, 1)
	// exec: the server runs the line through sh -c, and dash does not
	// exec the last command itself; a wrapping sh would also get the
	// SIGINT and report 130 when the inner shell exits.
	s := startEnter(t, url, sigs, "--command", "exec /bin/sh -i")
	s.typeLine("echo started; sleep 100")
	s.waitOutput("started\n")
	time.Sleep(200 * time.Millisecond) // let sleep start
	sigs <- os.Interrupt
	s.typeLine("echo after")
	s.waitOutput("after\n") // sleep 100 would hold it for 100s
	s.typeLine("exit")
	if err := s.wait(); err != nil {
		t.Errorf("enter: %v; want exit status 0\nstdout: %q\nstderr: %q", err, s.out.String(), s.errOut.String())
	}
	checkNoShells(t, eng)
}

func TestEnterSignalsEndSession(t *testing.T) {
	url, eng := enterServer(t)
	tests := []struct {
		name     string
		signals  []os.Signal
		wantCode int
		wantNote string
	}{
		{"second Ctrl-C", []os.Signal{os.Interrupt, os.Interrupt}, 130, "second Ctrl-C"},
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, 143, "terminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := make(chan os.Signal, len(tt.signals))
			s := startEnter(t, url, sigs)
			s.typeLine("echo started; sleep 100")
			s.waitOutput("started\n")
			for _, sig := range tt.signals {
				sigs <- sig
			}
			if err := s.wait(); exitCodeOf(err) != tt.wantCode {
				t.Errorf("enter: %v; want exit status %d", err, tt.wantCode)
			}
			if !strings.Contains(s.errOut.String(), tt.wantNote) {
				t.Errorf("stderr %q does not mention %q", s.errOut.String(), tt.wantNote)
			}
			checkNoShells(t, eng)
		})
	}
}

func TestEnterUsage(t *testing.T) {
	stdio := IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}
	for _, args := range [][]string{
		{"enter", "host", "--pty"},
		{"enter"},
		{"enter", "a", "-H", "b"},
	} {
		var ue *usageError
		if err := Run(context.Background(), stdio, args); !errors.As(err, &ue) {
			t.Errorf("%q: %v; want a usage error", args, err)
		}
	}
}

func TestDefaultEnterCommand(t *testing.T) {
	for vendor, want := range map[string]string{
		"Microsoft Corporation": "cmd",
		"psremote":              `exec "${SHELL:-/bin/sh}" -i`,
		"":                      `exec "${SHELL:-/bin/sh}" -i`,
	} {
		if got := defaultEnterCommand(vendor); got != want {
			t.Errorf("defaultEnterCommand(%q) = %q; want %q", vendor, got, want)
		}
	}
}
