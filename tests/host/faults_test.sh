#!/bin/bash
# tests/host: fault and reload-sequencing checks on one real hathor-node
# daemon supervising its real hathor-p2p-host (real p2p_sync_v2.so):
#
#  1. the host is the core's child; runtime dir 0700, sockets 0600;
#  2. two reloads at once: one succeeds (exit 0), the other is refused
#     with exit 1 and a one-line reason; then two reloads back to back
#     both succeed; after each verdict exactly one host child is alive;
#  3. a reload while the host is restarting after a SIGKILL: a clear
#     answer (exit 0 or 1 with a reason), then exactly one host;
#  3b. cp of another build (the crashing one) over the serving host's
#     .so, in place: the host keeps serving (same pid 2.5 s later, past
#     the crashing build's 1.5 s, `peers` answered by the plugin);
#  4. reload with a wrong-ABI build: exit 1, one line ending in
#     "old plugin still active", the serving host (same pid) unchanged;
#  4b. health gate (--reload-health-ms 2500): a build that dies 1.5 s after
#     "start" is rolled back: exit 1, "rolled back to", one host again,
#     the rollback counted in plugin list;
#  5. core SIGKILL: no hathor-p2p-host of it is left after 1 s (polled in
#     /proc), and hathor-admin then exits 3 (daemon unreachable).
#
#   faults_test.sh HATHOR_NODE HOST_BIN PLUGIN_DIR HATHOR_ADMIN BAD_ABI_SO
#                  CRASH_SO
# Kills only the pids it started.
set -u

NODE=$1
HOST=$2
PLUGDIR=$3
ADMIN=$4
BADABI=$5
CRASH=$6
NETWORK=privatenet
. "$(dirname "$0")/../p2p/daemon_lib.sh"
DAEMON_ARGS=(--reload-health-ms 2500)
# A private plugin dir: 3b writes over its p2p_sync_v2.so.
mkdir "$WORK/plugins" && cp "$PLUGDIR"/*.so "$WORK/plugins/" || exit 1
PLUGDIR=$WORK/plugins
WAIT=${HN_TEST_WAIT:-20}

A=(-s "$WORK/rn/admin.ipc")

# hosts: the live hathor-p2p-host children of the node.
hosts() { live_hosts "$NODE_PID"; }

# one_host: waits (bounded) until exactly one host child is alive and up
# (admin status says p2p running); prints its pid.
one_host() {
	local i h
	for ((i = 0; i < WAIT * 10; i++)); do
		h=($(hosts))
		if [ ${#h[@]} = 1 ] &&
		   "$ADMIN" "${A[@]}" --json status 2>/dev/null |
		   grep -q '"p2p_running": *true'; then
			echo "${h[0]}"
			return 0
		fi
		sleep 0.1
	done
	fail "not exactly one running host: ${h[*]:-none}"
}

# exactly_one: right now, one live host child.
exactly_one() {
	local h
	h=($(hosts))
	[ ${#h[@]} = 1 ] || fail "$1: ${#h[@]} live hosts (${h[*]:-})"
}

start n "$(free_port)"
NODE_PID=$PID_n

# 1. Child of the core, private modes.
H=$(one_host)
[ "$(ps -o ppid= -p "$H" | tr -d ' ')" = "$NODE_PID" ] ||
	fail "host $H is not the core's child"
[ "$(stat -c %a "$WORK/rn")" = 700 ] || fail "runtime dir mode $(stat -c %a "$WORK/rn")"
for s in "$WORK/rn"/node.ipc "$WORK/rn"/events.ipc "$WORK/rn"/p2p.*.ipc; do
	[ -S "$s" ] || fail "no socket $s"
	[ "$(stat -c %a "$s")" = 600 ] || fail "$s mode $(stat -c %a "$s")"
done
echo "host $H is the child of core $NODE_PID; modes 0700/0600"

# 2. Two reloads at once, then two back to back.
"$ADMIN" "${A[@]}" plugin reload p2p >"$WORK/r1.out" 2>&1 &
R1=$!
"$ADMIN" "${A[@]}" plugin reload p2p >"$WORK/r2.out" 2>&1 &
R2=$!
wait "$R1"; C1=$?
wait "$R2"; C2=$?
echo "concurrent reloads: exit $C1 ($(cat "$WORK/r1.out")), exit $C2 ($(cat "$WORK/r2.out"))"
[ $((C1 + C2)) = 1 ] || fail "concurrent reloads: exits $C1 and $C2, want one 0 and one 1"
for f in r1 r2; do
	[ "$(wc -l <"$WORK/$f.out")" = 1 ] || fail "$f: not one line: $(cat "$WORK/$f.out")"
done
cat "$WORK/r1.out" "$WORK/r2.out" | grep -q "^hathor-admin: plugin reload p2p: .*in progress" ||
	fail "refused reload without a reason"
exactly_one "after concurrent reloads"
H2=$(one_host)
[ "$H2" != "$H" ] || fail "no new host after the concurrent reloads"
for k in 1 2; do
	out=$("$ADMIN" "${A[@]}" plugin reload p2p 2>&1) || fail "back-to-back reload $k: $out"
	exactly_one "after back-to-back reload $k"
done
H3=$(one_host)
[ "$H3" != "$H2" ] || fail "back-to-back reloads did not switch hosts"
echo "back-to-back reloads: $H2 -> $H3, one host each time"

# 3. Reload while the host restarts after a crash.
kill -KILL "$H3"
out=$("$ADMIN" "${A[@]}" plugin reload p2p 2>&1)
rc=$?
echo "reload during restart: exit $rc: $out"
[ $rc = 0 ] || [ $rc = 1 ] || fail "reload during restart: exit $rc"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "reload during restart: not one line"
H4=$(one_host)
[ "$H4" != "$H3" ] || fail "no host after the crash"
sleep 1         # a restart timer still pending would spawn a second host now
exactly_one "1 s after the reload during restart"

# 3b. A build written over the serving one in place (cp, same inode).
ino=$(stat -c %i "$PLUGDIR/p2p_sync_v2.so")
cp "$CRASH" "$PLUGDIR/p2p_sync_v2.so" || fail "cp over the plugin"
[ "$(stat -c %i "$PLUGDIR/p2p_sync_v2.so")" = "$ino" ] || fail "cp did not write in place"
sleep 2.5
[ "$(one_host)" = "$H4" ] || fail "host $H4 did not survive its .so overwritten in place"
"$ADMIN" "${A[@]}" --json peers | grep -q '"connections"' ||
	fail "peers after the in-place overwrite: $("$ADMIN" "${A[@]}" --json peers 2>&1)"
echo "in-place overwrite of the serving build: host $H4 still serving"

# 4. Wrong ABI: exit 1, one line, old host serving.
out=$("$ADMIN" "${A[@]}" plugin reload "$BADABI" 2>&1)
rc=$?
echo "wrong-ABI reload: exit $rc: $out"
[ $rc = 1 ] || fail "wrong-ABI reload: exit $rc"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "wrong-ABI reload: not one line"
echo "$out" | grep -q "^hathor-admin: plugin reload .*ABI 2.0.*old plugin still active$" ||
	fail "wrong-ABI reload message: $out"
[ "$(one_host)" = "$H4" ] || fail "serving host changed after a failed reload"

# 4b. A build that crashes after cut-over: rolled back.
out=$("$ADMIN" "${A[@]}" plugin reload "$CRASH" 2>&1)
rc=$?
echo "crashing build: exit $rc: $out"
[ $rc = 1 ] || fail "crashing-build reload: exit $rc"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "crashing-build reload: not one line"
echo "$out" | grep -q "after cut-over.*rolled back to .*p2p_sync_v2.so" ||
	fail "crashing-build reload message: $out"
H5=$(one_host)
[ "$H5" != "$H4" ] || fail "no rollback host"
grep -q "plugin p2p_sync_v2 .* started from /proc/self/fd/" "$WORK/n.log" ||
	fail "the rollback host did not load the kept build"
sleep 2         # past the crashing build's 1.5 s: the rollback host stays
[ "$(one_host)" = "$H5" ] || fail "rollback host replaced"
"$ADMIN" "${A[@]}" --json plugin list | grep -q '"rollbacks": *1' ||
	fail "rollback not counted: $("$ADMIN" "${A[@]}" --json plugin list)"

# 5. Core SIGKILL: the host follows within 1 s.
HOSTS=($(hosts))
kill -KILL "$NODE_PID"
wait "$NODE_PID" 2>/dev/null
DPIDS=("${HOSTS[@]}")     # orphans now: the cleanup ends any left
t0=$(date +%s%N)
gone=
for ((i = 0; i < 20; i++)); do
	alive=
	for h in "${HOSTS[@]}"; do
		[ -d "/proc/$h" ] &&
			[ "$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$h/status" 2>/dev/null)" != Z ] &&
			alive=1
	done
	[ -z "$alive" ] && { gone=1; break; }
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ -n "$gone" ] || fail "host ${HOSTS[*]} still alive ${ms} ms after the core's SIGKILL"
[ "$ms" -le 1000 ] || fail "host took $ms ms to go"
echo "core SIGKILL: host gone within $ms ms"
DPIDS=()
"$ADMIN" "${A[@]}" status >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || fail "hathor-admin against a dead daemon: exit $rc, want 3"
echo "OK"
