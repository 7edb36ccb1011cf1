#!/bin/bash
# Download Xen, its tools and libraries, a Debian kernel and busybox-static as .deb files and
# extract them (never install) into $UNIPROF_CACHE/xen (default /var/cache/uniprof/xen).
# A second run finds the stamp file and does nothing; with the stamp or the extracted tree gone it
# extracts again from the cached .deb files, downloading only those missing.
#
#   tests/xen/fetch.sh          fetch if needed, print the cache directory
#   tests/xen/fetch.sh --force  fetch and extract again
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The tools and what they link against (checked with ldd in mkdom0.sh, which fails on any
# library that is neither here nor on the host).
PACKAGES=(
	"xen-hypervisor-$XEN_VER-amd64" "xen-utils-$XEN_VER"
	"libxenmisc$XEN_VER" libxenstore4 libxentoolcore1 libxencall1 libxengnttab1 libxenevtchn1
	libxenforeignmemory1 libxendevicemodel1 libxentoollog1 libxenhypfs1
	libyajl2 libncurses6 libtinfo6
	busybox-static
)
STAMP=$XEN_CACHE/fetched.stamp

force=0
[ "${1:-}" = "--force" ] && force=1

if [ $force -eq 0 ] && [ -f "$STAMP" ] && [ -f "$(xen_hypervisor_gz)" ] && [ -n "$(linux_vmlinuz)" ] &&
	[ -x "$XEN_ROOT/bin/busybox" ]; then
	echo "$XEN_CACHE"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get download into $XEN_CACHE)"
need_host_tools dpkg-deb:dpkg

# linux-image-amd64 is a meta package: fetch the image package it points at.
resolve_kernel() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ && !found { print $2; found = 1 }'
}
# The kernel package recorded by an earlier fetch keeps re-extraction offline.
kpkg=$( [ -f "$STAMP" ] && tail -n 1 "$STAMP" || true)
[ -n "$kpkg" ] || kpkg=$(resolve_kernel)
if [ -z "$kpkg" ]; then
	apt-get update >/dev/null
	kpkg=$(resolve_kernel)
fi
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 to a kernel image package"

mkdir -p "$XEN_DEBS"
cd "$XEN_DEBS"
deb_of() { ls -t "$XEN_DEBS/${1}"_*.deb 2>/dev/null | head -n 1; }
missing=()
for pkg in "${PACKAGES[@]}" "$kpkg"; do
	[ -n "$(deb_of "$pkg")" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "downloading ${missing[*]}"
	# apt's sandbox user may not write here; apt then downloads as root and only warns.
	if ! apt-get download "${missing[@]}" >download.log 2>&1; then
		say "download failed, running apt-get update and retrying"
		apt-get update >/dev/null
		apt-get download "${missing[@]}" >download.log 2>&1 || { cat download.log >&2; die "apt-get download failed"; }
	fi
fi
rm -rf "$XEN_ROOT"
mkdir -p "$XEN_ROOT"
for pkg in "${PACKAGES[@]}" "$kpkg"; do
	dpkg-deb -x "$(deb_of "$pkg")" "$XEN_ROOT"
done
# Of the kernel's modules keep only Xen's (the rest is ~350 MB nobody here loads).
find "$XEN_ROOT/lib/modules" -name '*.ko' ! -name '*xen*' -delete
find "$XEN_ROOT/lib/modules" -depth -type d -empty -delete
[ -f "$(xen_hypervisor_gz)" ] || die "no $(xen_hypervisor_gz) in the extracted packages"
[ -n "$(linux_vmlinuz)" ] || die "no vmlinuz in the extracted packages"
printf '%s\n' "${PACKAGES[@]}" "$kpkg" >"$STAMP"
echo "$XEN_CACHE"
