#!/bin/sh
# Runs psremote's benchmarks and prints every figure bench/README.md
# quotes: the three reports, the Go benchmarks and the server's CPU
# profile for warm commands.
#
# Usage: bench/run.sh [OUTDIR]
# OUTDIR (default: a new /tmp/psremote-bench.XXXXXX) receives the profile
# and the test binary it belongs to. Takes about two minutes.
set -eu
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d /tmp/psremote-bench.XXXXXX)}
mkdir -p "$out"

echo "== machine"
echo "$(nproc) CPUs, $(uname -sr), $(go version | cut -d' ' -f3-)"
uptime
echo "(figures are only comparable on an otherwise idle machine)"

echo
echo "== reports (PSREMOTE_BENCH=1)"
PSREMOTE_BENCH=1 go test -count=1 -v -timeout 30m \
	-run '^(TestWarmLatency|TestThroughput|TestIdleShellRSS)$' ./bench

echo
echo "== Go benchmarks (1,000 iterations each)"
go test -count=1 -run '^$' -bench . -benchtime=1000x -timeout 30m ./bench

echo
echo "== CPU profile of warm commands (5,000 iterations)"
go test -count=1 -run '^$' -bench 'WarmCommand/psremote' -benchtime=5000x \
	-cpuprofile "$out/cpu.out" -o "$out/bench.test" ./bench
echo "-- samples by side (unlabelled = server and runtime)"
go tool pprof -tags "$out/bench.test" "$out/cpu.out" 2>/dev/null
echo "-- server: top functions by flat time"
go tool pprof -top -nodecount=20 -tagignore=side=client "$out/bench.test" "$out/cpu.out" 2>/dev/null | sed -n '/flat%/,$p'
echo "-- server: time under selected functions (cumulative; per command = total / 5000)"
go tool pprof -top -cum -nodecount=2000 -tagignore=side=client "$out/bench.test" "$out/cpu.out" 2>/dev/null >"$out/cum.txt"
for f in \
	'net/http.(*conn).serve' \
	'github.com/psremote/psremote/internal/service.(*Service).Handle' \
	'github.com/psremote/psremote/wsman.Parse' \
	'github.com/psremote/psremote/internal/proc.(*Host).Start' \
	'os.StartProcess' \
	'os.Pipe' \
	'os.Stat' \
	'github.com/psremote/psremote/internal/listener.(*handler).write' \
	'github.com/psremote/psremote/internal/service.(*Service).ok' \
	'net/http.(*conn).readRequest' \
	'github.com/psremote/psremote/internal/proc.(*Host).reap' \
	'github.com/psremote/psremote/internal/shell.(*command).read' \
	'github.com/psremote/psremote/internal/shell.(*command).abort' \
	'runtime.findRunnable' \
	'runtime.gcBgMarkWorker'; do
	awk -v f="$f" '$6 == f {
		v = $4; unit = 1
		if (v ~ /ms$/) { sub(/ms$/, "", v); unit = 0.001 } else { sub(/s$/, "", v) }
		printf "%8s %7s %6.0f us/command  %s\n", $4, $5, v * unit * 1e6 / 5000, f
	}' "$out/cum.txt"
done
echo "profile: $out/cpu.out (binary $out/bench.test)"
