#!/bin/bash
# Build the dom0 initramfs: busybox, the Xen toolstack (xl, xenstored, xenconsoled, xen-init-dom0,
# xenctx, xenconsole) with their libraries, the Xen kernel modules, tests/xen/dom0/init.sh as /init,
# and any files the caller adds.
#
#   tests/xen/mkdom0.sh -o dom0.cpio.gz [--test SCRIPT] [--add HOST:IMAGE]...
#
#   --test SCRIPT      run SCRIPT as dom0's test (same as --add SCRIPT:/test/run.sh)
#   --add HOST:IMAGE   copy HOST (file or directory) to IMAGE inside the initramfs; the shared
#                      libraries of every ELF file added are copied too (found with ldd)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out='' adds=()
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	--test) adds+=("$2:/test/run.sh"); shift 2 ;;
	--add) adds+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -n "$out" ] || die "missing -o OUTPUT"
need_host_tools cpio:cpio gzip:gzip readelf:binutils ldd:libc-bin
"$XEN_TESTS_DIR/fetch.sh" >/dev/null

TOOLS=(xl xenstored xenconsoled xen-init-dom0 xenctx xenconsole)
MODULES=(xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs)

work=$(mktemp -d "${TMPDIR:-/tmp}/uniprof-dom0.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
make_busybox_root "$root"

bindir=/usr/lib/xen-$XEN_VER/bin
mkdir -p "$root$bindir"
for t in "${TOOLS[@]}"; do
	cp "$XEN_ROOT$bindir/$t" "$root$bindir/$t"
	copy_elf_libs "$root" "$XEN_ROOT$bindir/$t"
done
# libgcc_s is dlopen()ed by glibc (pthread_cancel, backtraces), so ldd does not list it.
gcc_s=$(ldconfig -p 2>/dev/null | awk '/libgcc_s.so.1 .*x86-64/ && !found { print $NF; found = 1 }')
[ -n "$gcc_s" ] || gcc_s=/lib/x86_64-linux-gnu/libgcc_s.so.1
cp -L "$gcc_s" "$root/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"

# Kernel modules, dependencies first (from each module's .modinfo "depends=").
kver=$(linux_kver)
kdir=$XEN_ROOT/lib/modules/$kver/kernel
mkdir -p "$root/usr/lib/modules"
: >"$root/etc/modules-order"
declare -A seen=()
add_module() {
	local name=$1 path dep deps
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	path=$(find "$kdir" \( -name "$name.ko" -o -name "${name//-/_}.ko" -o -name "${name//_/-}.ko" \) -print -quit)
	[ -n "$path" ] || die "kernel module $name not found under $kdir"
	deps=$(readelf -p .modinfo "$path" | sed -n 's/.*depends=//p' | tr ',' ' ')
	for dep in $deps; do add_module "$dep"; done
	cp "$path" "$root/usr/lib/modules/$name.ko"
	echo "$name" >>"$root/etc/modules-order"
}
for m in "${MODULES[@]}"; do add_module "$m"; done

finish_dom0 "$root" "$out" "${adds[@]}"
