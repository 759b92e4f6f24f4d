#!/usr/bin/env bash
# The CD-ROM guests (issue 14, acceptance 3 and 4), built from Debian packages by
# guests/cdrom/build.sh into target/cdrom-guest/:
# - Debian's grub-rescue-cdrom.iso with --cdrom --boot d reaches GRUB's menu ("GNU
#   GRUB" on the screen), and `c` gives the grub> prompt;
# - an ISOLINUX CD holding the shared Linux guest's kernel boots to the shared guest's
#   markers (BOOT-OK, SHELL-LOOP 39998, md5("hello\n")), then Linux's own drivers mount
#   /dev/sr0 as ISO 9660 and print the md5 of a file the build put there, which must be
#   the host's md5 of that file.
# Each check prints a loud SKIPPED line when its packages or tools are unavailable.
#
# Usage: scripts/cdrom-test.sh [LINUX-DIR] [X86]
#   LINUX-DIR  vmlinuz and busybox of ../shared/guests/linux/build.sh (default
#              target/linux-guest)
#   X86        the emulator binary (default target/release/x86)
set -euo pipefail
cd "$(dirname "$0")/.."
linux=${1:-target/linux-guest}
x86=${2:-target/release/x86}
out=target/cdrom-guest
skip() {
  echo "=================================================================="
  echo "SKIPPED: $1"
  echo "=================================================================="
}
missing=""
for tool in apt-get dpkg xorriso cpio strings; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  skip "the CD-ROM boot checks: missing tools:$missing (apt-get install xorriso cpio binutils)"
  exit 0
fi
mkdir -p "$out"
echo "CD-ROM guests: building $out (log: target/cdrom-guest.log)"
if ! LINUX="$linux" OUT="$out" sh guests/cdrom/build.sh >target/cdrom-guest.log 2>&1; then
  skip "the CD-ROM boot checks: guests/cdrom/build.sh failed (see target/cdrom-guest.log)"
  exit 0
fi

if [ -f "$out/grub-rescue-cdrom.iso" ]; then
  "$x86" run --cdrom "$out/grub-rescue-cdrom.iso" --boot d --headless --timeout 120 \
    --keys '{wait-screen "GNU GRUB"}c' --until "grub>" --screen-text "$out/grub-screen.txt"
  grep -q "GNU GRUB" "$out/grub-screen.txt" && grep -q "^grub>" "$out/grub-screen.txt" || {
    cat "$out/grub-screen.txt"; echo "GRUB rescue CD: no grub> prompt on the screen"; exit 1; }
  echo "GRUB rescue CD: menu and grub> prompt reached"
else
  skip "the GRUB rescue CD check: no grub-rescue-cdrom.iso (see target/cdrom-guest.log)"
fi

if [ -f "$out/linux-cd.iso" ]; then
  md5=$(cat "$out/hello.md5")
  res=$("$x86" run --cdrom "$out/linux-cd.iso" --boot d --headless --memory 128 \
        --rtc 2026-01-01T00:00:00 --timeout 300 --serial stdio --until CD-DONE)
  for m in "BOOT-OK 6.1.0" "SHELL-LOOP 39998" "b1946ac92492d2347c6235b4d2611184" "CD-MD5 $md5"; do
    printf '%s\n' "$res" | grep -qF "$m" || { printf '%s\n' "$res" | tail -30; echo "Linux CD: missing '$m'"; exit 1; }
  done
  echo "Linux CD: ISOLINUX booted Linux from the CD, which mounted /dev/sr0 ($(printf '%s\n' "$res" | grep -o 'CD: /dev/sr0 from [a-z_]*'))"
else
  skip "the Linux CD check: no Linux guest in $linux to put on the CD"
fi
