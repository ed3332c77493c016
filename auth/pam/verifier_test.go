package pam

import (
	"context"
	"errors"
	"testing"

	"github.com/psremote/psremote/auth"
)

func TestName(t *testing.T) {
	v := New("psremote")
	if v.Name() != "pam" || v.Service() != "psremote" {
		t.Errorf("Name, Service = %q, %q; want pam, psremote", v.Name(), v.Service())
	}
}

func TestRejectedBeforePAM(t *testing.T) {
	v := New("psremote")
	ctx := context.Background()
	for _, tt := range []struct{ user, password string }{
		{"", "pw"},
		{"root\x00x", "pw"},
		{"root", "pw\x00x"},
	} {
		if err := v.VerifyPassword(ctx, tt.user, tt.password); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("VerifyPassword(%q, %q): err = %v; want ErrBadCredentials", tt.user, tt.password, err)
		}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := v.VerifyPassword(canceled, "root", "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v; want context.Canceled", err)
	}
}
