#!/bin/bash
# test_packaging.sh SRC WORKDIR VERSION: build packages from SRC in WORKDIR
# with prefix /usr and check them (see CMakeLists.txt).
set -euo pipefail
SRC=$1 W=$2 VER=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || { echo "SKIP: no $1" >&2; exit 77; }; }
need cpack
need dpkg-deb

rm -rf "$W/pkg" "$W/x"
mkdir -p "$W/build" "$W/pkg" "$W/x"
cmake -S "$SRC" -B "$W/build" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_PREFIX=/usr -DHN_TESTS=OFF -DHN_BENCH=OFF \
	-DHN_WERROR=OFF >/dev/null
cmake --build "$W/build" -j2 >/dev/null
(cd "$W/build" && cpack -G DEB -B "$W/pkg" >/dev/null)

DEB=$W/pkg/hathor-node_${VER}_amd64.deb
DEV=$W/pkg/hathor-node-dev_${VER}_amd64.deb
[ -f "$DEB" ] || fail "no $DEB (got: $(ls "$W/pkg"))"
[ -f "$DEV" ] || fail "no $DEV"

# --- file lists (dpkg-deb -c) -------------------------------------------
dpkg-deb -c "$DEB" > "$W/deb.list"
dpkg-deb -c "$DEV" > "$W/dev.list"
# "mode path" of every non-directory entry.
files() { awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $1, $6 }' "$1" | sort; }
files "$W/deb.list" > "$W/deb.files"
files "$W/dev.list" > "$W/dev.files"
cat "$W/deb.files"
expect() { # list mode path
	grep -qx -- "$2 $3" "$1" || fail "$(basename "$1"): missing '$2 $3'"
}
expect "$W/deb.files" -rwxr-xr-x /usr/bin/hathor-node
expect "$W/deb.files" -rwxr-xr-x /usr/bin/hathor-admin
expect "$W/deb.files" -rw-r----- /etc/hathor/hathor.conf
expect "$W/deb.files" -rw-r--r-- /lib/systemd/system/hathor-node.service
expect "$W/deb.files" -rw-r--r-- /usr/lib/sysusers.d/hathor.conf
expect "$W/deb.files" -rw-r--r-- /usr/share/bash-completion/completions/hathor-admin
expect "$W/deb.files" -rw-r--r-- /usr/share/man/man8/hathor-node.8.gz
expect "$W/deb.files" -rw-r--r-- /usr/share/man/man8/hathor-admin.8.gz
expect "$W/deb.files" -rw-r--r-- /usr/share/man/man5/hathor.conf.5.gz
expect "$W/deb.files" -rw-r--r-- /usr/share/doc/hathor-node/changelog.gz
expect "$W/deb.files" -rw-r--r-- /usr/share/doc/hathor-node/copyright
expect "$W/dev.files" -rw-r--r-- /usr/share/doc/hathor-node-dev/copyright
if [ -f "$SRC/host_p2p/CMakeLists.txt" ]; then
	# Where the unit's HATHOR_P2P_HOST_BIN points.
	grep -q " /usr/lib/x86_64-linux-gnu/hathor/hathor-p2p-host$" \
		"$W/deb.files" || fail "hathor-p2p-host not packaged where the unit expects it"
fi
expect "$W/dev.files" -rw-r--r-- /usr/include/hathor/plugin.h
if [ -f "$SRC/plugin_api/cmake/CMakeLists.txt" ]; then
	# The SDK's pkg-config and CMake package files (plugin_api/cmake).
	for f in pkgconfig/hathor-plugin.pc cmake/HathorPlugin/HathorPluginConfig.cmake \
		cmake/HathorPlugin/HathorPluginConfigVersion.cmake \
		cmake/HathorPlugin/HathorPluginTargets.cmake; do
		expect "$W/dev.files" -rw-r--r-- /usr/lib/x86_64-linux-gnu/$f
	done
	grep -q " /usr/lib/x86_64-linux-gnu/\(pkgconfig\|cmake\)/" "$W/deb.files" &&
		fail "SDK files in hathor-node"
fi
# Nothing outside the FHS places we ship to; no /usr/etc (ECOSYSTEM.md 1).
bad=$(awk '{print $2}' "$W/deb.files" "$W/dev.files" | grep -v -E \
	'^(/usr/bin/|/usr/lib/x86_64-linux-gnu/|/usr/lib/sysusers.d/|/lib/systemd/system/|/usr/share/(man|bash-completion|doc)/|/usr/include/hathor/|/etc/hathor/)' \
	|| true)
[ -z "$bad" ] || fail "unexpected paths: $bad"
grep -q "/usr/etc" "$W/deb.list" && fail "/usr/etc in package"
# Headers only in -dev.
grep -q "/usr/include" "$W/deb.files" && fail "headers in hathor-node"
# Binaries stripped (CPACK_STRIP_FILES).
dpkg-deb -x "$DEB" "$W/x"
file "$W/x/usr/bin/hathor-admin" | grep -q "stripped" || fail "file(1) failed"
file "$W/x/usr/bin/hathor-admin" | grep -q "not stripped" && fail "not stripped"

# --- control (dpkg-deb -I) ----------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$DEB" Package)" = hathor-node ] || fail "Package"
[ "$(field "$DEB" Version)" = "$VER" ] || fail "Version"
[ "$(field "$DEB" Architecture)" = amd64 ] || fail "Architecture"
field "$DEB" Depends | grep -q "libc6 (>=" || fail "shlibdeps: no libc6"
field "$DEB" Depends | grep -q "adduser" || fail "no adduser dependency"
[ "$(field "$DEV" Architecture)" = amd64 ] || fail "dev Architecture"
[ "$(dpkg-deb -f "$DEB" Description | wc -l)" -ge 2 ] ||
	fail "extended description empty"
dpkg-deb -I "$DEB" > "$W/deb.info"
for f in conffiles postinst prerm postrm md5sums; do
	grep -q " $f" "$W/deb.info" || fail "control member $f missing"
done
mkdir -p "$W/ctl" && dpkg-deb -e "$DEB" "$W/ctl"
[ "$(cat "$W/ctl/conffiles")" = /etc/hathor/hathor.conf ] ||
	fail "conffiles: $(cat "$W/ctl/conffiles")"
for s in postinst prerm postrm; do
	[ -x "$W/ctl/$s" ] || fail "$s not executable"
	sh -n "$W/ctl/$s" || fail "$s: syntax"
done
grep -q "systemd-sysusers" "$W/ctl/postinst" || fail "postinst: no sysusers"
grep -q "adduser --system" "$W/ctl/postinst" || fail "postinst: no adduser"
grep -q "^u hathor " "$W/x/usr/lib/sysusers.d/hathor.conf" ||
	fail "sysusers line"

# postinst logic, with every command it runs replaced by a shim that logs
# its arguments (nothing on this machine is changed).
S=$W/shims
mkdir -p "$S"
for c in adduser addgroup systemd-sysusers install chown chmod systemctl; do
	printf '#!/bin/sh\necho "%s $*" >> "%s"\n' "$c" "$W/calls" > "$S/$c"
done
# adduser --group makes user and group; getent knows them afterwards.
echo ": > '$W/user-exists'" >> "$S/adduser"
rm -f "$W/user-exists"
printf '#!/bin/sh\n[ -e "%s" ]\n' "$W/user-exists" > "$S/getent"
chmod +x "$S"/*
run_postinst() { rm -f "$W/calls"; : > "$W/calls"; PATH=$S /bin/sh "$W/ctl/postinst" configure; }
run_postinst || fail "postinst configure failed"
cat "$W/calls"
if [ -d /run/systemd/system ]; then
	grep -qx "systemd-sysusers /usr/lib/sysusers.d/hathor.conf" "$W/calls" ||
		fail "postinst: no systemd-sysusers call"
else
	grep -qx "adduser --system --group --home /var/lib/hathor --no-create-home --shell /usr/sbin/nologin --gecos Hathor Network node hathor" \
		"$W/calls" || fail "postinst: adduser call"
fi
grep -qx "install -d -o hathor -g hathor -m 0750 /var/lib/hathor" "$W/calls" ||
	fail "postinst: state dir"
grep -qx "chown root:hathor /etc/hathor /etc/hathor/hathor.conf" "$W/calls" ||
	fail "postinst: config owner"
grep -qx "chmod 0640 /etc/hathor/hathor.conf" "$W/calls" ||
	fail "postinst: config mode"
grep -q "^addgroup" "$W/calls" && fail "postinst: addgroup after adduser"
# Again with the user present: no second adduser (idempotent).
run_postinst || fail "postinst (again) failed"
grep -q "^adduser\|^addgroup" "$W/calls" && fail "postinst re-creates the user"
# Other actions do nothing.
rm -f "$W/calls"; : > "$W/calls"
PATH=$S /bin/sh "$W/ctl/postinst" abort-upgrade || fail "postinst abort-upgrade"
[ ! -s "$W/calls" ] || fail "postinst abort-upgrade ran: $(cat "$W/calls")"

# Unpack into a private dpkg root (no maintainer scripts run): dpkg's
# own view of the files and the registered conffile.
if [ "$(id -u)" = 0 ]; then
	R=$W/root
	rm -rf "$R"
	mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
	: > "$R/var/lib/dpkg/status"
	dpkg --root="$R" --unpack "$DEB" "$DEV" > "$W/dpkg.log" 2>&1 ||
		fail "dpkg --unpack: $(cat "$W/dpkg.log")"
	dpkg --root="$R" -L hathor-node | grep -qx /usr/bin/hathor-admin ||
		fail "dpkg -L"
	dpkg-query --root="$R" -W -f='${Conffiles}\n' hathor-node |
		grep -q "^ /etc/hathor/hathor.conf \(newconffile\|[0-9a-f]\{32\}\)" ||
		fail "conffile not registered"
	[ -x "$R/usr/bin/hathor-node" ] || fail "not unpacked"
fi

# --- the unit -----------------------------------------------------------
U=$W/x/lib/systemd/system/hathor-node.service
for k in User=hathor StateDirectory=hathor RuntimeDirectory=hathor \
	ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes \
	SystemCallFilter=@system-service \
	Environment=HATHOR_P2P_HOST_BIN=/usr/lib/x86_64-linux-gnu/hathor/hathor-p2p-host \
	Environment=HATHOR_PLUGIN_DIR=/usr/lib/x86_64-linux-gnu/hathor/plugins \
	"ExecReload=/usr/bin/hathor-admin -s /run/hathor/admin.ipc -t 120 plugin reload p2p"; do
	grep -qx -- "$k" "$U" || fail "unit: no '$k'"
done
if command -v systemd-analyze >/dev/null; then
	# verify wants the binaries and man pages to exist: point it at the
	# extracted package.
	mkdir -p "$W/unit"
	sed "s#/usr/bin/#$W/x/usr/bin/#g" "$U" > "$W/unit/hathor-node.service"
	MANPATH=$W/x/usr/share/man systemd-analyze verify \
		"$W/unit/hathor-node.service" || fail "systemd-analyze verify"
	systemd-analyze security --offline=yes --threshold=15 \
		"$W/unit/hathor-node.service" > "$W/security.txt" ||
		fail "exposure above 1.5: $(tail -1 "$W/security.txt")"
	tail -1 "$W/security.txt"
fi

# --- lintian (when installed), with the tags we accept --------------------
# non-standard-file-perm: hathor.conf is 0640 on purpose (root:hathor).
if command -v lintian >/dev/null; then
	lintian --no-cfg "$DEB" "$DEV" > "$W/lintian.txt" 2>&1 || :
	cat "$W/lintian.txt"
	left=$(grep -E '^[EW]: ' "$W/lintian.txt" |
		grep -v -E 'non-standard-file-perm 0640 != 0644 \[etc/hathor/hathor.conf\]' ||
		true)
	[ -z "$left" ] || fail "lintian: $left"
fi

# --- man pages, completion, CLI ------------------------------------------
for m in "$W"/x/usr/share/man/man*/*; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "$m: $w"
done
bash -n "$W/x/usr/share/bash-completion/completions/hathor-admin"
# The completion offers verbs and plugin sub-verbs (a minimal
# _init_completion stands in for the bash-completion package).
out=$(bash -c '
	_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
	_filedir() { :; }
	source "$1"
	COMP_WORDS=(hathor-admin --json plugin re); COMP_CWORD=3
	_hathor_admin; echo "${COMPREPLY[*]}"
	COMP_WORDS=(hathor-admin st); COMP_CWORD=1
	_hathor_admin; echo "${COMPREPLY[*]}"
	COMP_WORDS=(hathor-admin -t 5 log-level d); COMP_CWORD=4
	_hathor_admin; echo "${COMPREPLY[*]}"' _ \
	"$W/x/usr/share/bash-completion/completions/hathor-admin")
[ "$out" = "$(printf 'reload\nstatus\ndebug')" ] || fail "completion: $out"
[ "$("$W/x/usr/bin/hathor-admin" --version)" = "hathor-admin $VER" ] ||
	fail "packaged hathor-admin --version"
"$W/x/usr/bin/hathor-node" --version | grep -q "$VER" ||
	fail "packaged hathor-node --version"

# --- RPM ----------------------------------------------------------------
if command -v rpmbuild >/dev/null && command -v rpm >/dev/null; then
	(cd "$W/build" && cpack -G RPM -B "$W/pkg" >/dev/null)
	RPM=$(ls "$W"/pkg/hathor-node-"$VER"-*.x86_64.rpm)
	rpm -qp -l "$RPM" > "$W/rpm.list"
	for f in /usr/bin/hathor-node /usr/bin/hathor-admin \
		/etc/hathor/hathor.conf /lib/systemd/system/hathor-node.service \
		/usr/lib/sysusers.d/hathor.conf; do
		grep -qx "$f" "$W/rpm.list" || fail "rpm: missing $f"
	done
	# Owns no shared system directories.
	for d in /lib /etc /usr/share/man /lib/systemd/system; do
		grep -qx "$d" "$W/rpm.list" && fail "rpm owns $d"
	done
	[ "$(rpm -qp --configfiles "$RPM")" = /etc/hathor/hathor.conf ] ||
		fail "rpm configfiles"
	rpm -qp --scripts "$RPM" | grep -q systemd-sysusers ||
		fail "rpm %post"
	DEVRPM=$(ls "$W"/pkg/hathor-node-devel-"$VER"-*.x86_64.rpm)
	# Install into a private rpm root (no scripts, no dependency check),
	# then erase: rpm's own file and config lists.
	RR=$W/rpmroot
	rm -rf "$RR"
	mkdir -p "$RR"
	rpm --root "$RR" --initdb
	rpm --root "$RR" -i --nodeps --noscripts "$RPM" "$DEVRPM" \
		> "$W/rpm.log" 2>&1 || fail "rpm -i: $(cat "$W/rpm.log")"
	[ -x "$RR/usr/bin/hathor-admin" ] || fail "rpm: not installed"
	[ "$(rpm --root "$RR" -qc hathor-node)" = /etc/hathor/hathor.conf ] ||
		fail "rpm -qc"
	rpm --root "$RR" -V --nodeps hathor-node > "$W/rpm.verify" 2>&1 ||
		fail "rpm -V: $(cat "$W/rpm.verify")"
	rpm --root "$RR" -e --nodeps --noscripts hathor-node hathor-node-devel ||
		fail "rpm -e"
	[ ! -e "$RR/usr/bin/hathor-admin" ] || fail "rpm -e left files"
fi
echo "OK: $(basename "$DEB") $(basename "$DEV")"
