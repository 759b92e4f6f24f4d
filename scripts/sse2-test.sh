#!/usr/bin/env bash
# Issue 16, acceptance 2: in the Linux guest, /proc/cpuinfo's flags include
# `mmx fxsr sse sse2`, and a static SSE2 program built from Debian packages
# (guests/sse2) prints the checksum the host computed with the same binary.
# Usage: scripts/sse2-test.sh LINUX_GUEST_DIR (holding vmlinuz and busybox from
# ../shared/guests/linux/build.sh). Skips loudly when gcc -m32 cannot link.
# scripts/test.sh calls it only with SSE2_GUEST_TEST=on (see there).
set -euo pipefail
cd "$(dirname "$0")/.."
linux=${1:?usage: scripts/sse2-test.sh LINUX_GUEST_DIR}
out=$PWD/target/sse2-guest
mkdir -p target
skip() {
  echo "=================================================================="
  echo "SKIPPED: the SSE2 guest test: $1"
  echo "=================================================================="
  exit 0
}
[ -f "$linux/vmlinuz" ] && [ -f "$linux/busybox" ] || skip "no vmlinuz/busybox in $linux"
echo 'int main(void){return 0;}' > target/sse2-probe.c
gcc -m32 -static -o target/sse2-probe target/sse2-probe.c 2>/dev/null \
  || skip "gcc -m32 cannot link static i386 programs (apt-get install gcc-multilib)"
BUSYBOX="$linux/busybox" OUT="$out" sh guests/sse2/build.sh >target/sse2-guest.log 2>&1 \
  || { cat target/sse2-guest.log; echo "SSE2 guest: build failed"; exit 1; }
host=$(cat "$out/host-checksum.txt")
status=0
got=$(target/release/x86 run --kernel "$linux/vmlinuz" --initrd "$out/initrd-sse2.gz" \
      --append "console=ttyS0 quiet" --memory 128 --rtc 2026-01-01T00:00:00 \
      --headless --serial stdio --timeout 300 2>target/sse2-guest.stderr) || status=$?
fail() { printf '%s\n' "$got" | tail -20; cat target/sse2-guest.stderr; echo "SSE2 guest: $1"; exit 1; }
[ "$status" = 0 ] || fail "x86 exited with status $status"
flags=$(printf '%s\n' "$got" | grep -m1 '^CPU-FLAGS:' || true)
for f in mmx fxsr sse sse2; do
  printf '%s\n' "$flags" | grep -qw -- "$f" || fail "/proc/cpuinfo flags lack $f: $flags"
done
# The serial console ends lines with CR LF.
printf '%s\n' "$got" | tr -d '\r' | grep -qxF "$host" || fail "guest checksum differs from the host's ($host)"
echo "SSE2 guest: cpuinfo has mmx fxsr sse sse2; checksum equals the host's: $host"
