#!/usr/bin/env bash
# Times our Linux disk boot against QEMU's TCG on the same disk: Debian's i386 kernel
# and busybox initramfs on the SYSLINUX disk of ../shared/guests/linux/build.sh (the
# one scripts/test.sh boots), from power-on to the md5("hello\n") marker its /init
# prints on the serial port. QEMU runs as `qemu-system-i386 -cpu pentium2 -m 128` and
# is killed as soon as the marker is on its serial log; ours stops there by itself
# (--until). Runs are paired and alternate (qemu, x86, qemu, x86, ...) so a change in
# the machine's load hits both; the score is the median CPU time (user + sys, from
# bash's `time`, which also counts a killed child) of each, and their ratio.
# usage: benches/linux-vs-qemu.sh [X86_BINARY] [RUNS]   (defaults: target/release/x86, 5)
# The disk: $X86_LINUX_DISK, else target/linux-guest/linux-disk.img (scripts/test.sh
# builds it). Prints one SKIPPED line and exits 0 when QEMU or the disk is missing.
# Not part of CI (QEMU is not installed there).
set -u
cd "$(dirname "$0")/.."
X86=${1:-target/release/x86}; RUNS=${2:-5}
DISK=${X86_LINUX_DISK:-$PWD/target/linux-guest/linux-disk.img}
MARK=b1946ac92492d2347c6235b4d2611184
LIMIT=600 # seconds of wall time one boot may take before it counts as failed

. benches/peer-checks.sh
peer_checks linux-vs-qemu "$X86" "$RUNS" "$DISK" \
  "set X86_LINUX_DISK, or let scripts/test.sh build it"

T=$(mktemp -d)
# Never leave a QEMU behind (it is killed by the pid it wrote, nothing broader).
cleanup() { [ -f "$T/q.pid" ] && kill "$(cat "$T/q.pid")" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# One QEMU boot: its CPU seconds into $T/result, or "fail".
qemu_once() {
  : >"$T/q.serial"; rm -f "$T/q.pid"
  ( TIMEFORMAT='%U %S'
    time qemu-system-i386 -cpu pentium2 -m 128 -display none -no-reboot \
      -drive file="$DISK",format=raw,if=ide,snapshot=on \
      -serial file:"$T/q.serial" -monitor none -pidfile "$T/q.pid" >/dev/null 2>&1
  ) 2>"$T/q.time" &
  local sub=$! start=$SECONDS
  while ! grep -qF "$MARK" "$T/q.serial" 2>/dev/null; do
    # QEMU's guest clock is the host's: on a badly overloaded host Linux's boot-time
    # timer check can fail ("IO-APIC + timer doesn't work!") and the kernel panics.
    if grep -qF "Kernel panic" "$T/q.serial" 2>/dev/null; then
      kill "$(cat "$T/q.pid")" 2>/dev/null
      wait "$sub"; rm -f "$T/q.pid"; echo panic >"$T/result"; return
    fi
    if ! kill -0 "$sub" 2>/dev/null || [ $((SECONDS - start)) -ge $LIMIT ]; then
      [ -f "$T/q.pid" ] && kill "$(cat "$T/q.pid")" 2>/dev/null
      wait "$sub"; rm -f "$T/q.pid"; echo fail >"$T/result"; return
    fi
    sleep 0.02
  done
  # The pid file is written before the guest starts; it is gone only if QEMU has
  # already exited (the guest powered off right after the marker).
  [ -f "$T/q.pid" ] && kill "$(cat "$T/q.pid")" 2>/dev/null; wait "$sub"; rm -f "$T/q.pid"
  awk '{ printf "%.3f\n", $1 + $2 }' "$T/q.time" >"$T/result"
}

# One boot of ours: its CPU seconds into $T/result, or "fail". Keeps the instruction count.
x86_once() {
  ( TIMEFORMAT='%U %S'
    time "$X86" run --headless --snapshot --memory 128 --rtc 2026-01-01T00:00:00 \
      --timeout $LIMIT --hda "$DISK" --serial stdio --stats --until "$MARK" \
      >"$T/x.serial" 2>"$T/x.err"
  ) 2>"$T/x.time"
  if ! grep -qF "$MARK" "$T/x.serial"; then echo fail >"$T/result"; return; fi
  grep -o 'instructions: [0-9]*' "$T/x.err" | awk '{ print $2 }' >>"$T/x.icount"
  awk '{ printf "%.3f\n", $1 + $2 }' "$T/x.time" >"$T/result"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$T/q.times"; : >"$T/x.times"; : >"$T/x.icount"
i=0
while [ $i -lt "$RUNS" ]; do
  qemu_once; q=$(cat "$T/result")
  tries=1
  while [ "$q" = panic ] && [ $tries -lt 3 ]; do
    echo "run $((i + 1)): QEMU's guest kernel panicked (host too loaded for its timer check); again"
    qemu_once; q=$(cat "$T/result"); tries=$((tries + 1))
  done
  [ "$q" = panic ] && q=fail
  [ "$q" = fail ] && { echo "error: linux-vs-qemu: QEMU did not print $MARK within $LIMIT s:" >&2; tail -5 "$T/q.serial" >&2; exit 1; }
  x86_once; x=$(cat "$T/result")
  [ "$x" = fail ] && { echo "error: linux-vs-qemu: x86 did not print $MARK:" >&2; tail -5 "$T/x.serial" "$T/x.err" >&2; exit 1; }
  echo "run $((i + 1)): qemu-tcg $q s, x86 $x s (CPU time)"
  echo "$q" >>"$T/q.times"; echo "$x" >>"$T/x.times"
  i=$((i + 1))
done
q=$(median <"$T/q.times"); x=$(median <"$T/x.times")
# Determinism: every boot of ours must retire the same number of instructions.
counts=$(sort -u "$T/x.icount" | tr '\n' ' ')
echo "x86 instructions to the marker: $counts"
echo "qemu-tcg: $q s, x86: $x s (median CPU time, user+sys, of $RUNS paired runs each)"
awk -v x="$x" -v q="$q" 'BEGIN { printf "ratio x86/qemu-tcg: %.2f\n", x / q }'
