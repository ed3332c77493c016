#!/usr/bin/env bash
# Zero-configuration demo: start `psremote serve` on its defaults (HTTPS on
# 127.0.0.1:5986, self-signed certificate kept in the state directory), add
# the current user to the account store, run a first command through it,
# and stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./psremote
[ -x "$bin" ] || go build -o "$bin" ./cmd/psremote

if [ "$(id -u)" = 0 ]; then state=/var/lib/psremote; else state=${XDG_STATE_HOME:-$HOME/.local/state}/psremote; fi
me=$(id -un)
export PSREMOTE_PASSWORD=${PSREMOTE_PASSWORD:-$(head -c 18 /dev/urandom | base64)}
"$bin" user del "$me" >/dev/null 2>&1 || true
"$bin" user add "$me"

"$bin" serve &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	[ -f "$state/tls/selfsigned.pem" ] && (exec 3<>/dev/tcp/127.0.0.1/5986) 2>/dev/null && break
	sleep 0.1
done

"$bin" identify localhost --ca-file "$state/tls/selfsigned.pem"
"$bin" run -H localhost --ca-file "$state/tls/selfsigned.pem" -- 'echo "hello from $(hostname) as $(id -un)"'
