//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package trust

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on path, creating it with mode 0600,
// and returns the function that releases it. flock locks belong to the open
// file description, so separate opens in one process exclude each other too.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("trust: lock known_hosts: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("trust: lock %s: %w", path, err)
	}
	// Closing the descriptor releases the lock.
	return func() { f.Close() }, nil
}
