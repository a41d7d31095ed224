#!/bin/bash
# tests/p2p: a FULL sync check between two real daemons in host mode
# (hathor-node run + hathor-p2p-host + p2p_sync_v2.so, TLS, loopback,
# unittests).  A holds a hathor-chaingen chain (blocks, signed txs, token
# creations) plus 3 txs pushed with hathor-txgen (its mempool); B starts
# empty and bootstraps
# from A.  Once B's vertex counts reach A's, both are stopped (SIGTERM) and
# their sqlite files compared row by row, keyed by hash: every vertex's
# wire bytes and metadata (validation, height, min_height, accumulated
# work, score, first_block, voided_by, conflict_with, mempool tip flag),
# the verification and funds DAG edges, the best-chain height index, the
# tips intervals, the token table and the counters; PRAGMA integrity_check
# ok on both.  Nothing may differ.
#
#   full_sync_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN TXGEN [BLOCKS TXS]
set -u
NODE=${1:?usage: full_sync_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
TXGEN=${5:?usage}
NB=${6:-300}
NT=${7:-100}
. "$(dirname "$0")/daemon_lib.sh"

"$GEN" --network unittests --blocks "$NB" --txs "$NT" --tokens 3 \
	--data-dir "$WORK/da" --quiet >"$WORK/gen.log" 2>&1 || fail "chaingen failed: $(tail -3 "$WORK/gen.log")"
counts() {      # counts DB: "blocks txs"
	python3 - "$1" <<'PY' 2>/dev/null
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
d = dict(c.execute("SELECT name, value FROM counter"))
print(d["blocks"], d["txs"])
PY
}
PA=$(free_port)
PB=$(free_port)
start a "$PA"
"$TXGEN" --api "$API_a" --network unittests --count 3 >"$WORK/txgen.log" 2>&1 ||
	fail "txgen: $(tail -3 "$WORK/txgen.log")"
WANT=$(counts "$WORK/da/ledger.db")
[[ -n $WANT ]] || fail "cannot read A's counters"
echo "A: blocks txs = $WANT"
t0=$(date +%s.%N)
start b "$PB" "$PA"
same() { [[ $(counts "$WORK/db/ledger.db") == "$WANT" ]]; }
wait_for 60 same || fail "B's counts $(counts "$WORK/db/ledger.db") never reached A's $WANT"
echo "B has A's counts in $(elapsed "$t0") s"
# Let the last metadata updates land, then stop both cleanly.
sleep 1
for n in a b; do
	eval "pid=\$PID_$n"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	rc=$?
	[[ $rc == 0 ]] || fail "node $n exited $rc on SIGTERM"
done
python3 - "$WORK/da/ledger.db" "$WORK/db/ledger.db" <<'PY' || fail "storage differs"
import sqlite3, sys

def load(path):
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    ok = c.execute("PRAGMA integrity_check").fetchone()[0]
    assert ok == "ok", (path, ok)
    h = dict(c.execute("SELECT id, hash FROM vertex"))
    t = {}
    t["vertex"] = {r[0]: r[1:] for r in c.execute(
        "SELECT v.hash, v.is_block, v.version, v.timestamp, v.weight,"
        " v.validation, v.height, v.min_height, v.acc_work, v.score,"
        " v.first_block, v.voided_by, v.conflict_with, v.mempool_tip,"
        " b.bytes FROM vertex v JOIN vbytes b ON b.id = v.id")}
    t["edge"] = sorted((h[p], h[ch]) for p, ch in c.execute(
        "SELECT parent, child FROM edge"))
    t["spent"] = sorted((h[x], i, h[s]) for x, i, s in c.execute(
        "SELECT tx, idx, spender FROM spent"))
    t["height"] = [(ht, h[b]) for ht, b in c.execute(
        "SELECT height, block FROM height ORDER BY height")]
    t["tips"] = sorted((k, h[v], b, e) for k, v, b, e in c.execute(
        "SELECT kind, vid, begin, end FROM tips"))
    t["token"] = sorted((u, h[x], n, s, ver) for u, x, n, s, ver in
                        c.execute("SELECT uid, tx, name, symbol, version"
                                  " FROM token"))
    t["counter"] = sorted(c.execute("SELECT name, value FROM counter"))
    return t

a, b = load(sys.argv[1]), load(sys.argv[2])
bad = 0
for k in a:
    if a[k] == b[k]:
        continue
    bad += 1
    if k == "vertex":
        only_a = set(a[k]) - set(b[k])
        only_b = set(b[k]) - set(a[k])
        diff = [x for x in set(a[k]) & set(b[k]) if a[k][x] != b[k][x]]
        print("vertex: %d only on A, %d only on B, %d differ" %
              (len(only_a), len(only_b), len(diff)), file=sys.stderr)
        cols = ("is_block version timestamp weight validation height"
                " min_height acc_work score first_block voided_by"
                " conflict_with mempool_tip bytes").split()
        for x in diff[:3]:
            print("  %s: %s" % (x.hex(), [(c, a[k][x][i], b[k][x][i])
                  for i, c in enumerate(cols) if a[k][x][i] != b[k][x][i]]),
                  file=sys.stderr)
    else:
        print("%s differs: A %d rows, B %d rows, first difference %s" %
              (k, len(a[k]), len(b[k]),
               next(((x, y) for x, y in zip(a[k], b[k]) if x != y),
                    "(length)")), file=sys.stderr)
v = a["vertex"]
nb = sum(1 for r in v.values() if r[0])
nmp = sum(1 for r in v.values() if not r[0] and r[9] is None and r[10] is None)
ntok = len(a["token"])
print("compared %d vertices (%d blocks, %d in the mempool), %d edges, "
      "%d spent rows, %d heights, %d tips rows, %d tokens" %
      (len(v), nb, nmp, len(a["edge"]), len(a["spent"]), len(a["height"]),
       len(a["tips"]), ntok))
assert ntok > 0, "no token in the chain"
assert nmp == 3, "%d txs in the mempool, want the 3 pushed" % nmp
sys.exit(1 if bad else 0)
PY
echo OK
