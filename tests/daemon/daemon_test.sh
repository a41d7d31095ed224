#!/bin/bash
# tests/daemon: the real hathor-node executable as a process.
#
#   daemon_test.sh HATHOR_NODE CASE
#
# Every case works in a fresh directory under the current directory (the
# build dir), starts nodes with --p2p-mode off and an ephemeral API port so
# parallel tests do not collide, and kills only the pids it started.
set -u

NODE=$1
CASE=$2
WORK_PREFIX=daemon-$CASE
FAIL_TAG=$CASE
# Start-up can be slow under ASan on a loaded machine (HN_TEST_WAIT).
. "$(dirname "$0")/../p2p/daemon_lib.sh"
ISO=(--p2p-mode off --api-listen 127.0.0.1:0)
# P2P host mode (the default; node.ipc and events.ipc exist only there),
# with the built host and plugin when CMake passed them.
HOSTMODE=(--p2p-mode host --api-listen 127.0.0.1:0)
[ -n "${HN_TEST_P2P_HOST_BIN:-}" ] &&
	HOSTMODE+=(--p2p-host-bin "$HN_TEST_P2P_HOST_BIN")
[ -n "${HN_TEST_PLUGIN_DIR:-}" ] && HOSTMODE+=(--plugin-dir "$HN_TEST_PLUGIN_DIR")

# run_fg EXPECTED_RC NAME ARGS...: runs the node in the foreground (bounded
# by timeout), output in NAME.log, and checks the exit code.
run_fg() {
	local want=$1 name=$2 rc
	shift 2
	timeout -k 2 "$WAIT" ${AS_USER:-} "$NODE" "$@" >"$WORK/$name.out" \
		2>"$WORK/$name.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$WORK/$name.out" "$WORK/$name.err" >&2
		fail "$name: exit $rc, want $want ($*)"
	fi
}

# expect NAME REGEX: stderr+stdout of run_fg NAME matches REGEX.
expect() {
	cat "$WORK/$1.out" "$WORK/$1.err" | grep -Eq -- "$2" ||
		{ cat "$WORK/$1.out" "$WORK/$1.err" >&2
		  fail "$1: output does not match /$2/"; }
}

mode_of() { stat -c %a "$1"; }

case_start_stop() {
	local d=$WORK/data run pid
	spawn n --data-dir "$d" "${HOSTMODE[@]}"
	pid=$LAST_PID
	run=$d/run
	wait_file "$run/hathor-node.pid"
	wait_file "$run/node.ipc"
	wait_file "$run/events.ipc"
	wait_file "$run/admin.ipc"
	[ "$(cat "$run/hathor-node.pid")" = "$pid" ] ||
		fail "pid file holds '$(cat "$run/hathor-node.pid")', want $pid"
	[ "$(mode_of "$run")" = 700 ] || fail "runtime dir mode $(mode_of "$run")"
	[ "$(mode_of "$run/node.ipc")" = 600 ] ||
		fail "node.ipc mode $(mode_of "$run/node.ipc")"
	[ "$(mode_of "$run/events.ipc")" = 600 ] ||
		fail "events.ipc mode $(mode_of "$run/events.ipc")"
	# admin.ipc is 0660 for --admin-group; never open to others.
	[ $(( 0$(mode_of "$run/admin.ipc") & 07 )) = 0 ] ||
		fail "admin.ipc mode $(mode_of "$run/admin.ipc")"
	[ -f "$d/ledger.db" ] || fail "no sqlite store $d/ledger.db"
	head -c 15 "$d/ledger.db" | grep -q "SQLite format 3" ||
		fail "$d/ledger.db is not an sqlite database"
	if command -v sqlite3 >/dev/null; then
		[ "$(sqlite3 "file:$d/ledger.db?mode=ro" \
			"select count(*) from sqlite_master where type='table'")" -gt 0 ] ||
			fail "ledger.db has no tables"
	fi
	grep -q "network privatenet" "$WORK/n.log" ||
		fail "start-up line does not name the network"
	# SIGHUP must not stop the node.
	kill -HUP "$pid"
	sleep 0.3
	kill -0 "$pid" 2>/dev/null || fail "node died on SIGHUP"
	grep -q "SIGHUP" "$WORK/n.log" || fail "SIGHUP not logged"
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$RC" = 0 ] || fail "exit $RC after SIGTERM, want 0"
	[ ! -e "$run/hathor-node.pid" ] || fail "pid file left after SIGTERM"
	[ ! -e "$run/node.ipc" ] || fail "node.ipc left after SIGTERM"

	# Again on the same data dir (reopens the store), stopped by SIGINT.
	spawn n2 --data-dir "$d" "${HOSTMODE[@]}"
	pid=$LAST_PID
	wait_file "$run/hathor-node.pid"
	wait_file "$run/admin.ipc"
	grep -q "ledger open at height 0" "$WORK/n2.log" ||
		fail "second start did not reopen the ledger"
	kill -INT "$pid"
	wait_exit "$pid"
	[ "$RC" = 0 ] || fail "exit $RC after SIGINT, want 0"
	[ ! -e "$run/hathor-node.pid" ] || fail "pid file left after SIGINT"
}

case_second_instance() {
	local d=$WORK/data pid
	spawn a --data-dir "$d" "${HOSTMODE[@]}"
	pid=$LAST_PID
	wait_file "$d/run/hathor-node.pid"
	wait_file "$d/run/admin.ipc"
	run_fg 1 b run --data-dir "$d" "${ISO[@]}"
	expect b "data dir .* is in use by another hathor-node \(pid $pid"
	kill -0 "$pid" 2>/dev/null || fail "first node died"
	[ "$(cat "$d/run/hathor-node.pid")" = "$pid" ] ||
		fail "second instance overwrote the pid file"
	[ -S "$d/run/node.ipc" ] || fail "second instance removed node.ipc"
	# Same data dir through a different spelling and another runtime dir.
	run_fg 1 c run --data-dir "$d/." --runtime-dir "$WORK/run2" "${ISO[@]}"
	expect c "in use by another hathor-node"
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$RC" = 0 ] || fail "first node exit $RC, want 0"
}

case_bad_usage() {
	local d=$WORK/data
	run_fg 2 opt --bogus-option
	expect opt "unknown or ambiguous option --bogus-option"
	expect opt "hathor-node --help"
	run_fg 2 noval run --data-dir
	expect noval "option --data-dir needs a value"
	run_fg 2 extra run --data-dir "$d" surplus
	expect extra "unexpected argument 'surplus'"
	run_fg 2 num run --data-dir "$d" --http-timeout 12x
	expect num "--http-timeout: bad number '12x'"
	run_fg 2 range run --data-dir "$d" --shutdown-timeout 99999
	expect range "--shutdown-timeout: bad number '99999' \(0..3600\)"
	run_fg 2 mode run --data-dir "$d" --p2p-mode sideways
	expect mode "--p2p-mode: bad p2p mode 'sideways'"
	run_fg 2 addr run --data-dir "$d" --api-listen localhost
	expect addr "--api-listen: bad address 'localhost'"
	run_fg 2 port run --data-dir "$d" --listen 1.2.3.4:70000
	expect port "--listen: bad port"
	run_fg 2 level run --data-dir "$d" --log-level loud
	expect level "--log-level: bad log level 'loud'"
	HATHOR_LOG_FORMAT=xml run_fg 2 env run --data-dir "$d"
	expect env "HATHOR_LOG_FORMAT: bad log format 'xml'"
	printf '# comment\nnetwork = privatenet\n\np2p-max-peers = many\n' \
		>"$WORK/bad.ini"
	run_fg 2 ini run --config "$WORK/bad.ini" --data-dir "$d"
	expect ini "bad.ini:4: key 'p2p-max-peers': bad number 'many'"
	printf 'no-such-key = 1\n' >"$WORK/unk.ini"
	run_fg 2 inikey run --config "$WORK/unk.ini" --data-dir "$d"
	expect inikey "unk.ini:1: unknown key 'no-such-key'"
	printf '[node\nnetwork = privatenet\n' >"$WORK/syn.ini"
	run_fg 2 syntax run --config "$WORK/syn.ini" --data-dir "$d"
	expect syntax "syn.ini:1: syntax error"
	run_fg 2 nofile run --config "$WORK/missing.ini" --data-dir "$d"
	expect nofile "config file .*missing.ini: No such file"
	# None of these may have started anything.
	[ ! -e "$d" ] || fail "a rejected configuration created the data dir"
}

case_precedence() {
	local out d
	cat >"$WORK/p.ini" <<-EOF
		# file: lowest precedence after the defaults
		network = unittests
		data-dir = $WORK/from-file
		p2p-max-peers = 5
		http-timeout = 7
		log-level = debug
		bootstrap = 10.0.0.1:40403
		bootstrap = 10.0.0.2:40403

		[node]
		cache-size = 11

		[metrics]
		custom = kept
	EOF
	HATHOR_P2P_MAX_PEERS=6 HATHOR_HTTP_TIMEOUT=8 \
		HATHOR_BOOTSTRAP=10.0.0.3:40403 \
		run_fg 0 pc run --config "$WORK/p.ini" --http-timeout 9 \
		--print-config
	out=$WORK/pc.out
	grep -qx "network = unittests" "$out" || fail "file network lost"
	grep -qx "data-dir = $WORK/from-file" "$out" || fail "file data-dir lost"
	grep -qx "log-level = debug" "$out" || fail "file log-level lost"
	grep -qx "cache-size = 11" "$out" || fail "[node] key not applied"
	grep -qx "p2p-max-peers = 6" "$out" || fail "env did not beat the file"
	grep -qx "http-timeout = 9" "$out" || fail "CLI did not beat env+file"
	grep -qx "bootstrap = 10.0.0.3:40403" "$out" ||
		fail "env list did not replace the file list"
	! grep -q "10.0.0.1" "$out" || fail "file bootstrap list kept under env"
	grep -qx "api-listen = 127.0.0.1:8080" "$out" || fail "default api lost"
	grep -qx "shutdown-timeout = 10" "$out" || fail "default timeout lost"
	grep -qx "sqlite-sync = normal" "$out" || fail "default sqlite-sync lost"
	grep -qx "custom = kept" "$out" || fail "[metrics] section not kept"
	# HATHOR_CONFIG names the file when --config is absent.
	HATHOR_CONFIG=$WORK/p.ini run_fg 0 pc2 run --print-config
	grep -qx "network = unittests" "$WORK/pc2.out" ||
		fail "HATHOR_CONFIG not read"
	grep -qx "http-timeout = 7" "$WORK/pc2.out" || fail "file value lost"
	# The running node uses what it prints: env data dir beats the file's,
	# CLI network beats the env's.
	d=$WORK/from-env
	HATHOR_DATA_DIR=$d HATHOR_NETWORK=unittests \
		spawn n --config "$WORK/p.ini" --network privatenet "${ISO[@]}"
	wait_file "$d/run/hathor-node.pid"
	wait_file "$d/run/admin.ipc"
	[ ! -e "$WORK/from-file" ] || fail "the file's data dir was used"
	grep -q "network privatenet" "$WORK/n.log" ||
		fail "CLI network not used"
	kill -TERM "$LAST_PID"
	wait_exit "$LAST_PID"
	[ "$RC" = 0 ] || fail "exit $RC"
}

case_help_version() {
	local ver
	run_fg 0 help --help
	expect help "^usage: .*hathor-node \[run\] \[options\]"
	for o in config network data-dir runtime-dir p2p-mode api-listen \
		log-level shutdown-timeout print-config version; do
		grep -q -- "--$o" "$WORK/help.out" || fail "--help lacks --$o"
	done
	[ ! -s "$WORK/help.err" ] || fail "--help wrote to stderr"
	run_fg 0 rhelp run --help
	cmp -s "$WORK/help.out" "$WORK/rhelp.out" || fail "run --help differs"
	run_fg 0 ver --version
	ver=$(cat "$WORK/ver.out")
	[[ $ver =~ ^hathor-node\ [0-9]+\.[0-9]+\.[0-9]+ ]] ||
		fail "--version printed '$ver'"
	run_fg 0 rver run --version
	[ "$(cat "$WORK/rver.out")" = "$ver" ] || fail "run --version differs"
	# Values are checked only when running: --help still helps.
	run_fg 0 help2 --help --network nosuchnet
	expect help2 "^usage:"
}

case_unknown_network() {
	local d=$WORK/data
	run_fg 2 cli run --network nosuchnet --data-dir "$d"
	expect cli "--network: unknown network 'nosuchnet' \(known: .*privatenet"
	expect cli "mainnet"
	run_fg 2 bare --network nosuchnet --data-dir "$d"
	expect bare "unknown network 'nosuchnet'"
	HATHOR_NETWORK=nosuchnet run_fg 2 env run --data-dir "$d"
	expect env "HATHOR_NETWORK: unknown network 'nosuchnet'"
	printf '[node]\nnetwork = nosuchnet\n' >"$WORK/n.ini"
	run_fg 2 ini run --config "$WORK/n.ini" --data-dir "$d"
	expect ini "n.ini:2: key 'network': unknown network 'nosuchnet'"
	[ ! -e "$d" ] || fail "data dir created for an unknown network"
}

case_data_dir_unwritable() {
	local d
	# A data dir that is a regular file, and one below a regular file:
	# refused whoever we are.
	: >"$WORK/plainfile"
	run_fg 1 file run --data-dir "$WORK/plainfile" "${ISO[@]}"
	expect file "data dir .*plainfile is not a directory"
	run_fg 1 below run --data-dir "$WORK/plainfile/sub" "${ISO[@]}"
	expect below "cannot start: .*plainfile/sub.*Not a directory"
	# A runtime dir open to others is refused, not silently used.
	mkdir -p "$WORK/d2/run"
	chmod 0777 "$WORK/d2/run"
	run_fg 1 perm run --data-dir "$WORK/d2" "${ISO[@]}"
	expect perm "runtime dir .*d2/run is writable by group or others \(mode 0777\)"
	[ ! -e "$WORK/d2/run/hathor-node.pid" ] || fail "pid file written"
	# Without write permission.  Root ignores mode bits: as root, run the
	# node as nobody (setpriv) against a root-owned 0755 dir.
	d=$WORK/ro
	mkdir -p "$d"
	if [ "$(id -u)" != 0 ]; then
		chmod 0500 "$d"
		run_fg 1 ro run --data-dir "$d" "${ISO[@]}"
		chmod 0700 "$d"
	elif command -v setpriv >/dev/null &&
		chmod 0755 "$WORK" "$d" &&
		setpriv --reuid=65534 --regid=65534 --clear-groups \
			test -x "$NODE"; then
		AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups" \
			run_fg 1 ro run --data-dir "$d" "${ISO[@]}"
	else
		echo "note: root without setpriv or a node nobody can run:" \
			"mode-bit case not checked"
		return 0
	fi
	expect ro "cannot open .*ro/LOCK: Permission denied"
	[ ! -e "$d/LOCK" ] && [ ! -e "$d/run" ] || fail "wrote into $d"
}

case_stale() {
	local d=$WORK/data pid
	spawn a --data-dir "$d" "${HOSTMODE[@]}"
	pid=$LAST_PID
	wait_file "$d/run/hathor-node.pid"
	wait_file "$d/run/admin.ipc"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	[ -e "$d/run/hathor-node.pid" ] || fail "pid file not left by SIGKILL"
	[ -e "$d/LOCK" ] || fail "LOCK not left by SIGKILL"
	[ -S "$d/run/node.ipc" ] || fail "socket not left by SIGKILL"
	# The killed node's pid file, LOCK and sockets must not block a restart.
	spawn b --data-dir "$d" "${HOSTMODE[@]}"
	pid=$LAST_PID
	for ((i = 0; i < WAIT * 10; i++)); do
		[ "$(cat "$d/run/hathor-node.pid" 2>/dev/null)" = "$pid" ] && break
		kill -0 "$pid" 2>/dev/null || fail "restart after SIGKILL failed"
		sleep 0.1
	done
	[ "$(cat "$d/run/hathor-node.pid")" = "$pid" ] ||
		fail "pid file not rewritten by the restart"
	wait_file "$d/run/admin.ipc"
	sleep 0.3
	kill -0 "$pid" 2>/dev/null || fail "restarted node died"
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$RC" = 0 ] || fail "restarted node exit $RC"
	[ ! -e "$d/run/hathor-node.pid" ] || fail "pid file left"
	# Hand-made leftovers: a pid file and LOCK naming a pid that is gone.
	echo 999999 >"$d/run/hathor-node.pid"
	echo 999999 >"$d/LOCK"
	spawn c --data-dir "$d" "${HOSTMODE[@]}"
	pid=$LAST_PID
	for ((i = 0; i < WAIT * 10; i++)); do
		[ "$(cat "$d/run/hathor-node.pid" 2>/dev/null)" = "$pid" ] && break
		kill -0 "$pid" 2>/dev/null || fail "start over stale files failed"
		sleep 0.1
	done
	[ "$(cat "$d/LOCK")" = "$pid" ] || fail "LOCK does not name the new pid"
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$RC" = 0 ] || fail "exit $RC"
}

case_log_file() {
	local d=$WORK/data pid log=$WORK/logs/node.txt i url
	mkdir -p "$WORK/logs"
	spawn n --data-dir "$d" --log-file "$log" "${ISO[@]}"
	pid=$LAST_PID
	wait_file "$d/run/hathor-node.pid"
	wait_file "$d/run/admin.ipc"
	# The one start-up line, in the file and not on stderr.
	grep -Eq "INFO \[daemon\] hathor-node [0-9]+\.[0-9]+\.[0-9]+ running: network privatenet, data dir $d, API [^,]+, p2p mode off" "$log" ||
		fail "no start-up line with version, network, data dir, API, p2p mode in $log"
	grep -q "ledger open" "$log" || fail "module logs not in $log"
	# The API address in that line is the real one (port 0 resolved).
	url=$(grep -o 'API http://127\.0\.0\.1:[0-9]*/v1a/' "$log" | head -n 1)
	url=${url#API }
	[ -n "$url" ] || fail "start-up line has no API URL"
	case $url in *:0/*) fail "API port 0 logged, not the bound one" ;; esac
	if command -v curl >/dev/null; then
		curl -sf --max-time 5 "${url}version" | grep -q '"network": *"privatenet"' ||
			fail "API at $url does not answer /v1a/version"
	fi
	! grep -q "running" "$WORK/n.log" || fail "log also went to stderr"
	# Rotation: move the file away, SIGHUP, the node writes a new one.
	mv "$log" "$log.1"
	kill -HUP "$pid"
	for ((i = 0; i < WAIT * 10; i++)); do
		grep -q "log file .* reopened" "$log" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "log file .* reopened" "$log" || fail "no new log file after SIGHUP"
	! grep -q "reopened" "$log.1" || fail "reopen logged into the old file"
	kill -TERM "$pid"
	wait_exit "$pid"
	[ "$RC" = 0 ] || fail "exit $RC"
	grep -q "stopped (SIGTERM)" "$log" || fail "stop not logged in the new file"
	! grep -q "stopped" "$log.1" || fail "old file still written after SIGHUP"
	# An unusable log file: clear error on stderr, exit 1, nothing left.
	run_fg 1 badlog run --data-dir "$WORK/d2" --log-file "$WORK/nodir/x.log" "${ISO[@]}"
	expect badlog "cannot open log file .*nodir/x.log: No such file"
	[ ! -e "$WORK/d2/run/hathor-node.pid" ] || fail "pid file written"
	# A start-up failure is in the log file and on stderr.
	spawn a --data-dir "$d" "${ISO[@]}"
	wait_file "$d/run/hathor-node.pid"
	wait_file "$d/run/admin.ipc"
	run_fg 1 second run --data-dir "$d" --log-file "$log" "${ISO[@]}"
	expect second "cannot start: data dir .* is in use"
	grep -q "cannot start: data dir .* is in use" "$log" ||
		fail "start-up failure not in the log file"
	kill -TERM "$LAST_PID"
	wait_exit "$LAST_PID"
}

if ! declare -F "case_$CASE" >/dev/null; then
	echo "unknown case $CASE" >&2
	exit 1
fi
"case_$CASE"
echo "ok [$CASE]"
