package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/accounts"
)

// runUser runs `psremote user ...` with stdin in and the environment env.
func runUser(t *testing.T, in string, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	stdio := IO{
		In:     strings.NewReader(in),
		Out:    &out,
		Err:    &errb,
		Getenv: func(k string) string { return env[k] },
	}
	err = Run(context.Background(), stdio, append([]string{"user"}, args...))
	return out.String(), errb.String(), err
}

func verify(t *testing.T, dir, name, password string) error {
	t.Helper()
	return accounts.Open(filepath.Join(dir, "accounts")).VerifyPassword(context.Background(), name, password)
}

func TestUserAddFromEnv(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PSREMOTE_PASSWORD": "s3cret pw"}
	out, _, err := runUser(t, "", env, "add", "--state-dir", dir, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "added user alice") {
		t.Errorf("stdout = %q; want a confirmation", out)
	}
	if err := verify(t, dir, "alice", "s3cret pw"); err != nil {
		t.Errorf("store does not verify the password: %v", err)
	}
	if err := verify(t, dir, "alice", "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("wrong password: err = %v; want ErrBadCredentials", err)
	}

	_, _, err = runUser(t, "", env, "add", "--state-dir", dir, "alice")
	if !errors.Is(err, accounts.ErrExists) {
		t.Errorf("second add: err = %v; want ErrExists", err)
	}
}

func TestUserLifecycleFromStdin(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runUser(t, "pw one\r\nignored\n", nil, "add", "--state-dir", dir, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, dir, "bob", "pw one"); err != nil {
		t.Errorf("piped password with CRLF: %v", err)
	}
	if _, _, err := runUser(t, "no newline", nil, "add", "--state-dir", dir, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, dir, "alice", "no newline"); err != nil {
		t.Errorf("piped password without newline: %v", err)
	}

	out, _, err := runUser(t, "", nil, "list", "--state-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if out != "alice\nbob\n" {
		t.Errorf("list = %q; want alice and bob, sorted", out)
	}

	out, _, err = runUser(t, "pw two\n", nil, "passwd", "--state-dir", dir, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "bob") {
		t.Errorf("passwd stdout = %q", out)
	}
	if err := verify(t, dir, "bob", "pw two"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := verify(t, dir, "bob", "pw one"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("old password: err = %v; want ErrBadCredentials", err)
	}

	if _, _, err := runUser(t, "", nil, "del", "--state-dir", dir, "bob"); err != nil {
		t.Fatal(err)
	}
	out, _, _ = runUser(t, "", nil, "list", "--state-dir", dir)
	if out != "alice\n" {
		t.Errorf("list after del = %q", out)
	}
	if _, _, err := runUser(t, "", nil, "del", "--state-dir", dir, "bob"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("del again: err = %v; want ErrNotFound", err)
	}
	if _, _, err := runUser(t, "x\n", nil, "passwd", "--state-dir", dir, "bob"); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("passwd of deleted user: err = %v; want ErrNotFound", err)
	}
}

func TestUserConfigStateDir(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "psremote.yaml")
	if err := os.WriteFile(cfg, []byte("StateDir: "+stateDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PSREMOTE_PASSWORD": "pw"}
	if _, _, err := runUser(t, "", env, "add", "--config", cfg, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, stateDir, "carol", "pw"); err != nil {
		t.Errorf("store in the config's StateDir: %v", err)
	}
	fi, err := os.Stat(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("state dir mode %04o; want 0700", perm)
	}

	// --state-dir wins over --config.
	other := filepath.Join(dir, "other")
	if _, _, err := runUser(t, "", env, "add", "--config", cfg, "--state-dir", other, "dave"); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, other, "dave", "pw"); err != nil {
		t.Errorf("store in --state-dir: %v", err)
	}
}

func TestUserErrors(t *testing.T) {
	dir := t.TempDir()
	var ue *usageError
	for _, args := range [][]string{
		{"add", "--state-dir", dir},
		{"add", "--state-dir", dir, "a", "b"},
		{"del", "--state-dir", dir},
		{"list", "--state-dir", dir, "x"},
		{"frobnicate"},
		{"add", "--no-such-flag", "a"},
	} {
		if _, _, err := runUser(t, "pw\n", nil, args...); !errors.As(err, &ue) {
			t.Errorf("user %q: err = %v; want a usage error", args, err)
		}
	}
	if _, _, err := runUser(t, "", nil, "add", "--state-dir", dir, "alice"); err == nil || !strings.Contains(err.Error(), "PSREMOTE_PASSWORD") {
		t.Errorf("add with no password: err = %v; want one naming PSREMOTE_PASSWORD", err)
	}
	if _, _, err := runUser(t, "\n", nil, "add", "--state-dir", dir, "alice"); !errors.Is(err, accounts.ErrEmptyPassword) {
		t.Errorf("add with an empty line: err = %v; want ErrEmptyPassword", err)
	}
	long := strings.Repeat("x", maxPasswordLen+1) + "\n"
	if _, _, err := runUser(t, long, nil, "add", "--state-dir", dir, "alice"); err == nil {
		t.Error("add with an over-long password succeeded")
	}
	if _, _, err := runUser(t, "pw\n", nil, "add", "--state-dir", dir, "a:b"); !errors.Is(err, accounts.ErrInvalidName) {
		t.Errorf("add a:b: err = %v; want ErrInvalidName", err)
	}
	out, errOut, err := runUser(t, "", nil, "list", "--state-dir", dir)
	if err != nil || out != "" || !strings.Contains(errOut, "no accounts") {
		t.Errorf("list of empty store = %q, %q, %v", out, errOut, err)
	}
}
