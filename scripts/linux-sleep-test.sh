#!/usr/bin/env bash
# Guest clocks follow virtual time (issue 12): the Linux guest sleeps 5 s between two
# reads of /proc/uptime and `date +%s`, and both must advance by 5 ± 0.5 s of virtual
# time. Linux picks the TSC as its clocksource, so a TSC that stands still while the
# CPU idles in HLT makes such a sleep last minutes of guest time.
#
# Usage: scripts/linux-sleep-test.sh DISK [X86]
#   DISK  the SYSLINUX disk of ../shared/guests/linux/build.sh (linux-disk.img)
#   X86   the emulator binary (default target/release/x86)
# Needs mtools, cpio and gzip. The disk is not modified: the test boots a copy whose
# initramfs has its own /init.
set -euo pipefail
cd "$(dirname "$0")/.."
disk=${1:?usage: $0 DISK [X86]}
x86=${2:-target/release/x86}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp "$disk" "$work/disk.img"
mcopy -i "$work/disk.img" ::initrd.gz "$work/initrd.gz"
mkdir "$work/root"
(cd "$work/root" && gzip -dc ../initrd.gz | cpio -id --quiet)
cat > "$work/root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "CLOCK-BEFORE $(cut -d' ' -f1 /proc/uptime) $(date +%s)"
sleep 5
echo "CLOCK-AFTER $(cut -d' ' -f1 /proc/uptime) $(date +%s)"
echo CLOCK-DONE
poweroff -f
EOF
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -9) > "$work/initrd.gz"
mcopy -o -i "$work/disk.img" "$work/initrd.gz" ::initrd.gz

status=0
out=$("$x86" run --headless --snapshot --memory 128 --rtc 2026-01-01T00:00:00 \
      --hda "$work/disk.img" --serial stdio --timeout 300 --until CLOCK-DONE) || status=$?
before=$(printf '%s\n' "$out" | grep -a '^CLOCK-BEFORE' | tr -d '\r' || true)
after=$(printf '%s\n' "$out" | grep -a '^CLOCK-AFTER' | tr -d '\r' || true)
if [ -z "$before" ] || [ -z "$after" ]; then
  printf '%s\n' "$out" | tail -20
  echo "Linux sleep test: markers missing (x86 exit status $status)"
  exit 1
fi
# `date +%s` has whole seconds: 5.0 s of sleep plus the shell's own time reads as 5,
# or 6 when a second boundary falls inside; /proc/uptime has hundredths.
read -r _ up0 d0 <<<"$before"
read -r _ up1 d1 <<<"$after"
echo "Linux sleep test: /proc/uptime $up0 -> $up1, date +%s $d0 -> $d1"
awk -v u0="$up0" -v u1="$up1" -v d0="$d0" -v d1="$d1" 'BEGIN {
  du = u1 - u0; dd = d1 - d0
  printf "Linux sleep test: sleep 5 took %.2f s by /proc/uptime, %d s by date\n", du, dd
  exit !(du >= 4.5 && du <= 5.5 && dd >= 5 && dd <= 6)
}'
