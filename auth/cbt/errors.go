package cbt

import "errors"

// Errors returned by [Policy.Check].
var (
	// ErrMismatch means the client bound its authentication to another
	// TLS channel, as a relaying attacker's would be.
	ErrMismatch = errors.New("cbt: channel bindings do not match this TLS channel")
	// ErrMissing means the policy is Strict and the client sent none.
	ErrMissing = errors.New("cbt: channel bindings required (CbtHardeningLevel Strict) but absent")
)
