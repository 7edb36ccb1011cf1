# shellcheck shell=bash disable=SC2034
# Shared helpers for the arm64 nested-Xen scripts (tests/xen-arm64). Source it; it only defines
# variables and functions.

XA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# say, die, need_host_tools, is_elf, make_busybox_root, pack_cpio, linux_vmlinuz, linux_kver,
# copy_elf_libs, finish_dom0: shared with the x86 harness, pointed at the arm64 package tree and
# arm64_copy_elf_libs by the two variables set below (nothing of it is redefined here).
. "$XA_DIR/../xen/lib.sh"
XA_CACHE=${UNIPROF_CACHE:-/var/cache/uniprof}/xen-arm64
XA_DEBS=$XA_CACHE/debs
XA_ROOT=$XA_CACHE/root
XEN_PKG_ROOT=$XA_ROOT
XEN_COPY_ELF_LIBS=arm64_copy_elf_libs
XA_APT=$XA_CACHE/apt
XEN_VER=4.17
XA_MULTIARCH=aarch64-linux-gnu

# apt-get/apt-cache options for arm64 with a private state directory: the host's apt and dpkg
# configuration (architectures, lists, status) are never touched.
xa_apt_opts() {
	echo "-o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State::Lists=$XA_APT/lists" \
		"-o Dir::Cache=$XA_APT/cache -o Dir::State::status=$XA_APT/status"
}

# Paths inside the extracted package tree, valid after fetch.sh.
xen_image() { echo "$XA_ROOT/boot/xen-$XEN_VER-arm64"; }
# Debian's arm64 "vmlinuz" (linux_vmlinuz) is an uncompressed, EFI-stub Image (starts with
# "MZ"); linux_image gunzips it into the cache should a later kernel ship it gzip'd.
# A raw arm64 Image for Xen and QEMU (the vmlinuz, or its gunzipped copy in the cache).
linux_image() {
	local v img
	v=$(linux_vmlinuz)
	[ -n "$v" ] || return 1
	if [ "$(head -c 2 "$v" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
		img=$XA_CACHE/Image-$(linux_kver)
		if [ ! -s "$img" ] || [ "$v" -nt "$img" ]; then
			gunzip -c "$v" >"$img.tmp" && mv "$img.tmp" "$img"
		fi
		echo "$img"
	else
		echo "$v"
	fi
}

# Directories searched for an arm64 library, extracted tree only (never the host's).
xa_lib_dirs() {
	echo "$XA_ROOT/usr/lib/$XA_MULTIARCH $XA_ROOT/lib/$XA_MULTIARCH $XA_ROOT/usr/lib $XA_ROOT/lib"
}

is_aarch64_elf() { is_elf "$1" && aarch64-linux-gnu-readelf -h "$1" 2>/dev/null | grep -q 'Machine:.*AArch64'; }

# NEEDED sonames of ELF file $1 (nothing for a non-ELF or static file).
elf_needed() {
	is_elf "$1" || return 0
	aarch64-linux-gnu-readelf -d "$1" 2>/dev/null | awk '/\(NEEDED\)/ { gsub(/[][]/, "", $5); print $5 }'
}

# The path of library $1 in the extracted tree, or nothing.
find_lib() {
	local d
	for d in $(xa_lib_dirs); do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 0
}

# Print, one per line, every library (soname) the ELF files given need, recursively, as
# "soname path" (path "-" when it is not in the extracted tree).
resolve_needed() {
	local -A seen=()
	local queue=("$@") f n p
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		for n in $(elf_needed "$f"); do
			[ -n "${seen[$n]:-}" ] && continue
			seen[$n]=1
			p=$(find_lib "$n")
			if [ -n "$p" ]; then
				echo "$n $p"
				queue+=("$(readlink -f "$p")")
			else
				echo "$n -"
			fi
		done
	done
}

# copy_elf_libs for an arm64 dom0: copy the libraries ELF file $2 needs (recursively, from the
# extracted tree) and the dynamic loader into image root $1 under usr/lib/aarch64-linux-gnu (the image is /usr-merged; the loader
# also at /lib/ld-linux-aarch64.so.1, the interpreter path Debian links with). Dies on a missing one.
arm64_copy_elf_libs() {
	local root=$1 file=$2 soname path
	is_elf "$file" || return 0
	if ! is_aarch64_elf "$file"; then
		say "warning: $file is not an AArch64 ELF file; it will not run in dom0"
		return 0
	fi
	mkdir -p "$root/usr/lib/$XA_MULTIARCH"
	while read -r soname path; do
		[ "$path" != - ] || die "$file needs $soname, which is not in $XA_ROOT (run fetch.sh --libs-for $file)"
		cp -L "$path" "$root/usr/lib/$XA_MULTIARCH/$soname"
		case $soname in
		ld-linux-aarch64.so.1) cp -L "$path" "$root/usr/lib/ld-linux-aarch64.so.1" ;;
		esac
	done < <(resolve_needed "$file")
}
