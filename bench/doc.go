// Package bench holds psremote's performance benchmarks. It has no
// non-test code: the benchmarks live in _test.go files and talk to the
// server the way a WinRM client does, with hand-built SOAP envelopes over
// HTTP, Basic authentication and keep-alive connections.
//
// Every figure is printed as a ratio against a baseline measured in the
// same run (local /bin/sh spawns, or the idle server's own RSS); nothing
// here asserts on timings. See README.md for the commands and the figures
// measured so far.
package bench
