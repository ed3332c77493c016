//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package trust

import "github.com/psremote/psremote/internal/filelock"

// lockFile takes an exclusive flock(2) on path; the returned func
// releases it.
func lockFile(path string) (unlock func(), err error) { return filelock.Lock(path) }
