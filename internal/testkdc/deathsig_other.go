//go:build !linux

package testkdc

import "os/exec"

// setDeathSignal does nothing where the kernel has no parent-death signal;
// the test's cleanup still kills the KDC.
func setDeathSignal(*exec.Cmd) {}
