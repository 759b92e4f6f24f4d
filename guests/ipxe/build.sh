#!/bin/sh
# Fetches iPXE's Linux-kernel-format image from Debian's `ipxe` package (issue 16,
# acceptance 3): `x86 run --kernel $OUT/ipxe.lkrn` must show iPXE's banner. Output:
# $OUT/ipxe.lkrn. Needs: apt-get and dpkg (Debian); the package is architecture "all".
set -e
OUT=${OUT:-out}; mkdir -p "$OUT/deb" "$OUT/lists/partial"; OUT=$(cd "$OUT" && pwd)
if [ ! -f "$OUT/ipxe.lkrn" ]; then
  # A private package index, as ../shared/guests/linux/build.sh keeps one.
  O="-oDir::State::Lists=$OUT/lists"
  apt-get $O update >/dev/null 2>&1 || true  # a partial index failure is harmless
  (cd "$OUT/deb" && apt-get $O download ipxe >/dev/null)
  rm -rf "$OUT/x" && mkdir -p "$OUT/x"
  for d in "$OUT"/deb/ipxe_*.deb; do dpkg -x "$d" "$OUT/x"; done
  # Debian ships it as /boot/ipxe.lkrn (and /usr/lib/ipxe/ipxe.lkrn).
  for f in "$OUT/x/boot/ipxe.lkrn" "$OUT/x/usr/lib/ipxe/ipxe.lkrn"; do
    if [ -f "$f" ]; then cp "$f" "$OUT/ipxe.lkrn"; break; fi
  done
  [ -f "$OUT/ipxe.lkrn" ] || { echo "no ipxe.lkrn in the ipxe package" >&2; exit 1; }
fi
echo "$OUT/ipxe.lkrn"
