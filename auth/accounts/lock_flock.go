//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package accounts

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile opens (creating it 0600) and exclusively flocks path. Closing
// the returned file releases the lock. flock locks belong to the open file
// description, so they also exclude other goroutines of this process that
// open the file themselves.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("accounts: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("accounts: lock %s: %w", path, err)
	}
	return f, nil
}
