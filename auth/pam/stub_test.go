//go:build !(linux && cgo && !nopam)

package pam

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/psremote/psremote/auth"
)

func TestStub(t *testing.T) {
	err := New("psremote").VerifyPassword(context.Background(), "root", "pw")
	if err == nil || errors.Is(err, auth.ErrBadCredentials) || !strings.Contains(err.Error(), "not compiled in") {
		t.Errorf("err = %v; want a not-compiled-in error", err)
	}
	if Supported() {
		t.Error("Supported() = true in a build without PAM")
	}
}
