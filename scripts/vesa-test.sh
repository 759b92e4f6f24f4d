#!/usr/bin/env bash
# VBE graphics (issue #15, acceptance 3 and 5) on the built-in BIOS and the std-vga device:
#  - SYSLINUX's vesainfo.c32 (Debian's syslinux-common) lists the VBE modes, 1024x768 at
#    32 bpp among them (read from the text screen);
#  - vesamenu.c32 draws a graphical 1024x768 menu: the screenshot holds the frame colour
#    that guests/vesa/vesamenu.cfg sets (MENU COLOR border: pure green 00FF00 on pure
#    blue 0000FF);
#  - the Linux guest's kernel with vga=0x318 (VESA mode 118h, 1024x768x24) runs vesafb
#    in the linear framebuffer (its dmesg lines on COM1), and the screenshot has console
#    text: pixels of Linux's default console grey AAAAAA (vt.c default palette, colour
#    7) and nothing but them and black in the top 64 rows.
# Usage: vesa-test.sh X86_BINARY [LINUX_GUEST_DIR]. SKIPPED loudly without the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
x86=$1
kdir=${2:-}
skip() {
  echo "=================================================================="
  echo "SKIPPED: $1"
  echo "=================================================================="
}
missing=""
for tool in syslinux mcopy mkfs.fat python3; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
[ -f /usr/lib/syslinux/modules/bios/vesamenu.c32 ] || missing="$missing syslinux-common"
if [ -n "$missing" ]; then
  skip "the VBE tests (vesainfo, vesamenu, Linux vesafb): missing$missing (apt-get install syslinux syslinux-common mtools dosfstools python3)"
  exit 0
fi
out=$PWD/target/vesa-guest
OUT="$out" sh guests/vesa/build.sh >target/vesa-guest.log 2>&1 \
  || { cat target/vesa-guest.log; echo "VBE: building the SYSLINUX floppies failed"; exit 1; }

# vesainfo prints the controller's version, then pauses after a screenful: Enter shows
# the rest, ending with mode 147h.
"$x86" run --fda "$out/vesainfo.img" --headless --timeout 60 \
  --keys '{wait-screen "VBE version 3.0"}{wait-screen "0x011c"}{enter}{wait-screen "0x0147"}{quit}' \
  --screen-text "$out/vesainfo.txt" >/dev/null \
  || { cat "$out/vesainfo.txt"; echo "vesainfo: no VBE 3.0 mode list on the screen"; exit 1; }
grep -Eq "^0x0[0-9a-f]{3} 0x00[0-9a-f]{2} +1024 +768 +32 " "$out/vesainfo.txt" \
  || { cat "$out/vesainfo.txt"; echo "vesainfo: no 1024x768x32 mode listed"; exit 1; }
echo "VBE: vesainfo.c32 lists 1024x768x32"

"$x86" run --fda "$out/vesamenu.img" --headless --timeout 60 \
  --keys "{wait 8s}{screenshot \"$out/vesamenu.png\"}{quit}" >/dev/null
read -r w h green < <(python3 scripts/png-count.py "$out/vesamenu.png" 00ff00)
read -r _ _ blue < <(python3 scripts/png-count.py "$out/vesamenu.png" 0000ff)
[ "$w x $h" = "1024 x 768" ] || { echo "vesamenu: screenshot is ${w}x$h, expected 1024x768"; exit 1; }
# The frame's border lines run most of the menu's width: well over a thousand pixels.
[ "$green" -gt 1000 ] && [ "$blue" -gt 50000 ] \
  || { echo "vesamenu: $green border (00FF00) and $blue background (0000FF) pixels"; exit 1; }
echo "VBE: vesamenu.c32 draws its menu at 1024x768 ($green frame pixels)"

if [ -z "$kdir" ] || [ ! -f "$kdir/vmlinuz" ] || [ ! -f "$kdir/initrd.gz" ]; then
  skip "Linux on the VBE framebuffer (vga=0x318): no vmlinuz/initrd.gz in '$kdir'"
  exit 0
fi
log=$("$x86" run --kernel "$kdir/vmlinuz" --initrd "$kdir/initrd.gz" \
      --append "console=tty0 console=ttyS0 vga=0x318" --headless --serial stdio --memory 128 \
      --rtc 2026-01-01T00:00:00 --timeout 300 --until "fb0: VESA VGA frame buffer device" \
      --screenshot "$out/linux-vesafb.png")
for m in "vesafb: mode is 1024x768x24" "vesafb: framebuffer at 0xe0000000, mapped to" \
         "fb0: VESA VGA frame buffer device"; do
  printf '%s\n' "$log" | grep -qF "$m" || { printf '%s\n' "$log" | tail -20; echo "Linux vesafb: missing '$m'"; exit 1; }
done
read -r w h grey < <(python3 scripts/png-count.py "$out/linux-vesafb.png" aaaaaa 0 0 1024 64)
read -r _ _ black < <(python3 scripts/png-count.py "$out/linux-vesafb.png" 000000 0 0 1024 64)
[ "$w x $h" = "1024 x 768" ] || { echo "Linux vesafb: screenshot is ${w}x$h, expected 1024x768"; exit 1; }
# Four text lines of 16 pixels: thousands of lit pixels, the rest background.
[ "$grey" -gt 2000 ] && [ $((grey + black)) -eq $((1024 * 64)) ] \
  || { echo "Linux vesafb: $grey text (AAAAAA) and $black background pixels in the top 64 rows"; exit 1; }
echo "VBE: Linux vesafb draws its console in the framebuffer ($grey text pixels in the top rows)"
