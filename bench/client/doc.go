// Package clientbench holds diagnostics for the client benchmarks in
// run.sh (one-shot latency, fan-out, streaming). It has no product code:
// the tests run psremote's own command line (internal/cli.Run) in-process,
// server and client in one test binary with their goroutines labelled
// side=server and side=client, so that a CPU profile of one run shows
// where each side spends its time. See README.md.
package clientbench
