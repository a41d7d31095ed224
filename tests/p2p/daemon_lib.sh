# Sourced by the daemon tests (bash): real hathor-node processes in a private
# work dir under the current (build) directory; kills only its own pids.
#
# The caller may set, before sourcing:
#   WORK_PREFIX  name of the work dir (mktemp under $PWD; default p2pd);
#   WORK         an existing dir to use instead (e.g. realpeer_lib's $T);
#   FAIL_TAG     shown as "FAIL [tag]:" (e.g. the case name);
# and at any time:
#   DAEMON_ARGS  extra `hathor-node run` options for every start (array);
#   FAIL_LOGS    more log files fail shows (array; $WORK/*.log always);
#   DAEMON_CLEANUP  commands the EXIT trap runs after stopping our pids.
# start (host mode) needs NODE, HOST (hathor-p2p-host), PLUGDIR; spawn
# needs NODE.
[[ -n ${WORK:-} ]] ||
	WORK=$(mktemp -d -p "$PWD" "${WORK_PREFIX:-p2pd}.$(printf "X%.0s" 1 2 3 4 5 6)") ||
	exit 1
# Seconds the bounded waits (wait_file, wait_exit, stop) allow.
WAIT=${WAIT:-${HN_TEST_WAIT:-20}}
DPIDS=()
[[ -v DAEMON_ARGS ]] || DAEMON_ARGS=()
[[ -v FAIL_LOGS ]] || FAIL_LOGS=()
[[ -v DAEMON_CLEANUP ]] || DAEMON_CLEANUP=()
# alive PID: PID exists and is not a zombie.
alive() {
	local st
	st=$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[[ -n $st && $st != Z ]]
}
# The EXIT trap: SIGTERM to every pid in DPIDS, SIGKILL to those still
# alive after 15 s, then the DAEMON_CLEANUP commands, then the work dir.
daemon_cleanup() {
	local p c i left
	for p in "${DPIDS[@]}"; do
		kill "$p" 2>/dev/null || :
	done
	for ((i = 0; i < 150; i++)); do
		left=
		for p in "${DPIDS[@]}"; do
			alive "$p" && left=1
		done
		[[ -z $left ]] && break
		sleep 0.1
	done
	for p in "${DPIDS[@]}"; do
		alive "$p" && { kill -KILL "$p" 2>/dev/null || :; }
		wait "$p" 2>/dev/null || :
	done
	for c in "${DAEMON_CLEANUP[@]}"; do
		$c || :
	done
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	return 0
}
trap daemon_cleanup EXIT
# fail MESSAGE: the message, the last lines of every log, exit 1.
fail() {
	echo "FAIL${FAIL_TAG:+ [$FAIL_TAG]}: $*" >&2
	local f
	for f in "$WORK"/*.log "${FAIL_LOGS[@]}"; do
		[[ -f $f ]] || continue
		echo "---- $f" >&2
		tail -20 "$f" | cut -c1-300 >&2
	done
	exit 1
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# spawn NAME ARGS...: `$NODE run ARGS...` in the background, output in
# $WORK/NAME.log; sets LAST_PID and PID_NAME.
spawn() {
	local n=$1
	shift
	"$NODE" run "$@" >"$WORK/$n.log" 2>&1 &
	LAST_PID=$!
	DPIDS+=("$LAST_PID")
	eval "PID_$n=$LAST_PID"
}
# wait_api NAME: until NAME's start-up line names its API (at least 30 s);
# sets API_NAME and API (http://host:port).  Fails if NAME's pid dies.
wait_api() {
	local n=$1 a pid i limit=$((WAIT > 30 ? WAIT : 30))
	eval "pid=\$PID_$n"
	for ((i = 0; i < limit * 10; i++)); do
		a=$(sed -n 's|.* running: .*API \(http://[^/]*\)/v1a/.*|\1|p' \
			"$WORK/$n.log" 2>/dev/null || :)
		if [[ -n $a ]]; then
			API=$a
			eval "API_$n=$a"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || fail "node $n died"
		sleep 0.1
	done
	fail "node $n: no API line within $limit s"
}
# start NAME P2P_PORT [BOOTSTRAP_PORT [NODE_ARGS...]]: a daemon in host mode
# (network ${NETWORK:-unittests}, TLS on 127.0.0.1:P2P_PORT) on $WORK/dNAME
# (which may already hold a chain), runtime dir $WORK/rNAME; "" as the
# bootstrap port for none; NODE_ARGS go to hathor-node as they are (e.g.
# --p2p-mode inprocess).  Waits for its API: sets PID_NAME and API_NAME.
start() {
	local n=$1 port=$2 boot=()
	[[ $# -gt 2 && -n $3 ]] && boot=(--bootstrap "127.0.0.1:$3")
	mkdir -p "$WORK/d$n"
	spawn "$n" --network "${NETWORK:-unittests}" --data-dir "$WORK/d$n" \
		--runtime-dir "$WORK/r$n" --listen "127.0.0.1:$port" "${boot[@]}" \
		--api-listen 127.0.0.1:0 --plugin-dir "$PLUGDIR" \
		--p2p-host-bin "$HOST" "${DAEMON_ARGS[@]}" "${@:4}"
	wait_api "$n"
}
# wait_file PATH: until PATH is a socket or a non-empty file; fails when
# LAST_PID dies first or after $WAIT s.
wait_file() {
	local i
	for ((i = 0; i < WAIT * 10; i++)); do
		[[ -S $1 || -s $1 ]] && return 0
		if [[ -n ${LAST_PID:-} ]] && ! kill -0 "$LAST_PID" 2>/dev/null; then
			fail "node $LAST_PID died before $1 appeared"
		fi
		sleep 0.1
	done
	fail "$1 did not appear within ${WAIT}s"
}
# wait_exit PID: waits (at most $WAIT s) for PID to exit; sets RC.
wait_exit() {
	local i
	for ((i = 0; i < WAIT * 10; i++)); do
		if ! alive "$1"; then
			wait "$1"
			RC=$?
			return 0
		fi
		sleep 0.1
	done
	fail "pid $1 did not exit within ${WAIT}s"
}
# stop PID [RC]: SIGTERM; PID must exit with RC (default 0) within $WAIT s.
stop() {
	kill -TERM "$1" 2>/dev/null || fail "pid $1 already gone"
	wait_exit "$1"
	[[ $RC == "${2:-0}" ]] || fail "pid $1 exited $RC after SIGTERM, want ${2:-0}"
}
# api URL|PORT PATH: GET URL/v1a/PATH (a bare port is on 127.0.0.1).
api() {
	local u=$1
	[[ $u == *[!0-9]* ]] || u=http://127.0.0.1:$u
	curl -sf --max-time 10 "$u/v1a/$2"
}
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
best_of() { api "$1" status 2>/dev/null | jget "d['dag']['best_block']['hash']" 2>/dev/null; }
best_is() { [[ $(best_of "$1") == "$2" ]]; }
mempool_of() { api "$1" mempool | jget "' '.join(sorted(d['transactions']))"; }
mempool_is() { [[ $(mempool_of "$1" 2>/dev/null) == "$2" ]]; }
# live_hosts PID: the pids of PID's hathor-p2p-host children that are
# alive (zombies excluded), one a line.
live_hosts() {
	local p
	for p in $(pgrep -P "$1" -x hathor-p2p-host); do
		alive "$p" && echo "$p"
	done
	return 0
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
