#!/usr/bin/env bash
# Runs every native fuzz target of the given packages for FUZZTIME each.
#
# Go 1.26's fuzz coordinator can report a spurious "context deadline
# exceeded" failure when -fuzztime expires while a worker is still busy
# (golang/go#75804, fixed in Go 1.27); it happens on loaded machines and
# writes no failing input. A run that failed only that way is retried
# (up to twice); a real finding always prints "Failing input written to" (and any
# other failure output), which fails the run at once.
set -euo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}

spurious() {
	grep -q 'context deadline exceeded' "$1" &&
		! grep -q 'Failing input written' "$1" &&
		[ "$(grep -cvE '^(fuzz: |--- FAIL: Fuzz|    context deadline exceeded$|FAIL$|exit status 1$|FAIL\s|ok\s|PASS$)' "$1")" = 0 ]
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in "$@"; do
	# A package that does not build (or a mistyped path) must fail here,
	# not silently contribute no targets.
	list=$($GO test -list '^Fuzz' "$pkg")
	targets=$(grep '^Fuzz' <<<"$list" || true)
	if [ -z "$targets" ]; then
		echo "fuzz: $pkg has no fuzz targets (FUZZPKGS lists it)" >&2
		exit 1
	fi
	for t in $targets; do
		for attempt in 1 2 3; do
			echo "fuzz $pkg $t ($FUZZTIME)"
			if $GO test -run='^$' -fuzz="^$t\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1 | tee "$log"; then
				break
			fi
			if [ "$attempt" -lt 3 ] && spurious "$log"; then
				echo "fuzz $pkg $t: spurious fuzztime deadline failure (golang/go#75804), no failing input; retrying"
				continue
			fi
			exit 1
		done
	done
done
