#!/usr/bin/env bash
# install-deps.sh - install what udclink needs to build, test and run on a
# fresh Debian 12 (as root, or with sudo).  Installs only what is missing.
#
#   scripts/install-deps.sh             everything to build and test
#   scripts/install-deps.sh --runtime   only the shared libraries a node
#                                       needs to run the installed daemons
set -euo pipefail

build_pkgs=(
	build-essential cmake pkg-config clang llvm libclang-rt-14-dev valgrind gdb
	libsodium-dev libssl-dev openssl libnng-dev
	protobuf-c-compiler libprotobuf-c-dev libcmocka-dev
	libutf8proc-dev libinih-dev libjansson-dev
	libglpk-dev
	python3
)
# The run-time counterparts of the -dev packages above.  libglpk40 is GLPK,
# the LP solver of the linked-table disclosure audit (common/release/lpaudit.c).
runtime_pkgs=(
	libsodium23 libssl3 libnng1 libprotobuf-c1 libutf8proc2 libinih1 libjansson4
	libglpk40
)

case "${1:-}" in
"") pkgs=("${build_pkgs[@]}") ;;
--runtime) pkgs=("${runtime_pkgs[@]}") ;;
*)
	echo "usage: $0 [--runtime]" >&2
	exit 2
	;;
esac

missing=()
for p in "${pkgs[@]}"; do
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
