#!/bin/sh
# run.sh - test_group_ifma_emulated: the IFMA builds on an emulated Ice Lake.
#   run.sh BOCHS IMAGE WORKDIR CHECK ROUNDS
# Boots IMAGE (build.sh, built with ROUNDS random rounds) in bochs with the
# corei7_icelake_u CPU model, then CHECK (check.c, on the host) compares
# every output the payload printed with libsodium's; passes if the payload
# prints "EMU RESULT: PASS" and CHECK passes.  Without bochs (or its BIOS
# images) it says what it did not run and exits 77: ctest reports it as
# skipped.
set -u
bochs=$1 img=$2 work=$3 check=$4 rounds=$5
bios=/usr/share/bochs/BIOS-bochs-latest
vgabios=/usr/share/vgabios/vgabios.bin
if [ ! -x "$bochs" ] || [ ! -f "$bios" ] || [ ! -f "$vgabios" ]; then
	echo "test_group_ifma_emulated: NOT RUN: the IFMA builds (lanes, RFC 9496, differential" \
		"against libsodium) need bochs to run on a CPU without AVX-512 IFMA; install the" \
		"bochs, bochsbios and vgabios packages (scripts/install-deps.sh --test)"
	exit 77
fi
mkdir -p "$work"
cat >"$work/bochsrc" <<EOT
megs: 64
cpu: model=corei7_icelake_u, count=1
romimage: file=$bios
vgaromimage: file=$vgabios
ata0-master: type=disk, path=$img, mode=flat, cylinders=20, heads=16, spt=63
boot: disk
display_library: rfb, options="timeout=0"
sound: driver=dummy
speaker: enabled=0
port_e9_hack: enabled=1
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
EOT
# Debian's bochs stops in its debugger first: continue, then quit.
printf 'c\nquit\n' >"$work/cmds"
start=$(date +%s)
"$bochs" -q -f "$work/bochsrc" -rc "$work/cmds" >"$work/bochs.out" 2>&1 </dev/null
echo "test_group_ifma_emulated: bochs ran $(($(date +%s) - start)) s"
grep "^EMU" "$work/bochs.out" | grep -v "^EMU[CR] "
if grep -q "^EMU RESULT: PASS" "$work/bochs.out"; then
	"$check" "$work/bochs.out" "$rounds"
	exit $?
fi
echo "test_group_ifma_emulated: no PASS from the payload; bochs said:"
grep -v "lt_dlhandle\|loaded plugin\|^ALSA" "$work/bochs.out" | tail -20
tail -20 "$work/bochs.log"
exit 1
