#!/bin/sh
# /init of the dom0 initramfs (busybox sh), x86_64 (tests/xen) and arm64 (tests/xen-arm64): bring
# up the Xen toolstack, run /test/run.sh between console markers, then end QEMU: x86 reboots (QEMU
# runs with -no-reboot), arm64 powers off.
#
# Console protocol, read by tests/xen/extract.py on the host:
#   === BEGIN name ===   ...   === END name ===     a section (the test may print its own, nested)
#   === EXIT rc ===                                 the test's exit status; always the last marker

read -r xenver </etc/xen-version
export PATH=/usr/lib/xen-$xenver/bin:/usr/sbin:/usr/bin
export LD_LIBRARY_PATH=/usr/lib/$(uname -m)-linux-gnu
export HOME=/root

/usr/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/xen /run/xenstored /run/lock
dmesg -n 1
echo "dom0-init: started after $(cut -d' ' -f1 /proc/uptime) s of dom0 uptime"

off() {
	sync
	case $(uname -m) in
	aarch64) poweroff -f ;;
	*) reboot -f ;;
	esac
	# Should not return; sysrq o as a fallback.
	echo o >/proc/sysrq-trigger
	sleep 5
}
fail() {
	echo "dom0-init: $*"
	echo "=== EXIT 125 ==="
	off
}

while read -r m; do
	insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </etc/modules-order
mount -t xenfs xenfs /proc/xen || fail "mount xenfs failed"

xenstored --pid-file=/run/xenstored.pid || fail "xenstored failed"
xen-init-dom0 >/tmp/xen-init-dom0.log 2>&1 || { cat /tmp/xen-init-dom0.log; fail "xen-init-dom0 failed"; }
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	fail "xenconsoled failed"

echo "dom0-init: toolstack up after $(cut -d' ' -f1 /proc/uptime) s of dom0 uptime"
rc=125
if [ -f /test/run.sh ]; then
	cd /test || fail "no /test"
	echo "=== BEGIN run ==="
	sh /test/run.sh
	rc=$?
	echo "=== END run ==="
else
	echo "dom0-init: no /test/run.sh"
fi
echo "=== EXIT $rc ==="
off
