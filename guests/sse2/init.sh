#!/bin/busybox sh
# /init of the SSE2 test guest: the CPU flags Linux found, the test program's checksum
# lines, then power off (which, without ACPI, halts the CPU: the run ends by itself).
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "CPU-FLAGS: $(grep -m1 '^flags' /proc/cpuinfo)"
/bin/sse2test
echo "SSE2-EXIT $?"
poweroff -f
