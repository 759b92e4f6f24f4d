# Sourced by the peer-comparison scripts (linux-vs-qemu.sh, bench-phases.sh): the
# checks they share before timing anything. `$1` is the script's name for messages.
# A missing QEMU or guest image is a SKIPPED line and exit 0 (the scripts are not part
# of CI); a missing emulator binary or a bad RUNS is an error.

# peer_checks NAME X86 RUNS IMAGE IMAGE_HINT
peer_checks() {
  local name=$1 x86=$2 runs=$3 image=$4 hint=$5
  if ! command -v qemu-system-i386 >/dev/null 2>&1; then
    echo "SKIPPED: $name: qemu-system-i386 is not installed (apt-get install qemu-system-x86)"
    exit 0
  fi
  if [ ! -f "$image" ]; then
    echo "SKIPPED: $name: no guest image at $image ($hint)"
    exit 0
  fi
  if [ ! -x "$x86" ]; then
    echo "error: $name: no emulator binary at $x86 (cargo build --release -p frontend)" >&2
    exit 2
  fi
  case "$runs" in
    '' | *[!0-9]* | 0) echo "error: $name: RUNS must be a positive number, not '$runs'" >&2; exit 2 ;;
  esac
}
