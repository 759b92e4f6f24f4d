#!/usr/bin/env bash
# Issue #14 items 2 and 5: Debian's 686 kernel on the PCI machine. The disk of
# guests/linux-pci/build.sh (built here from Debian packages when missing) boots through
# SYSLINUX; its initramfs loads ata_piix, sd_mod and ext4 from the kernel package,
# mounts /dev/sda1 (ext2 made by the host's mke2fs -d), prints the md5 of the host's
# file, lists the PCI functions, writes guest.txt and powers off. Checked here: the md5
# against md5sum on the host, the three PCI IDs, the transfer mode libata programmed
# (a DMA mode, not PIO), and guest.txt read back on the host with debugfs. A second
# boot with `pci=bios acpi=off` reaches configuration space through the BIOS32 "$PCI"
# service and routes PCI interrupts by the $PIR table; the first takes the root bridge
# from the ACPI DSDT.
# Usage: scripts/linux-pci-test.sh [X86_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
x86=${1:-target/release/x86}
out=${X86_LINUX_PCI_DIR:-$PWD/target/linux-pci-guest}
skip=""
if [ ! -f "$out/linux-pci-disk.img" ] || [ ! -f "$out/linux-pci-disk-pcibios.img" ]; then
  missing=""
  for tool in apt-get dpkg cpio mkfs.fat syslinux mcopy mke2fs; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
  done
  [ -f /usr/lib/syslinux/mbr/mbr.bin ] || missing="$missing syslinux-common(mbr.bin)"
  if [ -z "$missing" ]; then
    echo "Linux PCI guest: building $out from Debian packages (log: target/linux-pci-guest.log)"
    mkdir -p target
    OUT="$out" sh guests/linux-pci/build.sh >target/linux-pci-guest.log 2>&1 \
      || skip="the disk build failed (see target/linux-pci-guest.log)"
  else
    skip="missing tools to build the disk:$missing (apt-get install cpio dosfstools syslinux mtools e2fsprogs)"
  fi
fi
command -v debugfs >/dev/null || skip=${skip:-"debugfs missing (apt-get install e2fsprogs)"}
if [ -n "$skip" ]; then
  echo "=================================================================="
  echo "SKIPPED: the Linux PCI/IDE-DMA checks: $skip"
  echo "=================================================================="
  exit 0
fi

want_md5=$(cat "$out/hostfile.md5")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # $1: label, $2: log, then the markers that must appear
  local label=$1 log=$2; shift 2
  for m in "$@"; do
    grep -qF -- "$m" "$log" || { tail -40 "$log"; echo "Linux PCI guest ($label): missing '$m'"; exit 1; }
  done
}
for variant in conf1 pcibios; do
  img="$tmp/disk-$variant.img"
  if [ "$variant" = conf1 ]; then cp "$out/linux-pci-disk.img" "$img"; else cp "$out/linux-pci-disk-pcibios.img" "$img"; fi
  log="$tmp/$variant.log"
  # Not --snapshot: the guest's write must reach the image for debugfs.
  "$x86" run --headless --memory 128 --rtc 2026-01-01T00:00:00 --timeout 300 \
    --hda "$img" --serial stdio --until PCI-GUEST-DONE >"$log" 2>&1 || true
  check "$variant" "$log" "PCI-GUEST 6.1.0" "HOSTFILE-MD5 $want_md5" \
    "PCI-ID 0x8086:0x1237 0000:00:00.0" "PCI-ID 0x8086:0x7000 0000:00:01.0" \
    "PCI-ID 0x8086:0x7010 0000:00:01.1" "UMOUNT-OK" "bmdma 0xc000 irq 14" \
    "PCI: PCI BIOS revision 2.10 entry at 0xf9020"
  mode=$(sed -n 's/^XFER-MODE dev1\.0 //p' "$log" | tr -d '\r')
  case "$mode" in
    XFER_MW_DMA_*|XFER_UDMA_*) ;;
    *) tail -40 "$log"; echo "Linux PCI guest ($variant): ata1.00 transfer mode '$mode', not DMA"; exit 1;;
  esac
  if grep -q "MOUNT-FAILED\|INSMOD-FAILED" "$log"; then
    grep "MOUNT-FAILED\|INSMOD-FAILED" "$log"; exit 1
  fi
  if [ "$variant" = conf1 ]; then
    # With the built-in BIOS's ACPI tables the root bridge and PCI interrupt routing come
    # from the DSDT (PCI0's _CRS windows and _PRT).
    check "$variant" "$log" "PCI: Using configuration type 1 for base access" \
      "ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])" \
      "pci_bus 0000:00: root bus resource [io  0x0000-0x0cf7 window]"
  elif ! grep -qF "PIIX/ICH IRQ router [8086:7000]" "$log"; then
    # `acpi=off` on this boot: PCI interrupt routing from the $PIR table.
    tail -40 "$log"; echo "Linux PCI guest (pci=bios): the kernel did not use the \$PIR IRQ router"; exit 1
  elif grep -qF "PCI: Using configuration type 1" "$log"; then
    echo "Linux PCI guest (pci=bios): the kernel used mechanism #1 anyway"; exit 1
  fi
  got=$(debugfs -R "cat /guest.txt" "$img?offset=$((2048 * 512))" 2>/dev/null)
  [ "$got" = "written by the guest through ata_piix" ] \
    || { echo "Linux PCI guest ($variant): guest.txt on the host reads '$got'"; exit 1; }
  echo "Linux PCI guest ($variant): md5 $want_md5, 8086:1237/7000/7010, ata1.00 in $mode, guest.txt read back by debugfs"
done
