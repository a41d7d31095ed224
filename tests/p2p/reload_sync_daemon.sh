#!/bin/bash
# tests/p2p: live reload of the P2P plugin in the middle of a sync, two
# real daemons in host mode (hathor-node run + hathor-p2p-host +
# p2p_sync_v2.so, TLS, loopback, unittests).
#
# A holds a long hathor-chaingen chain; B (empty) bootstraps from A.  While
# B is still syncing, `hathor-admin plugin reload p2p` on B.  Then:
#   - the verdict is exit 0 and B's host pid changed (gen 2), the old host
#     is gone, at most one hathor-p2p-host child of B is alive;
#   - B's core pid is unchanged and so is its open ledger.db (same fd
#     number, same inode through /proc/PID/fd);
#   - an HTTP poller hitting B's /v1a/version and /v1a/status every 20 ms
#     from before the reload until after the sync saw no failed request;
#   - B's new host reconnects to A and B finishes with A's best block.
#
#   reload_sync_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN ADMIN
#                         [BLOCKS]
set -u
NODE=${1:?usage: reload_sync_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN ADMIN [BLOCKS]}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
ADMIN=${5:?usage}
NB=${6:-20000}
. "$(dirname "$0")/daemon_lib.sh"
# Short health window: the verdict comes 0.5 s after cut-over.
DAEMON_ARGS=(--reload-health-ms 500)

t0=$(date +%s.%N)
"$GEN" --network unittests --blocks "$NB" --data-dir "$WORK/da" --quiet \
	>"$WORK/gen.log" 2>&1 || fail "chaingen failed: $(tail -2 "$WORK/gen.log")"
echo "chain of $NB blocks generated in $(elapsed "$t0") s"

PA=$(free_port)
PB=$(free_port)
start a "$PA"
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 ]] || fail "A has no best block"
start b "$PB" "$PA"
t_sync=$(date +%s.%N)

# ledger_fd PID: "FD INODE" of PID's open ledger.db.
ledger_fd() {
	local f
	for f in /proc/"$1"/fd/*; do
		if [[ $(readlink "$f") == "$WORK/db/ledger.db" ]]; then
			echo "${f##*/} $(stat -L -c %i "$f")"
			return 0
		fi
	done
	return 1
}
height_of() { api "$1" status 2>/dev/null | jget "d['dag']['best_block']['height']" 2>/dev/null; }

FD0=$(ledger_fd "$PID_b") || fail "B has no open ledger.db"
H1=$(live_hosts "$PID_b")
[[ $H1 =~ ^[0-9]+$ ]] || fail "B: not one host before the reload: '$H1'"

# The poller: every 20 ms one GET, alternating version and status; each
# answer must be 200 with a JSON body.  It runs until $WORK/stop exists
# and prints "ok N failed M" (plus the first failures) at the end.
python3 - "$API_b" "$WORK/stop" >"$WORK/poll.out" 2>&1 <<'PY' &
import json, os, sys, time, urllib.request
api, stop = sys.argv[1], sys.argv[2]
ok = failed = 0
errs = []
paths = ["/v1a/version", "/v1a/status"]
i = 0
while not os.path.exists(stop):
    p = paths[i % 2]
    i += 1
    try:
        with urllib.request.urlopen(api + p, timeout=5) as r:
            if r.status != 200:
                raise RuntimeError("HTTP %d" % r.status)
            json.loads(r.read())
        ok += 1
    except Exception as e:
        failed += 1
        if len(errs) < 5:
            errs.append("%s at %.3f: %r" % (p, time.time(), e))
    time.sleep(0.02)
print("ok %d failed %d" % (ok, failed))
for e in errs:
    print(e)
PY
POLL=$!
DPIDS+=("$POLL")

# Mid-sync: B past a tenth of the chain, not yet at its end.
mid() { local h; h=$(height_of "$API_b"); [[ -n $h ]] && ((h >= NB / 10)); }
wait_for 30 mid || fail "B did not start syncing (height $(height_of "$API_b"))"
HB=$(height_of "$API_b")
((HB < NB)) || fail "B synced before the reload (height $HB of $NB): raise BLOCKS"
C0=$(grep -c "peer connected" "$WORK/b.log")
t_rl=$(date +%s.%N)
out=$("$ADMIN" -s "$WORK/rb/admin.ipc" plugin reload p2p 2>&1) || fail "reload: exit $?: $out"
HB2=$(height_of "$API_b")
echo "reload at B height $HB of $NB: $(elapsed "$t_rl") s: $out"
((HB2 < NB)) || echo "note: B reached height $HB2 before the verdict"
H2=$(live_hosts "$PID_b")
[[ $H2 =~ ^[0-9]+$ ]] || fail "B: not one live host after the verdict: '$H2'"
[[ $H2 != "$H1" ]] || fail "reload did not switch hosts ($H1)"
[[ -d /proc/$H1 ]] && [[ $(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$H1/status") != Z ]] &&
	fail "old host $H1 still alive after the verdict"

wait_for 60 best_is "$API_b" "$A_BEST" ||
	fail "B did not reach A's best $A_BEST after the reload (at height $(height_of "$API_b"))"
echo "B synced $NB blocks in $(elapsed "$t_sync") s (reload included)"
(($(grep -c "peer connected" "$WORK/b.log") > C0)) || fail "B's new host logged no peer connection"
grep -q "p2p-host\[$H2\].*peer connected" "$WORK/b.log" || fail "no peer connection logged by B's new host $H2"
sleep 0.3
touch "$WORK/stop"
wait "$POLL"
echo "poller: $(head -1 "$WORK/poll.out")"
read -r _ n_ok _ n_failed <"$WORK/poll.out"
[[ $n_failed == 0 ]] || fail "HTTP poller: $(cat "$WORK/poll.out")"
((n_ok >= 50)) || fail "HTTP poller made only $n_ok requests"

kill -0 "$PID_b" 2>/dev/null || fail "B's core died"
FD1=$(ledger_fd "$PID_b") || fail "B lost its ledger.db"
[[ $FD1 == "$FD0" ]] || fail "B's ledger.db fd/inode changed: '$FD0' -> '$FD1'"
[[ $(live_hosts "$PID_b") == "$H2" ]] || fail "B's hosts after the sync: $(live_hosts "$PID_b" | tr '\n' ' ')"
echo "core pid $PID_b and ledger fd/inode ($FD0) unchanged; host $H1 -> $H2"
echo OK
