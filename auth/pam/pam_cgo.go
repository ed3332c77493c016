//go:build linux && cgo && !nopam

package pam

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/msteinert/pam/v2"
	"github.com/psremote/psremote/auth"
)

// compiledIn reports whether PAM support is built in.
const compiledIn = true

// authenticate runs one PAM transaction. It blocks for as long as the
// modules take.
func (v *Verifier) authenticate(user, password string) (err error) {
	// Some modules keep per-thread state; keep the whole transaction on
	// one OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	conv := func(style pam.Style, msg string) (string, error) {
		switch style {
		case pam.PromptEchoOff:
			return password, nil
		case pam.PromptEchoOn:
			return user, nil
		case pam.ErrorMsg, pam.TextInfo:
			return "", nil
		}
		return "", fmt.Errorf("unsupported PAM message style %d", style)
	}
	tx, err := pam.StartFunc(v.service, user, conv)
	if err != nil {
		return classify("start", user, err)
	}
	defer func() {
		if endErr := tx.End(); endErr != nil && err == nil {
			err = fmt.Errorf("pam: end: %w", endErr)
		}
	}()
	if err := tx.Authenticate(pam.Silent | pam.DisallowNullAuthtok); err != nil {
		return classify("authenticate", user, err)
	}
	if err := tx.AcctMgmt(pam.Silent | pam.DisallowNullAuthtok); err != nil {
		return classify("account", user, err)
	}
	return nil
}

// classify wraps err from PAM step op: the statuses that mean the user
// may not log in wrap auth.ErrBadCredentials, everything else is a
// failure of PAM or of the account database.
func classify(op, user string, err error) error {
	var status pam.Error
	if errors.As(err, &status) {
		switch status {
		case pam.ErrAuth, pam.ErrUserUnknown, pam.ErrAcctExpired,
			pam.ErrNewAuthtokReqd, pam.ErrAuthtokExpired, pam.ErrPermDenied,
			pam.ErrMaxtries, pam.ErrCredInsufficient, pam.ErrCredExpired:
			return fmt.Errorf("%w: user %q: pam %s: %v", auth.ErrBadCredentials, user, op, status)
		}
	}
	return fmt.Errorf("pam: %s %q: %w", op, user, err)
}
