#!/bin/sh
# Install the Debian 12 packages hathor-node needs to build, test and run.
# Safe to run again: apt skips what is already there.
set -eu
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev
libev-dev libnng-dev libjson-c-dev libsqlite3-dev libcmocka-dev libssl-dev
libsecp256k1-dev libmicrohttpd-dev libinih-dev libseccomp-dev sqlite3
curl openssl python3 file rpm dpkg-dev lintian prometheus abigail-tools"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
