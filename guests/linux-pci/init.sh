#!/bin/busybox sh
# The PCI/IDE-DMA test guest (build.sh): loads the IDE and filesystem modules, reads and
# writes the ext2 partition, lists the PCI functions, powers off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "PCI-GUEST $(uname -r)"
for m in $(cat /modules.order); do insmod "/lib/modules/$m" || echo "INSMOD-FAILED $m"; done
i=0; while [ ! -b /dev/sda1 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
for d in /sys/bus/pci/devices/*; do echo "PCI-ID $(cat "$d/vendor"):$(cat "$d/device") $(basename "$d")"; done
if mount -t ext2 /dev/sda1 /mnt; then
  echo "HOSTFILE-MD5 $(md5sum < /mnt/hostfile.bin)"
  echo "written by the guest through ata_piix" > /mnt/guest.txt
  sync
  umount /mnt && echo "UMOUNT-OK"
else
  echo "MOUNT-FAILED"
fi
# The mode libata programmed (its "configured for" line is only printed after a hard
# reset, not at a quiet probe), from the ATA transport class.
for d in /sys/class/ata_device/dev*; do echo "XFER-MODE $(basename "$d") $(cat "$d/xfer_mode")"; done
dmesg | grep -E '^\[.*\] (ata[0-9]|scsi|sd |piix|ata_piix|PCI)' | head -40
echo "PCI-GUEST-DONE"
poweroff -f
