#!/bin/bash
# Build the initramfs of the small arm64 Linux domU the smoke test starts: busybox only; /init
# prints "domU-arm64: up" on the PV console (hvc0) and, when the domain has one, on the emulated
# SBSA UART (ttyAMA0, xl's vuart = "sbsa_uart"), then loops forever (sleeping, or with --spin a
# CPU-bound `while :; do :; done`, for profiling).
#
#   tests/xen-arm64/mkdomu.sh -o domu.cpio.gz [--spin]
#
# The domU kernel is the cached Debian arm64 Image (the one dom0 runs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out='' spin=0
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	--spin) spin=1; shift ;;
	-h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -n "$out" ] || die "missing -o OUTPUT"
need_host_tools cpio:cpio gzip:gzip
"$XA_DIR/fetch.sh" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/uniprof-domu-arm64.XXXXXX")
trap 'rm -rf "$work"' EXIT
make_busybox_root "$work/root" "$XA_ROOT/bin/busybox"
if [ $spin -eq 1 ]; then loop='while :; do :; done'; else loop='while :; do sleep 1; done'; fi
cat >"$work/root/init" <<INIT
#!/bin/sh
export PATH=/usr/sbin:/usr/bin
/usr/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
msg="domU-arm64: up after \$(cut -d' ' -f1 /proc/uptime) s, \$(grep -c ^processor /proc/cpuinfo) vCPUs, kernel \$(uname -r)"
echo "\$msg" >/dev/hvc0
[ -c /dev/ttyAMA0 ] && echo "\$msg (on ttyAMA0)" >/dev/ttyAMA0
{ grep -i 'System RAM' /proc/iomem; grep -h mmio /proc/tty/driver/* 2>/dev/null; } | sed 's/^/domU-arm64: /' >/dev/hvc0
$loop
INIT
chmod 755 "$work/root/init"
pack_cpio "$work/root" "$out"
say "wrote $out ($(du -h "$out" | cut -f1))"
