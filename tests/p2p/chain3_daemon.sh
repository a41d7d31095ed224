#!/bin/bash
# tests/p2p: a chain A -> B -> C of three real daemons in host mode
# (hathor-node run + hathor-p2p-host + p2p_sync_v2.so, TLS, loopback,
# unittests).  A holds a hathor-chaingen chain; B bootstraps from A; C
# bootstraps from B only and must reach A's best block; then a block mined
# at A (hathor-miner over A's HTTP API) must reach C through B.
#
#   chain3_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN MINER [BLOCKS TXS]
set -u
NODE=${1:?usage: chain3_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN MINER}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
MINER=${5:?usage}
NB=${6:-300}
NT=${7:-100}
. "$(dirname "$0")/daemon_lib.sh"

t0=$(date +%s.%N)
"$GEN" --network unittests --blocks "$NB" --txs "$NT" --data-dir "$WORK/da" \
	--quiet >"$WORK/gen.log" 2>&1 || fail "chaingen failed"
echo "chain of $NB blocks + $NT txs generated in $(elapsed "$t0") s"

PA=$(free_port)
PB=$(free_port)
PC=$(free_port)
start a "$PA"
start b "$PB" "$PA"
start c "$PC" "$PB"
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 ]] || fail "A has no best block"
t0=$(date +%s.%N)
wait_for 30 best_is "$API_b" "$A_BEST" || fail "B did not reach A's best $A_BEST (at $(best_of "$API_b"))"
echo "B reached A's best block in $(elapsed "$t0") s"
wait_for 30 best_is "$API_c" "$A_BEST" || fail "C did not reach A's best $A_BEST (at $(best_of "$API_c"))"
echo "C reached A's best block in $(elapsed "$t0") s"
# C's only peer is B (it never learnt A: peer discovery is off); the
# daemon's /v1a/status does not list peers, so read C's host log.
id_b=$(sed -n 's/.*p2p_sync_v2 ready: peer id \([0-9a-f]\{7\}\).*/\1/p' "$WORK/b.log" | tail -1)
[[ -n $id_b ]] || fail "no peer id in B's log"
peers_c=$(sed -n 's/.* peer \([0-9a-f]\{7\}\) [0-9.:]*: peer connected.*/\1/p' "$WORK/c.log" | sort -u | tr '\n' ' ')
[[ $peers_c == "$id_b " ]] || fail "C's peers [$peers_c], expected only B ($id_b)"

"$MINER" --api "$API_a" --network unittests --blocks 1 -q >"$WORK/miner.log" 2>&1 ||
	fail "miner: $(tail -3 "$WORK/miner.log")"
A_BEST2=$(best_of "$API_a")
[[ $A_BEST2 != "$A_BEST" && ${#A_BEST2} == 64 ]] || fail "A did not take the mined block"
t0=$(date +%s.%N)
wait_for 20 best_is "$API_c" "$A_BEST2" || fail "mined block $A_BEST2 did not reach C (at $(best_of "$API_c"))"
echo "block mined at A reached C through B in $(elapsed "$t0") s"
for n in a b c; do
	eval "pid=\$PID_$n"
	pgrep -P "$pid" -x hathor-p2p-host >/dev/null || fail "node $n has no hathor-p2p-host child"
done
echo OK
