#!/bin/bash
# Build the initramfs of the Linux PV domU used by the examples: busybox only, whose /init starts
# `dd if=/dev/zero of=/dev/null` (time in the kernel: system calls, clearing pages), prints a line
# and then spins in a CPU-bound shell loop (`while :; do :; done`, user space) forever.
#
#   tests/xen/mklinux-domu.sh -o linux-domu.cpio.gz
#
# The domU kernel is the cached Debian vmlinuz (the same one dom0 runs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=''
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	-h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -n "$out" ] || die "missing -o OUTPUT"
need_host_tools cpio:cpio gzip:gzip
"$XEN_TESTS_DIR/fetch.sh" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/uniprof-domu.XXXXXX")
trap 'rm -rf "$work"' EXIT
make_busybox_root "$work/root"
cat >"$work/root/init" <<'INIT'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin
/usr/bin/busybox --install -s
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
dd if=/dev/zero of=/dev/null bs=65536 2>/dev/null &
echo "linux-domu: spinning in a shell loop, dd in the background"
while :; do :; done
INIT
chmod 755 "$work/root/init"
pack_cpio "$work/root" "$out"
say "wrote $out ($(du -h "$out" | cut -f1))"
