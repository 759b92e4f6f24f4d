#!/usr/bin/env bash
# Where the bench.img ratio comes from: times each of bench.img's workloads (crc32,
# matmul, sieve, qsort, fib, memcpy, vm; ../shared/bench-guest/README.md) in our
# emulator and in QEMU's TCG, and prints each workload's ratio. A workload's time is
# the wall time between the guest's line before it and its own checksum line on port
# 0xE9, summed over the image's four rounds; "startup" is power-on to "bench-start"
# (the BIOS and the boot sector). Runs are paired and alternate (qemu, x86, ...); each
# figure is the median over the runs. compare.sh gives the whole-run ratio.
# usage: benches/bench-phases.sh [X86_BINARY] [RUNS]   (defaults: target/release/x86, 3)
# The image: $BENCH_IMG, else ../shared/bench-guest/bench.img. Prints one SKIPPED line
# and exits 0 when QEMU or the image is missing. Not part of CI.
set -u
cd "$(dirname "$0")/.."
X86=${1:-target/release/x86}; RUNS=${2:-3}
IMG=${BENCH_IMG:-$PWD/../shared/bench-guest/bench.img}
PHASES="startup crc32 matmul sieve qsort fib memcpy vm"

. benches/peer-checks.sh
peer_checks bench-phases "$X86" "$RUNS" "$IMG" "set BENCH_IMG"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Runs the command, stamping each line the guest prints with the wall time since the
# start; appends "phase seconds" lines to $T/<name>.<phase>, or returns 1 when the
# guest did not reach bench-done.
stamp() {
  local name=$1; shift
  local start; start=$(date +%s.%N)
  "$@" 2>/dev/null | while IFS= read -r line; do
    echo "$(date +%s.%N) $line"
  done | awk -v s="$start" -v dir="$T" -v name="$name" '
    { t = $1 - s; w = $2; d = t - last; last = t }
    w == "bench-start" { sum["startup"] += d }
    w ~ /^(crc32|matmul|sieve|qsort|fib|memcpy|vm)$/ { sum[w] += d }
    w == "bench-done" { done = 1 }
    END {
      if (!done) exit 1
      for (p in sum) printf "%.4f\n", sum[p] >> (dir "/" name "." p)
    }'
}

for i in $(seq "$RUNS"); do
  stamp qemu qemu-system-i386 -display none -m 64 \
    -drive file="$IMG",format=raw,if=ide,snapshot=on -debugcon stdio \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    || { echo "error: bench-phases: QEMU did not finish bench.img (run $i)" >&2; exit 1; }
  stamp x86 "$X86" run --hda "$IMG" --snapshot --headless --debugcon stdio \
    --rtc 2026-01-01T00:00:00 \
    || { echo "error: bench-phases: $X86 did not finish bench.img (run $i)" >&2; exit 1; }
done

median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf "%-8s %9s %9s %7s\n" workload "x86 (s)" "qemu (s)" ratio
for p in $PHASES; do
  x=$(median "$T/x86.$p"); q=$(median "$T/qemu.$p")
  awk -v p="$p" -v x="$x" -v q="$q" \
    'BEGIN { printf "%-8s %9.3f %9.3f %7.2f\n", p, x, q, (q > 0 ? x / q : 0) }'
done
echo "(median wall time of $RUNS paired runs; each workload summed over the image's four rounds)"
