#!/bin/bash
# tests/inproc: in-core plugins of hathor-node (core/plugins.c).
#
#   inproc_test.sh HATHOR_NODE HATHOR_ADMIN PLUGIN_DIR CASE
#
# Each case runs in a fresh directory under the build dir, with --p2p-mode
# off and ephemeral ports, and kills only the pids it started.
set -u

NODE=$1
ADMIN=$2
PLUGDIR=$3
CASE=$4
WORK_PREFIX=inproc-$CASE
FAIL_TAG=$CASE
. "$(dirname "$0")/../p2p/daemon_lib.sh"

# start_off NAME ARGS...: a node with --p2p-mode off and data dir
# $WORK/NAME, up when its admin socket exists; sets LAST_PID.
start_off() {
	local name=$1
	shift
	spawn "$name" --p2p-mode off --api-listen 127.0.0.1:0 \
		--data-dir "$WORK/$name" "$@"
	wait_file "$WORK/$name/run/admin.ipc"
}

case $CASE in
metrics_listen)
	# --metrics-listen loads <plugin-dir>/metrics.so with metrics.listen
	# and metrics.port_file from [metrics] of the ini file.
	printf '[metrics]\nport_file = %s\n' "$WORK/mport" >"$WORK/n.ini"
	start_off n --config "$WORK/n.ini" --plugin-dir "$PLUGDIR" \
		--metrics-listen 127.0.0.1:0
	pid=$LAST_PID
	for ((i = 0; i < WAIT * 10; i++)); do
		[ -s "$WORK/mport" ] && break
		sleep 0.1
	done
	[ -s "$WORK/mport" ] || fail "metrics plugin wrote no port file"
	port=$(tr -dc 0-9 <"$WORK/mport")
	[ -n "$port" ] && [ "$port" -gt 0 ] || fail "bad port '$port'"
	body=$(curl -sf "http://127.0.0.1:$port/metrics") ||
		fail "GET /metrics failed"
	grep -q '^# TYPE hathor_build_info gauge' <<<"$body" ||
		fail "no hathor_build_info family in: $body"
	grep -q 'plugin metrics .* started from .*metrics.so' \
		"$WORK/n.log" || fail "no load line in the log"
	stop "$pid"
	grep -q "unloaded plugin 'metrics'" "$WORK/n.log" ||
		fail "plugin not unloaded at stop"
	;;
bad_plugin)
	# A configured plugin that cannot be loaded fails the start: exit 2
	# (configuration error), one error line naming the file.
	"$NODE" run --p2p-mode off --api-listen 127.0.0.1:0 \
		--data-dir "$WORK/n" --plugin "$WORK/missing.so" \
		>"$WORK/n.log" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "missing plugin: exit $rc, want 2 (configuration error)"
	n=$(grep -c 'ERROR' "$WORK/n.log")
	[ "$n" -eq 1 ] || fail "want one ERROR line, got $n"
	grep -q "ERROR .*missing.so.*refused" "$WORK/n.log" ||
		fail "error line does not name the file"
	# Not a plugin at all (a text file): refused the same way.
	echo "not elf" >"$WORK/bogus.so"
	"$NODE" run --p2p-mode off --api-listen 127.0.0.1:0 \
		--data-dir "$WORK/n2" --plugin "$WORK/bogus.so" \
		>"$WORK/n2.log" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "bogus plugin: exit $rc, want 2"
	grep -q "ERROR .*bogus.so" "$WORK/n2.log" ||
		fail "bogus plugin error does not name the file"
	# A NAME is looked up as <plugin-dir>/NAME.so.
	"$NODE" run --p2p-mode off --api-listen 127.0.0.1:0 \
		--data-dir "$WORK/n3" --plugin-dir "$WORK" --plugin nothere \
		>"$WORK/n3.log" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "plugin nothere: exit $rc, want 2"
	grep -q "ERROR .*$WORK/nothere.so" "$WORK/n3.log" ||
		fail "NAME not resolved in the plugin dir"
	;;
plugin_list)
	# --plugin by name (ini "plugins =") shows in hathor-admin plugin list
	# with process core.
	printf 'plugins = metrics\n[metrics]\nlisten = 127.0.0.1:0\n' \
		>"$WORK/n.ini"
	start_off n --config "$WORK/n.ini" --plugin-dir "$PLUGDIR"
	pid=$LAST_PID
	out=$("$ADMIN" -s "$WORK/n/run/admin.ipc" plugin list 2>&1) ||
		fail "plugin list failed: $out"
	grep -Eq '^metrics +[^ ]+ +metrics +core +yes +.*/metrics.so$' \
		<<<"$out" || fail "metrics not listed in: $out"
	stop "$pid"
	;;
host_child)
	# Default P2P mode: hathor-p2p-host runs as the node's child (procfs).
	[ -n "${HN_TEST_P2P_HOST_BIN:-}" ] || { echo "SKIP: no host"; exit 77; }
	spawn n --api-listen 127.0.0.1:0 --data-dir "$WORK/n" \
		--p2p-host-bin "$HN_TEST_P2P_HOST_BIN" \
		--plugin-dir "$HN_TEST_PLUGIN_DIR"
	pid=$LAST_PID
	wait_file "$WORK/n/run/admin.ipc"
	kids=""
	for ((i = 0; i < WAIT * 10; i++)); do
		kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
		[ -n "$kids" ] && break
		sleep 0.1
	done
	[ -n "$kids" ] || fail "hathor-node has no child process"
	found=0
	for k in $kids; do
		comm=$(cat /proc/"$k"/comm 2>/dev/null)
		ppid=$(awk '/^PPid:/ {print $2}' /proc/"$k"/status 2>/dev/null)
		[ "$comm" = hathor-p2p-host ] && [ "$ppid" = "$pid" ] && found=1
	done
	[ "$found" -eq 1 ] || fail "no hathor-p2p-host child among: $kids"
	stop "$pid"
	;;
inproc_child)
	# --p2p-mode inprocess: the P2P plugin runs in the core; no child
	# process at all, the plugin is listed with process core.
	[ -n "${HN_TEST_PLUGIN_DIR:-}" ] || { echo "SKIP: no p2p plugin"; exit 77; }
	spawn n --api-listen 127.0.0.1:0 --data-dir "$WORK/n" \
		--p2p-mode inprocess --listen 127.0.0.1:0 \
		--plugin-dir "$HN_TEST_PLUGIN_DIR"
	pid=$LAST_PID
	wait_file "$WORK/n/run/admin.ipc"
	out=$("$ADMIN" -s "$WORK/n/run/admin.ipc" plugin list 2>&1) ||
		fail "plugin list failed: $out"
	grep -Eq '^p2p_sync_v2 +[^ ]+ +p2p +core +yes +.*/p2p_sync_v2.so$' \
		<<<"$out" || fail "p2p plugin not listed in: $out"
	sleep 1
	kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
	[ -z "$kids" ] || fail "hathor-node --p2p-mode inprocess has children: $kids"
	grep -q "p2p plugin p2p_sync_v2 .* running in the core" "$WORK/n.log" ||
		fail "no 'running in the core' line"
	# The private copy it was loaded from is gone from the runtime dir.
	ls -A "$WORK/n/run" | grep -q '^\.p2p_sync_v2' &&
		fail "private plugin copy left in the runtime dir"
	stop "$pid"
	;;
node_parity)
	# The node service through node.ipc (host mode) and by direct calls
	# (inprocess) gives the test plugin the same result for every call of
	# hathor/node.h, and never calls back from inside a call.
	[ -n "${HN_TEST_PLUG_P2P:-}" ] && [ -n "${HN_TEST_P2P_HOST_BIN:-}" ] ||
		{ echo "SKIP: no plug_p2p or host"; exit 77; }
	mkdir -p "$WORK/pd"
	cp "$HN_TEST_PLUG_P2P" "$WORK/pd/p2p_sync_v2.so"
	for mode in host inprocess; do
		spawn "$mode" --api-listen 127.0.0.1:0 --data-dir "$WORK/$mode" \
			--network unittests --p2p-mode "$mode" \
			--p2p-host-bin "$HN_TEST_P2P_HOST_BIN" \
			--plugin-dir "$WORK/pd"
		pid=$LAST_PID
		wait_file "$WORK/$mode/run/admin.ipc"
		ok=0
		for ((i = 0; i < WAIT * 10; i++)); do
			"$ADMIN" -s "$WORK/$mode/run/admin.ipc" --json peers \
				>"$WORK/$mode.json" 2>/dev/null &&
			python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["peers"]; sys.exit(0 if p["total"] > 0 and p["done"] == p["total"] else 1)' \
				"$WORK/$mode.json" 2>/dev/null && { ok=1; break; }
			sleep 0.1
		done
		[ "$ok" = 1 ] || fail "$mode: the plugin's node calls did not all complete: $(cat "$WORK/$mode.json")"
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["peers"]["r"]; print("\n".join("%s: %s" % (k, r[k]) for k in sorted(r)))' \
			"$WORK/$mode.json" >"$WORK/$mode.r" || fail "$mode: bad peers reply"
		stop "$pid"
	done
	n=$(wc -l <"$WORK/host.r")
	[ "$n" -ge 25 ] || fail "only $n results in host mode"
	grep -q REENTRANT "$WORK/inprocess.r" "$WORK/host.r" &&
		fail "a callback ran inside its call: $(grep REENTRANT "$WORK"/*.r)"
	diff -u "$WORK/host.r" "$WORK/inprocess.r" >"$WORK/parity.diff" ||
		fail "node service results differ (host vs inprocess): $(cat "$WORK/parity.diff")"
	echo "$n node-service results identical in host and inprocess mode"
	;;
*)
	fail "unknown case"
	;;
esac
echo "PASS [$CASE]"
