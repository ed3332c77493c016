//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package filelock

import "errors"

// Lock is unsupported on this system.
func Lock(path string) (unlock func(), err error) {
	return nil, errors.New("filelock: file locking is not supported on this system")
}
