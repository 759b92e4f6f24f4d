#!/bin/sh
# Builds the CD-ROM test guests from Debian packages (no network beyond the package
# registry; nothing built here is committed):
#   $OUT/linux-cd.iso  an ISO 9660 image made by xorriso, booted by ISOLINUX (Debian's
#                      isolinux + syslinux-common) in El Torito no-emulation mode; it
#                      holds the shared Linux guest's kernel, an initramfs whose /init
#                      (init.sh) prints the shared guest's markers, loads the CD drivers
#                      from Debian's kernel package, mounts /dev/sr0 and prints the md5
#                      of /hello.txt on the disc, and the file hello.txt itself;
#   $OUT/hello.md5     the host's md5 of that file, for the test to compare;
#   $OUT/grub-rescue-cdrom.iso  Debian's grub-rescue-pc image, as packaged.
# Input: $LINUX (default ../../target/linux-guest), the output of
# ../shared/guests/linux/build.sh: vmlinuz and busybox; without them only the GRUB
# image is made.
# Needs: apt-get, dpkg, xorriso, cpio, gzip, od, strings.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
LINUX=${LINUX:-$HERE/../../target/linux-guest}; LINUX=$(cd "$LINUX" 2>/dev/null && pwd || echo "$LINUX")
OUT=${OUT:-$HERE/../../target/cdrom-guest}; mkdir -p "$OUT/deb"; OUT=$(cd "$OUT" && pwd)
O="-oAPT::Architecture=i386 -oAPT::Architectures=i386 -oDir::State::Lists=$OUT/lists"
if [ ! -f "$OUT/grub-rescue-cdrom.iso" ]; then
  mkdir -p "$OUT/lists/partial"
  apt-get $O update >/dev/null 2>&1 || true  # a partial index failure is harmless
  (cd "$OUT/deb" && apt-get $O download grub-rescue-pc >/dev/null)
  mkdir -p "$OUT/grub" && dpkg -x "$OUT"/deb/grub-rescue-pc_*.deb "$OUT/grub"
  cp "$OUT/grub/usr/lib/grub-rescue/grub-rescue-cdrom.iso" "$OUT/grub-rescue-cdrom.iso"
fi
echo "$OUT/grub-rescue-cdrom.iso"
if [ ! -f "$LINUX/vmlinuz" ] || [ ! -f "$LINUX/busybox" ]; then
  echo "no vmlinuz/busybox in $LINUX (../shared/guests/linux/build.sh makes them): no Linux CD"
  exit 0
fi

# The kernel release from the bzImage header: the setup header's kernel_version field
# (offset 20Eh) points at the version string, 200h before its file offset.
ptr=$(od -An -tu2 -j 526 -N 2 "$LINUX/vmlinuz" | tr -d ' ')
KVER=$(dd if="$LINUX/vmlinuz" bs=1 skip=$((ptr + 512)) count=64 2>/dev/null | tr '\0' '\n' | head -n 1 | cut -d' ' -f1)
echo "kernel: $KVER"

if [ ! -d "$OUT/x/lib/modules/$KVER" ] || [ ! -f "$OUT/x/usr/lib/ISOLINUX/isolinux.bin" ]; then
  mkdir -p "$OUT/lists/partial"
  apt-get $O update >/dev/null 2>&1 || true  # a partial index failure is harmless
  (cd "$OUT/deb" && apt-get $O download "linux-image-$KVER-unsigned" isolinux syslinux-common >/dev/null)
  rm -rf "$OUT/x" && mkdir -p "$OUT/x"
  for d in "$OUT"/deb/linux-image-"$KVER"-*.deb "$OUT"/deb/isolinux_*.deb "$OUT"/deb/syslinux-common_*.deb; do dpkg -x "$d" "$OUT/x"; done
fi

# The initramfs: busybox, init.sh, and the CD driver modules with what they depend on
# (from each module's .modinfo "depends=", dependencies first).
M="$OUT/x/lib/modules/$KVER"
R="$OUT/initrd"; rm -rf "$R"; mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/mnt" "$R/modules"
cp "$LINUX/busybox" "$R/bin/busybox"
cp "$HERE/init.sh" "$R/init"; chmod +x "$R/init"
: > "$R/modules/order"
add() {
  grep -qx "$1" "$R/modules/order" && return 0
  f=$(find "$M" -name "$1.ko" | head -n 1)
  [ -n "$f" ] || { echo "module $1 not in linux-image-$KVER"; exit 1; }
  # POSIX sh has no local variables: the recursion reuses $f, so find it again.
  for dep in $(strings "$f" | grep -m1 '^depends=' | cut -d= -f2 | tr ',' ' '); do add "$dep"; done
  cp "$(find "$M" -name "$1.ko" | head -n 1)" "$R/modules/"
  echo "$1" >> "$R/modules/order"
}
# Drivers in the order init.sh loads them: SCSI CD-ROM and ISO 9660 first, then the
# IDE host drivers (ata_piix for the PIIX IDE function on PCI, pata_legacy for the ISA
# legacy ports when there is no PCI).
for m in sr_mod isofs libata; do add "$m"; done
for m in ata_piix pata_legacy; do
  f=$(find "$M" -name "$m.ko" | head -n 1); cp "$f" "$R/modules/"
done
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$OUT/cd-initrd.gz"

# The disc: ISOLINUX in no-emulation mode (4 virtual sectors loaded, the boot info
# table patched in), the kernel, the initramfs and the file whose md5 the guest prints.
D="$OUT/iso"; rm -rf "$D"; mkdir -p "$D/isolinux"
cp "$OUT/x/usr/lib/ISOLINUX/isolinux.bin" "$OUT/x/usr/lib/syslinux/modules/bios/ldlinux.c32" "$D/isolinux/"
cp "$HERE/isolinux.cfg" "$D/isolinux/isolinux.cfg"
cp "$LINUX/vmlinuz" "$D/vmlinuz"
cp "$OUT/cd-initrd.gz" "$D/initrd.gz"
printf 'This file was put on the CD by guests/cdrom/build.sh.\n' > "$D/hello.txt"
md5sum "$D/hello.txt" | cut -d' ' -f1 > "$OUT/hello.md5"
rm -f "$OUT/linux-cd.iso"
xorriso -as mkisofs -quiet -o "$OUT/linux-cd.iso" -R -J -V X86_CDROM_TEST \
  -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table "$D"
echo "$OUT/linux-cd.iso"
