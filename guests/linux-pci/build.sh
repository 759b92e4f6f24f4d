#!/bin/sh
# Builds the PCI/IDE-DMA Linux test disk (issue #14 items 2 and 5) from Debian's i386
# packages: the 686 kernel and its modules (linux-image-*-unsigned), busybox-static, and
# host e2fsprogs. One MBR disk, as a PC's first hard disk:
#   partition 1 (Linux, 83h): ext2 made by `mke2fs -d` holding hostfile.bin
#   partition 2 (FAT16, 06h, active): SYSLINUX, the kernel and an initramfs whose /init
#     insmods ata_piix, sd_mod and ext4 (with their modules.dep dependencies), mounts
#     /dev/sda1, prints the md5 of hostfile.bin and the PCI IDs, writes guest.txt, syncs
#     and powers off.
# The MBR code is SYSLINUX's mbr.bin (boots the active partition).
# Outputs: $OUT/linux-pci-disk.img, the same booting with `pci=bios` in
# $OUT/linux-pci-disk-pcibios.img, $OUT/hostfile.md5 (md5 computed on the host).
# Needs: apt-get, dpkg, cpio, gzip, mtools, dosfstools, syslinux, e2fsprogs.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-out}; mkdir -p "$OUT/deb" "$OUT/lists/partial"; OUT=$(cd "$OUT" && pwd)
O="-oAPT::Architecture=i386 -oAPT::Architectures=i386 -oDir::State::Lists=$OUT/lists"
if [ ! -f "$OUT/vmlinuz" ]; then
  apt-get $O update >/dev/null 2>&1 || true  # a partial index failure is harmless
  # The newest Debian 12 686 kernel the archive holds (as ../shared/guests/linux/build.sh).
  KVER=${KVER:-$(apt-cache $O search --names-only '^linux-image-6\.1\.0-[0-9]+-686-unsigned$' \
    | sed 's/^linux-image-\(6[^ ]*\)-unsigned .*/\1/' | sort -t- -k2 -n | tail -n 1)}
  echo "kernel: $KVER"
  rm -f "$OUT"/deb/*.deb
  (cd "$OUT/deb" && apt-get $O download "linux-image-$KVER-unsigned" busybox-static >/dev/null)
  rm -rf "$OUT/x" && mkdir -p "$OUT/x"
  for d in "$OUT"/deb/*.deb; do dpkg -x "$d" "$OUT/x"; done
  echo "$KVER" > "$OUT/kver"
  cp "$OUT/x/bin/busybox" "$OUT/busybox"
  cp "$OUT/x/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
fi
KVER=$(cat "$OUT/kver")
MODDIR="$OUT/x/lib/modules/$KVER"

# The initramfs: busybox, /init, and the modules in dependency order. The package ships
# no modules.dep (depmod writes it at install time), so dependencies come from each
# module's own .modinfo "depends=" field; a module goes after everything it needs.
R="$OUT/initrd"; rm -rf "$R"; mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/mnt" "$R/lib/modules"
cp "$OUT/busybox" "$R/bin/busybox"
cp "$HERE/init.sh" "$R/init"; chmod +x "$R/init"
: > "$R/modules.order"
seen=" "
add_module() {  # $1: module name (underscores, as depends= spells it)
  case "$seen" in *" $1 "*) return;; esac
  seen="$seen$1 "
  pattern=$(echo "$1" | sed 's/_/[-_]/g')
  path=$(grep -E "(^|/)$pattern\.ko(\.xz|\.zst)?\$" "$MODDIR/modules.order" | head -n 1)
  if [ -z "$path" ]; then
    grep -qE "(^|/)$pattern\.ko" "$MODDIR/modules.builtin" && return  # built into the kernel
    echo "module $1 not found in $MODDIR"; exit 1
  fi
  file="$MODDIR/$path"
  [ -f "$file" ] || file=$(ls "$MODDIR/$path"* 2>/dev/null | head -n 1)
  tmp="$R/lib/modules/$1.ko"
  case "$file" in
    *.xz) xz -dc "$file" > "$tmp";;
    *.zst) zstd -qdc "$file" > "$tmp";;
    *) cp "$file" "$tmp";;
  esac
  for dep in $(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$tmp" | head -n 1 | sed 's/^depends=//; s/,/ /g'); do
    add_module "$dep"
  done
  echo "$1.ko" >> "$R/modules.order"
}
for m in ata_piix sd_mod ext4 crc32c_generic; do add_module "$m"; done
echo "modules: $(tr '\n' ' ' < "$R/modules.order")"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$OUT/initrd.gz"

# Partition 1: ext2 with a 300 KB host file (many sectors, so DMA runs several PRDs).
P1_START=2048; P1_SECTORS=32768          # 16 MB
P2_START=$((P1_START + P1_SECTORS)); P2_SECTORS=81920   # 40 MB
rm -rf "$OUT/ext2root"; mkdir -p "$OUT/ext2root"
i=0; while [ $i -lt 12000 ]; do echo "line $i of the host's file for the PCI IDE test"; i=$((i+1)); done \
  | head -c 307200 > "$OUT/ext2root/hostfile.bin"
md5sum < "$OUT/ext2root/hostfile.bin" | cut -d' ' -f1 > "$OUT/hostfile.md5"
rm -f "$OUT/p1.img"
mke2fs -q -F -t ext2 -b 1024 -L PCIDATA -d "$OUT/ext2root" "$OUT/p1.img" $((P1_SECTORS / 2))
# Partition 2: FAT16 booted by SYSLINUX; -h records the partition's first LBA.
rm -f "$OUT/p2.img"; truncate -s $((P2_SECTORS * 512)) "$OUT/p2.img"
mkfs.fat -F 16 -h $P2_START -n BOOT "$OUT/p2.img" >/dev/null
syslinux --install "$OUT/p2.img"
mcopy -i "$OUT/p2.img" "$OUT/vmlinuz" ::vmlinuz
mcopy -i "$OUT/p2.img" "$OUT/initrd.gz" ::initrd.gz
mcopy -i "$OUT/p2.img" "$HERE/syslinux.cfg" ::syslinux.cfg

# The MBR: SYSLINUX's mbr.bin code, then two partition entries (LBA fields; CHS fields
# set to the "use LBA" maximum FE FF FF) and the 55AAh signature.
IMG="$OUT/linux-pci-disk.img"
rm -f "$IMG"; truncate -s $(((P2_START + P2_SECTORS) * 512)) "$IMG"
MBR_BIN=${MBR_BIN:-/usr/lib/syslinux/mbr/mbr.bin}
dd if="$MBR_BIN" of="$IMG" conv=notrunc bs=440 count=1 2>/dev/null
le32() { printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))\\$(printf %03o $(($1 >> 24 & 255)))"; }
entry() {  # $1 boot flag, $2 type, $3 first LBA, $4 sectors
  printf "\\$(printf %03o "$1")\\376\\377\\377\\$(printf %03o "$2")\\376\\377\\377"
  le32 "$3"; le32 "$4"
}
{ entry 0 0x83 $P1_START $P1_SECTORS; entry 0x80 0x06 $P2_START $P2_SECTORS; } \
  | dd of="$IMG" conv=notrunc bs=1 seek=446 2>/dev/null
printf '\125\252' | dd of="$IMG" conv=notrunc bs=1 seek=510 2>/dev/null
dd if="$OUT/p1.img" of="$IMG" conv=notrunc bs=512 seek=$P1_START 2>/dev/null
dd if="$OUT/p2.img" of="$IMG" conv=notrunc bs=512 seek=$P2_START 2>/dev/null
rm -f "$OUT/p1.img" "$OUT/p2.img"
# The same disk booting Linux with `pci=bios`: configuration space through the BIOS32
# "$PCI" service instead of mechanism #1.
sed 's/console=ttyS0/console=ttyS0 pci=bios acpi=off/' "$HERE/syslinux.cfg" > "$OUT/syslinux-pcibios.cfg"
cp "$IMG" "$OUT/linux-pci-disk-pcibios.img"
mcopy -o -i "$OUT/linux-pci-disk-pcibios.img@@$((P2_START * 512))" "$OUT/syslinux-pcibios.cfg" ::syslinux.cfg
echo "$IMG"
