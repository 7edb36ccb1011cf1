#!/bin/sh
# Install what building and testing uniprof needs, from Debian's archive.  Idempotent: only
# missing packages are installed, and nothing is done when everything is there.
set -eu

# golang-go: `go tool pprof`, the reader tests/integration/test_pprof.py checks our pprof files with.
# clang: the fuzzers and CI's second compiler; valgrind: CI's leak check of the unit tier;
# gdb: the real gdb session tests/integration/test_gdb_first.py attaches before uniprof.
# time: the CPU seconds make fuzz-long reports for each harness.
# libvirt-*: --libvirt's backend (libvirt-dev) and the libvirtd test_libvirt.py profiles through.
# linux-perf: perf inside the Linux test guest, the ground truth test_linux_perf.py compares with.
PACKAGES="
gcc make pkg-config binutils
libelf-dev libdw-dev libjansson-dev libcmocka-dev libiberty-dev zlib1g-dev libexpat1-dev
clang libclang-rt-14-dev valgrind gdb time
qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu python3
gnu-efi ovmf qemu-efi-aarch64
libxen-dev cpio groff-base libbpf-dev
golang-go
libvirt-dev libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu
linux-perf
chromium chromium-driver
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# An install can fail for stale package lists: refresh them and try once more.
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing
}
