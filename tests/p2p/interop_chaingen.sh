#!/bin/bash
# Interop, the other direction: a chain made by OUR tools is served by our
# node and synced by the reference node (hathor-core v0.69.0,
# ../shared/realpeer), which verifies every vertex by its own rules:
#   1. hathor-chaingen builds N blocks + M signed txs + K token creations
#      into a data dir through the core ledger;
#   2. p2p_harness --data-dir serves that ledger over TLS;
#   3. reference node B `join`s us and must reach our best block and hold
#      every one of our vertices (its /v1a/transaction answers for them).
# Skips (exit 77) when the reference node is not installed.
#
# Usage: interop_chaingen.sh P2P_HARNESS CHAINGEN HATHOR_NODE [BLOCKS TXS TOKENS]
set -euo pipefail

BIN=${1:?usage: interop_chaingen.sh P2P_HARNESS CHAINGEN HATHOR_NODE [BLOCKS TXS TOKENS]}
GEN=${2:?usage: interop_chaingen.sh P2P_HARNESS CHAINGEN HATHOR_NODE [BLOCKS TXS TOKENS]}
NODE=${3:?usage: interop_chaingen.sh P2P_HARNESS CHAINGEN HATHOR_NODE [BLOCKS TXS TOKENS]}
NB=${4:-300}
NT=${5:-150}
NK=${6:-3}
. "$(dirname "$0")/realpeer_lib.sh"
realpeer_setup chaingen 24000
mkdir -p "$T/data"
echo "== 1. hathor-chaingen: $NB blocks, $NT txs, $NK token creations"
t0=$(date +%s)
"$GEN" --network unittests --blocks "$NB" --txs "$NT" --tokens "$NK" \
	--out "$T/chain.vtx" --data-dir "$T/data" >"$T/gen.out" 2>&1 ||
	{ cat "$T/gen.out"; fail "chaingen failed"; }
echo "ok: generated in $(( $(date +%s) - t0 )) s: $(tail -1 "$T/gen.out")"

echo "== 2. our node serves it"
"$BIN" --network unittests --listen "127.0.0.1:$OUR_PORT" --data-dir "$T/data" \
	--status-file "$T/st" --run-for 600 >"$T/ours.out" 2>"$T/ours.err" &
HPID=$!
wait_for 20 grep -qs "port=" "$T/st" || fail "our node did not start"
OUR_BEST=$(sed -n 's/.* best=\([0-9a-f]*\) .*/\1/p' "$T/st")
echo "ours: $(cat "$T/st")"

echo "== 3. reference node B syncs our chain"
t0=$(date +%s)
rp join "127.0.0.1:$OUR_PORT" >"$T/b.out" 2>&1 || { cat "$T/b.out"; fail "node B did not start"; }
b_synced() { [[ $(best_of "$B_HTTP_PORT") == "$OUR_BEST" ]]; }
wait_for 240 b_synced || fail "B did not reach our best block $OUR_BEST (B at $(best_of "$B_HTTP_PORT"))"
echo "ok: B reached our best block in $(( $(date +%s) - t0 )) s"
# Every vertex of the generated file is known to B with full validation.
python3 "$(dirname "$0")/realpeer_fullcheck.py" "$T/chain.vtx" \
	"$T/rp/run/node-b.log" "$NODE" || fail "B is missing some of our vertices"
echo "PASS: reference node synced $NB blocks + $NT txs + $NK tokens made by hathor-chaingen"
