#!/usr/bin/env bash
# Issue #17, acceptance 2: the shared Linux guest's kernel and initramfs (direct kernel
# boot, which powers off by itself, so both runs end at a point the guest chose) saved
# at 2 G instructions during boot, resumed in a new process: the resumed run's serial log
# is exactly the rest of the uninterrupted run's, and both end with the same instruction
# count and machine-state hash. SHELL-LOOP 39998 (init.sh's loop, worked by hand in
# scripts/test.sh) proves the resumed guest ran its init.
# Usage: scripts/linux-snapshot-test.sh DIR-WITH-vmlinuz-AND-initrd.gz
set -euo pipefail
cd "$(dirname "$0")/.."
kdir=$1
x86=target/release/x86
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--kernel "$kdir/vmlinuz" --initrd "$kdir/initrd.gz" --append console=ttyS0
        --headless --memory 128 --rtc 2026-01-01T00:00:00 --timeout 300 --stats)
"$x86" run "${common[@]}" --serial "$tmp/a.ser" \
  --save-state "$tmp/s2.x86state" --save-state-at 2000000000 2>"$tmp/a.err"
# The kernel writes its first console line after 2 G instructions, so the 2 G state
# replays the whole log; the resumed run saves again at 5 G (well into init's output)
# to check a log cut in the middle as well.
"$x86" run "${common[@]}" --serial "$tmp/b.ser" --load-state "$tmp/s2.x86state" \
  --save-state "$tmp/s5.x86state" --save-state-at 5000000000 2>"$tmp/b.err"
"$x86" run "${common[@]}" --serial "$tmp/c.ser" --load-state "$tmp/s5.x86state" 2>"$tmp/c.err"
fail() { echo "Linux snapshot: $*"; tail -n 5 "$tmp"/*.err; exit 1; }
count() { sed -n 's/^instructions: \([0-9]*\),.*/\1/p' "$1"; }
hash() { sed -n 's/^state hash: //p' "$1"; }
[ -n "$(hash "$tmp/a.err")" ] || fail "no state hash"
for r in b c; do
  [ "$(count "$tmp/a.err")" = "$(count "$tmp/$r.err")" ] || fail "instruction counts differ ($r)"
  [ "$(hash "$tmp/a.err")" = "$(hash "$tmp/$r.err")" ] || fail "state hashes differ ($r)"
  grep -qF "SHELL-LOOP 39998" "$tmp/$r.ser" || fail "the resumed guest ($r) did not reach init's loop"
  n=$(stat -c %s "$tmp/$r.ser")
  [ "$n" -gt 0 ] || fail "resumed run $r wrote nothing to COM1"
  cmp -s <(tail -c "$n" "$tmp/a.ser") "$tmp/$r.ser" || fail "the serial log of $r is not the rest of the first"
done
[ "$(stat -c %s "$tmp/c.ser")" -lt "$(stat -c %s "$tmp/a.ser")" ] || fail "the 5 G state did not cut the log"
echo "Linux snapshot: saved at 2 G and 5 G instructions, resumed twice: same serial log, $(count "$tmp/c.err") instructions, state hash $(hash "$tmp/c.err")"
