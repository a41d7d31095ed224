#!/bin/sh
# README command (2): install dependencies, build and run the whole suite:
#   1. plain build (RelWithDebInfo), all tests;
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, all tests;
#   3. clang libFuzzer build, short fuzz smoke runs (tests labelled "fuzz").
# The last line of output is ctest's summary of the sanitizer run.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh
J=$(nproc)
CTEST="ctest --output-on-failure --no-tests=error -j$J --repeat until-pass:2"
status=0

echo "== fuzz smoke (clang, -fsanitize=fuzzer)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DHN_FUZZ=ON -DHN_SANITIZE=address,undefined -DHN_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$J"
if ctest --test-dir build-fuzz -N -L fuzzsmoke | grep -q "Total Tests: [1-9]"; then
	(cd build-fuzz && $CTEST -L fuzzsmoke) || status=1
fi

echo "== plain build"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-test -j"$J"
(cd build-test && $CTEST) || status=1

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug \
	-DHN_SANITIZE=address,undefined -DHN_BENCH=OFF >/dev/null
cmake --build build-asan -j"$J"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && $CTEST -LE nosan) || status=1
exit $status
