//go:build linux

package testkdc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill cmd if the test binary dies first,
// so that no krb5kdc outlives a crashed test.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
