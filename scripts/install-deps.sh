#!/usr/bin/env bash
# install-deps.sh - install what udclink needs to build, test and run on a
# fresh Debian 12 (as root, or with sudo).  Installs only what is missing.
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config clang llvm libclang-rt-14-dev valgrind gdb
	libsodium-dev libssl-dev openssl libnng-dev
	protobuf-c-compiler libprotobuf-c-dev libcmocka-dev
	libutf8proc-dev libinih-dev libjansson-dev
	python3
)

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
