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
realpeer_setup daemon 46000
D2PID=
DPIDS=()

cleanup_daemon() {
	local p
	for p in "${DPIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	realpeer_cleanup
}
trap cleanup_daemon EXIT

# start_daemon NAME P2P_PORT [BOOTSTRAP]: sets LASTPID and APIPORT (the
# daemon's HTTP port).  Its log is $T/NAME.log.
start_daemon() {
	local n=$1 port=$2 boot=() i api
	[[ $# -gt 2 ]] && boot=(--bootstrap "$3")
	mkdir -p "$T/d$n"
	"$NODE" run --network unittests --data-dir "$T/d$n" --runtime-dir "$T/r$n" \
		--listen "127.0.0.1:$port" "${boot[@]}" --api-listen 127.0.0.1:0 \
		--plugin-dir "$PLUGDIR" --p2p-host-bin "$HOST" >"$T/$n.log" 2>&1 &
	LASTPID=$!
	DPIDS+=("$LASTPID")
	for ((i = 0; i < 300; i++)); do
		api=$(sed -n 's|.* running: .*API http://\([^/]*\)/v1a/.*|\1|p' "$T/$n.log" 2>/dev/null)
		if [[ -n $api ]]; then
			APIPORT=${api##*:}
			return 0
		fi
		kill -0 "$LASTPID" 2>/dev/null || { tail -20 "$T/$n.log" >&2; LASTPID=; return 1; }
		sleep 0.1
	done
	return 1
}
dfail() {
	echo "--- our daemon log (last lines)"
	tail -30 "$T/ours.log" 2>/dev/null | cut -c1-300 || true
	fail "$@"
}

echo "== starting reference node A"
rp start >"$T/a.out" 2>&1 || { cat "$T/a.out"; fail "node A did not start"; }
A_BEST=$(best_of "$A_HTTP_PORT")
A_MEMPOOL=$(mempool_of "$A_HTTP_PORT")
echo "A best=$A_BEST mempool=[$A_MEMPOOL]"

echo "== 1. our daemon (host mode) syncs from A"
t0=$(date +%s)
start_daemon ours "$OUR_PORT" "127.0.0.1:$A_P2P_PORT" || dfail "our daemon did not start"
HPID=$LASTPID
OURS=$APIPORT
grep -q "loaded plugin 'p2p_sync_v2'" "$T/ours.log" ||
	wait_for 10 grep -q "loaded plugin 'p2p_sync_v2'" "$T/ours.log" ||
	dfail "p2p_sync_v2 not loaded by the host"
ours_best_is() { [[ $(best_of "$OURS" 2>/dev/null) == "$1" ]]; }
ours_mempool_is() { [[ $(mempool_of "$OURS" 2>/dev/null) == "$1" ]]; }
wait_for 90 ours_best_is "$A_BEST" || dfail "our daemon did not reach A's best block (at $(best_of "$OURS" || true))"
wait_for 30 ours_mempool_is "$A_MEMPOOL" || dfail "our mempool [$(mempool_of "$OURS" || true)] != A's [$A_MEMPOOL]"
pgrep -P "$HPID" -x hathor-p2p-host >/dev/null || dfail "no hathor-p2p-host child: not host mode"
echo "ok: synced A's chain and mempool in $(( $(date +%s) - t0 )) s"

echo "== 2. relay A -> us: a block and a transaction made on A"
rp mine 1 >/dev/null 2>&1 || fail "mining on A failed"
A_BEST2=$(best_of "$A_HTTP_PORT")
[[ $A_BEST2 != "$A_BEST" ]] || fail "A did not mine"
wait_for 30 ours_best_is "$A_BEST2" || dfail "A's new block $A_BEST2 did not reach us"
rp tx 1 >"$T/tx.out" 2>&1 || fail "tx on A failed"
TX=$(awk '/^\[tx\]/ {print $2}' "$T/tx.out")
[[ -n $TX ]] || fail "no tx hash in $(cat "$T/tx.out")"
ours_has() { mempool_of "$OURS" 2>/dev/null | grep -q "$1"; }
wait_for 30 ours_has "$TX" || dfail "A's tx $TX did not reach us"
echo "ok: block $A_BEST2 and tx $TX relayed A -> us"

echo "== 3. relay us -> A: a transaction pushed to our /v1a/push_tx"
DEST=$(grep -o 'DEST_ADDR=[A-Za-z0-9]*' "$RUN_PAIR" | head -1 | cut -d= -f2)
[[ -n $DEST ]] || fail "no DEST_ADDR in $RUN_PAIR"
MK=$(python3 "$(dirname "$0")/realpeer_mktx.py" "$A_HTTP_PORT" "$DEST") || fail "mktx: $MK"
TX2=${MK%% *}
HEX=${MK#* }
mempool_of "$A_HTTP_PORT" | grep -q "$TX2" && fail "A already has $TX2 before our push"
PUSH=$(curl -s --max-time 20 -X POST -H 'content-type: application/json' \
	-d "{\"hex_tx\":\"$HEX\"}" "http://127.0.0.1:$OURS/v1a/push_tx") || dfail "push_tx request failed"
echo "$PUSH" | jget "d['success']" | grep -q True || dfail "our push_tx refused $TX2: $PUSH"
a_has() { mempool_of "$A_HTTP_PORT" | grep -q "$1"; }
wait_for 30 a_has "$TX2" || dfail "tx $TX2 pushed to us did not reach A"
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
start_daemon gen "$GENPORT" || { tail -20 "$T/gen.log"; fail "chain daemon did not start"; }
D2PID=$LASTPID
GAPI=$APIPORT
G_BEST=$(best_of "$GAPI")
echo "our chain daemon best=$G_BEST"
t0=$(date +%s)
rp join "127.0.0.1:$GENPORT" >"$T/b.out" 2>&1 || { cat "$T/b.out"; fail "node B did not start"; }
b_synced() { [[ $(best_of "$B_HTTP_PORT") == "$G_BEST" ]]; }
wait_for 240 b_synced || { tail -20 "$T/gen.log"; fail "B did not reach our best block $G_BEST (B at $(best_of "$B_HTTP_PORT"))"; }
echo "ok: B reached our best block in $(( $(date +%s) - t0 )) s"
python3 - "$T/chain.vtx" "$T/rp/run/node-b.log" "$NODE" <<'PY' || fail "B did not fully validate all of our vertices"
import json, re, struct, subprocess, sys
full = set()
for line in open(sys.argv[2], errors='replace'):
    if 'validation' in line and 'FULL' in line:
        full.update(re.findall(r'hash=([0-9a-f]{64})', line))
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'HNVTXF01', 'not a chaingen file'
off = 9 + data[8]
n = missing = 0
while off < len(data):
    (ln,) = struct.unpack('>I', data[off:off + 4])
    raw = data[off + 4:off + 4 + ln]
    off += 4 + ln
    d = json.loads(subprocess.run([sys.argv[3], 'decode', raw.hex()], check=True,
                                  capture_output=True, text=True).stdout)
    n += 1
    if d['hash'] not in full:
        missing += 1
        print('not accepted with full validation by B:', d['hash'])
print('%d vertices checked, %d not fully validated by B' % (n, missing))
sys.exit(1 if missing or n == 0 else 0)
PY
pgrep -P "$D2PID" -x hathor-p2p-host >/dev/null || fail "chain daemon has no hathor-p2p-host child"
echo "PASS interop through hathor-node (host mode) with $(api "$B_HTTP_PORT" version | jget "d['version']")"
