#!/bin/sh
# test_sdk.sh SRC BUILD WORK SDK_CHECK
#
# Installs the SDK component (hathor-node-dev) of the build tree BUILD into
# a fresh prefix under WORK, then builds examples/plugin_hello against that
# prefix only -- with pkg-config (plain cc and CMake's pkg_check_modules)
# and with find_package(HathorPlugin) -- and loads each result with the
# node's loader (SDK_CHECK, tests/sdk/sdk_check.c).
set -eu
SRC=$1 BUILD=$2 W=$3 CHECK=$4
P=$W/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$W"
mkdir -p "$W"

cmake --install "$BUILD" --prefix "$P" --component hathor-node-dev \
	> "$W/install.log" || fail "cmake --install: $(cat "$W/install.log")"

# --- what the SDK contains ---------------------------------------------
for h in plugin.h node.h p2p.h; do
	[ -f "$P/include/hathor/$h" ] || fail "no include/hathor/$h"
done
PC=$(find "$P" -name hathor-plugin.pc)
[ -n "$PC" ] || fail "no hathor-plugin.pc installed"
CFG=$(find "$P" -name HathorPluginConfig.cmake)
[ -n "$CFG" ] || fail "no HathorPluginConfig.cmake installed"
CFGDIR=$(dirname "$CFG")
for f in HathorPluginConfigVersion.cmake HathorPluginTargets.cmake; do
	[ -f "$CFGDIR/$f" ] || fail "no $f next to HathorPluginConfig.cmake"
done
case "$PC" in "$P"/lib*/pkgconfig/hathor-plugin.pc) ;;
	*) fail "pc at $PC, not <libdir>/pkgconfig" ;; esac
case "$CFGDIR" in "$P"/lib*/cmake/HathorPlugin) ;;
	*) fail "cmake package at $CFGDIR, not <libdir>/cmake/HathorPlugin" ;; esac
# Nothing but headers, the two package descriptions and docs.
odd=$(cd "$P" && find . -type f | sed 's|^\./||' | grep -v -E \
	'^(include/hathor/[a-z0-9_]+\.h|lib[^/]*(/[^/]+)?/pkgconfig/hathor-plugin\.pc|lib[^/]*(/[^/]+)?/cmake/HathorPlugin/[A-Za-z-]+\.cmake|share/doc/hathor-node-dev/.*)$' \
	|| true)
[ -z "$odd" ] || fail "unexpected files in the SDK: $odd"

# --- versions: the ABI of plugin.h, in both package descriptions ---------
MAJOR=$(sed -n 's/^#define HATHOR_ABI_MAJOR \([0-9]*\).*/\1/p' \
	"$P/include/hathor/plugin.h")
MINOR=$(sed -n 's/^#define HATHOR_ABI_MINOR \([0-9]*\).*/\1/p' \
	"$P/include/hathor/plugin.h")
[ -n "$MAJOR" ] && [ -n "$MINOR" ] || fail "no ABI version in plugin.h"
cmp -s "$SRC/plugin_api/include/hathor/plugin.h" \
	"$P/include/hathor/plugin.h" || fail "installed plugin.h differs"

export PKG_CONFIG_PATH=$(dirname "$PC")
PKGC="pkg-config --define-variable=prefix=$P"
[ "$($PKGC --modversion hathor-plugin)" = "$MAJOR.$MINOR" ] ||
	fail "pc Version $($PKGC --modversion hathor-plugin), ABI $MAJOR.$MINOR"
[ "$($PKGC --variable=abi_major hathor-plugin)" = "$MAJOR" ] ||
	fail "pc abi_major"
$PKGC --atleast-version="$MAJOR.0" hathor-plugin || fail "atleast $MAJOR.0"
if $PKGC --atleast-version="$((MAJOR + 1)).0" hathor-plugin; then
	fail "pc claims ABI $((MAJOR + 1))"
fi
CFLAGS=$($PKGC --cflags hathor-plugin | sed "s/ *$//")
[ "$CFLAGS" = "-I$P/include" ] || fail "pc Cflags '$CFLAGS'"
case "$($PKGC --variable=plugindir hathor-plugin)" in
	"$P"/lib*/hathor/plugins) ;;
	*) fail "plugindir $($PKGC --variable=plugindir hathor-plugin)" ;;
esac

# --- 1. plain cc with pkg-config ---------------------------------------
mkdir -p "$W/cc"
CC=${CC:-cc}
# shellcheck disable=SC2086
$CC -std=c17 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden \
	$CFLAGS -Wl,-z,defs -o "$W/cc/hello.so" \
	"$SRC/examples/plugin_hello/hello.c" || fail "cc build"
# Exactly one exported function: the entry symbol.
exp=$(nm -D --defined-only "$W/cc/hello.so" | awk '$2 == "T" { print $3 }')
[ "$exp" = hathor_plugin_entry ] || fail "exported: $exp"
"$CHECK" "$W/cc/hello.so" "$MAJOR" "$MINOR" || fail "cc-built plugin"

# --- 2. CMake, pkg_check_modules ---------------------------------------
cmake -S "$SRC/examples/plugin_hello" -B "$W/cmake-pc" -DHELLO_USE_PKGCONFIG=ON \
	"-DPKG_CONFIG_ARGN=--define-variable=prefix=$P" \
	> "$W/cmake-pc.log" 2>&1 || fail "configure (pkg-config): $(cat "$W/cmake-pc.log")"
cmake --build "$W/cmake-pc" > "$W/cmake-pc-build.log" 2>&1 ||
	fail "build (pkg-config): $(cat "$W/cmake-pc-build.log")"
"$CHECK" "$W/cmake-pc/hello.so" "$MAJOR" "$MINOR" || fail "pkg-config CMake plugin"

# --- 3. CMake, find_package(HathorPlugin) --------------------------------
unset PKG_CONFIG_PATH
cmake -S "$SRC/examples/plugin_hello" -B "$W/cmake-pkg" \
	-DCMAKE_PREFIX_PATH="$P" \
	> "$W/cmake-pkg.log" 2>&1 || fail "configure (find_package): $(cat "$W/cmake-pkg.log")"
grep -q "HathorPlugin_DIR:PATH=$CFGDIR" "$W/cmake-pkg/CMakeCache.txt" ||
	fail "find_package did not use the installed SDK: $(grep HathorPlugin_DIR "$W/cmake-pkg/CMakeCache.txt")"
cmake --build "$W/cmake-pkg" > "$W/cmake-pkg-build.log" 2>&1 ||
	fail "build (find_package): $(cat "$W/cmake-pkg-build.log")"
grep -q -- "-I$P/include" "$W/cmake-pkg/compile_commands.json" 2>/dev/null ||
	grep -rq -- "$P/include" "$W/cmake-pkg/CMakeFiles" ||
	fail "find_package build does not use $P/include"
"$CHECK" "$W/cmake-pkg/hello.so" "$MAJOR" "$MINOR" || fail "find_package plugin"
cmake --install "$W/cmake-pkg" > /dev/null || fail "install hello"
ls "$P"/lib*/hathor/plugins/hello.so > /dev/null 2>&1 ||
	fail "hello.so not installed into the SDK's plugindir"

# --- the version file: another major is refused, an older minor accepted --
mkdir -p "$W/ver"
cat > "$W/ver/CMakeLists.txt" <<EOT
cmake_minimum_required(VERSION 3.16)
project(ver LANGUAGES NONE)
find_package(HathorPlugin \${WANT} REQUIRED)
message(STATUS "HathorPlugin \${HathorPlugin_VERSION} at \${HathorPlugin_DIR}")
EOT
cmake -S "$W/ver" -B "$W/ver/ok" -DCMAKE_PREFIX_PATH="$P" -DWANT="$MAJOR.0" \
	> "$W/ver-ok.log" 2>&1 || fail "find_package($MAJOR.0): $(cat "$W/ver-ok.log")"
grep -q "HathorPlugin $MAJOR.$MINOR at" "$W/ver-ok.log" || fail "version var"
if cmake -S "$W/ver" -B "$W/ver/bad" -DCMAKE_PREFIX_PATH="$P" \
	-DWANT="$((MAJOR + 1)).0" > "$W/ver-bad.log" 2>&1; then
	fail "find_package($((MAJOR + 1)).0) accepted ABI $MAJOR.$MINOR"
fi
grep -q "$MAJOR.$MINOR" "$W/ver-bad.log" || fail "refusal does not name the version"
echo "OK: SDK ABI $MAJOR.$MINOR at $P; hello built 3 ways and loaded"
