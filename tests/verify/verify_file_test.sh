#!/bin/sh
# hathor-node verify-file as a real process: PROTOCOL.md vectors A (block)
# and B (tx) pass on mainnet, B with its last nonce byte changed fails PoW,
# bad hex and truncated bytes are reported, exit codes 0/1/2, raw input.
# Usage: verify_file_test.sh <hathor-node> <tmpdir>
set -u
BIN=$1
T=$2/verify-file.$$
mkdir -p "$T" || exit 1
trap 'rm -rf "$T"' EXIT
A=0000010000190000001976a9143d6dbcbf6e67b2cbcc3225994756a56a5e2d3a2788ac40350000000000005e0f84de03000006cb93385b8b87a545a1cbb6197e6caff600c12cc12fc54250d39c8088fc0002d4d2a15def7604688e1878ab681142a7b155cbe52a6b4e031250ae96db0a0002ad8d1519daaddc8e1a37b14aac0b045129c01832281fb1c02d873c7abbf96237313831643233326131366261393530303164653232643331353162303237652d38336231356462333436393734386262623962623933303638613836333634362d636532663737623939313037343461316231366565666630663032316130663200000002000000000000000080326758
B=0001000102000001e0e88216036e4e52872ba60a96df7570c3e29cc30eda6dd92ea0fd304c00006a4730450221009fa4798bb69f66035013063c13f1a970ec58111bcead277d9c93e45c2b6885fe022012e039b26cc4a4cb0a8a5abb7deb7bb78610ed362bf422efa247db37c5a841e12102bc1213ea99ab55effcff760f94c09f8b1a0b7b990c01128d06b4a8c5c5f41f8400089f0800001976a91438fb3bc92b76819e9c19ef7c079d327c8fcd199288ac02de2d3800001976a9148d880c42ddcf78a2da5d06558f13515508720b4088ac403518509c63f9195ecfd7d40200001ea9d6e1d31da6893fcec594dc3fa8b6819ae1268c190f7a1441302226e2000007d1c5add7b9085037cfc591f1008dff4fe8a9158fd1a4840a6dd5d4e4e600d2da8d
fail() { echo "FAIL: $*"; exit 1; }

printf '%s\n\n%s\n' "$A" "$B" > "$T/good.hex"
out=$("$BIN" verify-file "$T/good.hex"); rc=$?
[ $rc -eq 0 ] || fail "good: rc $rc: $out"
echo "$out" | grep -q '^ok 0000000008bfd52ed4756fc2204d89f3dd3499b4df62113f6adc4949a9ba714c Block$' || fail "good A: $out"
echo "$out" | grep -q '^ok 0000012a9d7b6a8895fc1fde992187e742eff81ad2e40994b595cc45056d7bb3 Transaction$' || fail "good B: $out"

printf '%s\n' "$B" | sed 's/8d$/8e/' > "$T/bad.hex"
out=$("$BIN" verify-file "$T/bad.hex"); rc=$?
[ $rc -eq 1 ] || fail "bad pow: rc $rc"
echo "$out" | grep -q '^rejected [0-9a-f]* invalid-pow: ' || fail "bad pow: $out"

out=$(printf '00zz\n0001\n' | "$BIN" verify-file -); rc=$?
[ $rc -eq 1 ] || fail "junk: rc $rc"
echo "$out" | grep -q '^invalid 1: bad hex' || fail "junk 1: $out"
echo "$out" | grep -q '^invalid 2: truncated' || fail "junk 2: $out"

printf '%s' "$A" | xxd -r -p > "$T/a.bin" 2>/dev/null || python3 -c "import sys,binascii; sys.stdout.buffer.write(binascii.unhexlify(sys.argv[1]))" "$A" > "$T/a.bin"
out=$("$BIN" verify-file --repeat 3 "$T/a.bin"); rc=$?
[ $rc -eq 0 ] || fail "raw: rc $rc: $out"
echo "$out" | grep -q '^verified 1 vertices x 3 in ' || fail "raw repeat: $out"

# Usage errors (2) and an unreadable file (1).
"$BIN" verify-file --network nosuchnet "$T/good.hex" >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown network"
"$BIN" verify-file >/dev/null 2>&1
[ $? -eq 2 ] || fail "no file"
"$BIN" verify-file "$T/missing" >/dev/null 2>&1
[ $? -eq 1 ] || fail "missing file"
echo PASS
