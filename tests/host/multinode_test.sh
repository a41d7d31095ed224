#!/bin/bash
# tests/host: two real hathor-node daemons on privatenet, each supervising
# its real hathor-p2p-host running the real p2p_sync_v2.so, talking to the
# core over nng in a private runtime dir.  B bootstraps from A over TLS.
#
#  1. blocks mined on A (hathor-miner over A's HTTP API) reach B;
#  2. B's host is SIGKILLed: B's storage stays open (admin status and the
#     HTTP API answer with the same best block), the supervisor restarts
#     the host, the peers reconnect, a new block of A reaches B;
#  3. hathor-admin plugin reload p2p on B: a new host is switched in,
#     peers reconnect, a new block reaches B; `plugin reload p2p --path F`
#     with a missing file, a wrong-ABI build, a build without the entry
#     symbol and a build that segfaults in init each exit 1 with one line
#     "hathor-admin: plugin reload p2p: <reason>; old plugin still active"
#     while the serving host (same pid) keeps its peer connected (same
#     peer in `peers`, no new connection logged) and relays a new block;
#  4. SIGTERM: both nodes exit 0 and their hosts are gone.
# The runtime dirs are 0700 and every socket in them 0600.
#
#   multinode_test.sh HATHOR_NODE HOST_BIN PLUGIN_DIR HATHOR_ADMIN
#                     HATHOR_MINER BAD_ABI_SO NO_ENTRY_SO CRASH_INIT_SO
# The health window is 300 ms (--reload-health-ms): not what is tested here.
# Kills only the pids it started.
set -u

NODE=$1
HOST=$2
PLUGDIR=$3
ADMIN=$4
MINER=$5
BADABI=$6
NOENTRY=$7
CRASHINIT=$8
NETWORK=privatenet
. "$(dirname "$0")/../p2p/daemon_lib.sh"
DAEMON_ARGS=(--reload-health-ms 300)
WAIT=${HN_TEST_WAIT:-25}

# hash_at API HEIGHT: block hash at HEIGHT on the best chain, or "".
hash_at() {
	python3 - "$1/v1a/block_at_height?height=$2" <<'PY' 2>/dev/null
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        j = json.load(r)
    print(j["block"]["hash"] if j.get("success") else "")
except Exception:
    print("")
PY
}

# wait_height HEIGHT: until B has A's block at HEIGHT; prints seconds.
wait_height() {
	local want got t0 i
	want=$(hash_at "$API_a" "$1")
	[ ${#want} = 64 ] || fail "A has no block at height $1"
	t0=$(date +%s.%N)
	for ((i = 0; i < WAIT * 10; i++)); do
		got=$(hash_at "$API_b" "$1")
		if [ "$got" = "$want" ]; then
			echo "block $1 reached B in $(python3 -c "import time; print('%.2f' % (time.time() - $t0))") s"
			return 0
		fi
		sleep 0.1
	done
	fail "block $1 ($want) did not reach B within ${WAIT}s (B has '$got')"
}

# host_of PID: the hathor-p2p-host child of node PID.
host_of() {
	pgrep -P "$1" -x hathor-p2p-host | head -1
}

# connected NAME: how many times NAME's host logged a peer connection.
connected() {
	grep -c "peer connected" "$WORK/$1.log"
}

wait_connected_above() {
	local i
	for ((i = 0; i < WAIT * 10; i++)); do
		[ "$(connected "$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: peers did not reconnect within ${WAIT}s"
}

mine() {
	"$MINER" --api "$API_a" --network privatenet --blocks "$1" -q \
		>>"$WORK/miner.log" 2>&1 || fail "miner: $(tail -3 "$WORK/miner.log")"
}

PA=$(free_port)
PB=$(free_port)
start a "$PA"
start b "$PB" "$PA"
wait_connected_above b 0

# Private runtime dirs: 0700, sockets 0600.
for n in a b; do
	[ "$(stat -c %a "$WORK/r$n")" = 700 ] || fail "r$n mode $(stat -c %a "$WORK/r$n")"
	for s in "$WORK/r$n"/node.ipc "$WORK/r$n"/events.ipc "$WORK/r$n"/p2p.1.ipc; do
		[ -S "$s" ] || fail "no socket $s"
		[ "$(stat -c %a "$s")" = 600 ] || fail "$s mode $(stat -c %a "$s")"
	done
done
# The host runs the real plugin.
grep -q "loaded plugin 'p2p_sync_v2'" "$WORK/b.log" || fail "p2p_sync_v2 not loaded"

# 1. A's blocks reach B.
mine 3
wait_height 3

# 2. SIGKILL of B's host.
H1=$(host_of "$PID_b")
[ -n "$H1" ] || fail "B has no host process"
C1=$(connected b)
kill -KILL "$H1"
st=$("$ADMIN" -s "$WORK/rb/admin.ipc" status) || fail "admin status failed after the host kill"
echo "$st" | grep -q "height 3" || fail "admin status: $st"
[ "$(hash_at "$API_b" 3)" = "$(hash_at "$API_a" 3)" ] || fail "B's API lost block 3"
for ((i = 0; i < WAIT * 10; i++)); do
	H2=$(host_of "$PID_b")
	[ -n "$H2" ] && [ "$H2" != "$H1" ] && break
	sleep 0.1
done
[ -n "$H2" ] && [ "$H2" != "$H1" ] || fail "host not restarted"
grep -q "p2p host pid $H1 (gen 1) ended: signal 9" "$WORK/b.log" ||
	fail "exit of the killed host not logged"
wait_connected_above b "$C1"
echo "host restarted: pid $H1 -> $H2, peers reconnected"
mine 1
wait_height 4

# 3. Reload.
C2=$(connected b)
out=$("$ADMIN" -s "$WORK/rb/admin.ipc" plugin reload p2p) || fail "reload: $out"
echo "$out"
H3=$(host_of "$PID_b")
[ -n "$H3" ] && [ "$H3" != "$H2" ] || fail "reload did not switch hosts ($H2 -> $H3)"
kill -0 "$H2" 2>/dev/null && fail "old host $H2 still alive after the reload"
wait_connected_above b "$C2"
mine 1
wait_height 5
peers_b() {
	"$ADMIN" -s "$WORK/rb/admin.ipc" --json peers |
		python3 -c 'import json,sys; print(" ".join(sorted(p["id"] + "@" + p["address"] for p in json.load(sys.stdin)["peers"]["connections"]["connected_peers"])))'
}
P0=$(peers_b) || fail "peers on B"
[ -n "$P0" ] || fail "B has no peer before the refused reloads"
C3=$(connected b)
# refused FILE PATTERN: exit 1, one line on stderr matching PATTERN and
# the standard form, nothing on stdout; the same host keeps the same peer.
refused() {
	local rc
	"$ADMIN" -s "$WORK/rb/admin.ipc" plugin reload p2p --path "$1" \
		>"$WORK/ref.out" 2>"$WORK/ref.err"
	rc=$?
	echo "$(basename "$1"): exit $rc: $(cat "$WORK/ref.err")"
	[ $rc = 1 ] || fail "reload with $1: exit $rc, want 1"
	[ "$(wc -l <"$WORK/ref.err")" = 1 ] || fail "$1: not one line: $(cat "$WORK/ref.err")"
	[ -s "$WORK/ref.out" ] && fail "$1: output on stdout: $(cat "$WORK/ref.out")"
	grep -q "^hathor-admin: plugin reload p2p: .*$2.*; old plugin still active$" \
		"$WORK/ref.err" || fail "$1: message: $(cat "$WORK/ref.err")"
	[ "$(host_of "$PID_b")" = "$H3" ] || fail "serving host changed after the refused $1"
	[ "$(peers_b)" = "$P0" ] || fail "B's peers changed after the refused $1: $(peers_b)"
}
refused "$WORK/none.so" "none.so.*No such file"
refused "$BADABI" "ABI 2.0"
refused "$NOENTRY" "plug_bad_no_entry.so.*hathor_plugin_entry"
refused "$CRASHINIT" "signal 11\|signal 6\|exit 1"  # 6: ASan aborts on SEGV
[ "$(connected b)" = "$C3" ] || fail "B's peer reconnected during the refused reloads"
mine 1
wait_height 6

# 4. Clean stop.
for n in a b; do
	eval "pid=\$PID_$n"
	h=$(host_of "$pid")
	kill -TERM "$pid"
	wait "$pid" || fail "node $n exited with $? on SIGTERM"
	[ -n "$h" ] && kill -0 "$h" 2>/dev/null && fail "host $h of $n left running"
done
DPIDS=()
echo "OK"
