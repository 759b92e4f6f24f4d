#!/usr/bin/env bash
# Issue 15, acceptance 4: Debian's i386 kernel on the built-in BIOS's ACPI and MP tables.
# 1. With ACPI: the kernel finds the RSDP (no "A valid RSDP was not found"), takes the
#    MADT's local APIC and I/O APIC, routes interrupts through the I/O APIC
#    (/proc/interrupts lines "IO-APIC", local timer interrupts counted on "LOC:"),
#    /proc/cpuinfo's flags include `apic`, and `poweroff -f` ends the run through ACPI
#    S5 ("reboot: Power down", exit status 0, "guest powered off (ACPI S5)").
# 2. With acpi=off: the MP table (floating pointer, I/O APIC, interrupt entries) gives
#    the same I/O APIC routing.
# Usage: scripts/apic-test.sh LINUX_GUEST_DIR (holding vmlinuz and busybox from
# ../shared/guests/linux/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
linux=${1:?usage: scripts/apic-test.sh LINUX_GUEST_DIR}
out=$PWD/target/apic-guest
mkdir -p target
if ! [ -f "$linux/vmlinuz" ] || ! [ -f "$linux/busybox" ]; then
  echo "=================================================================="
  echo "SKIPPED: the APIC/ACPI Linux test: no vmlinuz/busybox in $linux"
  echo "=================================================================="
  exit 0
fi
BUSYBOX="$linux/busybox" OUT="$out" sh guests/apic/build.sh >target/apic-guest.log 2>&1 \
  || { cat target/apic-guest.log; echo "APIC guest: build failed"; exit 1; }
boot() { # APPEND STDERR-FILE
  target/release/x86 run --kernel "$linux/vmlinuz" --initrd "$out/initrd-apic.gz" \
    --append "$1" --memory 128 --rtc 2026-01-01T00:00:00 --headless --serial stdio \
    --timeout 300 2>"$2"
}
check() { # NAME OUTPUT STDERR-FILE
  local name=$1 got=$2 err=$3
  fail() { printf '%s\n' "$got" | tail -30; cat "$err"; echo "APIC test ($name): $1"; exit 1; }
  has() { printf '%s\n' "$got" | grep -qF -- "$1" || fail "missing '$1'"; }
  has "IOAPIC[0]: apic_id 1, version 17, address 0xfec00000, GSI 0-23"
  ints=$(printf '%s\n' "$got" | tr -d '\r' | sed -n '/^INTERRUPTS-BEGIN/,/^INTERRUPTS-END/p')
  # "  4:   123   IO-APIC   4-edge   ttyS0": the serial port's interrupts came through
  # the I/O APIC; "LOC:" counts the local APIC timer's.
  printf '%s\n' "$ints" | grep -E '^ *4: *[1-9][0-9]* +IO-APIC +4-edge +ttyS0' >/dev/null \
    || fail "no ttyS0 interrupts on IO-APIC pin 4 in /proc/interrupts: $ints"
  printf '%s\n' "$ints" | grep -E '^ *LOC: *[1-9]' >/dev/null || fail "no local timer interrupts: $ints"
  flags=$(printf '%s\n' "$got" | grep -m1 '^CPU-FLAGS:' || true)
  printf '%s\n' "$flags" | grep -qw apic || fail "/proc/cpuinfo flags lack apic: $flags"
}
status=0
got=$(boot "console=ttyS0" target/apic-acpi.stderr) || status=$?
printf '%s\n' "$got" >target/apic-acpi.out
check ACPI "$got" target/apic-acpi.stderr
for m in "ACPI: RSDP 0x00000000000F6400" "ACPI: Using ACPI (MADT) for SMP configuration information" \
         "ACPI: INT_SRC_OVR (bus 0 bus_irq 0 global_irq 2 dfl dfl)" "ACPI: Using IOAPIC for interrupt routing" \
         "ACPI: PM: (supports S0 S5)" "clocksource: acpi_pm" "reboot: Power down"; do
  printf '%s\n' "$got" | grep -qF -- "$m" || { printf '%s\n' "$got" | tail -30; echo "APIC test (ACPI): missing '$m'"; exit 1; }
done
if printf '%s\n' "$got" | grep -E "RSDP was not found|ACPI BIOS Error|ACPI Error"; then
  echo "APIC test (ACPI): the kernel reported ACPI errors"; exit 1
fi
[ "$status" = 0 ] || { cat target/apic-acpi.stderr; echo "APIC test (ACPI): exit status $status, expected 0"; exit 1; }
grep -qF "guest powered off (ACPI S5)" target/apic-acpi.stderr \
  || { cat target/apic-acpi.stderr; echo "APIC test (ACPI): the run did not end by ACPI power-off"; exit 1; }
echo "APIC test: ACPI tables found, I/O APIC routing, cpuinfo has apic, poweroff -f ended the run through ACPI S5 (status 0)"
status=0
got=$(boot "console=ttyS0 acpi=off" target/apic-mp.stderr) || status=$?
printf '%s\n' "$got" >target/apic-mp.out
check "MP table" "$got" target/apic-mp.stderr
printf '%s\n' "$got" | grep -qF "Intel MultiProcessor Specification v1.4" \
  || { printf '%s\n' "$got" | tail -30; echo "APIC test (MP table): the kernel did not find the MP table"; exit 1; }
[ "$status" = 0 ] || { cat target/apic-mp.stderr; echo "APIC test (MP table): exit status $status"; exit 1; }
echo "APIC test: with acpi=off the MP table gives the same I/O APIC routing"
