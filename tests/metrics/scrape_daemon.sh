#!/bin/bash
# tests/metrics: a real daemon with a hathor-chaingen chain imported by
# hathor-import, run with --metrics-listen (core/plugins.c loads
# metrics.so, whose registry includes core/metrics.c via visit_extra).
# Two scrapes of /metrics: promtool check metrics (when installed) and our
# own checks (format, buckets, duplicates, contiguous families), the height
# equal to /v1a/status, the vertex counts equal to what was imported, and
# counters monotonic between the scrapes.
#
#   scrape_daemon.sh HATHOR_NODE TOOLS_BIN_DIR PLUGIN_DIR
set -u
NODE=$1
BIN=$2
PLUGDIR=$3
WORK=$(mktemp -d -p "$PWD" "scrape.XXXXXX") || exit 1
WAIT=${HN_TEST_WAIT:-20}
PID=

cleanup() {
	if [ -n "$PID" ]; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	[ -f "$WORK/n.log" ] && tail -20 "$WORK/n.log" >&2
	exit 1
}

"$BIN/hathor-chaingen" --blocks 60 --txs 20 --tokens 2 --seed 5 \
	--out "$WORK/chain.bin" -q >"$WORK/gen.log" 2>&1 ||
	fail "chaingen: $(cat "$WORK/gen.log")"
"$BIN/hathor-import" --data-dir "$WORK/d" "$WORK/chain.bin" \
	>"$WORK/import.log" 2>&1 || fail "import: $(cat "$WORK/import.log")"
sum=$(sed -n 's/.*ledger has \([0-9]*\) blocks \([0-9]*\) txs; best height \([0-9]*\).*/\1 \2 \3/p' \
	"$WORK/import.log")
read -r NB NT HEIGHT <<<"$sum"
[ -n "${HEIGHT:-}" ] || fail "import summary: $(cat "$WORK/import.log")"

printf '[metrics]\nport_file = %s\n' "$WORK/mport" >"$WORK/n.ini"
"$NODE" run --network unittests --data-dir "$WORK/d" --p2p-mode off \
	--api-listen 127.0.0.1:0 --config "$WORK/n.ini" \
	--plugin-dir "$PLUGDIR" --metrics-listen 127.0.0.1:0 \
	>"$WORK/n.log" 2>&1 &
PID=$!
API=
for ((i = 0; i < WAIT * 10; i++)); do
	API=$(sed -n 's|.* running: .*API \(http://[^/]*\)/v1a/.*|\1|p' \
		"$WORK/n.log")
	[ -n "$API" ] && [ -s "$WORK/mport" ] && break
	kill -0 "$PID" 2>/dev/null || fail "node died"
	sleep 0.1
done
[ -n "$API" ] && [ -s "$WORK/mport" ] || fail "node did not come up"
MPORT=$(tr -dc 0-9 <"$WORK/mport")

python3 - "$API" "http://127.0.0.1:$MPORT/metrics" "$NB" "$NT" "$HEIGHT" \
	"$WORK" <<'PY' || fail "checks failed"
import json, math, re, shutil, subprocess, sys, urllib.request

api, murl, nb, nt, height, work = sys.argv[1:7]
nb, nt, height = int(nb), int(nt), int(height)

def get(u):
    with urllib.request.urlopen(u, timeout=10) as r:
        return r.read().decode()

def parse(text):
    assert text.endswith("\n"), "no final newline"
    fams, order, series = {}, [], {}
    cur = None
    for line in text.split("\n")[:-1]:
        m = re.match(r"# (HELP|TYPE) (\S+) ?(.*)$", line)
        if m:
            kind, name, rest = m.groups()
            if kind == "TYPE":
                assert name not in fams, "family %s twice" % name
                fams[name] = rest
                order.append(name)
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
    for f, t in fams.items():
        if t != "histogram":
            continue
        groups = {}
        for (n, l), v in series.items():
            if n == f + "_bucket":
                le = re.search(r'le="([^"]*)"', l).group(1)
                rest = re.sub(r',?le="[^"]*"', "", l).replace("{}", "")
                groups.setdefault(rest, []).append((float(le), v))
        for rest, bs in groups.items():
            bs.sort()
            assert bs[-1][0] == math.inf, "%s%s: no +Inf" % (f, rest)
            for a, b in zip(bs, bs[1:]):
                assert b[1] >= a[1], "%s%s: not cumulative" % (f, rest)
            cnt = series[(f + "_count", rest)]
            assert cnt == bs[-1][1], "%s%s: +Inf != _count" % (f, rest)
    return fams, series

t1 = get(murl)
st = json.loads(get(api + "/v1a/status"))
for _ in range(3):
    get(api + "/v1a/status")
t2 = get(murl)
f1, s1 = parse(t1)
f2, s2 = parse(t2)
open(work + "/scrape2.txt", "w").write(t2)
have_promtool = shutil.which("promtool") is not None
if have_promtool:
    for t in (t1, t2):
        p = subprocess.run(["promtool", "check", "metrics"], input=t,
                           text=True, capture_output=True)
        assert p.returncode == 0, "promtool: %d %s%s" % (
            p.returncode, p.stdout, p.stderr)
    print("promtool check metrics: ok")

h = s2[("hathor_best_block_height", "")]
assert h == height, "height %s != imported %s" % (h, height)
assert h == st["dag"]["best_block"]["height"], "height != /v1a/status"
assert s2[("hathor_vertices", '{type="block"}')] == nb, "block count"
assert s2[("hathor_vertices", '{type="tx"}')] == nt, "tx count"
assert s2[("hathor_db_file_size_bytes", '{file="db"}')] > 0
for (n, l), v in s1.items():
    t = f1.get(n) or f1.get(re.sub(r"_(bucket|sum|count)$", "", n))
    if t in ("counter", "histogram") and (n, l) in s2:
        assert s2[(n, l)] >= v, "%s%s went down" % (n, l)
assert s2[("hathor_metrics_scrapes_total", "")] > s1[("hathor_metrics_scrapes_total", "")]
# The core's HTTP hook (core/http.c): the route pattern and code; the
# four /v1a/status calls (and the ones before) are counted.
st200 = s2.get(("hathor_http_requests_total",
                '{path="/v1a/status",code="200"}'), 0)
assert st200 >= 4, "http requests for /v1a/status: %s" % st200
assert s2[("hathor_http_request_duration_seconds_count",
           '{path="/v1a/status"}')] >= st200
assert not [k for k in s2 if k[0] == "hathor_http_requests_total" and
            "?" in k[1]], "raw URL in a label"
print("scrape ok: height %d, %d blocks, %d txs, %d series" % (h, nb, nt, len(s2)))
if not have_promtool:
    open(work + "/no-promtool", "w").write("")
PY
kill -TERM "$PID"
wait "$PID" || fail "node exited $? on SIGTERM"
PID=
if [ -e "$WORK/no-promtool" ]; then
	echo "SKIP: promtool not installed (Debian package prometheus," \
		"scripts/deps.sh installs it); our own checks passed"
	exit 77
fi
