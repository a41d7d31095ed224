# Sourced by the interop scripts (bash): a private pair of reference nodes
# (../shared/realpeer) in a temp dir with its own ports, and helpers.
# realpeer_setup NAME PORT_BASE: exits 77 (skip) when the reference node is
# not installed; sets T (temp dir), the A_/B_ ports, OUR_PORT, and an EXIT
# trap that stops our process ($HPID) and the reference nodes.
# PORT_BASE is below Linux's ephemeral range (32768-60999 here), so a port
# we pick is never already some connection's local port; each script has
# its own 2000-port base and the pid picks 5 ports in it.  The bases in use
# (keep them apart): interop 20000, interop --ledger 22000, chaingen 24000,
# daemon 26000, reorg 28000 (DOUBLE=1: 16000); tests/tools/
# tools_realpeer_test.sh (not this library) 30000-30899.  The other tests
# take ports from the kernel (port 0, or daemon_lib.sh's free_port).
realpeer_setup() {
	RP=${REALPEER_DIR:-/tmp/realpeer}
	RUN_PAIR=${RUN_PAIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/realpeer/run_pair.sh}
	[[ -x $RUN_PAIR ]] || RUN_PAIR=/work/shared/realpeer/run_pair.sh
	if [[ ! -f $RP/env.sh || ! -x $RUN_PAIR ]]; then
		echo "SKIP: reference node not installed ($RP/env.sh, $RUN_PAIR)"
		exit 77
	fi
	T=$(mktemp -d "${TMPDIR:-/tmp}/p2p-$1.XXXXXX")
	HPID=
	trap realpeer_cleanup EXIT
	mkdir -p "$T/rp"
	ln -s "$RP/src" "$T/rp/src"
	ln -s "$RP/tools" "$T/rp/tools"
	echo "source $RP/env.sh" >"$T/rp/env.sh"
	local base=$(($2 + ($$ % 400) * 5))
	export A_P2P_PORT=$base A_HTTP_PORT=$((base + 1))
	export B_P2P_PORT=$((base + 2)) B_HTTP_PORT=$((base + 3))
	OUR_PORT=$((base + 4))
}
realpeer_cleanup() {
	[[ -n $HPID ]] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null || true
	"$RUN_PAIR" -d "$T/rp" stop >/dev/null 2>&1 || true
	if [[ ${KEEP:-0} == 1 ]]; then echo "kept $T"; else rm -rf "$T"; fi
}
rp() { "$RUN_PAIR" -d "$T/rp" "$@"; }
# rp_start_a: reference node A (its chain and one mempool tx); sets A_BEST
# and A_MEMPOOL.
rp_start_a() {
	echo "== starting reference node A"
	rp start >"$T/a.out" 2>&1 || { cat "$T/a.out"; fail "node A did not start"; }
	A_BEST=$(best_of "$A_HTTP_PORT")
	A_MEMPOOL=$(mempool_of "$A_HTTP_PORT")
	echo "A best=$A_BEST mempool=[$A_MEMPOOL]"
}
api() { curl -sf --max-time 10 "http://127.0.0.1:$1/v1a/$2"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
best_of() { api "$1" status | jget "d['dag']['best_block']['hash']"; }
mempool_of() { api "$1" mempool | jget "' '.join(sorted(d['transactions']))"; }
fail() {
	echo "FAIL: $*"
	echo "--- ours (last lines)"; tail -30 "$T/ours.err" || true
	echo "--- reference B (last lines)"; tail -20 "$T/rp/run/node-b.log" 2>/dev/null || true
	exit 1
}
# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	local limit=$1 t=0
	shift
	until "$@"; do
		sleep 1
		t=$((t + 1))
		[[ $t -ge $limit ]] && return 1
	done
	return 0
}
