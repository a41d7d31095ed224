#!/bin/bash
# tests/p2p: /v1a/status sees the P2P host's peers (core/peers.h, the
# cached get_connections table).  Two real daemons in host mode
# (hathor-node run + hathor-p2p-host + p2p_sync_v2.so, TLS, loopback,
# unittests).  A mines one block; B bootstraps from A: B's /v1a/status lists
# A (A's peer id, state READY, exactly the keys and types of hathor-core's
# status.py) in connections.connected_peers, A's lists B, and B's entry for
# A reports its sync agent synced (what /v1a/p2p/readiness reads).  A peer
# that goes away leaves the table within a few seconds.  getmininginfo
# answers "Node still syncing" without a synced peer (A alone), and answers
# on B once synced, and on a lone C started with --allow-mining-without-peers.  Readiness itself
# stops at "no recent blocks" here: a unittests chain cannot reach the
# present (a block is at most 4500 s after its parent), as on the reference.
#
#   status_peers_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR MINER
set -u
NODE=${1:?usage: status_peers_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR MINER}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
MINER=${4:?usage}
. "$(dirname "$0")/daemon_lib.sh"

# status_peer API FIELD: FIELD of the first connected peer ("" if none).
status_peer() {
	api "$1" status 2>/dev/null | jget "(d['connections']['connected_peers'] or [{}])[0].get('$2', '')" 2>/dev/null
}
server_id() { api "$1" status 2>/dev/null | jget "d['server']['id']" 2>/dev/null; }
peer_is() { [[ $(status_peer "$1" id) == "$2" ]]; }
no_peer() { [[ $(api "$1" status 2>/dev/null | jget "len(d['connections']['connected_peers'])" 2>/dev/null) == 0 ]]; }
# readiness API: "<http code> <reason>"
readiness() {
	curl -s --max-time 10 -w ' %{http_code}' "$1/v1a/p2p/readiness" |
		python3 -c 'import json,sys; b,c=sys.stdin.read().rsplit(" ",1); d=json.loads(b); print(c, d["success"], d.get("reason",""))'
}
synced_peer() {
	[[ $(api "$1" status 2>/dev/null | jget "[p['plugins'].get('node-block-sync',{}).get('synced') for p in d['connections']['connected_peers']]" 2>/dev/null) == "[True]" ]]
}

PA=$(free_port)
PB=$(free_port)
start a "$PA"
"$MINER" --api "$API_a" --network unittests --blocks 1 --live -q \
	>"$WORK/miner.log" 2>&1 || fail "miner: $(tail -3 "$WORK/miner.log")"
has_id() { [[ $(server_id "$1" | tr -d '\n' | wc -c) == 64 ]]; }
wait_for 10 has_id "$API_a" || fail "A's status has no server id: $(api "$API_a" status | head -c 300)"
ID_A=$(server_id "$API_a")
[[ ${#ID_A} == 64 ]] || fail "A's server id '$ID_A'"
r=$(readiness "$API_a")
[[ $r == "503 False Node doesn't have recent blocks" ]] || fail "A: readiness $r"
no_peer "$API_a" || fail "A lists peers before any connected"
# getmininginfo: can_start_mining() needs a synced peer.
mi() { api "$1" getmininginfo | jget "d['success'], d.get('message', ''), d.get('blocks')"; }
r=$(mi "$API_a")
[[ $r == "False Node still syncing None" ]] || fail "A without peers: getmininginfo $r"

start b "$PB" "$PA"
wait_for 20 peer_is "$API_b" "$ID_A" || fail "B's status does not list A ($ID_A): $(api "$API_b" status | head -c 600)"
ID_B=$(server_id "$API_b")
[[ ${#ID_B} == 64 && $ID_B != "$ID_A" ]] || fail "B's server id '$ID_B'"
wait_for 10 peer_is "$API_a" "$ID_B" || fail "A's status does not list B ($ID_B)"
echo "B lists A ($ID_A), A lists B ($ID_B)"
api "$API_b" status | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["connections"]["connected_peers"][0]
want = {"id": str, "app_version": str, "current_time": float, "uptime": float,
        "address": str, "state": str, "rtt": list, "last_message": float,
        "plugins": dict, "warning_flags": list, "protocol_version": str,
        "peer_best_blockchain": list}
assert set(p) == set(want), sorted(p)
for k, t in want.items():
    assert isinstance(p[k], t), (k, p[k])
assert p["state"] == "READY", p
assert p["address"].startswith("127.0.0.1:"), p
assert p["uptime"] >= 0 and p["last_message"] >= 0, p
assert all(isinstance(e, list) and len(e) == 2 for e in p["peer_best_blockchain"]), p
for k in ("handshaking_peers", "connecting_peers"):
    assert isinstance(d["connections"][k], list), d["connections"]
for k in ("known_peers", "peers_whitelist"):
    assert isinstance(d[k], list), d
' || fail "B's connected peer entry: $(api "$API_b" status | head -c 800)"
wait_for 30 synced_peer "$API_b" || fail "B's peer A never synced: $(api "$API_b" status | head -c 800)"
echo "B's sync with A reports synced"
r=$(mi "$API_b")
[[ $r == "True  1" ]] || fail "B synced with A: getmininginfo $r"
# --allow-mining-without-peers: answers with no peer at all.
start c "$(free_port)" "" --allow-mining-without-peers
r=$(mi "$API_c")
[[ $r == "True  0" ]] || fail "C (allow mining without peers): getmininginfo $r"
echo "getmininginfo: still syncing alone, answers once synced or when allowed"

kill "$PID_b"
wait "$PID_b" 2>/dev/null
wait_for 10 no_peer "$API_a" || fail "A still lists B after B stopped"
echo OK
