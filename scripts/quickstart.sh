#!/bin/sh
# README command (1): install the Debian packages (scripts/deps.sh), build a
# Release into build/, and start a node in the foreground on the embedded
# default: network privatenet, data in ./hathor-data, P2P in its own
# hathor-p2p-host process.  Arguments are passed to `hathor-node run`
# (`./build/core/hathor-node --help`, docs/configuration.md), e.g.
#   ./scripts/quickstart.sh --api-listen 127.0.0.1:9080 --log-level debug
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
# Warnings stay warnings here (-Werror is for dev builds and CI): a newer
# compiler must not stop a user's build.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DHN_TESTS=OFF -DHN_WERROR=OFF \
	-DHN_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)"

NODE=./build/core/hathor-node
# The P2P plugin is built into build/plugins; the host binary is found next
# to hathor-node (build/host_p2p).
set -- --plugin-dir ./build/plugins "$@"
for a in "$@"; do
	case $a in
	--help | --version | --print-config) exec "$NODE" run "$@" ;;
	esac
done

# Check the configuration (a bad option or value stops here, exit 2) and
# read back what the node will use.
cfg=$("$NODE" run "$@" --print-config) || exit $?
get() { printf '%s\n' "$cfg" | sed -n "s/^$1 = //p" | head -n 1; }
api=$(get api-listen)
run_dir=$(get runtime-dir)
pid_file=$(get pid-file)
[ -n "$pid_file" ] || pid_file=$run_dir/hathor-node.pid
admin_socket=$(get admin-socket)
[ -n "$admin_socket" ] || admin_socket=$run_dir/admin.ipc

echo "hathor-node: network $(get network), data dir $(get data-dir)," \
	"P2P mode $(get p2p-mode)"
if [ "$api" = none ]; then
	echo "HTTP API: disabled (--api-listen none)"
else
	echo "HTTP API: http://$api/v1a/  (try: curl http://$api/v1a/status)"
fi
echo "Admin: ./build/admin/hathor-admin --socket $admin_socket status"
echo "Stop: press Ctrl-C, or: kill -TERM $$  (pid also in $pid_file)"
echo
exec "$NODE" run "$@"
