#!/bin/bash
# Fetch Debian's arm64 libraries that uniprof links against (and their headers) as .deb files
# and extract them (never install) into a sysroot for aarch64-linux-gnu-gcc --sysroot: how
# uniprof is cross-built for an arm64 host, such as the dom0 of the nested Xen on Arm test.
# The host's apt and dpkg configuration are not touched: package lists for arm64 live in the
# cache.  A second run finds the stamp and only prints the sysroot.
#
#   scripts/arm64-sysroot.sh [--force]    prints the sysroot directory
set -euo pipefail
cache=${UNIPROF_CACHE:-/var/cache/uniprof}/arm64-sysroot
root=$cache/root stamp=$cache/extracted.stamp
PACKAGES=(
	libc6 libc6-dev linux-libc-dev libgcc-s1 libcrypt1 libcrypt-dev
	libelf1 libelf-dev libdw1 libdw-dev zlib1g zlib1g-dev libzstd1 liblzma5 libbz2-1.0
	libjansson4 libjansson-dev libexpat1 libexpat1-dev libiberty-dev libbpf1 libbpf-dev
	libxen-dev "libxenmisc4.17" libxenstore4 libxentoolcore1 libxencall1 libxenforeignmemory1
	libxentoollog1 libxendevicemodel1 libxenevtchn1 libxengnttab1 libxenhypfs1 libyajl2
)
# The stamp holds the package list it was made from: a longer list makes the sysroot again.
if [ "${1:-}" != --force ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${PACKAGES[*]}" ]; then
	echo "$root"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "arm64-sysroot: run as root (it writes to $cache)" >&2; exit 1; }
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$cache/debs"
touch "$apt_dir/status"
apt_opts=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o "Dir::State::status=$apt_dir/status")
# Download only what is not cached yet.
need=()
for p in "${PACKAGES[@]}"; do
	compgen -G "$cache/debs/${p}_*_arm64.deb" >/dev/null || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get "${apt_opts[@]}" -q update >/dev/null
	(cd "$cache/debs" && apt-get "${apt_opts[@]}" -q download "${need[@]}" >/dev/null 2>&1) ||
		(cd "$cache/debs" && apt-get "${apt_opts[@]}" download "${need[@]}")
fi
rm -rf "$root"
mkdir -p "$root"
for d in "$cache"/debs/*_arm64.deb; do
	dpkg-deb -x "$d" "$root"
done
echo "${PACKAGES[*]}" >"$stamp"
echo "$root"
