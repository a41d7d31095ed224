#!/bin/bash
# tests/p2p: the P2P plugin inside the core (--p2p-mode=inprocess) against a
# daemon in host mode, real TLS on loopback (unittests).  A (host mode)
# holds a hathor-chaingen chain that ends 10 minutes ago (--start-time) and
# 3 transactions pushed with hathor-txgen (its mempool).  B (inprocess)
# starts empty, bootstraps from A and must reach A's best block and A's
# mempool; then a block mined at A and a transaction pushed to A reach B
# by relay.  Relay is proven by counters, not by timing: A's
# hathor_p2p_local_relays_total{result="sent"} (the core handed its
# push_tx vertex to the host) and B's hathor_p2p_relayed_received_total
# (stored from a DATA relay, not from mempool sync) each count the tx
# pushed to A; then a tx pushed to B (in-process) is counted the same way
# by B and A.  B runs no hathor-p2p-host child, A runs one; B's admin
# "peers" and /v1a/status connected_peers name A's peer id.
#
#   inproc_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN MINER TXGEN ADMIN [BLOCKS TXS]
#
# Benchmarking (not a ctest case): B_MODE=host runs B in host mode instead,
# skipping the in-process checks, so the same chain and the same "B reached
# A's best block in N s" line compare the two modes, e.g.
#   B_MODE=host inproc_daemon.sh ... 20000 0   vs   inproc_daemon.sh ... 20000 0
set -u
NODE=${1:?usage: inproc_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN MINER TXGEN ADMIN}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
MINER=${5:?usage}
TXGEN=${6:?usage}
ADMIN=${7:?usage}
NB=${8:-300}
NT=${9:-100}
B_MODE=${B_MODE:-inprocess}
. "$(dirname "$0")/daemon_lib.sh"

# 31 s apart (the chaingen default), the last block 600 s ago: push_tx
# takes transactions on it and the miner's historic blocks stay in the past.
START=$(($(date +%s) - NB * 31 - 600))
t0=$(date +%s.%N)
"$GEN" --network unittests --blocks "$NB" --txs "$NT" --start-time "$START" \
	--data-dir "$WORK/da" --quiet >"$WORK/gen.log" 2>&1 ||
	fail "chaingen failed: $(tail -3 "$WORK/gen.log")"
echo "chain of $NB blocks + $NT txs generated in $(elapsed "$t0") s"

PA=$(free_port)
PB=$(free_port)
printf '[metrics]\nport_file = %s\n' "$WORK/a.mport" >"$WORK/a.ini"
printf '[metrics]\nport_file = %s\n' "$WORK/b.mport" >"$WORK/b.ini"
start a "$PA" "" --config "$WORK/a.ini" --metrics-listen 127.0.0.1:0
"$TXGEN" --api "$API_a" --network unittests --count 3 >"$WORK/txgen0.log" 2>&1 ||
	fail "txgen: $(tail -3 "$WORK/txgen0.log")"
A_BEST=$(best_of "$API_a")
A_MEMPOOL=$(mempool_of "$API_a")
[[ ${#A_BEST} == 64 ]] || fail "A has no best block"
[[ $(wc -w <<<"$A_MEMPOOL") -eq 3 ]] || fail "A's mempool [$A_MEMPOOL], want 3 txs"

start b "$PB" "$PA" --p2p-mode "$B_MODE" --config "$WORK/b.ini" \
	--metrics-listen 127.0.0.1:0
# metric NODE SERIES: its value in NODE's /metrics (0 when absent).
metric() {
	curl -sf "http://127.0.0.1:$(tr -dc 0-9 <"$WORK/$1.mport")/metrics" |
		awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }'
}
SENT='hathor_p2p_local_relays_total{result="sent"}'
RECV='hathor_p2p_relayed_received_total'
# relay_on API: that node's every ready peer asked it to relay (RELAY true).
relay_on() {
	api "$1" status 2>/dev/null | jget "int(bool(d['connections']['connected_peers']) and all(p['plugins']['node-block-sync']['relay_to_peer'] for p in d['connections']['connected_peers']))" 2>/dev/null | grep -qx 1
}
t0=$(date +%s.%N)
wait_for 60 best_is "$API_b" "$A_BEST" || fail "B did not reach A's best $A_BEST (at $(best_of "$API_b"))"
echo "B ($B_MODE) reached A's best block in $(elapsed "$t0") s"
wait_for 30 mempool_is "$API_b" "$A_MEMPOOL" || fail "B's mempool [$(mempool_of "$API_b")] != A's [$A_MEMPOOL]"
echo "B has A's mempool ($A_MEMPOOL)"

# Processes: the plugin runs inside B's core.
if [[ $B_MODE != inprocess ]]; then
	echo "OK (B_MODE=$B_MODE: in-process checks skipped)"
	exit 0
fi
[[ $(host_children "$PID_b") == 0 ]] || fail "B (inprocess) has a hathor-p2p-host child"
[[ $(host_children "$PID_a") == 1 ]] || fail "A (host mode) has $(host_children "$PID_a") hathor-p2p-host children, want 1"
grep -q "p2p plugin p2p_sync_v2 .* running in the core" "$WORK/b.log" ||
	fail "B's log does not say the plugin runs in the core"

# Relay: a block mined at A, then a transaction pushed to A.
"$MINER" --api "$API_a" --network unittests --blocks 1 -q >"$WORK/miner.log" 2>&1 ||
	fail "miner: $(tail -3 "$WORK/miner.log")"
A_BEST2=$(best_of "$API_a")
[[ $A_BEST2 != "$A_BEST" && ${#A_BEST2} == 64 ]] || fail "A did not take the mined block"
t0=$(date +%s.%N)
wait_for 20 best_is "$API_b" "$A_BEST2" || fail "mined block $A_BEST2 did not reach B (at $(best_of "$API_b"))"
echo "block mined at A reached B in $(elapsed "$t0") s"
# B's synced-peer check comes from the plugin in the core: with a recent
# block and A synced, readiness passes (host mode B would say "Node doesn't
# have a synced peer").
ready() { api "$API_b" p2p/readiness 2>/dev/null | jget "d['success']" 2>/dev/null | grep -q True; }
if [[ $B_MODE == inprocess ]]; then
	wait_for 20 ready || fail "B's /v1a/p2p/readiness: $(curl -s "$API_b/v1a/p2p/readiness")"
	echo "B's /v1a/p2p/readiness: $(curl -s "$API_b/v1a/p2p/readiness")"
fi
wait_for 20 relay_on "$API_a" || fail "B never asked A to relay: $(api "$API_a" status)"
wait_for 20 relay_on "$API_b" || fail "A never asked B to relay: $(api "$API_b" status)"
sent_a=$(metric a "$SENT")
recv_b=$(metric b "$RECV")
TX=$("$TXGEN" --api "$API_a" --network unittests --count 1 2>"$WORK/txgen1.log") ||
	fail "txgen: $(tail -3 "$WORK/txgen1.log")"
[[ ${#TX} == 64 ]] || fail "txgen printed '$TX'"
b_has() { mempool_of "$API_b" 2>/dev/null | grep -q "$1"; }
t0=$(date +%s.%N)
wait_for 20 b_has "$TX" || fail "tx $TX pushed to A did not reach B's mempool"
echo "tx pushed to A reached B in $(elapsed "$t0") s"
got=$(metric a "$SENT")
[[ $got == $((sent_a + 1)) ]] || fail "A's $SENT: $got, want $((sent_a + 1)) (push_tx not handed to the host)"
got=$(metric b "$RECV")
[[ $got == $((recv_b + 1)) ]] || fail "B's $RECV: $got, want $((recv_b + 1)) (the tx came by sync, not by relay)"
echo "tx pushed to A reached B by relay (A sent 1, B received 1 by DATA)"
# In-process mode: a tx pushed to B goes to A by relay.
sent_b=$(metric b "$SENT")
recv_a=$(metric a "$RECV")
TX2=$("$TXGEN" --api "$API_b" --network unittests --count 1 2>"$WORK/txgen2.log") ||
	fail "txgen on B: $(tail -3 "$WORK/txgen2.log")"
a_has() { mempool_of "$API_a" 2>/dev/null | grep -q "$1"; }
wait_for 20 a_has "$TX2" || fail "tx $TX2 pushed to B did not reach A's mempool"
got=$(metric b "$SENT")
[[ $got == $((sent_b + 1)) ]] || fail "B's $SENT: $got, want $((sent_b + 1)) (in-process push_tx not relayed)"
got=$(metric a "$RECV")
[[ $got == $((recv_a + 1)) ]] || fail "A's $RECV: $got, want $((recv_a + 1)) (the tx came by sync, not by relay)"
echo "tx pushed to B (inprocess) reached A by relay"
# B's peer source: admin "peers" and /v1a/status name A's peer id.
id_a=$(sed -n 's/.*p2p_sync_v2 ready: peer id \([0-9a-f]\{64\}\).*/\1/p' "$WORK/a.log" | tail -1)
[[ ${#id_a} == 64 ]] || fail "no peer id in A's log"
"$ADMIN" -s "$WORK/rb/admin.ipc" --json peers >"$WORK/peers.json" 2>&1 ||
	fail "hathor-admin peers: $(cat "$WORK/peers.json")"
grep -q "$id_a" "$WORK/peers.json" || fail "admin peers of B do not list A ($id_a)"
api "$API_b" status | jget "[p['id'] for p in d['connections']['connected_peers']]" \
	>"$WORK/status_peers" || fail "B's /v1a/status"
grep -q "$id_a" "$WORK/status_peers" || fail "B's /v1a/status connected_peers $(cat "$WORK/status_peers") lack A"
# Host absent: A's host killed; a push_tx right after still succeeds and
# its relay ends as exactly one of sent / failed / dropped (never queued
# for a later host, never failing the HTTP answer).
relays_a() {
	local r t=0
	for r in sent failed dropped; do
		t=$((t + $(metric a "hathor_p2p_local_relays_total{result=\"$r\"}")))
	done
	echo "$t"
}
before=$(relays_a)
hpid=$(pgrep -P "$PID_a" -x hathor-p2p-host) || fail "A has no host child"
kill -KILL "$hpid"
TX3=$("$TXGEN" --api "$API_a" --network unittests --count 1 2>"$WORK/txgen3.log") ||
	fail "push_tx on A with its host killed: $(tail -3 "$WORK/txgen3.log")"
[[ ${#TX3} == 64 ]] || fail "txgen printed '$TX3'"
one_more() { [[ $(relays_a) == $((before + 1)) ]]; }
wait_for 20 one_more || fail "A's local relays $(relays_a), want $((before + 1)) after push_tx with no host"
echo "push_tx with A's host killed: accepted, relay settled once ($(curl -sf "http://127.0.0.1:$(tr -dc 0-9 <"$WORK/a.mport")/metrics" | grep '^hathor_p2p_local_relays_total' | tr '\n' ' '))"

echo OK
