#!/bin/bash
# tests/p2p: DNS peer discovery through the real daemon.  A holds a
# hathor-chaingen chain; B has no bootstrap peer, only "[p2p] dns" seed
# names in its config file (an unknown one first, then the seed) and
# "dns_server" pointing at a DNS seed on loopback (dns_seed.py) whose TXT
# record names A.  B must look the seeds up, dial A and reach its best
# block; the seed must have seen B's TXT queries for both names.
#
#   dns_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN [BLOCKS TXS]
set -u
NODE=${1:?usage: dns_daemon.sh HATHOR_NODE HOST_BIN PLUGIN_DIR CHAINGEN}
HOST=${2:?usage}
PLUGDIR=${3:?usage}
GEN=${4:?usage}
NB=${5:-60}
NT=${6:-20}
. "$(dirname "$0")/daemon_lib.sh"

"$GEN" --network unittests --blocks "$NB" --txs "$NT" --data-dir "$WORK/da" \
	--quiet >"$WORK/gen.log" 2>&1 || fail "chaingen failed"
PA=$(free_port)
PB=$(free_port)
python3 "$(dirname "$0")/dns_seed.py" "$WORK/dns.port" seed.hathor.test \
	"tcp://127.0.0.1:$PA" >"$WORK/dns.log" 2>&1 &
DPIDS+=("$!")
wait_for 10 test -s "$WORK/dns.port" || fail "DNS seed did not start"
DNSPORT=$(cat "$WORK/dns.port")
cat >"$WORK/b.ini" <<INI
[p2p]
dns = missing.hathor.test, seed.hathor.test
dns_server = 127.0.0.1:$DNSPORT
INI

start a "$PA"
A_BEST=$(best_of "$API_a")
[[ ${#A_BEST} == 64 ]] || fail "A has no best block"
start b "$PB" "" --config "$WORK/b.ini"
t0=$(date +%s.%N)
wait_for 40 best_is "$API_b" "$A_BEST" ||
	fail "B did not reach A's best $A_BEST through the DNS seed (at $(best_of "$API_b"))"
echo "B found A through the DNS seed and reached its best block in $(elapsed "$t0") s"
grep -qx "16 seed.hathor.test" "$WORK/dns.port.queries" || fail "no TXT query for the seed"
grep -qx "16 missing.hathor.test" "$WORK/dns.port.queries" ||
	fail "no TXT query for the unknown name"
echo OK
