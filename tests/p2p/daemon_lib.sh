# Sourced by the multi-daemon tests (bash): real hathor-node daemons in host
# mode (hathor-p2p-host + p2p_sync_v2.so, TLS) on loopback, in a private
# work dir under the current (build) directory.  Kills only its own pids.
# Needs NODE, HOST, PLUGDIR set by the caller.  start's arguments after the
# bootstrap port go to hathor-node as they are (e.g. --p2p-mode inprocess;
# pass "" as the bootstrap port for none).
WORK=$(mktemp -d -p "$PWD" "p2pd.$(printf "X%.0s" 1 2 3 4 5 6)") || exit 1
DPIDS=()
daemon_cleanup() {
	local p
	for p in "${DPIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap daemon_cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$WORK"/*.log; do
		[[ -f $f ]] || continue
		echo "---- $f" >&2
		tail -20 "$f" | cut -c1-300 >&2
	done
	exit 1
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Extra `hathor-node run` options for every daemon started (an array the
# caller may set, e.g. DAEMON_ARGS=(--reload-health-ms 500)).
[[ -v DAEMON_ARGS ]] || DAEMON_ARGS=()
# start NAME P2P_PORT [BOOTSTRAP_PORT [NODE_ARGS...]]: a daemon on
# $WORK/dNAME (which may already hold a chain); sets PID_NAME and API_NAME
# (http://host:port).
start() {
	local n=$1 port=$2 log=$WORK/$1.log api i pid boot=()
	[[ $# -gt 2 && -n $3 ]] && boot=(--bootstrap "127.0.0.1:$3")
	mkdir -p "$WORK/d$n"
	"$NODE" run --network "${NETWORK:-unittests}" --data-dir "$WORK/d$n" \
		--runtime-dir "$WORK/r$n" --listen "127.0.0.1:$port" "${boot[@]}" \
		--api-listen 127.0.0.1:0 --plugin-dir "$PLUGDIR" \
		--p2p-host-bin "$HOST" "${DAEMON_ARGS[@]}" "${@:4}" >"$log" 2>&1 &
	pid=$!
	DPIDS+=("$pid")
	eval "PID_$n=$pid"
	for ((i = 0; i < 300; i++)); do
		api=$(sed -n 's|.* running: .*API \(http://[^/]*\)/v1a/.*|\1|p' "$log" 2>/dev/null)
		if [[ -n $api ]]; then
			eval "API_$n=$api"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || fail "node $n died"
		sleep 0.1
	done
	fail "node $n: no API line within 30 s"
}
# api URL PATH: GET URL/v1a/PATH.
api() { curl -sf --max-time 10 "$1/v1a/$2"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
best_of() { api "$1" status 2>/dev/null | jget "d['dag']['best_block']['hash']" 2>/dev/null; }
best_is() { [[ $(best_of "$1") == "$2" ]]; }
mempool_of() { api "$1" mempool | jget "' '.join(sorted(d['transactions']))"; }
mempool_is() { [[ $(mempool_of "$1" 2>/dev/null) == "$2" ]]; }
# live_hosts PID: the pids of PID's hathor-p2p-host children that are
# alive (zombies excluded), one a line.
live_hosts() {
	local p st
	for p in $(pgrep -P "$1" -x hathor-p2p-host); do
		st=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$p/status" 2>/dev/null)
		[[ -n $st && $st != Z ]] && echo "$p"
	done
}
# host_children PID: how many hathor-p2p-host processes PID has (procfs).
host_children() {
	local c n=0
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[[ $(cat /proc/"$c"/comm 2>/dev/null) == hathor-p2p-host ]] && n=$((n + 1))
	done
	echo "$n"
}
# wait_for SECONDS COMMAND...: polls (0.2 s) until COMMAND succeeds.
wait_for() {
	local limit=$(($1 * 5)) t=0
	shift
	until "$@"; do
		sleep 0.2
		t=$((t + 1))
		[[ $t -ge $limit ]] && return 1
	done
	return 0
}
# elapsed T0: seconds since T0 (date +%s.%N), two decimals.
elapsed() { python3 -c "import time; print('%.2f' % (time.time() - $1))"; }
