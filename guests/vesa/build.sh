#!/bin/sh
# Builds the VBE test floppies (issue #15, acceptance 3) from Debian's syslinux and
# syslinux-common packages as installed on the host (nothing built here is committed):
#   $OUT/vesainfo.img  a 1.44 MB FAT12 floppy, SYSLINUX booting vesainfo.c32, which
#                      lists the VBE modes the BIOS reports;
#   $OUT/vesamenu.img  the same booting vesamenu.c32 with a 1024x768 menu whose frame
#                      colour is set in syslinux.cfg (MENU COLOR border), so the test
#                      knows the pixel value to look for independently of the emulator.
# Needs: syslinux, syslinux-common, mtools, dosfstools.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/../../target/vesa-guest}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
MOD=${SYSLINUX_MODULES:-/usr/lib/syslinux/modules/bios}
for f in ldlinux.c32 libcom32.c32 libutil.c32 vesainfo.c32 vesamenu.c32; do
  [ -f "$MOD/$f" ] || { echo "missing $MOD/$f (apt-get install syslinux-common)"; exit 1; }
done
for name in vesainfo vesamenu; do
  img="$OUT/$name.img"
  rm -f "$img"
  mkfs.fat -C "$img" 1440 >/dev/null
  syslinux --install "$img"
  for f in libcom32.c32 libutil.c32 "$name.c32"; do
    mcopy -i "$img" "$MOD/$f" "::$f"
  done
  mcopy -i "$img" "$HERE/$name.cfg" ::syslinux.cfg
  echo "$img"
done
