#!/bin/sh
# Builds the SSE2 test guest (issue 16, acceptance 2): sse2test.c compiled with
# `gcc -m32 -msse2 -O2 -static`, its checksum computed on the host by running the same
# binary (x86-64 CPUs run i386 static binaries), and an initramfs with busybox whose
# /init (init.sh) prints /proc/cpuinfo's flags, runs the program and powers off. Boot it
# with Debian's i386 kernel from ../shared/guests/linux/build.sh:
#   x86 run --kernel vmlinuz --initrd $OUT/initrd-sse2.gz --append console=ttyS0 ...
# Outputs: $OUT/sse2test, $OUT/host-checksum.txt (the SSE2-CHECKSUM line),
# $OUT/initrd-sse2.gz. Needs: gcc-multilib (gcc -m32 and libc6-dev-i386), cpio, gzip,
# and a static i386 busybox in $BUSYBOX (the Linux guest build leaves one in its out/).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-out}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
: "${BUSYBOX:?set BUSYBOX to a static i386 busybox (the Linux guest build writes out/busybox)}"
gcc -m32 -msse2 -O2 -static -Wall -o "$OUT/sse2test" "$HERE/sse2test.c"
"$OUT/sse2test" | grep '^SSE2-CHECKSUM ' > "$OUT/host-checksum.txt"
R="$OUT/initrd"; rm -rf "$R"; mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev"
cp "$BUSYBOX" "$R/bin/busybox"
cp "$OUT/sse2test" "$R/bin/sse2test"
cp "$HERE/init.sh" "$R/init"; chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$OUT/initrd-sse2.gz"
cat "$OUT/host-checksum.txt"
