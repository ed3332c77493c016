//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package accounts

import (
	"errors"
	"os"
)

func lockFile(path string) (*os.File, error) {
	return nil, errors.New("accounts: file locking is not supported on this system")
}
