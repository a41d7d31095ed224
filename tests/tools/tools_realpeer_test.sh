#!/bin/bash
# tests/tools against the reference node (hathor-core v0.69.0,
# ../shared/realpeer): a hathor-chaingen chain (signed txs, token
# creations) served from our ledger by p2p_harness is synced by a private
# reference node, which must reach our best block and hold every tx
# confirmed and not voided; then hathor-miner mines on the reference's
# API (historic at 31 s, and at 5 s so the DAA weight rises: the reference
# checks our locally computed weights) and hathor-txgen pushes txs into its
# mempool.  The reference runs with --prometheus: once it holds our chain,
# hathor-node on that chain (hathor-import'ed; PLUGIN_DIR's metrics.so)
# writes the same textfile lines for the chain's gauges (hash_rate of the
# last block, blocks, transactions, best block height and weight).  Skips (77) when
# the reference node is not installed.
#
#   tools_realpeer_test.sh BIN_DIR P2P_HARNESS HATHOR_NODE [PLUGIN_DIR]
set -u

BIN=$1
HARNESS=$2
NODE=$3
PLUGDIR=${4:-}
RP=${REALPEER_DIR:-/tmp/realpeer}
if [[ ! -f $RP/env.sh ]]; then
	echo "SKIP: reference node not installed ($RP/env.sh)"
	exit 77
fi
WORK=$(mktemp -d -p "$PWD" "tools-realpeer.$(printf "X%.0s" 1 2 3 4 5 6)") || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -20 "$WORK/ref.log" >&2 2>/dev/null
	exit 1
}
# Ports below Linux's ephemeral range (32768-60999), so none is already some
# connection's local port (43000 once failed: "cannot listen on
# 127.0.0.1:43236: Address already in use"); 30000-30899 is this script's
# own (tests/p2p/realpeer_lib.sh lists the other bases).
base=$((30000 + ($$ % 300) * 3))
OUR_P2P=$base REF_P2P=$((base + 1)) REF_HTTP=$((base + 2))
API=http://127.0.0.1:$REF_HTTP
get() {
	python3 - "$API/v1a/$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    print(json.dumps(json.load(r)))
PY
}
field() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

"$BIN/hathor-chaingen" --blocks 200 --txs 60 --tokens 3 --seed 11 \
	--data-dir "$WORK/d" --out "$WORK/c.bin" -q >"$WORK/gen.log" 2>&1 ||
	fail "chaingen: $(cat "$WORK/gen.log")"
best=$(sed -n 's/^best \([0-9a-f]*\) .*/\1/p' "$WORK/gen.log")
mkdir -p "$WORK/ref"
"$HARNESS" --network unittests --data-dir "$WORK/d" \
	--listen "127.0.0.1:$OUR_P2P" --run-for 600 >"$WORK/h.log" 2>&1 &
PIDS+=($!)
(
	source "$RP/env.sh"
	cd "$RP/src/hathor-core" || exit 1
	exec "$HATHOR_PY" -m hathor run_node \
		--config-yaml "$RP/src/hathor-core/hathor/conf/unittests.yml" \
		--data "$WORK/ref" --prometheus \
		--listen "tcp:$REF_P2P:interface=127.0.0.1" \
		--status "$REF_HTTP" --x-localhost-only --wallet-index \
		--bootstrap "tcp://127.0.0.1:$OUR_P2P"
) >"$WORK/ref.log" 2>&1 &
PIDS+=($!)
synced=
for ((i = 0; i < 120; i++)); do
	j=$(get status 2>/dev/null) &&
		[ "$(field "$j" 'j["dag"]["best_block"]["hash"]')" = "$best" ] &&
		{ synced=1; break; }
	sleep 1
done
[ -n "$synced" ] || fail "the reference did not reach our best block $best"
# Every generated tx: known to the reference, confirmed, not voided.
python3 - "$WORK/c.bin" "$API" "$NODE" <<'PY' || fail "txs on the reference"
import json, struct, subprocess, sys, urllib.request
b = open(sys.argv[1], 'rb').read()
off, n_tx, n_tok = 9 + b[8], 0, 0
while off < len(b):
    n = struct.unpack('>I', b[off:off + 4])[0]
    rec = b[off + 4:off + 4 + n]
    off += 4 + n
    if rec[1] == 0:
        continue
    d = json.loads(subprocess.run([sys.argv[3], 'decode', '--network', 'unittests',
                                   '--compact', rec.hex()], capture_output=True,
                                  text=True, check=True).stdout)
    with urllib.request.urlopen(sys.argv[2] + '/v1a/transaction?id=' + d['hash'],
                                timeout=10) as r:
        m = json.load(r)['meta']
    if m['voided_by'] or not m['first_block']:
        sys.exit('tx %s voided or unconfirmed: %s' % (d['hash'], m))
    n_tx += 1
    n_tok += rec[1] == 2
if (n_tx, n_tok) != (60, 3):
    sys.exit('found %d txs, %d token creations' % (n_tx, n_tok))
PY
# hathor-core's textfile (written every 15 s) against ours for the same
# chain: our daemon, p2p off, writes it at start.
gauges='blocks|transactions|hash_rate|best_block_height|best_block_weight'
ref_tf() {
	grep -E "^($gauges) " "$WORK/ref/prometheus/hathor.prom" 2>/dev/null |
		sort
}
if [ -n "$PLUGDIR" ]; then
	# The same chain in a ledger of its own (the harness keeps serving
	# the reference, whose API mines only while it has a synced peer).
	"$BIN/hathor-import" --network unittests --data-dir "$WORK/d2" \
		"$WORK/c.bin" >"$WORK/imp.log" 2>&1 ||
		fail "import: $(cat "$WORK/imp.log")"
	printf '[metrics]\ntextfile = %s\n' "$WORK/ours.prom" >"$WORK/m.ini"
	mkdir -m 700 "$WORK/rt"
	"$NODE" run --network unittests --data-dir "$WORK/d2" --p2p-mode off \
		--api-listen 127.0.0.1:0 --runtime-dir "$WORK/rt" \
		--plugin-dir "$PLUGDIR" --config "$WORK/m.ini" \
		--metrics-listen 127.0.0.1:0 >"$WORK/ours.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		[ -s "$WORK/ours.prom" ] && break
		sleep 0.1
	done
	ours=$(grep -E "^($gauges) " "$WORK/ours.prom" 2>/dev/null | sort)
	[ "$(echo "$ours" | wc -l)" = 5 ] ||
		fail "our textfile: $ours ($(tail -3 "$WORK/ours.log"))"
	# The reference writes every 15 s: until it has written the whole
	# chain (one write may fall in the middle of the sync).
	for ((i = 0; i < 40; i++)); do
		[ "$(ref_tf)" = "$ours" ] && break
		sleep 1
	done
	[ "$(ref_tf)" = "$ours" ] || fail "textfile gauges differ:
reference: $(ref_tf | tr '\n' ' ')
ours:      $(echo "$ours" | tr '\n' ' ')"
	echo "textfile: $(echo "$ours" | tr '\n' ' ')the same as the reference's"
fi
"$BIN/hathor-miner" --api "$API" --blocks 20 -q 2>"$WORK/m1.log" ||
	fail "miner on the reference: $(cat "$WORK/m1.log")"
grep -q "mined 20 (historic 20, catch-up 0), rejected 0" "$WORK/m1.log" ||
	fail "miner: $(cat "$WORK/m1.log")"
"$BIN/hathor-miner" --api "$API" --blocks 30 --historic --spacing 5 \
	2>"$WORK/m2.log" >"$WORK/m2.out" || fail "miner at 5 s: $(cat "$WORK/m2.log")"
grep -q "warning" "$WORK/m2.log" && fail "DAA mismatch: $(cat "$WORK/m2.log")"
j=$(get status) || fail status
[ "$(field "$j" 'j["dag"]["best_block"]["height"]')" = 250 ] || fail "height: $j"
w=$(tail -1 "$WORK/m2.out" | sed -n 's/.* weight \([0-9.]*\) .*/\1/p')
python3 -c "import sys; sys.exit(0 if float('$w') > 5 else 1)" ||
	fail "weight did not rise: $(tail -1 "$WORK/m2.out")"
"$BIN/hathor-txgen" --api "$API" --count 3 >"$WORK/txs" 2>"$WORK/tx.log" ||
	fail "txgen on the reference: $(cat "$WORK/tx.log")"
j=$(get mempool) || fail mempool
for h in $(cat "$WORK/txs"); do
	[ "$(field "$j" "'$h' in j['transactions']")" = True ] ||
		fail "$h not in the reference's mempool: $j"
done
echo "ok: reference synced $best, accepted 50 mined blocks (last weight $w) and 3 txs"
