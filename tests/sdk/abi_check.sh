#!/bin/bash
# tests/sdk: the plugin ABI check (docs/plugin-sdk.md "ABI check").
#
#   abi_check.sh check    SRC WORK [INCLUDE_DIR]   current headers vs baseline
#   abi_check.sh selftest SRC WORK                 the check catches breaks
#   abi_check.sh baseline SRC WORK                 (re)writes the baseline of
#                                                  the current major
#
# tests/sdk/abi_probe.c is built with -g from INCLUDE_DIR (default
# SRC/plugin_api/include), dumped with abidw (abigail-tools) and compared
# with plugin_api/abi/abi-MAJOR.xml by tests/sdk/abi_check.py; on a refusal
# abidiff's report is printed too.  Exit 77 (ctest SKIP) without abidw.
set -u
MODE=$1 SRC=$2 W=$3
BASE=$SRC/plugin_api/abi
CC=${CC:-cc}
if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
	echo "SKIP: abidw/abidiff not installed (Debian package abigail-tools," \
		"scripts/deps.sh installs it)"
	exit 77
fi
mkdir -p "$W"

# dump INCLUDE_DIR OUT.xml
dump() {
	local so=${2%.xml}.so
	$CC -std=c17 -g -O0 -shared -fPIC -fvisibility=hidden -I"$1" \
		-fdebug-prefix-map="$SRC"=. \
		-o "$so" "$SRC/tests/sdk/abi_probe.c" || return 1
	abidw --no-corpus-path --no-comp-dir-path --no-show-locs \
		--out-file "$2" "$so"
}

# check INCLUDE_DIR NAME: 0 compatible, 1 refused
check() {
	local x=$W/$2.xml major rc
	dump "$1" "$x" || { echo "FAIL: cannot build the probe from $1"; return 2; }
	python3 "$SRC/tests/sdk/abi_check.py" "$BASE" "$x" "$1"
	rc=$?
	if [[ $rc == 1 ]]; then
		major=$(sed -n 's/^#define HATHOR_ABI_MAJOR \([0-9]*\).*/\1/p' \
			"$1/hathor/plugin.h")
		[[ -f $BASE/abi-$major.xml ]] &&
			abidiff --no-show-locs "$BASE/abi-$major.xml" "$x" | head -60
	fi
	return $rc
}

case $MODE in
baseline)
	inc=$SRC/plugin_api/include
	major=$(sed -n 's/^#define HATHOR_ABI_MAJOR \([0-9]*\).*/\1/p' "$inc/hathor/plugin.h")
	minor=$(sed -n 's/^#define HATHOR_ABI_MINOR \([0-9]*\).*/\1/p' "$inc/hathor/plugin.h")
	mkdir -p "$BASE"
	dump "$inc" "$BASE/abi-$major.xml" || exit 1
	rm -f "$BASE/abi-$major.so"
	python3 "$SRC/tests/sdk/abi_check.py" --defines "$inc" \
		>"$BASE/abi-$major.defines" || exit 1
	echo "baseline of ABI $major.$minor written to $BASE"
	;;
check)
	check "${4:-$SRC/plugin_api/include}" current
	exit $?
	;;
selftest)
	# mutate WHAT FILE OLD NEW...: a copy of the headers with each OLD
	# replaced by NEW (exact text, must be there).
	mutate() {
		local d=$W/$1 f=$2
		shift 2
		rm -rf "$d"
		cp -r "$SRC/plugin_api/include" "$d"
		python3 - "$d/hathor/$f" "$@" <<'PY' || exit 1
import sys
p, pairs = sys.argv[1], sys.argv[2:]
s = open(p).read()
for old, new in zip(pairs[::2], pairs[1::2]):
    assert old in s, "selftest pattern not found: %r" % old
    s = s.replace(old, new, 1)
open(p, "w").write(s)
PY
	}
	# expect NAME WANT_RC WORD: check the mutated copy NAME.
	n=0
	expect() {
		local out rc
		out=$(check "$W/$1" "$1" 2>&1)
		rc=$?
		if [[ $rc != "$2" ]] || ! grep -q -- "$3" <<<"$out"; then
			echo "FAIL: selftest $1: exit $rc (want $2), want '$3' in:"
			echo "$out"
			exit 1
		fi
		echo "selftest $1: exit $rc: $(grep -m1 -- "$3" <<<"$out")"
		n=$((n + 1))
	}
	MINOR_UP=("#define HATHOR_ABI_MINOR 0" "#define HATHOR_ABI_MINOR 1")
	MAJOR_UP=("#define HATHOR_ABI_MAJOR 1" "#define HATHOR_ABI_MAJOR 2")
	NOW='	double (*now)(struct hathor_host *h);'
	MONO='	double (*mono)(struct hathor_host *h);'
	NODE='	const struct hathor_node_ops *node;
};'
	mutate swap plugin.h "$NOW
$MONO" "$MONO
$NOW"
	expect swap 1 "member now moved"
	mutate insert plugin.h "$NOW" "	void *inserted;
$NOW" "${MINOR_UP[@]}"
	expect insert 1 "BREAK: struct hathor_services: member now moved"
	mutate append plugin.h "$NODE" "	const struct hathor_node_ops *node;
	int (*added)(struct hathor_host *h);
};"
	expect append 1 "bump the minor"
	mutate append_minor plugin.h "$NODE" "	const struct hathor_node_ops *node;
	int (*added)(struct hathor_host *h);
};" "${MINOR_UP[@]}"
	expect append_minor 0 "addition: struct hathor_services: added appended"
	mutate enum_value plugin.h "HATHOR_EIO = -5," "HATHOR_EIO = -6,"
	expect enum_value 1 "HATHOR_EIO changed value -5 -> -6"
	mutate frozen plugin.h "	const uint64_t *bucket_counts;  /* cumulative, n_buckets entries */
};" "	const uint64_t *bucket_counts;  /* cumulative, n_buckets entries */
	int grown;
};" "${MINOR_UP[@]}"
	expect frozen 1 "struct hathor_metric_value grew"
	mutate callback plugin.h "typedef void (*hathor_timer_cb)(void *arg);" \
		"typedef void (*hathor_timer_cb)(void *arg, int late);"
	expect callback 1 "typedef hathor_timer_cb changed"
	mutate node_arg node.h "	int (*get_vertex)(struct hathor_host *h, const uint8_t hash[32]," \
		"	int (*get_vertex)(struct hathor_host *h, const uint8_t *hash, int x,"
	expect node_arg 1 "member get_vertex changed type"
	mutate define node.h "#define HATHOR_NODE_MAX_BATCH 10000" \
		"#define HATHOR_NODE_MAX_BATCH 5000"
	expect define 1 "HATHOR_NODE_MAX_BATCH changed 10000 -> 5000"
	mutate shrink p2p.h "	char peer_id[65];" "	char peer_id[33];"
	expect shrink 1 "hathor_p2p_status"
	mutate major plugin.h "$NOW
$MONO" "$MONO
$NOW" "${MAJOR_UP[@]}"
	expect major 0 "is a new major"
	echo "OK: abi_check selftest, $n cases"
	;;
*)
	echo "usage: abi_check.sh check|selftest|baseline SRC WORK" >&2
	exit 2
	;;
esac
