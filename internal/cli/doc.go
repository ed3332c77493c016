// Package cli implements the psremote command line: one cobra command per
// verb, each a thin adapter over the library packages. [Run] is the
// testable entry point; [Main] maps errors to exit statuses.
package cli
