#!/bin/busybox sh
# /init of the APIC/ACPI test guest: the CPU flags, the interrupt controllers Linux
# uses (/proc/interrupts), then power off — through ACPI S5 when Linux found the FADT.
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "CPU-FLAGS: $(grep -m1 '^flags' /proc/cpuinfo)"
# Let the timer and the serial port interrupt a while, so the counts are not zero.
sleep 1
echo "INTERRUPTS-BEGIN"
cat /proc/interrupts
echo "INTERRUPTS-END"
poweroff -f
