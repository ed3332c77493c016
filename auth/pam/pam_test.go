//go:build linux && cgo && !nopam

package pam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/msteinert/pam/v2"
	"github.com/psremote/psremote/auth"
)

func TestClassify(t *testing.T) {
	bad := []pam.Error{pam.ErrAuth, pam.ErrUserUnknown, pam.ErrAcctExpired,
		pam.ErrNewAuthtokReqd, pam.ErrAuthtokExpired, pam.ErrPermDenied, pam.ErrMaxtries}
	for _, s := range bad {
		if err := classify("authenticate", "u", s); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%v: err = %v; want ErrBadCredentials", s, err)
		}
	}
	other := []error{pam.ErrSystem, pam.ErrService, pam.ErrAuthinfoUnavail, pam.ErrBuf,
		pam.ErrConv, pam.ErrAbort, errors.New("something else")}
	for _, s := range other {
		err := classify("authenticate", "u", s)
		if errors.Is(err, auth.ErrBadCredentials) || !errors.Is(err, s) {
			t.Errorf("%v: err = %v; want it wrapped, not ErrBadCredentials", s, err)
		}
	}
	if !Supported() {
		t.Error("Supported() = false in a PAM build")
	}
}

// testUser creates a local user with a random name and password through
// useradd and chpasswd, and deletes it when the test ends.
func testUser(t *testing.T) (name, password string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a local user and to read /etc/shadow")
	}
	for _, cmd := range []string{"useradd", "chpasswd", "userdel", "chage"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("%s not found: %v", cmd, err)
		}
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(1e9))
	name = fmt.Sprintf("psremote-pamtest-%d", n)
	password = "Pw-" + rand.Text()
	if out, err := exec.Command("useradd", "-M", "-s", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}
	return name, password
}

// TestVerifyPassword runs real PAM transactions against a real account,
// through the "psremote" service, which needs no /etc/pam.d/psremote on
// Debian because the "other" service includes common-auth.
func TestVerifyPassword(t *testing.T) {
	name, password := testUser(t)
	if _, err := os.Stat("/etc/pam.d/psremote"); err == nil {
		t.Log("using /etc/pam.d/psremote")
	} else {
		t.Log("no /etc/pam.d/psremote: PAM uses /etc/pam.d/other")
	}
	v := New("psremote")
	ctx := context.Background()

	if err := v.VerifyPassword(ctx, name, password); err != nil {
		t.Fatalf("right password: %v", err)
	}
	t.Run("wrong", func(t *testing.T) {
		t.Parallel()
		if err := v.VerifyPassword(ctx, name, password+"x"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("err = %v; want ErrBadCredentials", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		t.Parallel()
		if err := v.VerifyPassword(ctx, name+"-nosuch", password); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("err = %v; want ErrBadCredentials", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		t.Parallel()
		// A failure makes pam_unix wait about two seconds; cancellation
		// must not wait for it.
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := v.VerifyPassword(ctx, name, password+"y")
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("err = %v; want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned after %v; want promptly after the deadline", d)
		}
	})
}

// TestAccountExpired checks that pam_acct_mgmt runs: the password is
// right, but the account has expired.
func TestAccountExpired(t *testing.T) {
	name, password := testUser(t)
	if out, err := exec.Command("chage", "-E", "0", name).CombinedOutput(); err != nil {
		t.Fatalf("chage: %v: %s", err, out)
	}
	err := New("psremote").VerifyPassword(context.Background(), name, password)
	if !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("err = %v; want ErrBadCredentials", err)
	}
	if err != nil && !strings.Contains(err.Error(), "account") {
		t.Errorf("err = %v; want it to come from the account step", err)
	}
}
