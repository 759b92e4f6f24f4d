#!/usr/bin/env bash
# Third-party firmware (issue 15, acceptance 1 and 2): Debian's SeaBIOS (bios-256k.bin
# and the 128 KB bios.bin) with its vgabios-stdvga.bin boots the FreeDOS floppy to
# `A:\>` on the screen, and bios-256k.bin boots the Linux disk to its COM1 markers;
# Debian's Bochs BIOS (bochsbios) with the LGPL VGA BIOS (vgabios) boots FreeDOS to
# `A:\>`.
#
# Usage: scripts/firmware-test.sh [X86] [LINUX_DISK]
# The images come from /usr/share/{seabios,bochs,vgabios} when the packages are
# installed, else from `apt-get download seabios bochsbios vgabios` unpacked into
# target/firmware; without either the checks are SKIPPED, loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
x86=${1:-target/release/x86}
linux_disk=${2:-}
shared=${SHARED:-../shared}
freedos=$shared/guests/freedos/freedos-1.44M.img
fw=$PWD/target/firmware

skip() {
  echo "=================================================================="
  echo "SKIPPED: $*"
  echo "=================================================================="
}

# Finds a firmware file installed by its package or unpacked in target/firmware.
find_fw() {
  for d in /usr/share "$fw/root/usr/share"; do
    [ -f "$d/$1" ] && { echo "$d/$1"; return 0; }
  done
  return 1
}

if ! find_fw seabios/bios-256k.bin >/dev/null || ! find_fw bochs/BIOS-bochs-latest >/dev/null \
   || ! find_fw vgabios/vgabios.bin >/dev/null; then
  if command -v apt-get >/dev/null && command -v dpkg >/dev/null; then
    mkdir -p "$fw/debs"
    (cd "$fw/debs" && apt-get download seabios bochsbios vgabios) >"$fw/download.log" 2>&1 || true
    for deb in "$fw"/debs/*.deb; do
      [ -f "$deb" ] && dpkg -x "$deb" "$fw/root"
    done
  fi
fi

if [ ! -f "$freedos" ]; then
  skip "the third-party firmware boots: no FreeDOS floppy at $freedos"
  exit 0
fi

# Boots FreeDOS with the given firmware flags until `A:\>` is on the screen.
freedos_boot() {
  local what=$1
  shift
  local screen
  screen=$(mktemp)
  if ! "$x86" run --headless --snapshot --fda "$freedos" --timeout 120 --rtc 2026-01-01T00:00:00 \
        "$@" --until 'A:\>' --screen-text "$screen" >/dev/null; then
    cat "$screen"; rm -f "$screen"
    echo "$what: FreeDOS did not reach A:\\>"; exit 1
  fi
  grep -qF 'A:\>' "$screen" || { cat "$screen"; rm -f "$screen"; echo "$what: no A:\\> on the screen"; exit 1; }
  rm -f "$screen"
  echo "$what: FreeDOS at A:\\>"
}

if sea=$(find_fw seabios/bios-256k.bin) && sea128=$(find_fw seabios/bios.bin) \
   && stdvga=$(find_fw seabios/vgabios-stdvga.bin); then
  freedos_boot "SeaBIOS bios-256k.bin + vgabios-stdvga.bin" --bios "$sea" --vga-rom "$stdvga"
  freedos_boot "SeaBIOS bios.bin (128 KB) + vgabios-stdvga.bin" --bios "$sea128" --vga-rom "$stdvga"
  if [ -n "$linux_disk" ] && [ -f "$linux_disk" ]; then
    out=$("$x86" run --headless --snapshot --memory 128 --rtc 2026-01-01T00:00:00 --timeout 300 \
          --bios "$sea" --vga-rom "$stdvga" --hda "$linux_disk" --serial stdio \
          --until b1946ac92492d2347c6235b4d2611184)
    for m in "BOOT-OK 6.1.0" "SHELL-LOOP 39998" "b1946ac92492d2347c6235b4d2611184"; do
      printf '%s\n' "$out" | grep -qF "$m" || { printf '%s\n' "$out" | tail -20; echo "SeaBIOS Linux boot: missing '$m'"; exit 1; }
    done
    echo "SeaBIOS bios-256k.bin: the Linux disk booted, all markers on COM1"
  else
    skip "the SeaBIOS Linux boot: no Linux disk (${linux_disk:-none given})"
  fi
else
  skip "the SeaBIOS boots: Debian's seabios package is neither installed nor downloadable (see $fw/download.log)"
fi

if bochs=$(find_fw bochs/BIOS-bochs-latest) && lgpl=$(find_fw vgabios/vgabios.bin); then
  freedos_boot "Bochs BIOS-bochs-latest + VGABIOS (lgpl)" --bios "$bochs" --vga-rom "$lgpl"
else
  skip "the Bochs BIOS boot: Debian's bochsbios/vgabios packages are neither installed nor downloadable (see $fw/download.log)"
fi
