#!/usr/bin/env bash
# SSE2 in the Linux guest (issue 16, acceptance 2): /proc/cpuinfo of the default CPU
# model lists `mmx fxsr sse sse2`, and a static SSE2 program (scripts/guest/sse2check.c,
# float, double and integer vector work, built here with gcc -m32 -msse2 from Debian's
# gcc-multilib) prints the same checksum in the guest as on the host, which runs the
# same binary natively.
#
# Usage: scripts/linux-sse2-test.sh DISK [X86]
#   DISK  the SYSLINUX disk of ../shared/guests/linux/build.sh (linux-disk.img)
#   X86   the emulator binary (default target/release/x86)
# Needs gcc with 32-bit support (gcc-multilib), mtools, cpio and gzip; exits 0 with a
# loud SKIPPED line when gcc cannot build 32-bit programs. The disk is not modified: the
# test boots a copy whose initramfs has its own /init and the program.
set -euo pipefail
cd "$(dirname "$0")/.."
disk=${1:?usage: $0 DISK [X86]}
x86=${2:-target/release/x86}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! gcc -m32 -msse2 -mfpmath=sse -O2 -static -o "$work/sse2check" scripts/guest/sse2check.c \
    2>"$work/gcc.log"; then
  echo "Linux SSE2 test: SKIPPED: gcc cannot build 32-bit static programs" \
       "(apt-get install gcc-multilib): $(head -1 "$work/gcc.log")"
  exit 0
fi
want=$("$work/sse2check")

cp "$disk" "$work/disk.img"
mcopy -i "$work/disk.img" ::initrd.gz "$work/initrd.gz"
mkdir "$work/root"
(cd "$work/root" && gzip -dc ../initrd.gz | cpio -id --quiet)
cp "$work/sse2check" "$work/root/sse2check"
cat > "$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
grep -m1 '^flags' /proc/cpuinfo
/sse2check || echo "sse2check failed: $?"
echo SSE2-DONE
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -9) > "$work/initrd.gz"
mcopy -o -i "$work/disk.img" "$work/initrd.gz" ::initrd.gz

status=0
out=$("$x86" run --headless --snapshot --memory 128 --rtc 2026-01-01T00:00:00 \
      --hda "$work/disk.img" --serial stdio --timeout 300 --until SSE2-DONE) || status=$?
flags=$(printf '%s\n' "$out" | grep -a '^flags' | tr -d '\r' || true)
got=$(printf '%s\n' "$out" | grep -a '^SSE2-CHECKSUM' | tr -d '\r' || true)
echo "Linux SSE2 test: guest $flags"
echo "Linux SSE2 test: host '$want', guest '$got'"
case "$flags " in
  *" mmx fxsr sse sse2 "*) ;;
  *) printf '%s\n' "$out" | tail -20
     echo "Linux SSE2 test: /proc/cpuinfo flags lack 'mmx fxsr sse sse2' (x86 exit status $status)"
     exit 1 ;;
esac
if [ "$got" != "$want" ]; then
  printf '%s\n' "$out" | tail -20
  echo "Linux SSE2 test: the guest's checksum differs from the host's (x86 exit status $status)"
  exit 1
fi
echo "Linux SSE2 test: same checksum in the guest as on the host"
