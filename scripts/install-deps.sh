#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages udclink needs (as root, or
# with sudo).  Installs only what is missing.
#
#   scripts/install-deps.sh              build + test + package: what scripts/test.sh needs
#   scripts/install-deps.sh --runtime    only what the daemons and tools need to run
#   scripts/install-deps.sh --build      runtime + compilers and -dev packages (scripts/demo.sh)
#   scripts/install-deps.sh --test       build + cmocka, clang sanitizers, valgrind, man
#   scripts/install-deps.sh --package    build + what scripts/build-deb.sh and the install
#                                        test need (dpkg-dev, lintian, fakeroot, debootstrap)
# Several options add up.
set -euo pipefail

# libglpk40: GLPK, the LP solver of the linked-table disclosure audit
# (common/release/lpaudit.c)
runtime=(libsodium23 libssl3 libnng1 libprotobuf-c1 libutf8proc2 libinih1 libjansson4 libsystemd0
	libglpk40 openssl python3)
build=(build-essential cmake pkg-config libsodium-dev libssl-dev libnng-dev protobuf-c-compiler
	libprotobuf-c-dev libutf8proc-dev libinih-dev libjansson-dev libsystemd-dev libglpk-dev scdoc)
# chromium: the report test renders report.html headless (tests/report/).
# bochs, bochsbios, vgabios: an emulated Ice Lake for the IFMA builds of the
# batch group backend (tests/unit/group_emu/)
test=(libcmocka-dev clang llvm libclang-rt-14-dev valgrind gdb man-db python3 chromium
	bochs bochsbios vgabios)
package=(dpkg-dev lintian fakeroot debootstrap)

pkgs=()
[ $# -gt 0 ] || set -- --test --package
for a in "$@"; do
	case $a in
	--runtime) pkgs+=("${runtime[@]}") ;;
	--build) pkgs+=("${runtime[@]}" "${build[@]}") ;;
	--test) pkgs+=("${runtime[@]}" "${build[@]}" "${test[@]}") ;;
	--package) pkgs+=("${runtime[@]}" "${build[@]}" "${package[@]}") ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install-deps: unknown option $a (--runtime, --build, --test, --package)" >&2; exit 1 ;;
	esac
done

missing=()
for p in $(printf '%s\n' "${pkgs[@]}" | sort -u); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
