#!/bin/bash
# Interop with the reference node (hathor-core v0.69.0, ../shared/realpeer):
#   1. reference node A (chain + mempool tx) -> our P2P engine syncs it;
#   2. reference node B joins OUR node only and syncs A's chain and mempool
#      through us;
#   3. a block mined on A and a transaction pushed to A reach us and B by
#      real-time relay;
#   4. a transaction signed by A's wallet but handed only to OUR node (its
#      --push-dir) reaches A and B through our relay.
# TLS is on everywhere.  Skips (exit 77) when the reference node is not
# installed.  Runs the reference nodes in a private directory and ports, so
# it never touches nodes someone else started.
#
# Usage: interop_realpeer.sh P2P_BINARY [--ledger] [extra args for it]
#   P2P_BINARY is p2p_harness (engine + in-memory node service) or any
#   binary with the same flags; --ledger gives it a private --data-dir so
#   it runs over the real core ledger (full verification).
set -euo pipefail

BIN=${1:?usage: interop_realpeer.sh P2P_BINARY [--ledger] [args]}
shift
LEDGER=0
if [[ ${1:-} == --ledger ]]; then LEDGER=1; shift; fi
. "$(dirname "$0")/realpeer_lib.sh"
realpeer_setup interop $((LEDGER == 1 ? 22000 : 20000))
if [[ $LEDGER == 1 ]]; then mkdir -p "$T/data"; set -- --data-dir "$T/data" "$@"; fi
mkdir -p "$T/push"
set -- --push-dir "$T/push" "$@"
ours() { cat "$T/st" 2>/dev/null; }
ours_best_is() { ours | grep -q "best=$1 "; }
ours_has_mempool() { ours | grep -Eq "mempool=[1-9]"; }

rp_start_a

echo "== 1. our node syncs from A"
"$BIN" --listen "127.0.0.1:$OUR_PORT" --bootstrap "127.0.0.1:$A_P2P_PORT" \
	--status-file "$T/st" --run-for 600 "$@" >"$T/ours.out" 2>"$T/ours.err" &
HPID=$!
t0=$(date +%s)
wait_for 90 ours_best_is "$A_BEST" || fail "our node did not reach A's best block"
wait_for 30 ours_has_mempool || fail "our node did not get A's mempool"
echo "ok: synced from A in $(( $(date +%s) - t0 )) s: $(ours)"

echo "== 1b. same answers as the reference to malformed and out-of-state input"
CA=$(cd "$(dirname "$0")/../../plugins/p2p_sync_v2/ca" && pwd)
(source "$RP/env.sh" && python3 "$(dirname "$0")/refcheck.py" "$A_P2P_PORT" \
	"$CA/ca.crt" "$CA/ca.key") >"$T/ref.txt" 2>&1 || fail "refcheck vs A: $(cat "$T/ref.txt")"
(source "$RP/env.sh" && python3 "$(dirname "$0")/refcheck.py" "$OUR_PORT" \
	"$CA/ca.crt" "$CA/ca.key") >"$T/ours.txt" 2>&1 || fail "refcheck vs us: $(cat "$T/ours.txt")"
if ! diff "$T/ref.txt" "$T/ours.txt"; then
	fail "our answers differ from the reference's (above: < reference, > ours)"
fi
echo "ok: $(wc -l <"$T/ours.txt") probes answered exactly as the reference"

echo "== 2. reference node B syncs from our node"
rp join "127.0.0.1:$OUR_PORT" >"$T/b.out" 2>&1 || { cat "$T/b.out"; fail "node B did not start"; }
b_synced() { [[ $(best_of "$B_HTTP_PORT") == "$A_BEST" ]]; }
wait_for 90 b_synced || fail "B did not reach A's best block through us"
b_mempool() { [[ $(mempool_of "$B_HTTP_PORT") == "$A_MEMPOOL" ]]; }
wait_for 60 b_mempool || fail "B's mempool [$(mempool_of "$B_HTTP_PORT")] != A's [$A_MEMPOOL]"
b_peers=$(api "$B_HTTP_PORT" status | jget "len(d['connections']['connected_peers'])")
[[ $b_peers == 1 ]] || fail "B has $b_peers peers, expected only us"
echo "ok: B synced chain and mempool from us"

echo "== 3. relay: a block and a transaction made on A"
rp mine 1 >/dev/null 2>&1 || fail "mining on A failed"
A_BEST2=$(best_of "$A_HTTP_PORT")
[[ $A_BEST2 != "$A_BEST" ]] || fail "A did not mine"
wait_for 30 ours_best_is "$A_BEST2" || fail "new block did not reach us"
b_synced2() { [[ $(best_of "$B_HTTP_PORT") == "$A_BEST2" ]]; }
wait_for 30 b_synced2 || fail "new block did not reach B"
rp tx 1 >"$T/tx.out" 2>&1 || fail "tx on A failed"
TX=$(awk '/^\[tx\]/ {print $2}' "$T/tx.out")
[[ -n $TX ]] || fail "no tx hash in $(cat "$T/tx.out")"
b_has_tx() { mempool_of "$B_HTTP_PORT" | grep -q "$TX"; }
wait_for 30 b_has_tx || fail "tx $TX did not reach B"
echo "ok: block $A_BEST2 and tx $TX relayed A -> us -> B"

echo "== 4. relay: a transaction given only to our node"
DEST=$(grep -o 'DEST_ADDR=[A-Za-z0-9]*' "$RUN_PAIR" | head -1 | cut -d= -f2)
[[ -n $DEST ]] || fail "no DEST_ADDR in $RUN_PAIR"
MK=$(python3 "$(dirname "$0")/realpeer_mktx.py" "$A_HTTP_PORT" "$DEST") || fail "mktx: $MK"
TX2=${MK%% *}
echo "${MK#* }" >"$T/push/tx2.tmp" && mv "$T/push/tx2.tmp" "$T/push/tx2.hex"
wait_for 20 test -e "$T/push/tx2.ok" || fail "our node did not accept tx $TX2: $(cat "$T/push/tx2.err" 2>/dev/null)"
a_has_tx2() { mempool_of "$A_HTTP_PORT" | grep -q "$TX2"; }
b_has_tx2() { mempool_of "$B_HTTP_PORT" | grep -q "$TX2"; }
wait_for 30 a_has_tx2 || fail "tx $TX2 did not reach A"
wait_for 30 b_has_tx2 || fail "tx $TX2 did not reach B"
echo "ok: tx $TX2 relayed us -> A and us -> B"
echo "PASS interop with $(api "$A_HTTP_PORT" version | jget "d['version']")"
