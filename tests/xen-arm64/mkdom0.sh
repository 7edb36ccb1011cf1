#!/bin/bash
# Build the arm64 dom0 initramfs: busybox, the Xen toolstack (xl, xenstored, xenconsoled,
# xen-init-dom0, xenctx, xenconsole) with their arm64 libraries and the dynamic loader, the Xen
# kernel modules (those not built in), tests/xen/dom0/init.sh as /init, and any files the caller adds.
#
#   tests/xen-arm64/mkdom0.sh -o dom0.cpio.gz [--test SCRIPT] [--add HOST:IMAGE]...
#
#   --test SCRIPT      run SCRIPT as dom0's test (same as --add SCRIPT:/test/run.sh)
#   --add HOST:IMAGE   copy HOST (file or directory) to IMAGE inside the initramfs; the arm64
#                      libraries every added AArch64 ELF file needs are copied too (NEEDED
#                      entries, resolved in the extracted tree; fetch.sh --libs-for downloads
#                      the Debian arm64 packages of those missing)
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
need_host_tools cpio:cpio gzip:gzip aarch64-linux-gnu-readelf:binutils-aarch64-linux-gnu
# The added ELF files' libraries are fetched like the tools' (Debian arm64 packages).
add_files=()
for spec in "${adds[@]}"; do
	src=${spec%%:*}
	if [ -d "$src" ]; then
		while IFS= read -r -d '' f; do add_files+=("$f"); done < <(find -L "$src" -type f -print0)
	elif [ -f "$src" ]; then
		add_files+=("$src")
	fi
done
"$XA_DIR/fetch.sh" --libs-for "${add_files[@]}" >/dev/null

TOOLS=(xl xenstored xenconsoled xen-init-dom0 xenctx xenconsole)
MODULES=(xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs)

work=$(mktemp -d "${TMPDIR:-/tmp}/uniprof-dom0-arm64.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
make_busybox_root "$root" "$XA_ROOT/bin/busybox"

bindir=/usr/lib/xen-$XEN_VER/bin
mkdir -p "$root$bindir"
for t in "${TOOLS[@]}"; do
	cp "$XA_ROOT$bindir/$t" "$root$bindir/$t"
	copy_elf_libs "$root" "$XA_ROOT$bindir/$t"
done
# libgcc_s is dlopen()ed by glibc (pthread_cancel, backtraces): no NEEDED entry names it.
gcc_s=$(find_lib libgcc_s.so.1)
[ -n "$gcc_s" ] || die "no libgcc_s.so.1 in $XA_ROOT"
cp -L "$gcc_s" "$root/usr/lib/$XA_MULTIARCH/libgcc_s.so.1"

# Kernel modules, dependencies first (from each module's .modinfo "depends="); built-in ones
# (modules.builtin) are skipped.
kver=$(linux_kver)
mdir=$XA_ROOT/lib/modules/$kver
mkdir -p "$root/usr/lib/modules"
: >"$root/etc/modules-order"
declare -A seen=()
add_module() {
	local name=$1 path dep deps
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	if grep -Eq "/(${name//-/[-_]})\.ko\$" "$mdir/modules.builtin" 2>/dev/null; then
		return 0
	fi
	path=$(find "$mdir/kernel" \( -name "$name.ko" -o -name "${name//-/_}.ko" -o -name "${name//_/-}.ko" \) -print -quit)
	[ -n "$path" ] || die "kernel module $name neither built in nor found under $mdir/kernel"
	deps=$(aarch64-linux-gnu-readelf -p .modinfo "$path" | sed -n 's/.*depends=//p' | tr ',' ' ')
	for dep in $deps; do add_module "$dep"; done
	cp "$path" "$root/usr/lib/modules/$name.ko"
	echo "$name" >>"$root/etc/modules-order"
}
for m in "${MODULES[@]}"; do add_module "$m"; done

finish_dom0 "$root" "$out" "${adds[@]}"
