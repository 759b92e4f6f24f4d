#!/usr/bin/env bash
# The project's test command (README "Run the tests"): unit and integration tests, then
# the hardware-recorded CPU suites in release mode. Expects ../shared beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared}

# The Linux guest disk (Debian's i386 kernel + busybox on a SYSLINUX disk): from
# $X86_LINUX_DISK, else target/linux-guest/, built there from Debian packages when the
# tools are installed. Without it the Linux boot checks are skipped, loudly.
linux_disk=${X86_LINUX_DISK:-$PWD/target/linux-guest/linux-disk.img}
linux_skip=""
if [ ! -f "$linux_disk" ] && [ -z "${X86_LINUX_DISK:-}" ]; then
  missing=""
  for tool in apt-get cpio mkfs.fat syslinux mcopy; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
  done
  if [ -z "$missing" ]; then
    echo "Linux guest: building $linux_disk from Debian packages (log: target/linux-guest.log)"
    mkdir -p target
    OUT="$PWD/target/linux-guest" sh "$shared/guests/linux/build.sh" >target/linux-guest.log 2>&1 \
      || linux_skip="the disk build failed (see target/linux-guest.log)"
  else
    linux_skip="no disk at $linux_disk and missing tools to build it:$missing (apt-get install cpio dosfstools syslinux mtools)"
  fi
fi
[ -f "$linux_disk" ] || linux_skip=${linux_skip:-"no disk at $linux_disk"}
if [ -z "$linux_skip" ]; then
  export X86_LINUX_DISK="$linux_disk"
fi

cargo test --workspace
# frontend/tests/gdb.rs drives Debian's gdb against the GDB stub; it passes without gdb,
# so say so here where it cannot be missed.
if ! command -v gdb >/dev/null; then
  echo "=================================================================="
  echo "SKIPPED: the GDB stub test (frontend/tests/gdb.rs): gdb is not installed (apt-get install gdb)"
  echo "=================================================================="
fi
# The desktop window needs an X display: under Xvfb it boots FreeDOS to its prompt and
# takes a screenshot (frontend/tests/window.rs).
if command -v xvfb-run >/dev/null; then
  # It also records a FreeDOS session typed by xdotool and replays it headless (issue 17,
  # acceptance 3); without xdotool that test passes, so say so here.
  command -v xdotool >/dev/null || {
    echo "=================================================================="
    echo "SKIPPED: the window record/replay test (frontend/tests/window.rs): xdotool is not installed (apt-get install xdotool)"
    echo "=================================================================="
  }
  xvfb-run -a -s "-screen 0 1600x1000x24" cargo test -p frontend --test window -- --ignored
else
  echo "=================================================================="
  echo "SKIPPED: the window tests, record/replay included: xvfb-run not installed (apt-get install xvfb)"
  echo "=================================================================="
fi
cargo build --release
# 80286 real mode: documented 286-vs-P6 differences keep it below 100 % (README).
target/release/x86 sst --min-pass-rate 99.5 "$shared/testdata/sst-80286-real"
# 32-bit user-mode code recorded on a real Intel CPU.
target/release/x86 sst --min-pass-rate 99.9 "$shared/testdata/host-i686-pm32"
# The x87 FPU against the same real CPU (exact forms; transcendentals reported apart).
target/release/x86 sst --min-pass-rate 99.9 "$shared/testdata/host-i686-x87"
# MMX, SSE and SSE2 against a real AMD CPU (RCP/RSQRT judged to their relative error;
# CVTPI2PS xmm, m64 judged by the SDM: README, the SIMD documented differences).
target/release/x86 sst --min-pass-rate 99.9 "$shared/testdata/host-i686-simd"
# Debian's i386 kernel booted from the SYSLINUX disk of ../shared/guests/linux/build.sh
# (found or built at the top of this script; skipped loudly when absent). init.sh prints the
# markers checked here: md5("hello\n") and the shell loop's sum (39998, worked by hand:
# 2857 cycles of i² mod 7 summing to 14).
if [ -z "$linux_skip" ]; then
  out=$(target/release/x86 run --headless --snapshot --memory 128 --rtc 2026-01-01T00:00:00 \
        --timeout 300 --hda "$X86_LINUX_DISK" --serial stdio --stats --until b1946ac92492d2347c6235b4d2611184)
  for m in "BOOT-OK 6.1.0" "model name	: Intel(R) Pentium(R) M processor 1600MHz" "SHELL-LOOP 39998" "b1946ac92492d2347c6235b4d2611184"; do
    printf '%s\n' "$out" | grep -qF "$m" || { printf '%s\n' "$out" | tail -20; echo "Linux guest: missing '$m'"; exit 1; }
  done
  echo "Linux guest: booted to init, all markers present"
  # Guest clocks follow virtual time through HLT: `sleep 5` lasts 5 s by /proc/uptime
  # and by date (a TSC that stopped in HLT made it last minutes).
  bash scripts/linux-sleep-test.sh "$X86_LINUX_DISK"
  # Direct kernel boot (issue 14, acceptance 1): the same kernel and initramfs through
  # --kernel/--initrd/--append (Linux boot protocol). No --until: the run must end by
  # itself when init powers off — through ACPI S5 (PM1_CNT, issue 15): status 0.
  kdir=$(dirname "$X86_LINUX_DISK")
  if [ -f "$kdir/vmlinuz" ] && [ -f "$kdir/initrd.gz" ]; then
    status=0
    out=$(target/release/x86 run --kernel "$kdir/vmlinuz" --initrd "$kdir/initrd.gz" \
          --append "console=ttyS0" --headless --serial stdio --memory 128 \
          --rtc 2026-01-01T00:00:00 --timeout 300 2>target/kernel-boot.stderr) || status=$?
    for m in "Kernel command line: console=ttyS0" "BOOT-OK 6.1.0" "SHELL-LOOP 39998" \
             "b1946ac92492d2347c6235b4d2611184" "reboot: Power down"; do
      printf '%s\n' "$out" | grep -qF "$m" || { printf '%s\n' "$out" | tail -20; echo "--kernel boot: missing '$m'"; exit 1; }
    done
    [ "$status" = 0 ] || { cat target/kernel-boot.stderr; echo "--kernel boot: exit status $status, expected 0 (ACPI power-off)"; exit 1; }
    grep -qF "guest powered off (ACPI S5)" target/kernel-boot.stderr || { cat target/kernel-boot.stderr; echo "--kernel boot: did not end in the ACPI power-off"; exit 1; }
    echo "Linux guest via --kernel: all markers present, ended by itself at power-off"
    # Machine state save/restore (issue #17, acceptance 2): saved at 2 G instructions,
    # resumed in a new process, the same serial log, instruction count and state hash.
    bash scripts/linux-snapshot-test.sh "$kdir"
  else
    echo "=================================================================="
    echo "SKIPPED: the --kernel Linux boot and the Linux snapshot test: no vmlinuz/initrd.gz beside $X86_LINUX_DISK"
    echo "=================================================================="
  fi
  # SSE2 in the Linux guest (issue 16, acceptance 2): /proc/cpuinfo lists mmx fxsr sse
  # sse2 and a static gcc -m32 -msse2 program prints the checksum the host computed.
  bash scripts/sse2-test.sh "$kdir"
  # The local APIC, I/O APIC, MP and ACPI tables (issue 15, acceptance 4): I/O APIC
  # routing in /proc/interrupts, `apic` in cpuinfo, poweroff -f through ACPI S5, and the
  # same routing from the MP table with acpi=off.
  bash scripts/apic-test.sh "$kdir"
else
  echo "=================================================================="
  echo "SKIPPED: the Linux boot checks: $linux_skip"
  echo "=================================================================="
fi
# Debian's kernel on the PCI machine (issue #14): ata_piix in a DMA mode reads and writes
# an ext2 partition, the PCI IDs of the i440FX/PIIX3, with mechanism #1 and with
# pci=bios (builds its disk from Debian packages; SKIPPED loudly without the tools).
bash scripts/linux-pci-test.sh target/release/x86
# Third-party firmware (issue 15): Debian's SeaBIOS + vgabios-stdvga boot FreeDOS and
# the Linux disk, the Bochs BIOS + LGPL VGA BIOS boots FreeDOS (packages fetched with
# apt-get download when not installed; SKIPPED loudly otherwise).
bash scripts/firmware-test.sh target/release/x86 "${X86_LINUX_DISK:-}"
# The CD-ROM (ATAPI + El Torito): Debian's GRUB rescue CD to grub>, and an ISOLINUX CD
# booting the same Linux guest, which mounts /dev/sr0 (each skipped loudly without its
# packages; the Linux CD also without the Linux guest).
bash scripts/cdrom-test.sh "$(dirname "$linux_disk")"
# VBE graphics (issue #15, acceptance 3 and 5): SYSLINUX vesainfo/vesamenu on the VBE BIOS
# and the Linux guest's vesafb console at vga=0x318 (skipped loudly without the tools).
bash scripts/vesa-test.sh target/release/x86 "$(dirname "$linux_disk")"
# iPXE (Debian's `ipxe` package) booted with --kernel (issue 16, acceptance 3): its
# banner appears on the text screen (this build has no serial console). Skipped loudly
# when the package cannot be fetched.
ipxe_dir=$PWD/target/ipxe-guest
if [ -f "$ipxe_dir/ipxe.lkrn" ] || OUT="$ipxe_dir" sh guests/ipxe/build.sh >target/ipxe-guest.log 2>&1; then
  target/release/x86 run --kernel "$ipxe_dir/ipxe.lkrn" --headless --timeout 120 \
    --until "Open Source Network Boot Firmware" --screen-text target/ipxe-screen.txt \
    || { cat target/ipxe-screen.txt; echo "iPXE: no banner"; exit 1; }
  grep -q "^iPXE [0-9].* -- Open Source Network Boot Firmware" target/ipxe-screen.txt \
    || { cat target/ipxe-screen.txt; echo "iPXE: banner line not on the screen"; exit 1; }
  echo "iPXE via --kernel: banner on the screen"
else
  echo "=================================================================="
  echo "SKIPPED: the iPXE boot: Debian's ipxe package could not be fetched (see target/ipxe-guest.log)"
  echo "=================================================================="
fi
