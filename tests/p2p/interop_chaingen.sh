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

BIN=${1:?usage: interop_chaingen.sh P2P_HARNESS CHAINGEN [BLOCKS TXS TOKENS]}
GEN=${2:?usage: interop_chaingen.sh P2P_HARNESS CHAINGEN HATHOR_NODE [BLOCKS TXS TOKENS]}
NODE=${3:?usage: interop_chaingen.sh P2P_HARNESS CHAINGEN HATHOR_NODE [BLOCKS TXS TOKENS]}
NB=${4:-300}
NT=${5:-150}
NK=${6:-3}
RP=${REALPEER_DIR:-/tmp/realpeer}
RUN_PAIR=${RUN_PAIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/realpeer/run_pair.sh}
[[ -x $RUN_PAIR ]] || RUN_PAIR=/work/shared/realpeer/run_pair.sh
if [[ ! -f $RP/env.sh || ! -x $RUN_PAIR ]]; then
	echo "SKIP: reference node not installed ($RP/env.sh, $RUN_PAIR)"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/p2p-chaingen.XXXXXX")
HPID=
cleanup() {
	[[ -n $HPID ]] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null || true
	"$RUN_PAIR" -d "$T/rp" stop >/dev/null 2>&1 || true
	if [[ ${KEEP:-0} == 1 ]]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

mkdir -p "$T/rp" "$T/data"
ln -s "$RP/src" "$T/rp/src"
ln -s "$RP/tools" "$T/rp/tools"
echo "source $RP/env.sh" >"$T/rp/env.sh"
base=$((44000 + ($$ % 400) * 5))
export A_P2P_PORT=$base A_HTTP_PORT=$((base + 1)) B_P2P_PORT=$((base + 2))
export B_HTTP_PORT=$((base + 3))
OUR_PORT=$((base + 4))
rp() { "$RUN_PAIR" -d "$T/rp" "$@"; }
api() { curl -sf --max-time 10 "http://127.0.0.1:$1/v1a/$2"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
best_of() { api "$1" status | jget "d['dag']['best_block']['hash']"; }
fail() {
	echo "FAIL: $*"
	echo "--- ours (last lines)"; tail -20 "$T/ours.err" || true
	echo "--- reference B (last lines)"; tail -20 "$T/rp/run/node-b.log" 2>/dev/null || true
	exit 1
}
wait_for() {
	local limit=$1 t=0
	shift
	until "$@"; do
		sleep 1
		t=$((t + 1))
		[[ $t -ge $limit ]] && return 1
	done
	return 0
}

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
# Every vertex of the generated file is known to B.
# (hashes from our own decoder; B's log records each vertex it accepts with
# validation=FULL; its /v1a/transaction needs the wallet index, off here).
python3 - "$T/chain.vtx" "$T/rp/run/node-b.log" "$NODE" <<'PY' || fail "B is missing some of our vertices"
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
echo "PASS: reference node synced $NB blocks + $NT txs + $NK tokens made by hathor-chaingen"
