#!/bin/sh
# README command (1): install dependencies, build, start a node on the
# embedded default (sqlite in ./data, local test network, P2P host mode).
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHN_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p data
if ./build/core/hathor-node --help 2>/dev/null | grep -q -- --data-dir; then
	exec ./build/core/hathor-node --data-dir ./data \
		--plugin-dir ./build/plugins "$@"
fi
exec ./build/core/hathor-node --version
