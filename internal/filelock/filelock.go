//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

// Package filelock serialises writers of a file across processes with an
// exclusive flock(2) on a companion lock file. It implements no protocol.
package filelock

import (
	"fmt"
	"os"
	"syscall"
)

// Lock opens (creating it with mode 0600) and exclusively flocks path,
// waiting for other holders. The returned func releases the lock. flock
// locks belong to the open file description, so separate opens in one
// process exclude each other too.
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filelock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("filelock: %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
