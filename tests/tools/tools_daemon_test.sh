#!/bin/bash
# tests/tools: hathor-miner, hathor-chaingen and hathor-import against the
# real hathor-node daemon (unittests network, --p2p-mode off, ephemeral API
# port), in a fresh directory under the build dir.  Kills only its own pids.
#
#   tools_daemon_test.sh HATHOR_NODE BIN_DIR
set -u

NODE=$1
BIN=$2
WORK_PREFIX=tools-daemon
. "$(dirname "$0")/../p2p/daemon_lib.sh"
NODE_PID=

# start_node NAME DATA_DIR: runs the daemon, waits for its API; sets API.
start_node() {
	spawn "$1" --network unittests --data-dir "$2" --p2p-mode off \
		--api-listen 127.0.0.1:0
	NODE_PID=$LAST_PID
	wait_api "$1"
}

# get PATH: the API's JSON answer (curl-free: python3).
get() {
	python3 - "$API/v1a/$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    print(json.dumps(json.load(r)))
PY
}

# field JSON EXPR: a Python expression on the parsed JSON (as j).
field() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# 1. Fresh node: 100 blocks in historic mode, in seconds.
start_node n1 "$WORK/d1"
t0=$(date +%s.%N)
"$BIN/hathor-miner" --api "$API" --blocks 100 -q 2>"$WORK/miner1.log" ||
	fail "miner failed: $(cat "$WORK/miner1.log")"
t1=$(date +%s.%N)
grep -q "mined 100 (historic 100, catch-up 0), rejected 0" "$WORK/miner1.log" ||
	fail "miner summary: $(cat "$WORK/miner1.log")"
python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 20 else 1)" ||
	fail "100 blocks took more than 20 s"
j=$(get "block_at_height?height=100") || fail "block_at_height 100"
[ "$(field "$j" 'j["success"]')" = True ] || fail "block 100: $j"
[ "$(field "$j" 'j["block"]["weight"]')" = 2.0 ] || fail "weight: $j"
# genesis timestamp 1572636343 + 100 x 31 s
[ "$(field "$j" 'j["block"]["timestamp"]')" = 1572639443 ] ||
	fail "timestamp: $j"
h100=$(field "$j" 'j["block"]["hash"]')
j=$(get "transaction?id=$h100") || fail "transaction $h100"
[ "$(field "$j" 'j["success"]')" = True ] || fail "transaction: $j"
# Live mode on this old tip: one block, clamped to parent + 4499 s.
"$BIN/hathor-miner" --api "$API" --blocks 1 --live -q 2>"$WORK/miner2.log" ||
	fail "live miner: $(cat "$WORK/miner2.log")"
j=$(get "block_at_height?height=101") || fail "block_at_height 101"
[ "$(field "$j" 'j["block"]["timestamp"]')" = $((1572639443 + 4499)) ] ||
	fail "live timestamp: $j"
# Signed transactions through push_tx, each spending the previous change.
"$BIN/hathor-txgen" --api "$API" --count 3 >"$WORK/txs" 2>"$WORK/txgen.log" ||
	fail "txgen: $(cat "$WORK/txgen.log")"
[ "$(wc -l <"$WORK/txs")" = 3 ] || fail "txgen printed $(cat "$WORK/txs")"
j=$(get mempool) || fail "mempool"
for h in $(cat "$WORK/txs"); do
	[ "$(field "$j" "'$h' in j['transactions']")" = True ] ||
		fail "$h not in the mempool: $j"
	t=$(get "transaction?id=$h") || fail "transaction $h"
	[ "$(field "$t" 'len(j["tx"]["inputs"])')" = 1 ] || fail "tx $h: $t"
done
# They are newer than the old tip allows for the next block: the miner
# says so instead of submitting an invalid block.
"$BIN/hathor-miner" --api "$API" --blocks 1 -q 2>"$WORK/miner4.log" &&
	fail "miner mined on transactions it cannot confirm"
grep -q "catch-up" "$WORK/miner4.log" || fail "miner: $(cat "$WORK/miner4.log")"
j=$(get "block_at_height?height=101") || fail "block_at_height 101"
h101=$(field "$j" 'j["block"]["hash"]')
# kill -9 and restart: blocks and mempool txs are all there.
kill -KILL "$NODE_PID"
wait "$NODE_PID" 2>/dev/null
start_node n1b "$WORK/d1"
j=$(get "block_at_height?height=101") || fail "block_at_height 101 after kill"
[ "$(field "$j" 'j["block"]["hash"]')" = "$h101" ] || fail "after kill: $j"
j=$(get mempool) || fail "mempool after kill"
for h in $(cat "$WORK/txs"); do
	[ "$(field "$j" "'$h' in j['transactions']")" = True ] ||
		fail "$h lost by kill -9: $j"
done
# The tools take the daemon's LOCK: no import into a data dir in use.
"$BIN/hathor-import" --data-dir "$WORK/d1" --check >"$WORK/busy.log" 2>&1 &&
	fail "import ran on a data dir in use"
grep -q "is in use (pid $NODE_PID holds" "$WORK/busy.log" ||
	fail "busy: $(cat "$WORK/busy.log")"
stop "$NODE_PID"
"$BIN/hathor-import" --data-dir "$WORK/d1" --check >"$WORK/check.log" 2>&1 ||
	fail "check: $(cat "$WORK/check.log")"
grep -q "check ok: 102 blocks 5 txs; best height 101 $h101" "$WORK/check.log" ||
	fail "check: $(cat "$WORK/check.log")"

# 2. Chain file imported, then served; the miner continues on top of it
#    (its last block has transactions as parents).
"$BIN/hathor-chaingen" --blocks 60 --txs 20 --tokens 2 --seed 5 \
	--out "$WORK/chain.bin" -q >"$WORK/gen.log" 2>&1 ||
	fail "chaingen: $(cat "$WORK/gen.log")"
best=$(sed -n 's/^best \([0-9a-f]*\) .*/\1/p' "$WORK/gen.log")
[ ${#best} = 64 ] || fail "chaingen output: $(cat "$WORK/gen.log")"
"$BIN/hathor-import" --data-dir "$WORK/d2" "$WORK/chain.bin" \
	>"$WORK/import.log" 2>&1 || fail "import: $(cat "$WORK/import.log")"
grep -q "imported 80 vertices; ledger has 61 blocks 22 txs; best height 60 $best" \
	"$WORK/import.log" || fail "import summary: $(cat "$WORK/import.log")"
start_node n2 "$WORK/d2"
j=$(get "block_at_height?height=60") || fail "block_at_height 60"
[ "$(field "$j" 'j["block"]["hash"]')" = "$best" ] || fail "best: $j"
"$BIN/hathor-miner" --api "$API" --blocks 5 -q 2>"$WORK/miner3.log" ||
	fail "miner on imported chain: $(cat "$WORK/miner3.log")"
j=$(get "block_at_height?height=65") || fail "block_at_height 65"
[ "$(field "$j" 'j["success"]')" = True ] || fail "block 65: $j"
stop "$NODE_PID"

# 3. chaingen straight into a data dir, the same chain as the file.
"$BIN/hathor-chaingen" --blocks 60 --txs 20 --tokens 2 --seed 5 \
	--data-dir "$WORK/d3" -q >"$WORK/gen3.log" 2>&1 ||
	fail "chaingen --data-dir: $(cat "$WORK/gen3.log")"
grep -q "best $best" "$WORK/gen3.log" || fail "not the same chain"
"$BIN/hathor-chaingen" --blocks 2 --data-dir "$WORK/d3" -q \
	>"$WORK/gen4.log" 2>&1 && fail "chaingen reused a data dir"
start_node n3 "$WORK/d3"
j=$(get "block_at_height?height=60") || fail "block_at_height 60 (d3)"
[ "$(field "$j" 'j["block"]["hash"]')" = "$best" ] || fail "best (d3): $j"
stop "$NODE_PID"
echo "ok"
