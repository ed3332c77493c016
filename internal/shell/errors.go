package shell

import (
	"errors"
	"fmt"
)

// Errors the engine returns. The service layer maps each to the Windows
// fault for it; callers test them with errors.Is / errors.As.
var (
	// ErrShellNotFound covers unknown, expired and other users' shells
	// alike, so a user learns nothing about shells that are not theirs.
	ErrShellNotFound = errors.New("shell: shell not found")
	// ErrCommandNotFound means the shell has no such command.
	ErrCommandNotFound = errors.New("shell: command not found")
	// ErrTimedOut means a Receive found nothing to deliver in time.
	ErrTimedOut = errors.New("shell: operation timed out")
	// ErrAborted means the shell was deleted while the operation waited.
	ErrAborted = errors.New("shell: operation aborted")
	// ErrShellAccessDisabled means AllowRemoteShellAccess is false.
	ErrShellAccessDisabled = errors.New("shell: remote shell access is disabled")
	// ErrClosed means the engine is shutting down.
	ErrClosed = errors.New("shell: engine closed")
	// ErrExists means a client-chosen ShellId or CommandId is in use.
	ErrExists = errors.New("shell: id already in use")
)

// QuotaError reports an exceeded quota; Limit is the configured value.
type QuotaError struct {
	Quota Quota
	Limit uint32
}

// Quota names a quota.
type Quota int

// Quotas enforced by the engine (winrm-protocol.md 11).
const (
	QuotaShellsPerUser Quota = iota
	QuotaConcurrentUsers
	QuotaOperationsPerUser
)

func (e *QuotaError) Error() string {
	names := [...]string{"MaxShellsPerUser", "MaxConcurrentUsers", "MaxConcurrentOperationsPerUser"}
	return fmt.Sprintf("shell: quota %s (%d) exceeded", names[e.Quota], e.Limit)
}

// InvalidError reports a request the engine cannot act on (bad stream
// name, bad signal code, bad working directory); Code is the Windows
// error code to report, Msg the text.
type InvalidError struct {
	Code uint32
	Msg  string
	Err  error
}

func (e *InvalidError) Error() string { return "shell: " + e.Msg }
func (e *InvalidError) Unwrap() error { return e.Err }
