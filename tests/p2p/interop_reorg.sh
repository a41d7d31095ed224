#!/bin/bash
# Interop with the reference node (hathor-core v0.69.0, ../shared/realpeer)
# across a reorg made by our daemons (host mode, TLS, unittests):
#   - hathor-chaingen builds a main chain and a heavier competing branch
#     (--fork-height/--fork-blocks, with transactions on both sides; with
#     DOUBLE=1 the branch double-spends the main chain's transactions);
#   - our daemon A gets the main chain (hathor-import of the --out file),
#     reference node B `join`s A and reaches A's best block;
#   - our daemon F holds main chain + branch and dials A: A reorgs to the
#     branch and B must follow through A to the branch's best block;
#   - B must not have closed a connection to us with "invalid vertex
#     received" (or any other ERROR), logged no error or traceback, and
#     holds A's mempool afterwards (the main chain's transactions the
#     branch does not confirm).
# LATE=1: B joins only after A's reorg; DOUBLE=1: the branch double-spends
# (--fork-double-spend).  Both make the reference fail, for its own reasons
# (docs/p2p.md, "Interop after a reorg"); not part of the ctest run.
# Skips (exit 77) when the reference node is not installed.
#
#   interop_reorg.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN IMPORT
set -u
NODE=${1:?usage: interop_reorg.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN IMPORT}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
IMPORT=${5:?usage}
NB=${NB:-120}   # main chain: heights 1..NB
FH=${FH:-100}   # branch from this height ...
FB=${FB:-40}    # ... with FB blocks, heavier
. "$(dirname "$0")/realpeer_lib.sh"
realpeer_setup reorg $((${DOUBLE:-0} == 1 ? 16000 : 28000))
WORK=$T
DAEMON_CLEANUP=(realpeer_cleanup)
FAIL_LOGS=("$T/rp/run/node-b.log")
. "$(dirname "$0")/daemon_lib.sh"

ds=()
[[ ${DOUBLE:-0} == 1 ]] && ds=(--fork-double-spend)
"$GEN" --network unittests --blocks "$NB" --txs 30 --fork-height "$FH" \
	--fork-blocks "$FB" --fork-txs 20 "${ds[@]}" --out "$T/main.vtx" \
	--fork-out "$T/fork.vtx" --data-dir "$T/df" >"$T/gen.log" 2>&1 ||
	fail "chaingen failed"
FORK_BEST=$(sed -n 's/^fork blocks .* best \([0-9a-f]\{64\}\).*/\1/p' "$T/gen.log")
[[ ${#FORK_BEST} == 64 ]] || fail "no fork best in chaingen's output: $(cat "$T/gen.log")"
"$IMPORT" --network unittests --data-dir "$T/da" "$T/main.vtx" \
	>"$T/import.log" 2>&1 || fail "import of the main chain into A failed"

start a "$OUR_PORT"
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 && $A_BEST != "$FORK_BEST" ]] || fail "A's best '$A_BEST'"
b_at() { [[ $(best_of "$B_HTTP_PORT") == "$1" ]]; }
join_b() {
	local t0=$(date +%s)
	rp join "127.0.0.1:$OUR_PORT" >"$T/b.out" 2>&1 || { cat "$T/b.out"; fail "node B did not start"; }
	wait_for 240 b_at "$1" || fail "B did not reach A's best $1 (B at $(best_of "$B_HTTP_PORT"))"
	echo "B synced A's chain in $(( $(date +%s) - t0 )) s"
}
reorg_a() {
	local t0=$(date +%s)
	start f "$((OUR_PORT + 400))" "$OUR_PORT"
	wait_for 60 best_is "$API_a" "$FORK_BEST" || fail "A did not reorg to $FORK_BEST"
	echo "A reorged to the branch in $(( $(date +%s) - t0 )) s"
}
if [[ ${LATE:-0} == 1 ]]; then
	# B joins after A's reorg: it gets the branch and A's mempool.
	reorg_a
	join_b "$FORK_BEST"
else
	join_b "$A_BEST"
	reorg_a
	t0=$(date +%s)
	wait_for 120 b_at "$FORK_BEST" || fail "B did not follow the reorg (at $(best_of "$B_HTTP_PORT"))"
	echo "B followed the reorg in $(( $(date +%s) - t0 )) s"
fi
sleep 3         # the mempool exchange after the reorg
LOG=$T/rp/run/node-b.log
# structlog's colours off; "send error" is the reference closing a
# connection with an ERROR message (send_error_and_close_connection).
if sed 's/\x1b\[[0-9;]*m//g' "$LOG" |
	grep -nE "invalid vertex|send error|\[error|\[critical|Traceback" >"$T/b.errors"; then
	cut -c1-400 "$T/b.errors"
	fail "reference node B complained (above)"
fi
A_MP=$(mempool_of "$API_a")
B_MP=$(mempool_of "$B_HTTP_PORT")
echo "A mempool: $(wc -w <<<"$A_MP") txs; B mempool: $(wc -w <<<"$B_MP") txs"
[[ $B_MP == "$A_MP" ]] || fail "B's mempool [$B_MP] != A's [$A_MP]"
echo "PASS: reference node followed our reorg without errors"
