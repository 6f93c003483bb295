#!/usr/bin/env bash
# build-deb.sh - build the Debian 12 packages of udclink from this tree:
#
#   udclink           udcctl, udc-keygen, udc-audit, udc-clk, udc-report, man pages, docs,
#                     example specs and CLK schemas, the system user and group
#   udclink-gemeente  gemeented, its unit and configuration (/etc/udclink)
#   udclink-cbs       cbsd, its unit and configuration
#
#   scripts/build-deb.sh [OUTDIR]        default OUTDIR: ./dist-deb
#
# A Release build without tests (-DUDC_TESTS=OFF, prefix /usr, Debian's
# hardening flags), installed into a staging tree with cmake --install and
# split by hand into the three packages (dpkg-deb; no debian/ directory, no
# debhelper).  Each package is then checked with lintian; an error fails the
# script.  BUILD_DIR overrides the build directory (default build-deb/).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/dist-deb}
case $out in /*) ;; *) out=$PWD/$out ;; esac
build=${BUILD_DIR:-$here/build-deb}
revision=${UDC_DEB_REVISION:-1}
maint="udclink maintainers <udclink@example.org>"
log() { printf 'build-deb: %s\n' "$*" >&2; }

for tool in dpkg-deb dpkg-shlibdeps scdoc lintian fakeroot; do
	command -v "$tool" >/dev/null ||
		{ log "$tool is missing: run scripts/install-deps.sh --package"; exit 1; }
done
version=$(sed -n 's/^project(udclink VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")
[ -n "$version" ] || { log "no version in CMakeLists.txt"; exit 1; }
debver=$version-$revision
arch=$(dpkg --print-architecture)

# --- build and stage ---------------------------------------------------------
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
log "building udclink $debver ($arch) in $build"
CFLAGS=$cflags LDFLAGS=$ldflags cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG" \
	-DCMAKE_INSTALL_PREFIX=/usr -DUDC_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1 || { tail -30 "$build/build.log" >&2; exit 1; }
stage=$build/stage
rm -rf "$stage"
DESTDIR=$stage cmake --install "$build" >/dev/null

work=$build/pkg
rm -rf "$work"
mkdir -p "$work" "$out"

# move FILE... from the staging tree into package PKG
take() {
	local pkg=$1; shift
	for f in "$@"; do
		[ -e "$stage$f" ] || { log "missing in the install: $f"; exit 1; }
		mkdir -p "$work/$pkg$(dirname "$f")"
		mv "$stage$f" "$work/$pkg$f"
	done
}

common_doc() { # PKG: copyright and changelog in /usr/share/doc/PKG
	local pkg=$1 d=$work/$1/usr/share/doc/$1
	mkdir -p "$d"
	cat >"$d/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: udclink
Comment: scripts/popdata/ in the source holds third-party name and place data
 under their own licenses (CC0-1.0, MIT, MPL-2.0); none of it is in this
 package.

Files: *
Copyright: 2026 the udclink authors
License: udclink-unreleased
 The udclink authors have not yet chosen a license for udclink.  Until they
 do, no rights beyond running this package are granted.
EOF
	printf 'udclink (%s) bookworm; urgency=medium\n\n  * Package built from the udclink tree by scripts/build-deb.sh.\n\n -- %s  %s\n' \
		"$debver" "$maint" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$here" log -1 --format=%ct 2>/dev/null || date +%s)}")" |
		gzip -9n >"$d/changelog.Debian.gz"
}

# --- the nodes -------------------------------------------------------------------
for node in gemeente cbs; do
	prog=gemeented
	[ $node = cbs ] && prog=cbsd
	pkg=udclink-$node
	take "$pkg" "/usr/sbin/$prog" "/lib/systemd/system/$prog.service" "/usr/share/man/man8/$prog.8"
	mkdir -p "$work/$pkg/etc/udclink"
	mv "$stage/usr/share/doc/udclink/examples/$node.conf" "$work/$pkg/etc/udclink/$node.conf"
	chmod 0644 "$work/$pkg/etc/udclink/$node.conf"
done
# --- udclink (common) ----------------------------------------------------------
take udclink /usr/bin/udcctl /usr/bin/udc-keygen /usr/bin/udc-audit /usr/bin/udc-clk /usr/bin/udc-report \
	/usr/lib/sysusers.d/udclink.conf /usr/lib/tmpfiles.d/udclink.conf
for p in udcctl.1 udc-clk.1 udc-audit.1 udc-keygen.1 udc-report.1; do take udclink "/usr/share/man/man1/$p"; done
for p in udclink.conf.5 udclink-spec.5; do take udclink "/usr/share/man/man5/$p"; done
take udclink /usr/share/doc/udclink
# udc-report and udcctl report: the study's report configuration and its map
take udclink /usr/share/udclink

left=$(cd "$stage" && find . -type f | sed 's|^\.||')
[ -z "$left" ] || { log "installed but in no package: $left"; exit 1; }

# --- per package: docs, strip, compress, control, scripts --------------------------
for pkg in udclink udclink-gemeente udclink-cbs; do
	root=$work/$pkg
	common_doc "$pkg"
	find "$root" -type f -path '*/man/man*' -exec gzip -9n {} \;
	for dir in "$root/usr/bin" "$root/usr/sbin"; do
		[ -d "$dir" ] || continue
		for b in "$dir"/*; do
			strip --remove-section=.comment --remove-section=.note --strip-unneeded "$b"
		done
	done
	find "$root" -type d -exec chmod 0755 {} \;
	mkdir -p "$root/DEBIAN"
done

shlibs() { # PKG: the Depends of its binaries, from dpkg-shlibdeps
	local pkg=$1 bins tmp
	bins=$(find "$work/$pkg/usr" -path '*bin/*' -type f)
	tmp=$(mktemp -d)
	mkdir -p "$tmp/debian"
	printf 'Source: udclink\n\nPackage: %s\nArchitecture: any\n' "$pkg" >"$tmp/debian/control"
	# shellcheck disable=SC2086
	(cd "$tmp" && dpkg-shlibdeps -O $bins 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
	rm -rf "$tmp"
}

control() { # PKG DEPENDS SUMMARY DESCRIPTION
	local pkg=$1 deps=$2 summary=$3 desc=$4 size
	size=$(du -k -s --exclude=DEBIAN "$work/$pkg" | cut -f1)
	{
		printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: %s\n' "$pkg" "$debver" "$arch" "$maint"
		printf 'Installed-Size: %s\nDepends: %s\nSection: net\nPriority: optional\n' "$size" "$deps"
		printf 'Description: %s\n' "$summary"
		printf '%s\n' "$desc" | fold -s -w 72 | sed 's/ *$//; s/^/ /'
	} >"$work/$pkg/DEBIAN/control"
}

desc_common="udclink links the person lists of a municipality (gemeente) and of CBS on blinded identifiers or Bloom-filter encodings and releases only an agreed, disclosure-controlled table; neither party sees the other's persons."
control udclink "$(shlibs udclink), systemd" "privacy-preserving linkage for statistics: tools" \
	"$desc_common This package holds the control client udcctl, udc-keygen, udc-audit, udc-clk and udc-report, the manual pages, the documentation with example specs and CLK schemas, and the system user udclink with the operators' group udclink-operators."
control udclink-gemeente "$(shlibs udclink-gemeente), udclink (= $debver)" \
	"privacy-preserving linkage for statistics: gemeente node" \
	"$desc_common This package holds gemeented, the node a municipality runs: it starts rounds and connects to the CBS node over mutual TLS."
control udclink-cbs "$(shlibs udclink-cbs), udclink (= $debver)" \
	"privacy-preserving linkage for statistics: CBS node" \
	"$desc_common This package holds cbsd, the node CBS runs: it answers the gemeente node, links, counts, applies disclosure control and releases the table."

cat >"$work/udclink/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# udclink postinst: the system user udclink, the group udclink-operators and
# the directories of sysusers.d/tmpfiles.d udclink.conf.
set -e
if [ "$1" = configure ]; then
	systemd-sysusers udclink.conf
	systemd-tmpfiles --create udclink.conf
fi
EOF
for node in gemeente cbs; do
	prog=gemeented
	[ $node = cbs ] && prog=cbsd
	pkg=udclink-$node
	echo "/etc/udclink/$node.conf" >"$work/$pkg/DEBIAN/conffiles"
	cat >"$work/$pkg/DEBIAN/postinst" <<EOF
#!/bin/sh
# $pkg postinst: the unit is installed, not enabled: the node needs its keys
# and certificates first (/usr/share/doc/udclink/install.md).
set -e
if [ "\$1" = configure ] && [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
	# an upgrade restarts a node that was running
	if [ -n "\$2" ]; then
		deb-systemd-invoke try-restart $prog.service >/dev/null || true
	fi
fi
EOF
	cat >"$work/$pkg/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ "\$1" = remove ] && [ -d /run/systemd/system ]; then
	deb-systemd-invoke stop $prog.service >/dev/null || true
fi
EOF
	cat >"$work/$pkg/DEBIAN/postrm" <<EOF
#!/bin/sh
# The state (/var/lib/udclink/$node: approvals, results, the audit log) is
# kept, also on purge: it is the record of what was released.
set -e
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
EOF
done
chmod 0755 "$work"/*/DEBIAN/postinst "$work"/*/DEBIAN/prerm "$work"/*/DEBIAN/postrm 2>/dev/null || true

# --- build and check ------------------------------------------------------------------
debs=()
for pkg in udclink udclink-gemeente udclink-cbs; do
	f=$out/${pkg}_${debver}_${arch}.deb
	fakeroot dpkg-deb --root-owner-group -Zxz --build "$work/$pkg" "$f" >/dev/null
	debs+=("$f")
done
log "lintian ${debs[*]##*/}"
set +e
# dist/lintian-suppress: tags we do not act on, each with the reason.
suppress=$(grep -v '^#' "$here/dist/lintian-suppress" | grep . | tr '\n' , | sed 's/,$//')
lintian --tag-display-limit 0 ${suppress:+--suppress-tags "$suppress"} \
	"${debs[@]}" >"$out/lintian.txt" 2>&1
set -e
cat "$out/lintian.txt" >&2
if grep -q '^E: ' "$out/lintian.txt"; then
	log "lintian reported errors"
	exit 1
fi
printf '%s\n' "${debs[@]}"
