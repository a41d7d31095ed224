#!/bin/bash
# tests/sdk: examples/metrics-plugin (vertex_metrics) as a third party
# builds and uses it.  The SDK component (hathor-node-dev) of the build
# tree is installed into a fresh prefix; the example is built out of tree
# against that prefix only, with pkg-config (plain cc and CMake's
# pkg_check_modules) and with find_package(HathorPlugin) +
# hathor_add_plugin() (installed into the SDK's plugindir); a real daemon
# (a hathor-chaingen chain, --metrics-listen) gets it with
# `hathor-admin plugin load NAME` from its --plugin-dir, a block mined over
# the HTTP API shows in the plugin's family on /metrics (promtool-clean),
# unload removes it, the pkg-config build loads by PATH, and bad loads are
# refused with the reason.
#
#   metrics_example.sh SRC BUILD WORK NODE ADMIN CHAINGEN MINER METRICS_SO
set -u
SRC=$1 BUILD=$2 W=$3 NODE=$4 ADMIN=$5 GEN=$6 MINER=$7 METRICS_SO=$8
P=$W/prefix
PID=
cleanup() {
	if [[ -n $PID ]]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[[ -f $W/n.log ]] && tail -20 "$W/n.log" >&2
	exit 1
}
rm -rf "$W"
mkdir -p "$W"

cmake --install "$BUILD" --prefix "$P" --component hathor-node-dev \
	>"$W/install.log" 2>&1 || fail "cmake --install: $(cat "$W/install.log")"
PC=$(find "$P" -name hathor-plugin.pc)
[[ -n $PC ]] || fail "no hathor-plugin.pc"
export PKG_CONFIG_PATH=$(dirname "$PC")
PKGC="pkg-config --define-variable=prefix=$P"
EX=$SRC/examples/metrics-plugin

# --- 1. plain cc with pkg-config ------------------------------------------
mkdir -p "$W/cc"
# shellcheck disable=SC2046
${CC:-cc} -std=c17 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
	$($PKGC --cflags hathor-plugin) -Wl,-z,defs \
	-o "$W/cc/vertex_metrics.so" "$EX/vertex_metrics.c" || fail "cc build"
exp=$(nm -D --defined-only "$W/cc/vertex_metrics.so" | awk '$2 == "T" { print $3 }')
[[ $exp == hathor_plugin_entry ]] || fail "cc build exports: $exp"

# --- 2. CMake, pkg_check_modules ----------------------------------------
cmake -S "$EX" -B "$W/cmake-pc" -DVM_USE_PKGCONFIG=ON \
	"-DPKG_CONFIG_ARGN=--define-variable=prefix=$P" >"$W/cmake-pc.log" 2>&1 ||
	fail "configure (pkg-config): $(cat "$W/cmake-pc.log")"
cmake --build "$W/cmake-pc" >>"$W/cmake-pc.log" 2>&1 ||
	fail "build (pkg-config): $(cat "$W/cmake-pc.log")"

# --- 3. CMake, find_package(HathorPlugin) + hathor_add_plugin -------------
unset PKG_CONFIG_PATH
cmake -S "$EX" -B "$W/cmake-pkg" -DCMAKE_PREFIX_PATH="$P" \
	-DCMAKE_INSTALL_PREFIX="$P" >"$W/cmake-pkg.log" 2>&1 ||
	fail "configure (find_package): $(cat "$W/cmake-pkg.log")"
grep -q "HathorPlugin_DIR:PATH=$P/" "$W/cmake-pkg/CMakeCache.txt" ||
	fail "find_package did not use the staged SDK"
cmake --build "$W/cmake-pkg" >>"$W/cmake-pkg.log" 2>&1 ||
	fail "build (find_package): $(cat "$W/cmake-pkg.log")"
cmake --install "$W/cmake-pkg" >>"$W/cmake-pkg.log" 2>&1 ||
	fail "install: $(cat "$W/cmake-pkg.log")"
PLUGDIR=$(ls -d "$P"/lib*/hathor/plugins 2>/dev/null | head -1)
[[ -f $PLUGDIR/vertex_metrics.so ]] ||
	fail "vertex_metrics.so not installed into the SDK's plugindir"
for so in "$W/cmake-pc/vertex_metrics.so" "$PLUGDIR/vertex_metrics.so"; do
	exp=$(nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }')
	[[ $exp == hathor_plugin_entry ]] || fail "$so exports: $exp"
done
# The node's own metrics plugin next to it: the operator's plugins dir.
cp "$METRICS_SO" "$PLUGDIR/" || fail "copy metrics.so"
echo "vertex_metrics built 3 ways against the SDK at $P"

# --- a daemon with a chain, then plugin load -----------------------------
"$GEN" --network unittests --blocks 30 --txs 5 --data-dir "$W/d" --quiet \
	>"$W/gen.log" 2>&1 || fail "chaingen: $(cat "$W/gen.log")"
printf '[metrics]\nport_file = %s\n' "$W/mport" >"$W/n.ini"
mkdir -m 700 -p "$W/r"
"$NODE" run --network unittests --data-dir "$W/d" --runtime-dir "$W/r" \
	--p2p-mode off --api-listen 127.0.0.1:0 --config "$W/n.ini" \
	--plugin-dir "$PLUGDIR" --metrics-listen 127.0.0.1:0 \
	>"$W/n.log" 2>&1 &
PID=$!
API=
for ((i = 0; i < 300; i++)); do
	API=$(sed -n 's|.* running: .*API \(http://[^/]*\)/v1a/.*|\1|p' "$W/n.log")
	[[ -n $API && -s $W/mport ]] && break
	kill -0 "$PID" 2>/dev/null || fail "node died"
	sleep 0.1
done
[[ -n $API && -s $W/mport ]] || fail "node did not come up"
MURL=http://127.0.0.1:$(tr -dc 0-9 <"$W/mport")/metrics
adm() { "$ADMIN" -s "$W/r/admin.ipc" "$@"; }
scrape() { curl -sf --max-time 10 "$MURL"; }
sample() { scrape | awk -v k="$1" '$1 == k { print $2 }'; }
height() { curl -sf "$API/v1a/status" | python3 -c \
	'import json,sys; print(json.load(sys.stdin)["dag"]["best_block"]["height"])'; }
mine() { "$MINER" --api "$API" --network unittests --blocks 1 -q \
	>>"$W/miner.log" 2>&1 || fail "miner: $(tail -3 "$W/miner.log")"; }
B='example_vertices_accepted_total{type="block",voided="0"}'

scrape | grep -q '^example_' && fail "example metrics before the load"
out=$(adm plugin load vertex_metrics 2>&1) || fail "plugin load: $out"
[[ $out == "ok: loaded vertex_metrics" ]] || fail "plugin load said: $out"
adm plugin list >"$W/list.txt" 2>&1 || fail "plugin list"
grep -q vertex_metrics "$W/list.txt" || fail "not listed: $(cat "$W/list.txt")"
grep -q "counting accepted vertices" "$W/n.log" || fail "no start log line"
[[ $(sample "$B") == 0 ]] || fail "block counter before mining: $(sample "$B")"
# The admin's loads and unloads are counted by the core (core/plugins.c).
LD='hathor_plugin_loads_total{plugin="vertex_metrics",result='
UL='hathor_plugin_unloads_total{plugin="vertex_metrics",result='
[[ $(sample "${LD}\"ok\"}") == 1 ]] || fail "loads ok: '$(sample "${LD}\"ok\"}")'"
mine
h=$(height)
for ((i = 0; i < 50; i++)); do
	[[ $(sample "$B") == 1 ]] && break
	sleep 0.1
done
[[ $(sample "$B") == 1 ]] || fail "mined block not counted: $(sample "$B")"
[[ $(sample example_best_height) == "$h" ]] ||
	fail "example_best_height $(sample example_best_height) != $h"
scrape >"$W/scrape.txt"
grep -c '^# TYPE example_vertices_accepted_total counter$' "$W/scrape.txt" |
	grep -qx 1 || fail "family not exactly once"
[[ $(grep -c '^example_vertices_accepted_total{' "$W/scrape.txt") == 4 ]] ||
	fail "expected 4 series of the family"
if command -v promtool >/dev/null; then
	promtool check metrics <"$W/scrape.txt" || fail "promtool"
	echo "promtool check metrics: ok"
fi
echo "loaded by name from $PLUGDIR; block at height $h counted"

# Refusals name the reason; the node keeps serving.
out=$(adm plugin load vertex_metrics 2>&1) && fail "second load accepted"
grep -q "already loaded" <<<"$out" || fail "second load: $out"
out=$(adm plugin load nosuch 2>&1) && fail "load of a missing file accepted"
grep -q "nosuch.so" <<<"$out" || fail "missing file: $out"
[[ $(sample "${LD}\"refused\"}") == 1 ]] ||
	fail "refused loads of vertex_metrics: '$(sample "${LD}\"refused\"}")'"
[[ $(sample 'hathor_plugin_loads_total{plugin="nosuch",result="refused"}') == 1 ]] ||
	fail "refused load of nosuch not counted"

# Unload: the family is gone; the pkg-config build loads by PATH.
out=$(adm plugin unload vertex_metrics 2>&1) || fail "unload: $out"
scrape | grep -q '^example_' && fail "example metrics after unload"
out=$(adm plugin unload vertex_metrics 2>&1) && fail "second unload accepted"
[[ $(sample "${UL}\"ok\"}") == 1 && $(sample "${UL}\"not_found\"}") == 1 ]] ||
	fail "unloads: ok '$(sample "${UL}\"ok\"}")', not_found '$(sample "${UL}\"not_found\"}")'"
scrape | grep -q '^hathor_plugin_reloads_total' && fail "a load or unload counted as a reload"
out=$(adm plugin load "$W/cmake-pc/vertex_metrics.so" 2>&1) ||
	fail "load by path: $out"
mine
for ((i = 0; i < 50; i++)); do
	[[ $(sample "$B") == 1 ]] && break
	sleep 0.1
done
[[ $(sample "$B") == 1 ]] || fail "pkg-config build: counter $(sample "$B")"
[[ $(sample "${LD}\"ok\"}") == 2 ]] || fail "load by path not counted: $(sample "${LD}\"ok\"}")"
kill -TERM "$PID"
wait "$PID" || fail "node exited $? on SIGTERM"
PID=
echo "OK: vertex_metrics built with pkg-config and CMake, loaded, scraped"
