#!/bin/bash
# tests/tools: feature activation on the real hathor-node daemon over real
# HTTP: unittests with a test feature table (--test-features; interval 4,
# threshold 3), blocks mined by hathor-miner through get_block_template /
# submit_block.  GET /v1a/feature at the best block and ?block=, its error
# shapes, REDUCE_DAA_TARGET switching the template's reward (and
# getmininginfo's mined_tokens) to V2 from the block after activation, and
# the same answers after kill -9 and a restart (persisted records); the
# template's signal_bits through STARTED, MUST_SIGNAL and LOCKED_IN.
#
#   feature_daemon_test.sh HATHOR_NODE BIN_DIR
set -u

NODE=$1
BIN=$2
WORK_PREFIX=feature-daemon
. "$(dirname "$0")/../p2p/daemon_lib.sh"
# NOP_FEATURE_1: STARTED from 4 until its timeout 100.  NOP_FEATURE_2:
# STARTED at 4, FAILED at its timeout 8.  REDUCE_DAA_TARGET: STARTED at 4,
# MUST_SIGNAL at 8 (lock in on timeout 8), LOCKED_IN at 12, ACTIVE at 16.
FEATS=NOP_FEATURE_1:0:4:100:0,NOP_FEATURE_2:1:4:8:0,REDUCE_DAA_TARGET:2:4:8:12:lock

DATA=$WORK/d
start_node() {
	spawn "$1" --network unittests --data-dir "$DATA" --p2p-mode off \
		--api-listen 127.0.0.1:0 --test-features "$FEATS"
	NODE_PID=$LAST_PID
	wait_api "$1"
}

# req PATH: "STATUS JSON" of GET /v1a/PATH (errors included).
req() {
	python3 - "$API/v1a/$1" <<'PY'
import json, sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        print(r.status, json.dumps(json.load(r)))
except urllib.error.HTTPError as e:
    print(e.code, json.dumps(json.load(e)))
PY
}

# check JSON EXPR: fails unless the Python expression on j holds.
check() {
	python3 -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
		fail "not ($2): $1"
}

mine() {
	"$BIN/hathor-miner" --api "$API" --blocks "$1" -q \
		2>>"$WORK/miner.log" || fail "miner: $(cat "$WORK/miner.log")"
}

# states JSON: "NAME=STATE ..." of a /feature answer.
states() {
	python3 -c 'import json,sys; print(" ".join(f["name"] + "=" + f["state"] for f in json.loads(sys.argv[1])["features"]))' "$1"
}

block_hash() {
	local r
	r=$(req "block_at_height?height=$1")
	python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ", 1)[1])["block"]["hash"])' "$r"
}

block_reward() {
	local r
	r=$(req "block_at_height?height=$1")
	python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ", 1)[1])["block"]["outputs"][0]["value"])' "$r"
}

# Test features only on unittests, and only well formed.
for bad in "--network privatenet --test-features $FEATS" \
	"--network unittests --test-features NOP_FEATURE_1:9:4:8:0" \
	"--network unittests --test-features NOP_FEATURE_1:0:4" \
	"--network unittests --test-features NOP_FEATURE_1:0:4:8:0:lock:bogus"; do
	# shellcheck disable=SC2086
	"$NODE" run $bad --data-dir "$WORK/bad" --p2p-mode off \
		--print-config >"$WORK/bad.out" 2>&1 &&
		fail "accepted: $bad"
	grep -q -- "--test-features" "$WORK/bad.out" ||
		fail "$bad: $(cat "$WORK/bad.out")"
done

start_node n1

# Genesis: every feature DEFINED; the criteria as configured.
r=$(req feature)
[ "${r%% *}" = 200 ] || fail "feature: $r"
j=${r#* }
check "$j" 'j["block_height"] == 0 and len(j["block_hash"]) == 64'
check "$j" '[f["name"] for f in j["features"]] == ["NOP_FEATURE_1", "NOP_FEATURE_2", "REDUCE_DAA_TARGET"]'
check "$j" 'all(f["state"] == "DEFINED" and f["acceptance"] is None and f["threshold"] == 0.75 for f in j["features"])'
check "$j" 'j["features"][2] == {"name": "REDUCE_DAA_TARGET", "state": "DEFINED", "acceptance": None, "threshold": 0.75, "start_height": 4, "minimum_activation_height": 12, "timeout_height": 8, "lock_in_on_timeout": True, "version": "0.0.0"}'
check "$j" 'sorted(j) == ["block_hash", "block_height", "features"]'

# Height 6: all STARTED, nothing signalled (acceptance 0 of 4).
mine 6
r=$(req feature)
j=${r#* }
check "$j" 'j["block_height"] == 6'
[ "$(states "$j")" = "NOP_FEATURE_1=STARTED NOP_FEATURE_2=STARTED REDUCE_DAA_TARGET=STARTED" ] ||
	fail "states at 6: $j"
check "$j" 'all(f["acceptance"] == 0.0 for f in j["features"])'
h6=$(block_hash 6)
r=$(req "feature?block=$h6")
[ "${r%% *}" = 200 ] || fail "feature?block: $r"
j=${r#* }
check "$j" 'j == {"signal_bits": [{"bit": 0, "signal": 0, "feature": "NOP_FEATURE_1", "feature_state": "STARTED"}, {"bit": 1, "signal": 0, "feature": "NOP_FEATURE_2", "feature_state": "STARTED"}, {"bit": 2, "signal": 0, "feature": "REDUCE_DAA_TARGET", "feature_state": "STARTED"}]}'
# A block of the DEFINED era signals nothing that is being voted on.
r=$(req "feature?block=$(block_hash 2)")
check "${r#* }" 'j == {"signal_bits": []}'

# Errors as the reference's api_endpoint.
r=$(req "feature?block=zz")
[ "${r%% *}" = 400 ] || fail "bad hex: $r"
check "${r#* }" 'j["success"] is False and isinstance(j["error"], str) and sorted(j) == ["error", "success"]'
z=0000000000000000000000000000000000000000000000000000000000000000
r=$(req "feature?block=$z")
[ "$r" = "400 {\"success\": false, \"error\": \"$z\"}" ] || fail "unknown: $r"
tx1=16ba3dbe424c443e571b00840ca54b9ff4cff467e10b6a15536e718e2008f952
r=$(req "feature?block=$tx1")
[ "$r" = "200 {\"success\": false, \"error\": \"Hash '$tx1' is not a Block.\"}" ] ||
	fail "not a block: $r"

# Height 19: NOP_FEATURE_2 FAILED, REDUCE_DAA_TARGET ACTIVE since 16.
mine 13
r=$(req feature)
j=${r#* }
check "$j" 'j["block_height"] == 19'
[ "$(states "$j")" = "NOP_FEATURE_1=STARTED NOP_FEATURE_2=FAILED REDUCE_DAA_TARGET=ACTIVE" ] ||
	fail "states at 19: $j"
check "$j" '[f["acceptance"] for f in j["features"]] == [0.0, None, None]'
r=$(req "feature?block=$(block_hash 12)")
check "${r#* }" 'j == {"signal_bits": [{"bit": 0, "signal": 0, "feature": "NOP_FEATURE_1", "feature_state": "STARTED"}]}'
# V1 reward (6400) up to the activation block 16, V2 (6400 / 4) after.
for h in 15 16; do
	[ "$(block_reward $h)" = 6400 ] || fail "reward at $h: $(block_reward $h)"
done
for h in 17 19; do
	[ "$(block_reward $h)" = 1600 ] || fail "reward at $h: $(block_reward $h)"
done
r=$(req get_block_template)
check "${r#* }" 'j["outputs"][0]["value"] == 1600 and j["metadata"]["height"] == 20'
r=$(req getmininginfo)
check "${r#* }" 'j["blocks"] == 19 and j["mined_tokens"] == 16 * 6400 + 3 * 1600'
before=$(req feature)

# kill -9 and restart: the same answers, from the stored records.
kill -KILL "$NODE_PID"
wait_exit "$NODE_PID"
start_node n2
grep -q "feature states computed" "$WORK/n2.log" &&
	fail "records recomputed after a restart"
[ "$(req feature)" = "$before" ] || fail "after restart: $(req feature)"
r=$(req getmininginfo)
check "${r#* }" 'j["mined_tokens"] == 16 * 6400 + 3 * 1600'

# hathor-miner takes the daemon's DAA (V2 here) off the template: blocks
# 10 s apart are slower than V2's 7.5 s target, so their weight stays at
# the minimum (block 1's); V1 (30 s) would raise it.
: >"$WORK/miner.log"
"$BIN/hathor-miner" --api "$API" --blocks 8 --historic --spacing 10 \
	2>>"$WORK/miner.log" >/dev/null || fail "miner: $(cat "$WORK/miner.log")"
grep -q warning "$WORK/miner.log" && fail "miner warned: $(cat "$WORK/miner.log")"
python3 - "$API" <<'PY' || fail "V2 weights"
import json, sys, urllib.request
def block(h):
    with urllib.request.urlopen(f"{sys.argv[1]}/v1a/block_at_height?height={h}", timeout=10) as r:
        return json.load(r)["block"]
w0 = block(1)["weight"]
for h in range(20, 28):
    b = block(h)
    if b["weight"] != w0 or b["outputs"][0]["value"] != 1600:
        sys.exit(f"block {h}: weight {b['weight']} (minimum {w0}), reward {b['outputs'][0]['value']}")
PY

# Template signal bits (BitSignalingService at the best block), kept by
# the miner and submit_block, on a fresh data dir.  SUP (bit 0, supported
# by default): STARTED 4..7, LOCKED_IN 8..11 by the templates' own
# signals (blocks 5, 6, 7), ACTIVE from 12.  NOSUP (bit 1): STARTED from 4
# on, not supported, never signalled.  MUST (bit 2, lock in on timeout
# 8): not supported, but signalled once MUST_SIGNAL (8..11) and on through
# LOCKED_IN (12..15); ACTIVE from 16.
kill -KILL "$NODE_PID"
wait_exit "$NODE_PID"
FEATS=SUP:0:4:12:0:support,NOSUP:1:4:100:0,MUST:2:4:8:0:lock
DATA=$WORK/d2
start_node n3
want_bits() {
	if [ "$1" -lt 4 ]; then echo 0
	elif [ "$1" -lt 8 ]; then echo 1
	elif [ "$1" -lt 12 ]; then echo 5
	elif [ "$1" -lt 16 ]; then echo 4
	else echo 0; fi
}
for b in $(seq 0 18); do
	r=$(req get_block_template)
	w=$(want_bits "$b")
	check "${r#* }" "j['signal_bits'] == $w and j['metadata']['height'] == $b + 1"
	mine 1
done
# The stored blocks carry their template's bits.
python3 - "$API" <<'PY' || fail "stored signal bits differ"
import json, sys, urllib.request
want = lambda b: 0 if b < 4 else 1 if b < 8 else 5 if b < 12 else 4 if b < 16 else 0
for h in range(1, 20):
    with urllib.request.urlopen(f"{sys.argv[1]}/v1a/block_at_height?height={h}", timeout=10) as r:
        got = json.load(r)["block"]["signal_bits"]
    if got != want(h - 1):
        sys.exit(f"block {h}: signal_bits {got}, want {want(h - 1)}")
PY
r=$(req feature)
[ "$(states "${r#* }")" = "SUP=ACTIVE NOSUP=STARTED MUST=ACTIVE" ] ||
	fail "states at 19: $r"
exit 0
