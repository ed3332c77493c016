package proc

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/identity"
)

func start(t *testing.T, h *Host, u identity.User, script string) (*Process, string) {
	t.Helper()
	p, err := h.Start(context.Background(), Spec{User: u, Path: "/bin/sh", Args: []string{"sh", "-c", script},
		Env: LoginEnv(u, nil), Dir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	p.Stdin.Close()
	go io.Copy(io.Discard, p.Stderr)
	out, _ := io.ReadAll(p.Stdout)
	p.Stdout.Close()
	p.Stderr.Close()
	return p, string(out)
}

func TestZeroIdentityRefused(t *testing.T) {
	self, _ := identity.Current()
	h := NewHost(self)
	_, err := h.Start(context.Background(), Spec{Path: "/bin/true", Args: []string{"true"}, Dir: "/"})
	if !errors.Is(err, ErrInvalidIdentity) {
		t.Errorf("got %v; want ErrInvalidIdentity", err)
	}
}

func TestRunsAsRequestedUser(t *testing.T) {
	self, _ := identity.Current()
	if !self.IsRoot() {
		t.Skip("needs root")
	}
	nobody, err := identity.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody account")
	}
	h := NewHost(self)
	p, out := start(t, h, nobody, "id -u; id -g; id -G; echo $HOME $USER $LOGNAME")
	want := strings.Join([]string{
		itoa(nobody.UID), itoa(nobody.GID), groupsString(nobody.Groups),
		nobody.Home + " nobody nobody"}, "\n") + "\n"
	if out != want {
		t.Errorf("got %q; want %q", out, want)
	}
	if p.ExitCode() != 0 {
		t.Errorf("exit %d", p.ExitCode())
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func groupsString(gs []uint32) string {
	var s []string
	for _, g := range gs {
		s = append(s, itoa(g))
	}
	return strings.Join(s, " ")
}

func TestNonRootCannotSwitchUser(t *testing.T) {
	self, _ := identity.Current()
	other := identity.New("other", self.UID+1, self.GID, nil, nil, "/", "/bin/sh")
	h := &Host{self: self, root: false, procs: map[*Process]struct{}{}}
	_, err := h.Start(context.Background(), Spec{User: other, Path: "/bin/true", Args: []string{"true"}, Dir: "/"})
	if !errors.Is(err, ErrIdentityMismatch) {
		t.Errorf("got %v; want ErrIdentityMismatch", err)
	}
}

func TestOwnSessionAndGroupKill(t *testing.T) {
	self, _ := identity.Current()
	h := NewHost(self)
	p, err := h.Start(context.Background(), Spec{User: self, Path: "/bin/sh",
		Args: []string{"sh", "-c", "sleep 100 & sleep 100 & echo ready; wait"}, Env: LoginEnv(self, nil), Dir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stdin.Close()
	defer p.Stdout.Close()
	defer p.Stderr.Close()
	buf := make([]byte, 6)
	io.ReadFull(p.Stdout, buf)
	sid, _ := getsid(p.Pid())
	if sid != p.Pid() {
		t.Errorf("session id %d; want %d (own session)", sid, p.Pid())
	}
	p.Kill()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not reaped")
	}
	if p.ExitCode() != 128+int(syscall.SIGKILL) {
		t.Errorf("exit %d", p.ExitCode())
	}
	// The background sleeps were in the group and are gone too.
	deadline := time.Now().Add(5 * time.Second)
	for liveInGroup(p.Pid()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d live processes left in group %d", liveInGroup(p.Pid()), p.Pid())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getsid(pid int) (int, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

func TestCloseKillsEverything(t *testing.T) {
	self, _ := identity.Current()
	h := NewHost(self)
	for range 3 {
		if _, err := h.Start(context.Background(), Spec{User: self, Path: "/bin/sleep", Args: []string{"sleep", "100"},
			Env: LoginEnv(self, nil), Dir: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if h.Running() != 0 {
		t.Errorf("%d running after Close", h.Running())
	}
	if _, err := h.Start(ctx, Spec{User: self, Path: "/bin/true", Args: []string{"true"}, Dir: "/"}); !errors.Is(err, ErrClosed) {
		t.Errorf("start after close: %v", err)
	}
}

func TestLoginEnvOverrides(t *testing.T) {
	u := identity.New("bob", 1000, 1000, nil, nil, "/home/bob", "/bin/bash")
	env := LoginEnv(u, [][2]string{{"PATH", "/opt/bin"}, {"X", "1"}})
	want := []string{"HOME=/home/bob", "USER=bob", "LOGNAME=bob", "SHELL=/bin/bash", "PATH=/opt/bin", "X=1"}
	if strings.Join(env, ",") != strings.Join(want, ",") {
		t.Errorf("got %v; want %v", env, want)
	}
}

func TestBadDirectoryAndMissingProgram(t *testing.T) {
	self, _ := identity.Current()
	h := NewHost(self)
	if _, err := h.Start(context.Background(), Spec{User: self, Path: "/bin/true", Args: []string{"true"}, Dir: "/no/such/dir"}); !errors.Is(err, ErrBadDirectory) {
		t.Errorf("bad dir: %v", err)
	}
	if _, err := h.Start(context.Background(), Spec{User: self, Path: "no-such-program-x", Args: []string{"x"}, Env: LoginEnv(self, nil), Dir: "/"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing program: %v", err)
	}
}

// liveInGroup counts processes of a group that are not zombies (an init
// that does not reap would otherwise make kill(-pgid, 0) succeed).
func liveInGroup(pgid int) int {
	n := 0
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
		f := strings.Fields(rest)
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			n++
		}
	}
	return n
}
