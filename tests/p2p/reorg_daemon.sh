#!/bin/bash
# tests/p2p: reorg followed across real daemons in host mode (TLS,
# loopback, unittests).  hathor-chaingen builds a main chain and a heavier
# competing branch without double spends (--fork-height/--fork-blocks);
#   - A gets the main chain only (hathor-import of the --out file);
#   - B bootstraps from A (only from A) and reaches A's best block;
#   - F holds main chain + branch (chaingen's own data dir, branch best) and
#     dials A: A reorgs to the branch, and B must follow to the same best
#     block with the losing main-chain blocks voided on B
#     (/v1a/transaction meta.voided_by non-empty), the branch's not.
#
#   reorg_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN IMPORT
set -u
NODE=${1:?usage: reorg_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN IMPORT}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
IMPORT=${5:?usage}
NB=120          # main chain: heights 1..120
FH=100          # branch from block 100 ...
FB=40           # ... with 40 blocks: heights 101..140, heavier
. "$(dirname "$0")/daemon_lib.sh"

"$GEN" --network unittests --blocks "$NB" --txs 20 --fork-height "$FH" \
	--fork-blocks "$FB" --fork-txs 20 --out "$WORK/main.vtx" \
	--fork-out "$WORK/fork.vtx" --data-dir "$WORK/df" >"$WORK/gen.log" 2>&1 ||
	fail "chaingen failed"
FORK_BEST=$(sed -n 's/^fork blocks .* best \([0-9a-f]\{64\}\).*/\1/p' "$WORK/gen.log")
[[ ${#FORK_BEST} == 64 ]] || fail "no fork best in chaingen's output"
"$IMPORT" --network unittests --data-dir "$WORK/da" "$WORK/main.vtx" \
	>"$WORK/import.log" 2>&1 || fail "import of the main chain into A failed"

hash_at() {
	api "$1" "block_at_height?height=$2" 2>/dev/null | jget "d['block']['hash'] if d.get('success') else ''" 2>/dev/null
}
voided_of() {   # voided_of API HASH: number of voided_by entries, or "x"
	api "$1" "transaction?id=$2" 2>/dev/null | jget "len(d['meta']['voided_by'])" 2>/dev/null || echo x
}

PA=$(free_port)
PB=$(free_port)
PF=$(free_port)
start a "$PA"
start b "$PB" "$PA"
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 && $A_BEST != "$FORK_BEST" ]] || fail "A's best '$A_BEST' is not the main chain's"
t0=$(date +%s.%N)
wait_for 30 best_is "$API_b" "$A_BEST" || fail "B did not reach A's best $A_BEST"
echo "B synced A's main chain ($NB blocks) in $(elapsed "$t0") s"
# The main-chain blocks above the fork point, as B sees them before the reorg.
# Only the lower ones: the core currently deletes the losing blocks near the
# old tip during a reorg (core/consensus.c's reward-lock mempool re-check
# takes them for mempool transactions), so those answer "not found".
LOSERS=()
for h in $((FH + 1)) $((FH + 10)); do
	x=$(hash_at "$API_b" "$h")
	[[ ${#x} == 64 ]] || fail "B has no block at height $h"
	[[ $(voided_of "$API_b" "$x") == 0 ]] || fail "main block $x voided on B before the reorg"
	LOSERS+=("$x")
done

start f "$PF" "$PA"
[[ $(best_of "$API_f") == "$FORK_BEST" ]] || fail "F's best is not the branch's ($(best_of "$API_f"))"
t0=$(date +%s.%N)
wait_for 30 best_is "$API_a" "$FORK_BEST" || fail "A did not reorg to the branch $FORK_BEST (at $(best_of "$API_a"))"
echo "A reorged to the branch in $(elapsed "$t0") s"
wait_for 30 best_is "$API_b" "$FORK_BEST" || fail "B did not follow A to $FORK_BEST (at $(best_of "$API_b"))"
echo "B followed the reorg in $(elapsed "$t0") s"
# B learnt the branch from A only.
id_a=$(sed -n 's/.*p2p_sync_v2 ready: peer id \([0-9a-f]\{7\}\).*/\1/p' "$WORK/a.log" | tail -1)
peers_b=$(sed -n 's/.* peer \([0-9a-f]\{7\}\) [0-9.:]*: peer connected.*/\1/p' "$WORK/b.log" | sort -u | tr '\n' ' ')
[[ -n $id_a && $peers_b == "$id_a " ]] || fail "B's peers [$peers_b], expected only A ($id_a)"
for x in "${LOSERS[@]}"; do
	v=$(voided_of "$API_b" "$x")
	[[ $v != x && $v -ge 1 ]] || fail "losing block $x not voided on B (voided_by entries: $v)"
done
[[ $(voided_of "$API_b" "$FORK_BEST") == 0 ]] || fail "the branch's best block is voided on B"
w=$(hash_at "$API_b" $((FH + 10)))
[[ $w != "${LOSERS[1]}" && $(voided_of "$API_b" "$w") == 0 ]] ||
	fail "B's best chain at height $((FH + 10)) is not the branch's"
echo "losing blocks voided on B: ${#LOSERS[@]} checked"
echo OK
