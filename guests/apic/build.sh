#!/bin/sh
# Builds the APIC/ACPI test guest (issue 15, acceptance 4): an initramfs with busybox
# whose /init (init.sh) prints /proc/cpuinfo's flags and /proc/interrupts, then powers
# off with `poweroff -f`. Boot it with Debian's i386 kernel from
# ../shared/guests/linux/build.sh:
#   x86 run --kernel vmlinuz --initrd $OUT/initrd-apic.gz --append console=ttyS0 ...
# Output: $OUT/initrd-apic.gz. Needs cpio, gzip and a static i386 busybox in $BUSYBOX
# (the Linux guest build leaves one in its out/).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-out}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
: "${BUSYBOX:?set BUSYBOX to a static i386 busybox (the Linux guest build writes out/busybox)}"
R="$OUT/initrd"; rm -rf "$R"; mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev"
cp "$BUSYBOX" "$R/bin/busybox"
cp "$HERE/init.sh" "$R/init"; chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$OUT/initrd-apic.gz"
echo "$OUT/initrd-apic.gz"
