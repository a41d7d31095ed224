#!/bin/bash
# Interop with the reference node (hathor-core v0.69.0, ../shared/realpeer)
# through the REAL daemon in host mode: `hathor-node run` supervising
# hathor-p2p-host running p2p_sync_v2.so, talking to the core over nng.
# TLS everywhere, unittests network.
#   1. reference node A (chain + mempool tx); our daemon bootstraps from A
#      and reaches A's best block and mempool (its own /v1a/status, /mempool);
#   2. a block mined on A and a transaction made on A reach our daemon by
#      relay;
#   3. a transaction signed by A's wallet but pushed only to OUR
#      /v1a/push_tx reaches A through our relay;
#   4. the other direction: hathor-chaingen builds a chain into a second
#      data dir, a second daemon serves it, reference node B `join`s it and
#      must reach its best block and accept every vertex with validation
#      FULL (the reference's own verification of our generated chain).
# Skips (exit 77) when the reference node is not installed.  Private ports
# and temp dirs; kills only what it started.
#
# Usage: interop_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN [BLOCKS TXS TOKENS]
set -euo pipefail

NODE=${1:?usage: interop_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
NB=${5:-200}
NT=${6:-100}
NK=${7:-2}
. "$(dirname "$0")/realpeer_lib.sh"
realpeer_setup daemon 26000
# Our daemons through daemon_lib.sh, in realpeer_setup's $T; its EXIT trap
# stops them, then the reference nodes (realpeer_cleanup).
WORK=$T
DAEMON_CLEANUP=(realpeer_cleanup)
FAIL_LOGS=("$T/rp/run/node-a.log" "$T/rp/run/node-b.log")
. "$(dirname "$0")/daemon_lib.sh"

rp_start_a

echo "== 1. our daemon (host mode) syncs from A"
t0=$(date +%s)
start ours "$OUR_PORT" "$A_P2P_PORT"
HPID=$PID_ours
OURS=$API_ours
grep -q "loaded plugin 'p2p_sync_v2'" "$T/ours.log" ||
	wait_for 10 grep -q "loaded plugin 'p2p_sync_v2'" "$T/ours.log" ||
	fail "p2p_sync_v2 not loaded by the host"
ours_best_is() { [[ $(best_of "$OURS" 2>/dev/null) == "$1" ]]; }
ours_mempool_is() { [[ $(mempool_of "$OURS" 2>/dev/null) == "$1" ]]; }
wait_for 90 ours_best_is "$A_BEST" || fail "our daemon did not reach A's best block (at $(best_of "$OURS" || true))"
wait_for 30 ours_mempool_is "$A_MEMPOOL" || fail "our mempool [$(mempool_of "$OURS" || true)] != A's [$A_MEMPOOL]"
pgrep -P "$HPID" -x hathor-p2p-host >/dev/null || fail "no hathor-p2p-host child: not host mode"
echo "ok: synced A's chain and mempool in $(( $(date +%s) - t0 )) s"

echo "== 2. relay A -> us: a block and a transaction made on A"
rp mine 1 >/dev/null 2>&1 || fail "mining on A failed"
A_BEST2=$(best_of "$A_HTTP_PORT")
[[ $A_BEST2 != "$A_BEST" ]] || fail "A did not mine"
wait_for 30 ours_best_is "$A_BEST2" || fail "A's new block $A_BEST2 did not reach us"
rp tx 1 >"$T/tx.out" 2>&1 || fail "tx on A failed"
TX=$(awk '/^\[tx\]/ {print $2}' "$T/tx.out")
[[ -n $TX ]] || fail "no tx hash in $(cat "$T/tx.out")"
ours_has() { mempool_of "$OURS" 2>/dev/null | grep -q "$1"; }
wait_for 30 ours_has "$TX" || fail "A's tx $TX did not reach us"
echo "ok: block $A_BEST2 and tx $TX relayed A -> us"

echo "== 3. relay us -> A: a transaction pushed to our /v1a/push_tx"
DEST=$(grep -o 'DEST_ADDR=[A-Za-z0-9]*' "$RUN_PAIR" | head -1 | cut -d= -f2)
[[ -n $DEST ]] || fail "no DEST_ADDR in $RUN_PAIR"
MK=$(python3 "$(dirname "$0")/realpeer_mktx.py" "$A_HTTP_PORT" "$DEST") || fail "mktx: $MK"
TX2=${MK%% *}
HEX=${MK#* }
mempool_of "$A_HTTP_PORT" | grep -q "$TX2" && fail "A already has $TX2 before our push"
PUSH=$(curl -s --max-time 20 -X POST -H 'content-type: application/json' \
	-d "{\"hex_tx\":\"$HEX\"}" "$OURS/v1a/push_tx") || fail "push_tx request failed"
echo "$PUSH" | jget "d['success']" | grep -q True || fail "our push_tx refused $TX2: $PUSH"
a_has() { mempool_of "$A_HTTP_PORT" | grep -q "$1"; }
wait_for 30 a_has "$TX2" || fail "tx $TX2 pushed to us did not reach A"
echo "ok: tx $TX2 relayed us -> A"

echo "== 4. reference node B syncs a chain made by hathor-chaingen, served by a second daemon"
kill "$HPID" && wait "$HPID" || true
HPID=
rp stop >/dev/null 2>&1 || true
mkdir -p "$T/dgen"
"$GEN" --network unittests --blocks "$NB" --txs "$NT" --tokens "$NK" \
	--out "$T/chain.vtx" --data-dir "$T/dgen" >"$T/gen.out" 2>&1 ||
	{ cat "$T/gen.out"; fail "chaingen failed"; }
echo "generated: $(tail -1 "$T/gen.out")"
GENPORT=$((OUR_PORT + 400))
start gen "$GENPORT"
D2PID=$PID_gen
GAPI=$API_gen
G_BEST=$(best_of "$GAPI")
echo "our chain daemon best=$G_BEST"
t0=$(date +%s)
rp join "127.0.0.1:$GENPORT" >"$T/b.out" 2>&1 || { cat "$T/b.out"; fail "node B did not start"; }
b_synced() { [[ $(best_of "$B_HTTP_PORT") == "$G_BEST" ]]; }
wait_for 240 b_synced || { fail "B did not reach our best block $G_BEST (B at $(best_of "$B_HTTP_PORT"))"; }
echo "ok: B reached our best block in $(( $(date +%s) - t0 )) s"
python3 "$(dirname "$0")/realpeer_fullcheck.py" "$T/chain.vtx" \
	"$T/rp/run/node-b.log" "$NODE" || fail "B did not fully validate all of our vertices"
pgrep -P "$D2PID" -x hathor-p2p-host >/dev/null || fail "chain daemon has no hathor-p2p-host child"
echo "PASS interop through hathor-node (host mode) with $(api "$B_HTTP_PORT" version | jget "d['version']")"
