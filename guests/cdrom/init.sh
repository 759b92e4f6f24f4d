#!/bin/busybox sh
# /init of the CD test guest (guests/cdrom/build.sh): the shared Linux guest's markers,
# then the CD through Linux's own drivers: load them, wait for /dev/sr0, mount it as
# ISO 9660 and print the md5 of the file the build put there.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "BOOT-OK $(uname -r)"
grep -m1 'model name' /proc/cpuinfo
i=0; s=0; while [ $i -lt 20000 ]; do s=$((s+i*i%7)); i=$((i+1)); done; echo "SHELL-LOOP $s"
echo hello | md5sum
for m in $(cat /modules/order); do insmod /modules/$m.ko || echo "CD: insmod $m failed"; done
# ata_piix binds to the PIIX IDE function when there is PCI; without PCI, pata_legacy
# probes the ISA ports 1F0h/170h itself.
insmod /modules/ata_piix.ko
wait_sr0() {
  n=0; while [ ! -b /dev/sr0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
  [ -b /dev/sr0 ]
}
if wait_sr0; then
  echo "CD: /dev/sr0 from ata_piix"
else
  insmod /modules/pata_legacy.ko probe_all=1 probe_mask=3
  wait_sr0 && echo "CD: /dev/sr0 from pata_legacy"
fi
if mount -t iso9660 -o ro /dev/sr0 /mnt; then
  echo "CD-MD5 $(md5sum /mnt/hello.txt | cut -d' ' -f1)"
  umount /mnt
else
  echo "CD: cannot mount /dev/sr0"
  dmesg | grep -iE 'ata|scsi|sr0|cdrom' | tail -20
fi
echo "CD-DONE"
poweroff -f
