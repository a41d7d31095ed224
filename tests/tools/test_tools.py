#!/usr/bin/env python3
"""hathor-node decode / genesis, run as processes.

Expected values are the published ones (hathor-core conf yml and
hathorlib/tests/test_basic.py), typed here independently of lib/network.c.
Usage: test_tools.py <path to hathor-node>
"""
import base64
import json
import subprocess
import sys

NODE = sys.argv[1]

MAINNET_BLOCK_HEX = (
    "000001ffffffe8b789180000001976a9147fd4ae0e4fb2d2854e76d359029d8078bb9964"
    "9e88ac40350000000000005e0f84a9000000000000000000000000000000278a7e")
MAINNET_TX1_HEX = "0001000000402c0000000000005e0f84aa0000001e23"
MAINNET_BLOCK = "000006cb93385b8b87a545a1cbb6197e6caff600c12cc12fc54250d39c8088fc"
MAINNET_TX1 = "0002d4d2a15def7604688e1878ab681142a7b155cbe52a6b4e031250ae96db0a"
MAINNET_TX2 = "0002ad8d1519daaddc8e1a37b14aac0b045129c01832281fb1c02d873c7abbf9"
MAINNET_SCRIPT = "76a9147fd4ae0e4fb2d2854e76d359029d8078bb99649e88ac"
INDIA_BLOCK = "000001b7d5abc44d3828529654e8d830eeca1cd0e313032be1b8e9dfe31052ee"
# PROTOCOL.md section 3 B: a regular mainnet tx with 1 input, 2 outputs.
TX_B_HEX = (
    "0001000102000001e0e88216036e4e52872ba60a96df7570c3e29cc30eda6dd92ea0fd30"
    "4c00006a4730450221009fa4798bb69f66035013063c13f1a970ec58111bcead277d9c93"
    "e45c2b6885fe022012e039b26cc4a4cb0a8a5abb7deb7bb78610ed362bf422efa247db37"
    "c5a841e12102bc1213ea99ab55effcff760f94c09f8b1a0b7b990c01128d06b4a8c5c5f4"
    "1f8400089f0800001976a91438fb3bc92b76819e9c19ef7c079d327c8fcd199288ac02de"
    "2d3800001976a9148d880c42ddcf78a2da5d06558f13515508720b4088ac403518509c63"
    "f9195ecfd7d40200001ea9d6e1d31da6893fcec594dc3fa8b6819ae1268c190f7a144130"
    "2226e2000007d1c5add7b9085037cfc591f1008dff4fe8a9158fd1a4840a6dd5d4e4e600"
    "d2da8d")
TX_B = "0000012a9d7b6a8895fc1fde992187e742eff81ad2e40994b595cc45056d7bb3"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(args, stdin=None):
    p = subprocess.run([NODE] + args, input=stdin, capture_output=True,
                       text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def decode_ok(args, stdin=None):
    rc, out, err = run(["decode"] + args, stdin)
    check(rc == 0, "decode %s exits 0 (rc %d, %s)" % (args[:1], rc, err))
    try:
        return json.loads(out)
    except ValueError as e:
        check(False, "decode output is JSON: %s: %r" % (e, out[:200]))
        return {}


def test_genesis_block_decode():
    o = decode_ok([MAINNET_BLOCK_HEX])
    check(o.get("hash") == MAINNET_BLOCK, "block hash")
    check(o.get("version") == 0, "block version 0")
    check(o.get("weight") == 21, "block weight 21")
    check(o.get("timestamp") == 1578075305, "block timestamp")
    check(o.get("nonce") in (2591358, "2591358"), "block nonce %r" % o.get("nonce"))
    check(o.get("parents") == [], "block has no parents")
    check(o.get("inputs") == [], "block has no inputs")
    check(o.get("tokens") == [], "block has no tokens")
    outs = o.get("outputs") or [{}]
    check(len(outs) == 1, "block has one output")
    check(outs[0].get("value") == 10 ** 11, "genesis output value 10^11")
    check(outs[0].get("token_data") == 0, "genesis output token_data")
    check(outs[0].get("script") ==
          base64.b64encode(bytes.fromhex(MAINNET_SCRIPT)).decode(),
          "genesis output script (base64)")
    check("genesis" not in o, "no genesis field without --network")


def test_tx_from_stdin_wrapped():
    wrapped = "\n".join(MAINNET_TX1_HEX[i:i + 10]
                        for i in range(0, len(MAINNET_TX1_HEX), 10)) + "\n"
    o = decode_ok(["--network", "mainnet", "-"], stdin=wrapped)
    check(o.get("hash") == MAINNET_TX1, "tx1 hash from stdin")
    check(o.get("version") == 1, "tx1 version 1")
    check(o.get("weight") == 14, "tx1 weight 14")
    check(o.get("genesis") is True, "tx1 is mainnet genesis")
    o = decode_ok(["--network", "testnet", "--compact", MAINNET_TX1_HEX])
    check(o.get("genesis") is False, "mainnet tx1 is not testnet genesis")


def test_regular_tx():
    o = decode_ok([TX_B_HEX])
    check(o.get("hash") == TX_B, "tx B hash")
    ins = o.get("inputs") or [{}]
    check(len(ins) == 1, "tx B one input")
    check(ins[0].get("tx_id") ==
          "000001e0e88216036e4e52872ba60a96df7570c3e29cc30eda6dd92ea0fd304c",
          "tx B input tx_id %r" % ins[0].get("tx_id"))
    check(ins[0].get("index") == 0, "tx B input index")
    check(len(base64.b64decode(ins[0].get("data", ""))) == 0x6a,
          "tx B input data is base64 of 106 bytes")
    vals = [x.get("value") for x in o.get("outputs") or []]
    check(vals == [565000, 48115000], "tx B output values %r" % vals)
    check(len(o.get("parents") or []) == 2, "tx B two parents")


def test_bad_input():
    cases = [
        (["zz"], "non-hex"),
        (["abc"], "odd length"),
        ([MAINNET_BLOCK_HEX[:-2]], "truncated vertex"),
        ([MAINNET_BLOCK_HEX + "00"], "trailing byte"),
        (["00ff" + MAINNET_TX1_HEX[4:]], "unknown version"),
        (["-"], "empty stdin"),
    ]
    for args, what in cases:
        rc, out, err = run(["decode"] + args, stdin="")
        check(rc == 1, "decode %s exits 1 (rc %d)" % (what, rc))
        check(out == "", "decode %s prints nothing on stdout" % what)
        lines = err.strip().splitlines()
        check(len(lines) == 1 and lines[0].startswith("hathor-node decode: "),
              "decode %s: one-line message, got %r" % (what, err))
    rc, _, err = run(["decode", "--network", "nonet", MAINNET_TX1_HEX])
    check(rc == 2 and "unknown network" in err, "unknown network exits 2")
    rc, _, _ = run(["decode"])
    check(rc == 2, "decode without argument exits 2")


def test_genesis_tool():
    rc, out, err = run(["genesis", "--json"])
    check(rc == 0, "genesis --json exits 0 (%s)" % err)
    o = json.loads(out)
    check(o.get("network") == "mainnet", "genesis default network mainnet")
    check(o.get("short_hash") == "3fdff62", "mainnet short hash")
    check(o["block"]["hash"] == MAINNET_BLOCK, "genesis block hash")
    check(o["tx1"]["hash"] == MAINNET_TX1, "genesis tx1 hash")
    check(o["tx2"]["hash"] == MAINNET_TX2, "genesis tx2 hash")
    check(o["block"]["bytes"] == MAINNET_BLOCK_HEX, "genesis block bytes")
    check(o["tx1"]["bytes"] == MAINNET_TX1_HEX, "genesis tx1 bytes")
    check(o["block"]["nonce"] == 2591358, "genesis block nonce")
    # The bytes it prints decode back to the same hashes.
    for k in ("block", "tx1", "tx2"):
        d = decode_ok(["--network", "mainnet", o[k]["bytes"]])
        check(d.get("hash") == o[k]["hash"] and d.get("genesis") is True,
              "genesis %s round trip" % k)
    rc, out, _ = run(["genesis", "--network", "testnet", "--json"])
    o = json.loads(out) if rc == 0 else {}
    check(o.get("network") == "testnet-india", "testnet alias")
    check(o.get("short_hash") == "f7438fb", "india short hash")
    check(o.get("block", {}).get("hash") == INDIA_BLOCK, "india block hash")
    rc, out, _ = run(["genesis", "--network", "unittests"])
    o = json.loads(out) if rc == 0 else {}
    check(o.get("short_hash") == "f188691", "genesis prints JSON by default")
    rc, out, _ = run(["genesis", "--network", "unittests", "--text"])
    check(rc == 0 and "f188691" in out and
          "2ebb3b8edcb72a7e46cc0efacfe1b109e2e9dd868a90fe0906968dc8fbbf6488"
          in out, "genesis text output (unittests)")
    rc, _, err = run(["genesis", "--network", "nonet"])
    check(rc == 2 and "unknown network 'nonet'" in err,
          "genesis unknown network exits 2")


def test_not_a_tool():
    rc, out, _ = run(["--version"])
    check(rc == 0 and out.startswith("hathor-node "),
          "--version still handled by main")


for t in (test_genesis_block_decode, test_tx_from_stdin_wrapped,
          test_regular_tx, test_bad_input, test_genesis_tool, test_not_a_tool):
    t()
if failures:
    print("%d check(s) failed" % len(failures), file=sys.stderr)
    sys.exit(1)
print("ok")
