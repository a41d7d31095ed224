#!/bin/bash
# tests/metrics: the scrape test on a node that has SYNCED a chain.  Two
# real daemons in host mode (tests/p2p/daemon_lib.sh: hathor-node +
# hathor-p2p-host + p2p_sync_v2.so, TLS, loopback): A holds a
# hathor-chaingen chain, B starts empty, bootstraps from A and syncs it.
# Both run --metrics-listen (core/plugins.c loads metrics.so, whose registry
# includes core/metrics.c and what B's P2P host reports).  Two scrapes of
# B: promtool check metrics and our own checks (format, histogram buckets
# cumulative, +Inf == _count, no duplicate series, families contiguous),
# then what a synced node must show: height and vertex counts equal to A's
# and to /v1a/status, vertices received by the ledger, node.ipc histogram
# per method, host up, peers ready, synced and best known height from the
# P2P plugin, the host's process metrics, HTTP
# requests by route, counters monotonic between the scrapes.
# Exit 77 (ctest SKIP) only when promtool is missing, after our checks.
#
#   scrape_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN [BLOCKS TXS]
set -u
NODE=${1:?usage: scrape_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
NB=${5:-80}
NT=${6:-30}
. "$(dirname "$0")/../p2p/daemon_lib.sh"

"$GEN" --network unittests --blocks "$NB" --txs "$NT" --tokens 2 --seed 5 \
	--data-dir "$WORK/da" --quiet >"$WORK/gen.log" 2>&1 ||
	fail "chaingen failed"
# Both also write hathor-core's textfile for node_exporter (every 1 s; A
# with a prefix).
for n in a b; do
	printf '[metrics]\nport_file = %s\ntextfile = %s\ntextfile_interval = 1\n' \
		"$WORK/$n.mport" "$WORK/$n.prom" >"$WORK/$n.ini"
done
echo "textfile_prefix = hc_" >>"$WORK/a.ini"
PA=$(free_port)
PB=$(free_port)
start a "$PA" "" --config "$WORK/a.ini" --metrics-listen 127.0.0.1:0
start b "$PB" "$PA" --config "$WORK/b.ini" --metrics-listen 127.0.0.1:0
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 ]] || fail "A has no best block"
t0=$(date +%s.%N)
wait_for 40 best_is "$API_b" "$A_BEST" ||
	fail "B did not sync A's best $A_BEST (at $(best_of "$API_b"))"
echo "B synced A's chain in $(elapsed "$t0") s"
wait_for 10 test -s "$WORK/a.mport" -a -s "$WORK/b.mport" ||
	fail "no metrics port file"
MA=$(tr -dc 0-9 <"$WORK/a.mport")
MB=$(tr -dc 0-9 <"$WORK/b.mport")
# The host reports in its heartbeat answers (every 2 s).
hb_seen() { curl -sf "http://127.0.0.1:$MB/metrics" |
	grep -q '^process_resident_memory_bytes{process="p2p-host"}'; }
wait_for 10 hb_seen || fail "B's host metrics never reached the core"
# The P2P plugin's own gauges, through the same report.
synced_seen() { curl -sf "http://127.0.0.1:$MB/metrics" | grep -q '^hathor_synced 1$'; }
wait_for 15 synced_seen || fail "B never showed hathor_synced 1"
# The textfile catches up within its interval.
tf_ready() { grep -qx 'connected_peers 1.0' "$WORK/b.prom" 2>/dev/null; }
wait_for 5 tf_ready || fail "B's textfile: $(cat "$WORK/b.prom" 2>&1)"

python3 - "$API_b" "http://127.0.0.1:$MB/metrics" \
	"http://127.0.0.1:$MA/metrics" "$WORK" <<'PY' || fail "checks failed"
import json, math, re, shutil, subprocess, sys, urllib.request

api, murl, murl_a, work = sys.argv[1:5]

def get(u):
    with urllib.request.urlopen(u, timeout=10) as r:
        return r.read().decode()

def parse(text):
    assert text.endswith("\n"), "no final newline"
    fams, series = {}, {}
    cur = None
    for line in text.split("\n")[:-1]:
        m = re.match(r"# (HELP|TYPE) (\S+) ?(.*)$", line)
        if m:
            kind, name, rest = m.groups()
            if kind == "TYPE":
                assert name not in fams, "family %s twice" % name
                fams[name] = rest
                cur = name
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$", line)
        assert m, "bad sample line %r" % line
        name, labels, v = m.group(1), m.group(2) or "", m.group(3)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        fam = name if name in fams else base
        assert fam == cur, "sample %s outside its family %s" % (name, cur)
        key = (name, labels)
        assert key not in series, "duplicate series %r" % (key,)
        series[key] = float(v)
    nhist = 0
    for f, t in fams.items():
        if t != "histogram":
            continue
        groups = {}
        for (n, l), v in series.items():
            if n == f + "_bucket":
                le = re.search(r'le="([^"]*)"', l).group(1)
                rest = re.sub(r',?le="[^"]*"', "", l).replace("{}", "")
                groups.setdefault(rest, []).append((float(le), v))
        assert groups, "histogram %s without buckets" % f
        for rest, bs in groups.items():
            bs.sort()
            assert bs[-1][0] == math.inf, "%s%s: no +Inf" % (f, rest)
            for a, b in zip(bs, bs[1:]):
                assert b[1] >= a[1], "%s%s: not cumulative" % (f, rest)
            cnt = series[(f + "_count", rest)]
            assert cnt == bs[-1][1], "%s%s: +Inf != _count" % (f, rest)
            assert (f + "_sum", rest) in series, "%s%s: no _sum" % (f, rest)
            nhist += 1
    return fams, series, nhist

t1 = get(murl)
st = json.loads(get(api + "/v1a/status"))
for _ in range(3):
    get(api + "/v1a/status")
t2 = get(murl)
ta = get(murl_a)
f1, s1, _ = parse(t1)
f2, s2, nhist = parse(t2)
fa, sa, _ = parse(ta)
open(work + "/scrape_b.txt", "w").write(t2)
have_promtool = shutil.which("promtool") is not None
if have_promtool:
    for t in (t1, t2, ta):
        p = subprocess.run(["promtool", "check", "metrics"], input=t,
                           text=True, capture_output=True)
        assert p.returncode == 0, "promtool: %d %s%s" % (
            p.returncode, p.stdout, p.stderr)
    print("promtool check metrics: ok (3 scrapes)")

def v(name, labels=""):
    assert (name, labels) in s2, "B has no %s%s" % (name, labels)
    return s2[(name, labels)]

# Synced: the same chain as A.
h = v("hathor_best_block_height")
assert h == sa[("hathor_best_block_height", "")], "height != A's"
assert h == st["dag"]["best_block"]["height"], "height != /v1a/status"
for t in ("block", "tx"):
    lab = '{type="%s"}' % t
    assert v("hathor_vertices", lab) == sa[("hathor_vertices", lab)], \
        "%s count != A's" % t
synced = (v("hathor_vertices", '{type="block"}') +
          v("hathor_vertices", '{type="tx"}'))
# Genesis is stored, not received: everything else came over P2P.
recv = sum(x for (n, l), x in s2.items()
           if n == "hathor_vertices_received_total")
assert recv >= synced - 3, "received %s < synced %s - genesis" % (recv, synced)
assert v("hathor_mempool_transactions") >= 0
# node.ipc from B's host, by method; the intake of the synced vertices.
ipc = {l: x for (n, l), x in s2.items()
       if n == "hathor_ipc_request_duration_seconds_count"}
assert any(x > 0 for x in ipc.values()), "no IPC histogram: %s" % ipc
assert all(re.fullmatch(r'\{method="[a-z_]+"\}', l) for l in ipc), ipc
assert v("hathor_p2p_host_up") == 1
# From the P2P plugin in B's host (registered metrics, heartbeat report).
assert v("hathor_synced") == 1
assert v("hathor_best_known_block_height") == h, \
    "best known %s != height %s" % (v("hathor_best_known_block_height"), h)
assert v("hathor_p2p_known_peers") >= 1
for d in ("received", "sent"):
    assert v("hathor_p2p_messages_total", '{direction="%s"}' % d) > 0, d
    assert v("hathor_p2p_message_bytes_total", '{direction="%s"}' % d) > \
        v("hathor_p2p_messages_total", '{direction="%s"}' % d), d
# B received the whole chain over P2P: more bytes in than out.
assert v("hathor_p2p_message_bytes_total", '{direction="received"}') > \
    v("hathor_p2p_message_bytes_total", '{direction="sent"}')
assert v("hathor_peers", '{state="ready"}') == 1, "B's ready peers"
assert v("process_resident_memory_bytes", '{process="p2p-host"}') > 1e6
assert v("process_resident_memory_bytes", '{process="core"}') > 1e6
assert v("process_cpu_seconds_total", '{process="p2p-host"}') >= 0
import time
cst = v("process_start_time_seconds", '{process="core"}')
hst = v("process_start_time_seconds", '{process="p2p-host"}')
assert time.time() - 300 < cst <= time.time(), "core start %s" % cst
# The host is the core's child: started after it (clock-tick rounding).
assert cst - 0.05 <= hst <= time.time(), "host start %s, core %s" % (hst, cst)
assert not [k for k in s2 if k[0] == "hathor_p2p_host_restarts_total"]
# HTTP by route pattern and code.
st200 = v("hathor_http_requests_total", '{path="/v1a/status",code="200"}')
assert st200 >= 4, "http requests for /v1a/status: %s" % st200
assert v("hathor_http_request_duration_seconds_count",
         '{path="/v1a/status"}') >= st200
# Counters only grow between the scrapes.
for (n, l), x in s1.items():
    t = f1.get(n) or f1.get(re.sub(r"_(bucket|sum|count)$", "", n))
    if t in ("counter", "histogram") and (n, l) in s2:
        assert s2[(n, l)] >= x, "%s%s went down" % (n, l)
assert v("hathor_metrics_scrapes_total") > s1[("hathor_metrics_scrapes_total", "")]
assert v("hathor_best_block_weight") > 0
# hathor-core's hash_rate (Metrics.calculate_new_hashrate, its own float
# operations) of the last block B accepted: the best one, B synced A's
# linear chain; A accepted none since its start, so its newest block, the
# best one too.
for s_, name in ((s2, "B"), (sa, "A")):
    want = 2 ** (s_[("hathor_best_block_weight", "")] - math.log(30, 2))
    assert s_[("hathor_hash_rate", "")] == want, "%s hash_rate %r != %r" % (
        name, s_[("hathor_hash_rate", "")], want)

# hathor-core's textfile (hathor/prometheus.py names and HELP, gauges only,
# values as prometheus_client writes them), the same figures as /metrics.
compat = [("transactions", "hathor_vertices", '{type="tx"}'),
          ("blocks", "hathor_vertices", '{type="block"}'),
          ("hash_rate", "hathor_hash_rate", ""),
          ("connected_peers", "hathor_peers", '{state="ready"}'),
          ("connecting_peers", "hathor_peers", '{state="connecting"}'),
          ("handshaking_peers", "hathor_peers", '{state="handshaking"}'),
          ("known_peers", "hathor_p2p_known_peers", ""),
          ("best_block_weight", "hathor_best_block_weight", ""),
          ("best_block_height", "hathor_best_block_height", "")]
def tf_check(node, prefix, url):
    tf = open("%s/%s.prom" % (work, node)).read()
    ser = parse(get(url))[1]
    ft, st_, _ = parse(tf)
    names = [n for n in ft]
    assert names == [prefix + c[0] for c in compat], \
        "%s textfile families %s" % (node, names)
    assert all(t == "gauge" for t in ft.values()), ft
    assert "# HELP %sbest_block_height Height of best chain\n" % prefix in tf
    for name, src, lab in compat:
        want = ser[(src, lab)]
        got = st_[(prefix + name, "")]
        if got != want:
            return "%s %s%s = %s, /metrics %s%s = %s" % (
                node, prefix, name, got, src, lab, want)
        if want == int(want) and want < 1e6:
            assert "\n%s%s %d.0\n" % (prefix, name, want) in tf, \
                "%s: %s not written as %d.0" % (node, name, want)
    if have_promtool:
        p = subprocess.run(["promtool", "check", "metrics"], input=tf,
                           text=True, capture_output=True)
        # hathor-core's names break promtool's lint rules (exit 3), never
        # the syntax (exit 1).
        assert p.returncode in (0, 3), "promtool on the textfile: %d %s%s" % (
            p.returncode, p.stdout, p.stderr)
    return None

for node, prefix, url in (("b", "", murl), ("a", "hc_", murl_a)):
    # Written every 1 s: a figure that just changed may lag a scrape.
    for _ in range(5):
        why = tf_check(node, prefix, url)
        if not why:
            break
        time.sleep(1)
    assert not why, why
assert not [f for f in __import__("os").listdir(work)
            if f.endswith(".prom.tmp")], "temp file left"
print("textfile ok: %d gauges (B), prefix hc_ (A)" % len(compat))
print("scrape ok: height %d, %d vertices synced, %d received, %d series, "
      "%d histograms, %d families" % (h, synced, recv, len(s2), nhist,
                                       len(f2)))
if not have_promtool:
    open(work + "/no-promtool", "w").write("")
PY
if [[ -e $WORK/no-promtool ]]; then
	echo "SKIP: promtool not installed (Debian package prometheus," \
		"scripts/deps.sh installs it); our own checks passed"
	exit 77
fi
echo OK
