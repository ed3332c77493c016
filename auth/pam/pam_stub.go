//go:build !(linux && cgo && !nopam)

package pam

import "errors"

// compiledIn reports whether PAM support is built in.
const compiledIn = false

// errNotCompiled is returned by every verification in builds without PAM.
var errNotCompiled = errors.New("pam: PAM support is not compiled in (it needs Linux, cgo and no nopam build tag)")

func (v *Verifier) authenticate(user, password string) error {
	return errNotCompiled
}
