#!/bin/bash
# tests/packaging: the node under the systemd unit's seccomp sandbox, where no
# systemd runs.  sd_syscalls.py expands the unit's SystemCallFilter= lines
# with `systemd-analyze syscall-filter` (@system-service minus @privileged);
# sd_filter_exec loads that allow list (EPERM otherwise), the
# MemoryDenyWriteExecute rules and the RestrictAddressFamilies= list the way
# systemd 252 does, then execs hathor-node.  Real daemons (unittests, TLS,
# loopback), everything they start inheriting the filters:
#   - controls: the launcher really filters (memfd_create EPERM when left
#     out of the list, a W+X mmap EPERM, AF_NETLINK EAFNOSUPPORT);
#   - memfd_create is in the unit's allow list;
#   - A (host mode) holds a hathor-chaingen chain; B (host mode,
#     --metrics-listen, textfile) syncs it; plugin reload p2p on B; a build
#     that crashes after cut-over is rolled back to the memfd snapshot (the
#     host loads the plugin from /proc/self/fd/N); plugin unload + load of
#     metrics.so;
#   - C (--p2p-mode inprocess: the plugin's memfd snapshot in the core)
#     syncs from A and reloads its plugin;
#   - a block mined on A (HTTP) reaches B and C; /metrics answers;
#   - every daemon exits 0 on SIGTERM; no log line says "Operation not
#     permitted" or "Address family not supported".
# Exit 77 (skip) without systemd-analyze.
#
#   syscall_filter.sh UNIT NODE HOST_BIN PLUGIN_DIR CHAINGEN ADMIN MINER
#                     SD_FILTER_EXEC CRASH_SO
set -u
UNIT=${1:?usage: syscall_filter.sh UNIT NODE HOST_BIN PLUGIN_DIR CHAINGEN ADMIN MINER SD_FILTER_EXEC CRASH_SO}
REALNODE=${2:?usage}
HOST=${3:?usage}
PLUGDIR=${4:?usage}
GEN=${5:?usage}
ADMIN=${6:?usage}
MINER=${7:?usage}
LAUNCH=${8:?usage}
CRASH=${9:?usage}
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: systemd-analyze not installed"
	exit 77
fi
WORK_PREFIX=sdfilter
. "$(dirname "$0")/../p2p/daemon_lib.sh"

python3 "$(dirname "$0")/sd_syscalls.py" "$UNIT" >"$WORK/allowed" ||
	fail "cannot expand the SystemCallFilter= of $UNIT"
echo "$(wc -l <"$WORK/allowed") syscalls allowed by $(grep -c '^SystemCallFilter=' "$UNIT") SystemCallFilter= lines"
grep -qx memfd_create "$WORK/allowed" || fail "memfd_create is not allowed by the unit"
FAM=
for f in $(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT"); do
	case $f in
	AF_UNIX) FAM+=${FAM:+,}1 ;;
	AF_INET) FAM+=${FAM:+,}2 ;;
	AF_INET6) FAM+=${FAM:+,}10 ;;
	*) fail "unexpected family $f in the unit" ;;
	esac
done
[[ $FAM == 1,2,10 ]] || fail "RestrictAddressFamilies= of the unit: '$FAM'"
grep -qx 'MemoryDenyWriteExecute=yes' "$UNIT" || fail "unit without MemoryDenyWriteExecute=yes"
grep -qx 'SystemCallErrorNumber=EPERM' "$UNIT" || fail "unit without SystemCallErrorNumber=EPERM"

# Controls: the launcher's filters work.
py() { "$LAUNCH" "$1" "$FAM" python3 -c "$2" 2>&1; }
out=$(py "$WORK/allowed" 'import os; os.memfd_create("x"); print("ok")') &&
	[[ $out == ok ]] || fail "memfd_create under the unit's filter: $out"
grep -vx memfd_create "$WORK/allowed" >"$WORK/no-memfd"
out=$(py "$WORK/no-memfd" 'import os; os.memfd_create("x")') &&
	fail "memfd_create not filtered by the control list"
grep -q "Operation not permitted" <<<"$out" || fail "control (memfd): $out"
out=$(py "$WORK/allowed" 'import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC)') &&
	fail "W+X mmap allowed (MemoryDenyWriteExecute)"
grep -q "Operation not permitted" <<<"$out" || fail "control (mdwe): $out"
out=$(py "$WORK/allowed" 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)') &&
	fail "AF_NETLINK socket allowed"
grep -q "Address family not supported" <<<"$out" || fail "control (family): $out"
echo "controls: memfd_create EPERM when not listed, W+X mmap EPERM, AF_NETLINK EAFNOSUPPORT"

# hathor-node under the filters (the launcher execs it: same pid).
NODE=$WORK/node-sd
printf '#!/bin/sh\nexec "%s" "%s" "%s" "%s" "$@"\n' "$LAUNCH" "$WORK/allowed" \
	"$FAM" "$REALNODE" >"$NODE"
chmod +x "$NODE"
mkdir "$WORK/plugins" && cp "$PLUGDIR"/*.so "$WORK/plugins/" || fail "plugin copy"
PLUGDIR=$WORK/plugins
DAEMON_ARGS=(--reload-health-ms 2500)

"$GEN" --network unittests --blocks 60 --txs 20 --data-dir "$WORK/da" \
	--quiet >"$WORK/gen.log" 2>&1 || fail "chaingen failed"
printf '[metrics]\nport_file = %s\ntextfile = %s\ntextfile_interval = 1\n' \
	"$WORK/mport" "$WORK/b.prom" >"$WORK/b.ini"
PA=$(free_port)
PB=$(free_port)
PC=$(free_port)
start a "$PA"
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 ]] || fail "A has no best block"
start b "$PB" "$PA" --config "$WORK/b.ini" --metrics-listen 127.0.0.1:0
wait_for 30 best_is "$API_b" "$A_BEST" || fail "B did not sync A's chain (at $(best_of "$API_b"))"
AB=(-s "$WORK/rb/admin.ipc")
out=$("$ADMIN" "${AB[@]}" plugin reload p2p 2>&1) || fail "reload on B: $out"
out=$("$ADMIN" "${AB[@]}" plugin reload "$CRASH" 2>&1) && fail "crashing build accepted on B: $out"
grep -q "rolled back to" <<<"$out" || fail "crashing build on B: $out"
wait_for 10 grep -q "plugin p2p_sync_v2 .* started from /proc/self/fd/" "$WORK/b.log" ||
	fail "B's rollback host did not load the memfd snapshot"
# memfd_create worked: the snapshot is a memfd, not the open-file fallback
# (lib/plugin_load.c hn_plugin_snapshot).
memfd_of() {
	local p
	for p in "$@"; do
		ls -l "/proc/$p/fd" 2>/dev/null | grep -q 'memfd:hathor-plugin' && return 0
	done
	return 1
}
memfd_of "$PID_b" $(live_hosts "$PID_b") ||
	fail "no memfd:hathor-plugin among the fds of B and its host"
wait_for 10 test -s "$WORK/mport" || fail "B: no metrics port"
out=$("$ADMIN" "${AB[@]}" plugin unload metrics 2>&1) || fail "unload metrics: $out"
out=$("$ADMIN" "${AB[@]}" plugin load metrics 2>&1) || fail "load metrics: $out"
grep -q '^blocks 61.0$' "$WORK/b.prom" || fail "B's textfile: $(cat "$WORK/b.prom")"
start c "$PC" "$PA" --p2p-mode inprocess
wait_for 30 best_is "$API_c" "$A_BEST" || fail "C (inprocess) did not sync A's chain"
out=$("$ADMIN" -s "$WORK/rc/admin.ipc" plugin reload p2p 2>&1) || fail "reload on C: $out"
memfd_of "$PID_c" || fail "no memfd:hathor-plugin among C's fds"
"$MINER" --api "$API_a" --network unittests --blocks 1 -q >"$WORK/miner.log" 2>&1 ||
	fail "miner: $(cat "$WORK/miner.log")"
A_BEST=$(best_of "$API_a")
wait_for 30 best_is "$API_b" "$A_BEST" || fail "A's new block did not reach B"
wait_for 30 best_is "$API_c" "$A_BEST" || fail "A's new block did not reach C"
curl -sf "http://127.0.0.1:$(tr -dc 0-9 <"$WORK/mport")/metrics" |
	grep -q '^hathor_p2p_host_up 1$' || fail "B's /metrics"
for n in c b a; do
	eval "stop \"\$PID_$n\""
done
if grep -E "Operation not permitted|Address family not supported" "$WORK"/[abc].log; then
	fail "a call was refused by the sandbox"
fi
echo "OK: A, B (host mode, reload, memfd rollback, metrics load/unload) and C (inprocess, reload) under the unit's filters"
