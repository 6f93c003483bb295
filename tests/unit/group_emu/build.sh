#!/bin/sh
# build.sh - the disk image for test_group_ifma_emulated.
#   build.sh CC AS LD OBJCOPY SRCDIR OUTDIR [ROUNDS]
# Compiles the portable and both IFMA builds of the batch group backend and
# main.c freestanding (no libc, no sanitizers, whatever the build's own
# flags), links them at 0x10000 behind the boot sector (boot.s) and writes
# OUTDIR/group_emu.img.  ROUNDS: the payload's pseudo-random rounds (main.c,
# EMU_ROUNDS; default 64).
set -eu
cc=$1 as=$2 ld=$3 objcopy=$4 src=$5 out=$6 rounds=${7:-64}
sectors=1024 # what boot.s loads: 512 KiB at 0x10000, below the EBDA
mkdir -p "$out"
flags="-std=c11 -O2 -g0 -ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector
 -fno-asynchronous-unwind-tables -Wall -Wextra -Werror -Wno-unused-parameter -D_DEFAULT_SOURCE
 -I$src/tests/unit/group_emu -I$src/common/exact -DEMU_ROUNDS=$rounds"
objs=""
for f in common/exact/group_portable.c common/exact/group_ifma.c common/exact/group_ifma256.c \
	tests/unit/group_emu/main.c; do
	o=$out/$(basename "$f" .c).o
	# shellcheck disable=SC2086
	"$cc" $flags -c "$src/$f" -o "$o"
	objs="$objs $o"
done
# shellcheck disable=SC2086
"$ld" -nostdlib -static --no-warn-rwx-segments -T "$src/tests/unit/group_emu/payload.ld" $objs \
	-o "$out/payload.elf" 2>/dev/null ||
	"$ld" -nostdlib -static -T "$src/tests/unit/group_emu/payload.ld" $objs -o "$out/payload.elf"
"$objcopy" -O binary "$out/payload.elf" "$out/payload.bin"
size=$(wc -c <"$out/payload.bin")
if [ "$size" -gt $((sectors * 512)) ]; then
	echo "build.sh: payload of $size bytes does not fit in $sectors sectors" >&2
	exit 1
fi
"$as" --64 --defsym PAYLOAD_SECTORS=$sectors "$src/tests/unit/group_emu/boot.s" -o "$out/boot.o"
"$ld" -Ttext 0x7c00 --oformat binary "$out/boot.o" -o "$out/boot.bin"
# 20 cylinders x 16 heads x 63 sectors, as run.sh tells bochs
dd if=/dev/zero of="$out/group_emu.img" bs=512 count=20160 2>/dev/null
dd if="$out/boot.bin" of="$out/group_emu.img" conv=notrunc 2>/dev/null
dd if="$out/payload.bin" of="$out/group_emu.img" bs=512 seek=1 conv=notrunc 2>/dev/null
