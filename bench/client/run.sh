#!/bin/bash
# Client benchmarks for psremote run (see bench/client/README.md):
#   1. one-shot `psremote run HOST -- true` (a fresh process each time)
#      against `ssh localhost true` and a one-shot pywinrm script;
#   2. fan-out of `true` to 1,000 endpoints: wall time and client peak RSS;
#   3. streaming 1 GiB of stdout: MB/s over HTTP and HTTPS against a local
#      pipe and ssh.
# Every figure is measured in this run and printed with its ratio and the
# target's verdict; nothing fails on a timing.
#
# Usage: bench/client/run.sh [OUTDIR]
# OUTDIR (default: a new /tmp/psremote-clientbench.XXXXXX) keeps the logs,
# hyperfine JSON, the CPU profile and its test binary. The servers, sshd
# and their temporary state are removed on exit. About 4 minutes.
#
# Knobs (environment): RUNS (one-shot runs per command, default 30),
# FANOUT_N (1000), THROTTLES ("32 128 256"), FANOUT_REPS (3),
# FANOUT_HTTPS_PORT / FANOUT_HTTP_PORT (25986 / 25985, bound on 127.1.x.y
# and 127.2.x.y), STREAM_BYTES (1073741824), STREAM_RUNS (3),
# SSH_PORT (2222), PROFILE (1: also run the in-process CPU profile of
# streaming and the one-shot parts test; 0: skip).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-30}
FANOUT_N=${FANOUT_N:-1000}
THROTTLES=${THROTTLES:-"32 128 256"}
FANOUT_REPS=${FANOUT_REPS:-3}
FANOUT_HTTPS_PORT=${FANOUT_HTTPS_PORT:-25986}
FANOUT_HTTP_PORT=${FANOUT_HTTP_PORT:-25985}
STREAM_BYTES=${STREAM_BYTES:-1073741824}
STREAM_RUNS=${STREAM_RUNS:-3}
export SSH_PORT=${SSH_PORT:-2222}
PROFILE=${PROFILE:-1}
SSHD_RECIPE=${SSHD_RECIPE:-/work/shared/recipes/sshd.sh}

OUT=${1:-$(mktemp -d /tmp/psremote-clientbench.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d /tmp/psremote-clientbench-work.XXXXXX)
export SSH_DIR=$W/sshd
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ -f "$SSH_DIR/sshd.master.pid" ]; then bash "$SSHD_RECIPE" stop >/dev/null 2>&1 || true; fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- setup
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
[ -x /usr/bin/time ] || need+=(time)
command -v jq >/dev/null || need+=(jq)
/usr/bin/python3 -c 'import winrm' 2>/dev/null || need+=(python3-winrm)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]} (apt)"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -f "$SSHD_RECIPE" ] || { say "missing $SSHD_RECIPE"; exit 1; }

# pywinrm over https: these override server_cert_validation='ignore'
# (test-peers.md, trap 3); psremote does not read them.
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

export PSREMOTE_PASSWORD=Clientbench_pw_91c2
export XDG_CONFIG_HOME=$W/xdg
ME=$(id -un)
BIN=$W/psremote
STATE=$W/state
say "building psremote"
go build -o "$BIN" ./cmd/psremote
"$BIN" user add "$ME" --state-dir "$STATE" >/dev/null
mkdir -p "$XDG_CONFIG_HOME/psremote"
cat >"$XDG_CONFIG_HOME/psremote/config.yaml" <<EOF
TrustedHosts: "127.0.0.1,localhost,127.2.*"
AllowUnencrypted: true
EOF

# server_config FILE < LISTENER-LINES: HTTP allowed, store passwords, no
# per-user shell limit.
server_config() {
	{
		printf 'StateDir: %s\nService:\n  AllowUnencrypted: true\n  Auth:\n    BasicSources: [store]\n' "$STATE"
		printf 'Winrs:\n  MaxConcurrentUsers: 1000\n  MaxShellsPerUser: 0\nListeners:\n'
		cat
	} >"$1"
}

# start_server NAME CONFIG COUNT: runs psremote serve, waits for COUNT
# "listening" lines on its stderr; sets SERVER_PID.
start_server() {
	local name=$1 cfg=$2 count=$3
	"$BIN" serve --config "$cfg" --log-level error 2>"$W/$name.err" &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for _ in $(seq 600); do
		[ "$(grep -c '^psremote: listening' "$W/$name.err" || true)" -ge "$count" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	say "server $name did not start:"
	cat "$W/$name.err" >&2
	exit 1
}

# One server for one-shot and streaming: HTTPS and HTTP on 127.0.0.1.
server_config "$W/one.yaml" <<EOF
  - {Transport: HTTPS, Address: 127.0.0.1, Port: 0}
  - {Transport: HTTP, Address: 127.0.0.1, Port: 0}
EOF
start_server one "$W/one.yaml" 2
ONE_PID=$SERVER_PID
HTTPS_HP=$(sed -n 's#^psremote: listening HTTPS https://\([^/]*\)/.*#\1#p' "$W/one.err")
HTTP_HP=$(sed -n 's#^psremote: listening HTTP http://\([^/]*\)/.*#\1#p' "$W/one.err")

# First contact pins the self-signed certificate; later runs are "known".
"$BIN" run -H "$HTTPS_HP" -- true 2>"$OUT/pin.log"
"$BIN" run --http -H "$HTTP_HP" -- true

say "starting sshd ($SSHD_RECIPE)"
bash "$SSHD_RECIPE" start >"$OUT/sshd.log"
SSH=(ssh -F "$SSH_DIR/ssh_config" localhost)
"${SSH[@]}" true

cat >"$W/oneshot.py" <<'EOF'
# One WinRM command with pywinrm, as a fresh interpreter would run it.
import os, sys
import winrm
url, transport, user = sys.argv[1], sys.argv[2], sys.argv[3]
s = winrm.Session(url, auth=(user, os.environ["PSREMOTE_PASSWORD"]),
                  transport=transport, server_cert_validation="ignore")
r = s.run_cmd("true")
sys.exit(r.status_code)
EOF
PY=(/usr/bin/python3 "$W/oneshot.py")
"${PY[@]}" "https://$HTTPS_HP/wsman" ssl "$ME"
"${PY[@]}" "http://$HTTP_HP/wsman" plaintext "$ME"

echo "== machine"
echo "$(nproc) CPUs, $(uname -sr), $(go version | cut -d' ' -f3-), $(hyperfine --version), $(ssh -V 2>&1 | cut -d, -f1), pywinrm $(/usr/bin/python3 -c 'import importlib.metadata as m; print(m.version("pywinrm"))' 2>/dev/null)"
uptime
echo "(figures are only comparable on an otherwise idle machine)"

# ---------------------------------------------------------------- 1. one-shot
say "1. one-shot: $RUNS runs per command"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/oneshot.json" \
	-n psremote-https "$BIN run -H $HTTPS_HP -- true" \
	-n psremote-http "$BIN run --http -H $HTTP_HP -- true" \
	-n ssh "${SSH[*]} true" \
	-n pywinrm-ssl "${PY[*]} https://$HTTPS_HP/wsman ssl $ME" \
	-n pywinrm-plaintext "${PY[*]} http://$HTTP_HP/wsman plaintext $ME" \
	>"$OUT/oneshot.log" 2>&1
# Where the one-shot HTTPS time goes: process start, the system root pool
# (crypto/x509 loads it to try CA verification before the pin is looked
# up), the rest.
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$OUT/oneshot-parts.json" \
	-n 'psremote --help (process start only)' "$BIN --help" \
	-n 'https --ca-file (system roots not loaded)' "$BIN run --ca-file $STATE/tls/selfsigned.pem -H $HTTPS_HP -- true" \
	-n 'https pinned, SSL_CERT_FILE/DIR unreadable (empty roots)' "env SSL_CERT_FILE=/nonexistent SSL_CERT_DIR=/nonexistent $BIN run -H $HTTPS_HP -- true" \
	-n 'https pinned, default roots (= psremote-https)' "$BIN run -H $HTTPS_HP -- true" \
	>"$OUT/oneshot-parts.log" 2>&1
# Share of ssh's time spent in ~/.bashrc (sshd's bash reads it).
hyperfine -N --warmup 2 --runs 10 --export-json "$OUT/bashrc.json" \
	-n bashrc "bash -c 'if [ -r \$HOME/.bashrc ]; then . \$HOME/.bashrc; fi; true'" -n bare "bash -c true" \
	>"$OUT/bashrc.log" 2>&1

# ---------------------------------------------------------------- 2. fan-out
say "2. fan-out: $FANOUT_N HTTPS + $FANOUT_N HTTP listeners"
# Distinct loopback addresses (a hosts file may not list one host with two
# ports), fixed ports so that the pins survive a server restart.
{
	for i in $(seq 0 $((FANOUT_N - 1))); do
		printf '  - {Transport: HTTPS, Address: 127.1.%d.%d, Port: %d}\n' $((i / 250)) $((1 + i % 250)) "$FANOUT_HTTPS_PORT"
	done
	for i in $(seq 0 $((FANOUT_N - 1))); do
		printf '  - {Transport: HTTP, Address: 127.2.%d.%d, Port: %d}\n' $((i / 250)) $((1 + i % 250)) "$FANOUT_HTTP_PORT"
	done
} | server_config "$W/fan.yaml"

# start_fan: a fresh fan-out server (so its 60 s Basic credential cache is
# cold); sets FAN_PID.
FAN_PID=
start_fan() {
	if [ -n "$FAN_PID" ]; then
		kill -TERM "$FAN_PID" 2>/dev/null || true
		wait "$FAN_PID" 2>/dev/null || true
	fi
	start_server fan "$W/fan.yaml" $((2 * FANOUT_N))
	FAN_PID=$SERVER_PID
}
start_fan
sed -n 's#^psremote: listening HTTPS https://\([^/]*\)/.*#\1#p' "$W/fan.err" >"$W/hosts-https.txt"
sed -n 's#^psremote: listening HTTP http://\([^/]*\)/.*#\1#p' "$W/fan.err" >"$W/hosts-http.txt"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# fanout NAME THROTTLE ARGS...: one run; appends a JSON line to fanout.jsonl.
fanout() {
	local name=$1 t=$2 s0 s1 rc=0 summary wall rss ut st
	shift 2
	s0=$(cpu_ticks "$FAN_PID")
	/usr/bin/time -f '%e %M %U %S' -o "$W/time.out" \
		"$BIN" run --throttle "$t" "$@" -- true >"$W/fan.stdout" 2>"$W/fan.stderr" || rc=$?
	s1=$(cpu_ticks "$FAN_PID")
	summary=$(grep -E '^psremote: [0-9]+ succeeded' "$W/fan.stderr" | tail -1 || true)
	read -r wall rss ut st <"$W/time.out"
	jq -nc --arg name "$name" --argjson t "$t" --argjson rc "$rc" --argjson wall "$wall" \
		--argjson rss "$rss" --argjson cu "$ut" --argjson cs "$st" --argjson scpu "$(((s1 - s0) * 10))" \
		--arg summary "$summary" \
		'{name:$name, throttle:$t, rc:$rc, wall_s:$wall, rss_kb:$rss, client_cpu_s:($cu+$cs), server_cpu_ms:$scpu, summary:$summary}' \
		>>"$OUT/fanout.jsonl"
	if [ "$rc" != 0 ]; then
		say "fan-out $name throttle $t: exit $rc: $(tail -3 "$W/fan.stderr")"
	fi
}
: >"$OUT/fanout.jsonl"
# Cold runs, each right after a server start: first contact (every
# certificate is new and gets pinned), then pinned HTTPS, then HTTP.
fanout https-first-contact 32 -f "$W/hosts-https.txt"
start_fan
fanout https-cold-server 32 -f "$W/hosts-https.txt"
start_fan
fanout http-cold-server 32 --http -f "$W/hosts-http.txt"
# Steady state: pinned, the server's credential cache warm.
for t in $THROTTLES; do
	for _ in $(seq "$FANOUT_REPS"); do
		fanout https "$t" -f "$W/hosts-https.txt"
		fanout http "$t" --http -f "$W/hosts-http.txt"
	done
done
kill -TERM "$FAN_PID" 2>/dev/null || true

# ---------------------------------------------------------------- 3. streaming
say "3. streaming: $STREAM_BYTES bytes, $STREAM_RUNS runs per command"
HEAD="head -c $STREAM_BYTES /dev/zero"
hyperfine -N --warmup 1 --runs "$STREAM_RUNS" --export-json "$OUT/stream.json" \
	-n local-pipe "sh -c '$HEAD | cat'" \
	-n ssh "${SSH[*]} $HEAD" \
	-n psremote-http "$BIN run --http -H $HTTP_HP -- $HEAD" \
	-n psremote-https "$BIN run -H $HTTPS_HP -- $HEAD" \
	>"$OUT/stream.log" 2>&1
# CPU split of one run each: client (time) and server (/proc/PID/stat).
: >"$OUT/stream-cpu.jsonl"
for mode in http https; do
	args=(-H "$HTTPS_HP")
	[ "$mode" = http ] && args=(--http -H "$HTTP_HP")
	s0=$(cpu_ticks "$ONE_PID")
	# shellcheck disable=SC2086 # $HEAD is the remote command's words
	/usr/bin/time -f '%e %M %U %S' -o "$W/time.out" "$BIN" run "${args[@]}" -- $HEAD >/dev/null
	s1=$(cpu_ticks "$ONE_PID")
	read -r wall rss ut st <"$W/time.out"
	jq -nc --arg m "$mode" --argjson wall "$wall" --argjson rss "$rss" --argjson cu "$ut" --argjson cs "$st" \
		--argjson scpu "$(((s1 - s0) * 10))" \
		'{mode:$m, wall_s:$wall, client_rss_kb:$rss, client_cpu_s:($cu+$cs), server_cpu_s:($scpu/1000)}' >>"$OUT/stream-cpu.jsonl"
done

# ---------------------------------------------------------------- profile
if [ "$PROFILE" = 1 ]; then
	say "profile: in-process server + client streaming over HTTP (go test -cpuprofile)"
	PSREMOTE_BENCH=1 PSREMOTE_STREAM_BYTES=$STREAM_BYTES go test -count=1 -v -run 'TestStream/http$' \
		-cpuprofile "$OUT/stream-http.cpu" -o "$OUT/clientbench.test" ./bench/client >"$OUT/profile.log" 2>&1
	go test -count=1 -v -run 'TestOneShotParts' ./bench/client >>"$OUT/profile.log" 2>&1
	PSREMOTE_BENCH=1 PSREMOTE_PIN_HOSTS=$FANOUT_N go test -count=1 -v -run 'TestPinCost' ./bench/client >>"$OUT/profile.log" 2>&1
fi

# ---------------------------------------------------------------- report
m() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .mean' "$1"; }
md() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median' "$1"; }
# ratio_line LABEL NUM-MEAN DEN-MEAN NUM-MEDIAN DEN-MEDIAN TARGET
ratio_line() {
	awk -v l="$1" -v a="$2" -v b="$3" -v a2="$4" -v b2="$5" -v t="$6" 'BEGIN {
		r = a / b; r2 = a2 / b2
		printf "  %-38s %6.1fx (medians %5.1fx)  target >= %dx: %s\n", l, r, r2, t, (r >= t ? "MET" : "MISSED") }'
}

echo
echo "== 1. one-shot \`psremote run HOST -- true\` ($RUNS runs each, a fresh process per run)"
jq -r '.results[] | [.command, (.mean*1000), (.median*1000), (.stddev*1000), (.times|length)] | @tsv' "$OUT/oneshot.json" |
	awk -F'\t' 'BEGIN { printf "  %-20s %10s %10s %9s %5s\n", "command", "mean ms", "median ms", "sd ms", "runs" }
		{ printf "  %-20s %10.2f %10.2f %9.2f %5d\n", $1, $2, $3, $4, $5 }'
O=$OUT/oneshot.json
ratio_line "ssh / psremote https" "$(m "$O" ssh)" "$(m "$O" psremote-https)" "$(md "$O" ssh)" "$(md "$O" psremote-https)" 10
ratio_line "ssh / psremote http" "$(m "$O" ssh)" "$(m "$O" psremote-http)" "$(md "$O" ssh)" "$(md "$O" psremote-http)" 10
ratio_line "pywinrm ssl / psremote https" "$(m "$O" pywinrm-ssl)" "$(m "$O" psremote-https)" "$(md "$O" pywinrm-ssl)" "$(md "$O" psremote-https)" 20
ratio_line "pywinrm plaintext / psremote http" "$(m "$O" pywinrm-plaintext)" "$(m "$O" psremote-http)" "$(md "$O" pywinrm-plaintext)" "$(md "$O" psremote-http)" 20
echo "  where the one-shot https time goes (means, $RUNS runs each):"
jq -r '.results[] | "    \(.mean*1000*100|round/100) ms  \(.command)"' "$OUT/oneshot-parts.json"
awk -v a="$(m "$OUT/bashrc.json" bashrc)" -v b="$(m "$OUT/bashrc.json" bare)" \
	'BEGIN { printf "  (the ssh figure includes bash reading ~/.bashrc under sshd: about %.0f ms here)\n", (a - b) * 1000 }'
if [ -f "$OUT/profile.log" ]; then
	sed -n 's/^ *harness_test.go:[0-9]*: /    go test: /p' "$OUT/profile.log" | grep -E 'SystemCertPool|in-process `psremote run' || true
fi

echo
echo "== 2. fan-out \`psremote run -f hosts.txt --throttle N -- true\` to $FANOUT_N endpoints (one server; $FANOUT_N HTTPS listeners on 127.1.x.y, $FANOUT_N HTTP on 127.2.x.y)"
jq -rs 'group_by(.name + " " + (.throttle|tostring)) | map({name: .[0].name, t: .[0].throttle, n: length,
		walls: (map(.wall_s)|sort), rss: (map(.rss_kb)|max), ccpu: (map(.client_cpu_s)|add/length),
		scpu: (map(.server_cpu_ms)|add/length/1000), bad: (map(select(.rc != 0))|length)})
	| sort_by((.name | test("first|cold") | not), .name, .t) | .[]
	| [.name, .t, .n, .walls[(.n/2|floor)], .walls[-1], (.rss/1024), .ccpu, .scpu, .bad] | @tsv' "$OUT/fanout.jsonl" |
	awk -F'\t' 'BEGIN { printf "  %-20s %8s %4s %12s %9s %12s %11s %11s  %s\n", "run", "throttle", "runs", "median wall", "max wall", "max RSS MiB", "client CPU", "server CPU", "target <= 3 s and <= 200 MB" }
		{ v = ($4 <= 3.0 && $6 * 1.048576 <= 200 && $9 == 0) ? "MET" : "MISSED"; if ($9 > 0) v = v " (" $9 " runs failed)"
		  printf "  %-20s %8d %4d %11.2fs %8.2fs %12.1f %10.2fs %10.2fs  %s\n", $1, $2, $3, $4, $5, $6, $7, $8, v }'
echo "  last run's summary: $(tail -1 "$OUT/fanout.jsonl" | jq -r .summary)"
if [ -f "$OUT/profile.log" ]; then
	sed -n 's/^ *pin_test.go:[0-9]*: /  go test, client trust store alone: /p' "$OUT/profile.log"
fi

echo
echo "== 3. streaming \`$HEAD\` to /dev/null ($STREAM_RUNS runs each; MB = 10^6 bytes)"
S=$OUT/stream.json
jq -r --argjson n "$STREAM_BYTES" '.results[] | [.command, .mean, .median, ($n/.mean/1e6), ($n/.median/1e6)] | @tsv' "$S" |
	awk -F'\t' 'BEGIN { printf "  %-16s %10s %10s %10s %12s\n", "command", "mean s", "median s", "MB/s", "MB/s median" }
		{ printf "  %-16s %10.3f %10.3f %10.0f %12.0f\n", $1, $2, $3, $4, $5 }'
mbps() { awk -v n="$STREAM_BYTES" -v t="$(m "$S" "$1")" 'BEGIN { printf "%.0f", n / t / 1e6 }'; }
for mode in http https; do
	awk -v l="psremote-$mode" -v v="$(mbps "psremote-$mode")" -v loc="$(mbps local-pipe)" -v s="$(mbps ssh)" -v mode=$mode 'BEGIN {
		printf "  %-15s %5d MB/s = %.3f x local pipe, %.2f x ssh", l, v, v / loc, v / s
		if (mode == "http") printf "   target >= 400 MB/s: %s", (v >= 400 ? "MET" : "MISSED")
		printf "\n" }'
done
echo "  CPU split of one more run each (client: /usr/bin/time; server: /proc/PID/stat):"
jq -r '"    \(.mode): wall \(.wall_s) s, client CPU \(.client_cpu_s*100|round/100) s (peak RSS \(.client_rss_kb/1024|round) MiB), server CPU \(.server_cpu_s) s; client+server = \(((.client_cpu_s+.server_cpu_s)/.wall_s*100|round)/100) cores of 2"' "$OUT/stream-cpu.jsonl"

if [ -f "$OUT/stream-http.cpu" ]; then
	echo
	echo "== profile: in-process server + client streaming over HTTP (go test -cpuprofile, goroutines labelled side=client|server)"
	sed -n 's/^ *harness_test.go:[0-9]*: /  /p' "$OUT/profile.log" | grep 'MB/s' || true
	go tool pprof -tags "$OUT/clientbench.test" "$OUT/stream-http.cpu" 2>/dev/null | sed -n '1,4p' | sed 's/^ */  /'
	for side in client server; do
		echo "  -- $side: cumulative CPU under selected functions"
		go tool pprof -top -cum -nodecount=3000 -tagfocus=side=$side "$OUT/clientbench.test" "$OUT/stream-http.cpu" 2>/dev/null >"$OUT/cum-$side.txt"
		awk '$6 ~ /^(github.com\/psremote\/psremote\/(client\.\(\*Cmd\)\.receiveLoop|client\.\(\*Client\)\.call|client\.\(\*transport\)\.roundTrip|wsman\.ParseReceiveResponse|wsman\.ParseReply|wsman\.checkChars|wsman\.decodeBase64|internal\/service\.\(\*Service\)\.receive|wsman\.WriteReceiveResponse|internal\/listener\.\(\*handler\)\.write|internal\/shell\.\(\*command\)\.read|internal\/shell\.\(\*Engine\)\.Receive)|encoding\/base64\.\(\*Encoding\)\.(Encode|DecodeString)|syscall\.Syscall|net\/http\.\(\*conn\)\.serve)$/ { printf "    %8s %7s  %s\n", $4, $5, $6 }' "$OUT/cum-$side.txt"
	done
	echo "  profile: $OUT/stream-http.cpu (binary $OUT/clientbench.test)"
fi
echo
uptime
echo "logs and JSON: $OUT"
