#!/bin/bash
# tests/p2p: `hathor-admin plugin reload p2p` with the P2P plugin inside the
# core (--p2p-mode=inprocess), real daemons, real TLS (unittests).
#   1. B (inprocess) syncs a long chain from A (host mode); B's plugin is
#      reloaded mid-sync: exit 0, B's pid and its open ledger.db fd are
#      unchanged, an HTTP poller on B sees no failed request throughout,
#      and B finishes the sync with A's best block;
#   2. two reloads back to back: exit 0 each, a new private copy each time,
#      B keeps A as its peer;
#   3. a wrong-ABI build: exit 1, one line ending "old plugin still
#      active", B still serves A;
#   4. a p2p build that fails in init: exit 1, "rolled back to", the
#      previous build runs again and B reconnects to A, then follows a
#      block mined at A;
#   5. the plugin file overwritten in place (cp) with the init-failing
#      build: B keeps serving A (it runs a private copy), and a reload to it
#      rolls back to the original bytes (kept in a memfd), not to the
#      overwritten file.
# B runs from a private plugin dir (a copy of PLUGIN_DIR's .so files).
#
#   inproc_reload_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN MINER ADMIN BAD_ABI_SO INITFAIL_SO [BLOCKS]
set -u
NODE=${1:?usage: inproc_reload_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN MINER ADMIN BAD_ABI_SO INITFAIL_SO}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
MINER=${5:?usage}
ADMIN=${6:?usage}
BADABI=${7:?usage}
INITFAIL=${8:?usage}
NB=${9:-6000}
. "$(dirname "$0")/daemon_lib.sh"
mkdir -p "$WORK/plugins"
cp "$PLUGDIR"/p2p_sync_v2.so "$PLUGDIR"/metrics.so "$WORK/plugins/" ||
	fail "cannot copy the plugins"
PLUGDIR=$WORK/plugins

"$GEN" --network unittests --blocks "$NB" --txs 20 --data-dir "$WORK/da" \
	--quiet >"$WORK/gen.log" 2>&1 || fail "chaingen failed: $(tail -3 "$WORK/gen.log")"
PA=$(free_port)
PB=$(free_port)
start a "$PA"
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 ]] || fail "A has no best block"
peer_id_of() { sed -n 's/.*p2p_sync_v2 ready: peer id \([0-9a-f]\{64\}\).*/\1/p' "$WORK/$1.log" | tail -1; }
has_peer_id() { [[ -n $(peer_id_of "$1") ]]; }
wait_for 20 has_peer_id a || fail "no peer id in A's log"
id_a=$(peer_id_of a)
printf '[metrics]\nport_file = %s\n' "$WORK/b.mport" >"$WORK/b.ini"
start b "$PB" "$PA" --p2p-mode inprocess --config "$WORK/b.ini" \
	--metrics-listen 127.0.0.1:0
AB=(-s "$WORK/rb/admin.ipc" -t 30)
height_of() { api "$1" status 2>/dev/null | jget "d['dag']['best_block']['height']" 2>/dev/null; }
ledger_fd() {   # "fd -> path (inode)" of PID's open ledger.db
	local f
	for f in /proc/"$1"/fd/*; do
		[[ $(readlink "$f") == */ledger.db ]] &&
			echo "${f##*/} $(stat -L -c %i "$f")" && return
	done
}
b_has_a() { "$ADMIN" "${AB[@]}" --json peers 2>/dev/null | grep -q "$id_a"; }

# The HTTP poller: one GET every 20 ms until told to stop; counts failures.
(
	ok=0 bad=0
	while [[ ! -e $WORK/poll.stop ]]; do
		if curl -sf --max-time 5 "$API_b/v1a/status" >/dev/null; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
		fi
		sleep 0.02
	done
	echo "$ok $bad" >"$WORK/poll.out"
) &
POLLER=$!
DPIDS+=("$POLLER")

# 1. Reload mid-sync.
mid() { local h; h=$(height_of "$API_b"); [[ -n $h && $h -gt 200 ]]; }
wait_for 30 mid || fail "B did not start syncing (height $(height_of "$API_b"))"
FD0=$(ledger_fd "$PID_b")
[[ -n $FD0 ]] || fail "B has no open ledger.db"
H0=$(height_of "$API_b")
out=$("$ADMIN" "${AB[@]}" plugin reload p2p 2>&1) || fail "mid-sync reload: $out"
H1=$(height_of "$API_b")
echo "mid-sync reload at height $H0 ($H1 after, A at $NB): $out"
[[ $H1 -lt $NB ]] || echo "note: the sync finished before the reload completed"
kill -0 "$PID_b" 2>/dev/null || fail "B died in the reload"
[[ $(ledger_fd "$PID_b") == "$FD0" ]] || fail "B's ledger.db fd changed: $FD0 -> $(ledger_fd "$PID_b")"
t0=$(date +%s.%N)
wait_for 60 best_is "$API_b" "$A_BEST" || fail "B did not finish the sync after the reload (at $(height_of "$API_b"))"
echo "B reached A's best block $(elapsed "$t0") s after the reload"
touch "$WORK/poll.stop"
wait "$POLLER"
read -r OK BAD <"$WORK/poll.out"
echo "HTTP poller on B: $OK ok, $BAD failed"
[[ $BAD == 0 && $OK -gt 10 ]] || fail "HTTP poller: $OK ok, $BAD failed"
[[ $(host_children "$PID_b") == 0 ]] || fail "B has a hathor-p2p-host child"

# 2. Back to back.
for k in 1 2; do
	out=$("$ADMIN" "${AB[@]}" plugin reload p2p 2>&1) || fail "back-to-back reload $k: $out"
done
n=$(grep -c "p2p plugin p2p_sync_v2 .* running in the core" "$WORK/b.log")
[[ $n == 4 ]] || fail "want 4 loads of the plugin in B's log, got $n"
copies=$(sed -n 's/.* running in the core from .* (copy \([0-9]*\))$/\1/p' "$WORK/b.log" | sort -u | wc -l)
[[ $copies == 4 ]] || fail "the 4 loads did not each use a new private copy ($copies distinct)"
wait_for 20 b_has_a || fail "B did not reconnect to A after the reloads"
echo "back-to-back reloads: ok, 4 loads from 4 private copies, A connected again"

# 3. Wrong ABI.
out=$("$ADMIN" "${AB[@]}" plugin reload "$BADABI" 2>&1)
rc=$?
echo "wrong-ABI reload: exit $rc: $out"
[[ $rc == 1 ]] || fail "wrong-ABI reload: exit $rc"
[[ $(wc -l <<<"$out") == 1 ]] || fail "wrong-ABI reload: not one line"
grep -q "^hathor-admin: plugin reload .*ABI 2.0.*old plugin still active$" <<<"$out" ||
	fail "wrong-ABI reload: unexpected message"
b_has_a || fail "B lost A after a refused reload"

# 4. A build failing in init: rolled back to the previous build.
out=$("$ADMIN" "${AB[@]}" plugin reload "$INITFAIL" 2>&1)
rc=$?
echo "init-failure reload: exit $rc: $out"
[[ $rc == 1 ]] || fail "init-failure reload: exit $rc"
[[ $(wc -l <<<"$out") == 1 ]] || fail "init-failure reload: not one line"
grep -q "frobnicator.*rolled back to .*p2p_sync_v2.so" <<<"$out" ||
	fail "init-failure reload: no rollback in the message"
out=$("$ADMIN" "${AB[@]}" plugin list 2>&1)
grep -Eq '^p2p_sync_v2 +[^ ]+ +p2p +core +yes' <<<"$out" || fail "p2p_sync_v2 not running after the rollback: $out"
wait_for 20 b_has_a || fail "B did not reconnect to A after the rollback"
"$MINER" --api "$API_a" --network unittests --blocks 1 -q >"$WORK/miner.log" 2>&1 ||
	fail "miner: $(tail -3 "$WORK/miner.log")"
A_BEST2=$(best_of "$API_a")
wait_for 20 best_is "$API_b" "$A_BEST2" || fail "B did not follow a block mined at A after the rollback"
kill -0 "$PID_b" 2>/dev/null || fail "B died"
[[ $(ledger_fd "$PID_b") == "$FD0" ]] || fail "B's ledger.db fd changed"
# The reloads in B's metrics (core/p2p_inproc.c hooks): 3 ok, the
# wrong-ABI build refused, the init failure rolled back; the plugin's own
# gauges sit in the core's registry directly.
M=$(curl -sf "http://127.0.0.1:$(tr -dc 0-9 <"$WORK/b.mport")/metrics") ||
	fail "no /metrics on B"
m() { awk -v k="$1" '$1 == k { print $2 }' <<<"$M"; }
for r in ok:3 refused:1 rolled_back:1; do
	got=$(m "hathor_plugin_reloads_total{plugin=\"p2p\",result=\"${r%%:*}\"}")
	[[ $got == "${r##*:}" ]] || fail "reloads ${r%%:*}: '$got', want ${r##*:}"
done
ts=$(m 'hathor_plugin_last_reload_timestamp_seconds{plugin="p2p"}')
python3 -c "import sys,time; t=float(sys.argv[1]); sys.exit(not time.time()-600 < t <= time.time())" "$ts" ||
	fail "last reload timestamp '$ts'"
[[ -n $(m hathor_best_known_block_height) ]] || fail "no hathor_best_known_block_height"
[[ $(m 'hathor_peers{state="ready"}') == 1 ]] ||
	fail "hathor_peers ready '$(m 'hathor_peers{state="ready"}')', want 1 (A)"
echo "B's metrics: reloads ok 3, refused 1, rolled_back 1; last at $ts"

# 5. Overwritten in place (same inode), then a reload to what is there now.
ino=$(stat -c %i "$PLUGDIR/p2p_sync_v2.so")
cp "$INITFAIL" "$PLUGDIR/p2p_sync_v2.so" || fail "cp over the plugin"
[[ $(stat -c %i "$PLUGDIR/p2p_sync_v2.so") == "$ino" ]] || fail "cp did not write in place"
sleep 1
kill -0 "$PID_b" 2>/dev/null || fail "B died when its plugin file was overwritten"
b_has_a || fail "B lost A when its plugin file was overwritten"
out=$("$ADMIN" "${AB[@]}" plugin reload p2p 2>&1)
rc=$?
echo "reload to the overwritten file: exit $rc: $out"
[[ $rc == 1 ]] || fail "reload to the overwritten file: exit $rc"
grep -q "frobnicator.*; rolled back to .*p2p_sync_v2.so$" <<<"$out" ||
	fail "reload to the overwritten file: no clean rollback: $out"
out=$("$ADMIN" "${AB[@]}" plugin list 2>&1)
grep -Eq '^p2p_sync_v2 +[^ ]+ +p2p +core +yes' <<<"$out" ||
	fail "the rollback did not bring back the original bytes: $out"
wait_for 20 b_has_a || fail "B did not reconnect to A after the second rollback"
echo "in-place overwrite: B kept serving; the reload rolled back to the original bytes"
echo OK
