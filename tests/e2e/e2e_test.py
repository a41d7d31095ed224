#!/usr/bin/env python3
"""tests/e2e: the real hathor-node daemon end to end (unittests network).

    e2e_test.py HATHOR_NODE TOOLS_BIN_DIR CASE

Every case works in a fresh directory under the current directory (the
build dir), runs the daemon with --p2p-mode off and an ephemeral API port
(read from its start-up line), and kills only the pids it started.

Cases:
  daemon    mine with hathor-miner, push signed transactions (hathor-txgen,
            POST /v1a/push_tx), read them back with /v1a/transaction and
            /v1a/block_at_height, kill -9 (idle and while mining), sqlite
            integrity_check, restart, everything still there.
  reorg     two competing chains from one genesis (hathor-chaingen
            --fork-*): the main chain is served, then the branch is fed; the
            heavier branch wins in /v1a/status, the losing blocks are
            voided, the losing transactions are back in the mempool or
            voided as hathor-core's consensus would, and the mempool is
            confirmed by the next mined block.
  reorg_ds  as reorg, with a double spend between the chains: the losing
            chain's spender is voided by the winner's.
  reorg_ds_early  reorg_ds with seed 9: the fork's spender wins the
            conflict before the fork outweighs the main chain.
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

NODE, BIN, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
WAIT = float(os.environ.get("HN_TEST_WAIT", "20"))
WORK = tempfile.mkdtemp(prefix="e2e-%s." % CASE, dir=os.getcwd())
PROCS = []
# Genesis is in 2019 and push_tx wants recent timestamps, so the chains
# are generated to end a few minutes before now (chaingen --start-time).
SPACING = 31


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def tool(name):
    return os.path.join(BIN, name)


def run(argv, name, ok=True):
    """Runs a tool to completion; output in WORK/name.log."""
    log = os.path.join(WORK, name + ".log")
    with open(log, "w") as f:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=f,
                           timeout=WAIT * 3, text=True)
    if ok and p.returncode != 0:
        raise Fail("%s exited %d: %s" % (name, p.returncode,
                                         open(log).read()[-2000:]))
    return p


class Node:
    def __init__(self, name, data):
        self.log = os.path.join(WORK, name + ".log")
        self.data = data
        self.f = open(self.log, "w")
        self.p = subprocess.Popen(
            [NODE, "run", "--network", "unittests", "--data-dir", data,
             "--p2p-mode", "off", "--api-listen", "127.0.0.1:0"],
            stdout=self.f, stderr=subprocess.STDOUT)
        PROCS.append(self.p)
        self.api = None
        deadline = time.time() + WAIT
        while time.time() < deadline:
            m = re.search(r" running: .*API (http://[^/]*)/v1a/",
                          open(self.log).read())
            if m:
                self.api = m.group(1)
                return
            check(self.p.poll() is None, "node died: %s" %
                  open(self.log).read()[-2000:])
            time.sleep(0.1)
        raise Fail("no API address in %s" % self.log)

    def get(self, path):
        with urllib.request.urlopen(self.api + "/v1a/" + path,
                                    timeout=10) as r:
            return json.load(r)

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(timeout=WAIT)
        self.f.close()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=WAIT)
        self.f.close()
        check(rc == 0, "node exited %d on SIGTERM" % rc)


def best(node):
    s = node.get("status")
    b = s["dag"]["best_block"]
    return b["height"], b["hash"]


def tx(node, h):
    j = node.get("transaction?id=" + h)
    check(j.get("success") is True, "transaction %s: %s" % (h, j))
    return j


def block_at(node, height):
    j = node.get("block_at_height?height=%d" % height)
    check(j.get("success") is True, "block_at_height %d: %s" % (height, j))
    return j["block"]["hash"]


def mempool(node):
    j = node.get("mempool")
    check(j.get("success") is True, "mempool: %s" % j)
    return set(j["transactions"])


def miner(node, n, name):
    """hathor-miner --blocks n; returns [(height, hash)] it reported."""
    p = run([tool("hathor-miner"), "--api", node.api, "--blocks", str(n)],
            name)
    return [(int(m.group(1)), m.group(2)) for m in
            re.finditer(r"^height (\d+) ([0-9a-f]{64}) ", p.stdout, re.M)]


def txgen(node, n, name):
    p = run([tool("hathor-txgen"), "--api", node.api, "--count", str(n)],
            name)
    hs = p.stdout.split()
    check(len(hs) == n and all(len(h) == 64 for h in hs),
          "txgen printed %r" % p.stdout)
    return hs


def integrity(data):
    """PRAGMA integrity_check of the ledger with the sqlite3 CLI when it is
    installed (python's sqlite3 module otherwise)."""
    db = os.path.join(data, "ledger.db")
    check(os.path.exists(db), "no %s" % db)
    cli = shutil.which("sqlite3")
    if cli:
        out = subprocess.run([cli, db, "PRAGMA integrity_check;"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=WAIT).stdout.strip()
    else:
        c = sqlite3.connect(db)
        out = c.execute("PRAGMA integrity_check").fetchone()[0]
        c.close()
    check(out == "ok", "integrity_check: %r" % out)


def chaingen(blocks, txs, extra, name):
    start = int(time.time()) - blocks * SPACING - 300
    out = os.path.join(WORK, name + ".bin")
    argv = [tool("hathor-chaingen"), "--blocks", str(blocks), "--txs",
            str(txs), "--start-time", str(start), "--out", out, "-q"] + extra
    p = run(argv, name)
    text = p.stdout + open(os.path.join(WORK, name + ".log")).read()
    m = re.search(r"^best ([0-9a-f]{64})", text, re.M)
    check(m, "chaingen printed no best block")
    return out, m.group(1), text


def vfile(path):
    """The records of a vertex file (docs/tools.md), decoded with
    hathor-node decode: [(hash, is_block, json)]."""
    d = open(path, "rb").read()
    check(d[:8] == b"HNVTXF01", "%s: bad magic" % path)
    p = 9 + d[8]
    out = []
    while p < len(d):
        n = int.from_bytes(d[p:p + 4], "big")
        raw = d[p + 4:p + 4 + n]
        p += 4 + n
        j = json.loads(subprocess.run(
            [NODE, "decode", "--compact", raw.hex()], check=True,
            stdout=subprocess.PIPE, text=True).stdout)
        out.append((j["hash"], j["version"] in (0, 3), j))
    return out


def import_file(data, path, name):
    run([tool("hathor-import"), "--data-dir", data, path], name)


def case_daemon():
    data = os.path.join(WORK, "d")
    chain, chain_best, _ = chaingen(30, 8, ["--tokens", "1", "--seed", "11"],
                                 "chain")
    import_file(data, chain, "import")
    n = Node("n1", data)
    check(best(n) == (30, chain_best), "imported best: %s" % (best(n),))

    # Blocks from hathor-miner, read back by height and by id.
    blocks = dict(miner(n, 5, "miner1"))
    check(sorted(blocks) == list(range(31, 36)), "miner: %s" % blocks)
    for h, bh in blocks.items():
        check(block_at(n, h) == bh, "block %d" % h)
        j = tx(n, bh)
        check(j["meta"]["voided_by"] == [] and j["meta"]["height"] == h,
              "block %s meta: %s" % (bh, j["meta"]))

    # Signed transactions through POST /v1a/push_tx.
    txs = txgen(n, 3, "txgen1")
    mp = mempool(n)
    for h in txs:
        check(h in mp, "%s not in the mempool %s" % (h, mp))
        j = tx(n, h)
        check(j["meta"]["first_block"] is None and
              j["meta"]["voided_by"] == [], "unconfirmed %s: %s" % (h, j))
        check(j["tx"]["inputs"] and j["tx"]["inputs"][0]["decoded"]
              ["type"] == "P2PKH", "inputs of %s: %s" % (h, j["tx"]))
    # A known tx pushed again, and garbage, are refused as the reference.
    raw = tx(n, txs[0])["tx"]["raw"]
    req = urllib.request.Request(n.api + "/v1a/push_tx", method="POST",
                                 data=json.dumps({"hex_tx": raw}).encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            j = json.load(r)
    except urllib.error.HTTPError as e:
        j = json.load(e)
    check(j.get("success") is False, "second push accepted: %s" % j)

    # The next block confirms them.
    (h36, b36), = miner(n, 1, "miner2")
    check(h36 == 36, "height %d" % h36)
    check(mempool(n) == set(), "mempool after a block: %s" % mempool(n))
    for h in txs:
        check(tx(n, h)["meta"]["first_block"] == b36,
              "%s first_block: %s" % (h, tx(n, h)["meta"]))
    blocks[36] = b36

    # kill -9 right after two more pushes: they are in the mempool again.
    pending = txgen(n, 2, "txgen2")
    n.kill9()
    integrity(data)
    n = Node("n2", data)
    check(best(n) == (36, b36), "after kill -9: %s" % (best(n),))
    check(mempool(n) == set(pending), "mempool after kill -9: %s" %
          mempool(n))

    # kill -9 while the miner submits blocks as fast as it can.
    mlog = open(os.path.join(WORK, "miner3.out"), "w")
    m = subprocess.Popen([tool("hathor-miner"), "--api", n.api,
                          "--blocks", "0"], stdout=mlog,
                         stderr=subprocess.DEVNULL)
    PROCS.append(m)
    deadline = time.time() + WAIT
    while best(n)[0] < 40 and time.time() < deadline:
        time.sleep(0.02)
    check(best(n)[0] >= 40, "miner did not reach height 40")
    n.kill9()
    try:
        m.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        m.kill()
        m.wait()
    mlog.close()
    mined = [(int(a), b) for a, b in re.findall(
        r"^height (\d+) ([0-9a-f]{64}) ", open(mlog.name).read(), re.M)]
    # Blocks 37..40 are stored; the answer for the last one may have been
    # lost with the kill, the earlier ones reached the miner before it
    # submitted the next.
    check(len(mined) >= 3 and mined[0][0] == 37, "miner reported %s" % mined)
    integrity(data)

    n = Node("n3", data)
    top = best(n)[0]
    check(top >= max(h for h, _ in mined),
          "best %d below the miner's last accepted block %s" % (top, mined))
    blocks.update(dict(mined))
    for h, bh in sorted(blocks.items()):
        check(block_at(n, h) == bh, "block %d lost by kill -9" % h)
    for h in txs + pending:
        j = tx(n, h)
        check(j["meta"]["voided_by"] == [], "%s voided: %s" % (h, j))
    # The pending txs were confirmed by the first block mined after them.
    for h in pending:
        check(tx(n, h)["meta"]["first_block"] == blocks[37],
              "%s first_block after restart: %s" % (h, tx(n, h)["meta"]))
    check(mempool(n) == set(), "mempool: %s" % mempool(n))
    print("daemon: %d blocks and %d txs found after two kill -9 (%d blocks "
          "mined during the second)" % (len(blocks), len(txs + pending),
                                        len(mined)))
    # Blocks on top of the recovered tip are accepted.
    (h1, b1), = miner(n, 1, "miner4")
    check(h1 == top + 1, "mined at %d after %d" % (h1, top))
    # Online backup (docs/operations.md): sqlite's .backup of the running
    # node's ledger is a data dir another node opens at the same tip.
    backup = os.path.join(WORK, "backup")
    os.mkdir(backup, 0o700)
    cli = shutil.which("sqlite3")
    src = os.path.join(data, "ledger.db")
    dst = os.path.join(backup, "ledger.db")
    if cli:
        subprocess.run([cli, src, ".backup '%s'" % dst], check=True,
                       timeout=WAIT)
    else:
        a, b = sqlite3.connect(src), sqlite3.connect(dst)
        a.backup(b)
        a.close()
        b.close()
    n.stop()
    integrity(data)
    integrity(backup)
    n = Node("n4", backup)
    check(best(n) == (h1, b1), "backup at %s, want %d %s" % (best(n), h1, b1))
    n.stop()
    p = run([tool("hathor-import"), "--data-dir", data, "--check"], "check")
    log = open(os.path.join(WORK, "check.log")).read() + p.stdout
    check("check ok" in log, "hathor-import --check: %s" % log)


def voided(j):
    return bool(j["meta"]["voided_by"])


def case_reorg(double_spend, seed=4):
    data = os.path.join(WORK, "d")
    fork_out = os.path.join(WORK, "fork.bin")
    extra = ["--seed", str(seed), "--fork-height", "25", "--fork-blocks", "20",
             "--fork-txs", "30", "--fork-out", fork_out]
    if double_spend:
        extra.append("--fork-double-spend")
    main, main_best, fork_log = chaingen(40, 30, extra, "main")
    m = re.search(r"^fork blocks .*best ([0-9a-f]{64})", fork_log, re.M)
    check(m, "chaingen printed no fork best: %s" % fork_log)
    fork_best = m.group(1)
    mv, fv = vfile(main), vfile(fork_out)

    # Main chain heights; records after block 25 form the losing side.
    lose_blocks, lose_txs, height = [], [], 0
    for h, is_block, _ in mv:
        if is_block:
            height += 1
            if height > 25:
                lose_blocks.append(h)
        elif height >= 25:
            lose_txs.append(h)
    check(height == 40 and len(lose_blocks) == 15 and lose_txs,
          "main chain shape: %d blocks, %d txs above 25" %
          (height, len(lose_txs)))
    win_blocks = [h for h, b, _ in fv if b]
    win_txs = [h for h, b, _ in fv if not b]
    check(len(win_blocks) == 20 and len(win_txs) == 30, "fork shape")

    import_file(data, main, "import_main")
    n = Node("n1", data)
    check(best(n) == (40, main_best), "main best: %s" % (best(n),))
    for h in lose_txs:
        check(tx(n, h)["meta"]["first_block"] is not None,
              "main tx %s unconfirmed before the fork" % h)
    n.stop()

    # The competing chain, fed to the same ledger.
    import_file(data, fork_out, "import_fork")
    n = Node("n2", data)
    check(best(n) == (45, fork_best), "after the fork: %s, want 45 %s" %
          (best(n), fork_best))
    check(block_at(n, 45) == fork_best, "block_at_height 45")
    for i, h in enumerate(win_blocks):
        check(block_at(n, 26 + i) == h, "height %d not the fork's" % (26 + i))
        check(not voided(tx(n, h)), "winning block %s voided" % h)
    for h in win_txs:
        j = tx(n, h)
        check(not voided(j) and j["meta"]["first_block"] is not None,
              "winning tx %s: %s" % (h, j["meta"]))
    removed = set()
    for h in lose_blocks:
        if seed == 9:
            # Removed with the txs below: hathor-core's
            # _compute_vertices_that_became_invalid removes every vertex
            # to the right of an invalid mempool tx, blocks included.
            j = n.get("transaction?id=" + h)
            if j.get("success") is False:
                removed.add(h)
                continue
        j = tx(n, h)
        check(h in j["meta"]["voided_by"], "losing block %s: %s" %
              (h, j["meta"]))

    # Each losing tx as hathor-core's update_voided_info would leave it:
    # voided when a parent or a spent tx is voided, or when it loses a
    # conflict with a winning tx; otherwise back in the mempool.
    is_voided = {h: True for h in lose_blocks if h not in removed}
    spent_by_winner = {}
    for h in win_txs:
        for i in tx(n, h)["tx"]["inputs"]:
            spent_by_winner[(i["tx_id"], i["index"])] = h
    mp = mempool(n)
    n_void = n_conflict = 0
    for h in lose_txs:
        if seed == 9:
            # The best height drops to 28 on the way (the voided head gives
            # way to the shorter fork), and the reward lock re-check after
            # that reorg removes the returned txs whose reward lock height
            # 28 + 1 no longer meets, with their descendants (hathor-core's
            # remove_invalid after a reorg does the same).
            j = n.get("transaction?id=" + h)
            if j.get("success") is False:
                check(j.get("message") == "Transaction not found",
                      "losing tx %s: %s" % (h, j))
                removed.add(h)
                continue
        j = tx(n, h)
        srcs = j["tx"]["parents"] + [i["tx_id"] for i in j["tx"]["inputs"]]
        conflict = [spent_by_winner[(i["tx_id"], i["index"])]
                    for i in j["tx"]["inputs"]
                    if (i["tx_id"], i["index"]) in spent_by_winner]
        want = any(is_voided.get(s, False) for s in srcs) or bool(conflict)
        is_voided[h] = voided(j)
        check(voided(j) == want, "losing tx %s voided=%s, want %s: %s" %
              (h, voided(j), want, j["meta"]))
        check(j["meta"]["first_block"] is None,
              "losing tx %s still confirmed: %s" % (h, j["meta"]))
        check((h in mp) == (not want), "losing tx %s in mempool: %s" %
              (h, h in mp))
        if conflict:
            n_conflict += 1
            check(h in j["meta"]["voided_by"] and
                  set(conflict) <= set(j["meta"]["conflict_with"]),
                  "double spender %s: %s" % (h, j["meta"]))
            for w in conflict:
                wj = tx(n, w)
                check(not voided(wj) and h in wj["meta"]["conflict_with"],
                      "winning spender %s: %s" % (w, wj["meta"]))
        n_void += want
    check(mp == set(lose_txs) - removed -
          {h for h in lose_txs if is_voided.get(h)},
          "mempool has more than the unconfirmed losing txs: %s" % mp)
    check(len(mp) > 0, "no losing tx returned to the mempool")
    check((seed == 9) == bool(removed), "%d losing txs removed" % len(removed))
    # Seed 9: the main chain's spender may be among the removed txs.
    check(n_conflict == (1 if double_spend else 0) or
          (seed == 9 and n_conflict == 0 and removed),
          "%d conflicts" % n_conflict)
    # This shape (fork at 25, rewards mature after 10 blocks) has losing
    # txs that spend the rewards of losing blocks 26.. (docs/tools.md).
    check(n_void - n_conflict >= 1 or (seed == 9 and removed),
          "no losing tx voided by a voided input")
    print("reorg: %d losing blocks voided, %d losing txs back in the "
          "mempool, %d voided (%d by a conflict), %d vertices removed" %
          (len(lose_blocks), len(mp), n_void, n_conflict, len(removed)))

    # The next block on the winning tip confirms the mempool.
    (h46, b46), = miner(n, 1, "miner")
    check(h46 == 46, "mined at %d" % h46)
    check(mempool(n) == set(), "mempool after a block: %s" % mempool(n))
    for h in mp:
        check(tx(n, h)["meta"]["first_block"] == b46,
              "%s not confirmed by %s" % (h, b46))
    n.stop()
    integrity(data)


def main():
    try:
        if CASE == "daemon":
            case_daemon()
        elif CASE == "reorg":
            case_reorg(False)
        elif CASE == "reorg_ds":
            case_reorg(True)
        elif CASE == "reorg_ds_early":
            # Seed 9: the fork's double spend outweighs the main chain's
            # spender after a few fork blocks, while the fork is still
            # shorter; the voided main head gives way to the fork at
            # height 28 (core/consensus.c, block_update_voided_info).
            case_reorg(True, 9)
        else:
            raise Fail("unknown case %s" % CASE)
    except Fail as e:
        print("FAIL [%s]: %s" % (CASE, e), file=sys.stderr)
        for f in sorted(os.listdir(WORK)):
            if f.endswith(".log"):
                print("---- " + f, file=sys.stderr)
                print(open(os.path.join(WORK, f)).read()[-1500:],
                      file=sys.stderr)
        return 1
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(WORK, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
