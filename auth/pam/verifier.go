package pam

import (
	"context"
	"fmt"
	"strings"

	"github.com/psremote/psremote/auth"
)

// maxConcurrent bounds the PAM transactions in flight per Verifier. Each
// holds an OS thread for its whole duration, including the delay (about
// two seconds with pam_unix) that PAM adds after a failure.
const maxConcurrent = 32

var _ auth.PasswordVerifier = (*Verifier)(nil)

// Verifier checks passwords with PAM. It is safe for concurrent use.
// Construct it with [New].
type Verifier struct {
	service string
	sem     chan struct{} // one token per transaction in flight
}

// New returns a Verifier that uses the PAM service name service
// (config.DefaultPAMService is "psremote").
func New(service string) *Verifier {
	return &Verifier{service: service, sem: make(chan struct{}, maxConcurrent)}
}

// Name returns "pam", the source name used in configuration and logs.
func (v *Verifier) Name() string { return "pam" }

// Service returns the PAM service name.
func (v *Verifier) Service() string { return v.service }

// VerifyPassword runs pam_authenticate and then pam_acct_mgmt for user. A
// wrong password, an unknown user, or an account that PAM refuses (expired,
// locked, password change required) returns an error wrapping
// [auth.ErrBadCredentials]; any other error means PAM itself failed.
//
// PAM runs in its own goroutine so that VerifyPassword returns as soon as
// ctx is done. The PAM call itself cannot be interrupted: it runs to
// completion in the background and its result is discarded.
func (v *Verifier) VerifyPassword(ctx context.Context, user, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// C strings end at NUL: "alice\x00x" would be checked as "alice".
	if user == "" || strings.ContainsRune(user, 0) || strings.ContainsRune(password, 0) {
		return fmt.Errorf("%w: user %q", auth.ErrBadCredentials, user)
	}
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("pam: %w", context.Cause(ctx))
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-v.sem }()
		done <- v.authenticate(user, password)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("pam: %w", context.Cause(ctx))
	}
}

// Supported reports whether this build includes PAM support. Without it
// (no cgo, not Linux, or the nopam build tag) every verification fails.
func Supported() bool { return compiledIn }
