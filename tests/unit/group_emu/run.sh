#!/bin/sh
# run.sh - test_group_ifma_emulated: the IFMA builds on an emulated Ice Lake.
#   run.sh BOCHS IMAGE WORKDIR
# Boots IMAGE (build.sh) in bochs with the corei7_icelake_u CPU model and
# passes if the payload prints "EMU RESULT: PASS".  Without bochs (or its
# BIOS images) it says so and exits 77: ctest reports it as skipped.
set -u
bochs=$1 img=$2 work=$3
bios=/usr/share/bochs/BIOS-bochs-latest
vgabios=/usr/share/vgabios/vgabios.bin
if [ ! -x "$bochs" ] || [ ! -f "$bios" ] || [ ! -f "$vgabios" ]; then
	echo "test_group_ifma_emulated: NOT RUN: needs bochs (bochs, bochsbios, vgabios packages)"
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
"$bochs" -q -f "$work/bochsrc" -rc "$work/cmds" >"$work/bochs.out" 2>&1 </dev/null
grep "^EMU" "$work/bochs.out"
if grep -q "^EMU RESULT: PASS" "$work/bochs.out"; then
	exit 0
fi
echo "test_group_ifma_emulated: no PASS from the payload; bochs said:"
grep -v "lt_dlhandle\|loaded plugin\|^ALSA" "$work/bochs.out" | tail -20
tail -20 "$work/bochs.log"
exit 1
