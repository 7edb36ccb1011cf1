#!/bin/bash
# Download Xen 4.17 for arm64, its tools and their libraries, Debian's arm64 kernel and
# busybox-static as arm64 .deb files and extract them (never install) into
# ${UNIPROF_CACHE:-/var/cache/uniprof}/xen-arm64. apt runs with a private state directory
# (apt/ in the cache) and APT::Architecture=arm64: the host's apt and dpkg setup is not touched.
# The libraries are found by following the tools' NEEDED entries (aarch64-linux-gnu-readelf)
# through the extracted tree and fetching the package of each one missing, until none is.
# A second run finds the stamp file and does nothing; without the stamp or the extracted tree it
# extracts again from the cached .deb files, downloading only those missing.
#
#   tests/xen-arm64/fetch.sh          fetch if needed, print the cache directory
#   tests/xen-arm64/fetch.sh --force  extract again (downloads only missing .debs)
#   tests/xen-arm64/fetch.sh --libs-for FILE...
#                                     also fetch the arm64 libraries these ELF files need (e.g. a
#                                     cross-built uniprof); mkdom0.sh --add does this by itself
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The dom0 tools mkdom0.sh copies; their libraries are resolved from these.
TOOLS=(xl xenstored xenconsoled xen-init-dom0 xenctx xenconsole)
PACKAGES=(
	"xen-hypervisor-$XEN_VER-arm64" "xen-utils-$XEN_VER" busybox-static
	libc6 libgcc-s1 # libgcc_s.so.1 is dlopen()ed by glibc, so no NEEDED entry names it
)
STAMP=$XA_CACHE/fetched.stamp

force=0 libs_for=()
while [ $# -gt 0 ]; do
	case $1 in
	--force) force=1; shift ;;
	--libs-for) shift; libs_for=("$@"); break ;;
	-h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

# Only AArch64 ELF files have libraries to fetch.
elfs=()
for f in "${libs_for[@]}"; do
	[ -f "$f" ] || die "--libs-for: no file $f"
	is_aarch64_elf "$f" && elfs+=("$(readlink -f "$f")")
done
libs_for=("${elfs[@]}")

# Libraries of the given ELF files missing from the tree, as sonames.
missing_libs() {
	local so path
	[ $# -gt 0 ] || return 0
	while read -r so path; do
		[ "$path" != - ] || echo "$so"
	done < <(resolve_needed "$@")
}

fetched=0
if [ $force -eq 0 ] && [ -f "$STAMP" ] && [ -f "$(xen_image)" ] && [ -n "$(linux_vmlinuz)" ] &&
	[ -x "$XA_ROOT/bin/busybox" ]; then
	fetched=1
	if [ -z "$(missing_libs "${libs_for[@]}")" ]; then
		echo "$XA_CACHE"
		exit 0
	fi
fi

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get download into $XA_CACHE)"
need_host_tools dpkg-deb:dpkg aarch64-linux-gnu-readelf:binutils-aarch64-linux-gnu

mkdir -p "$XA_APT/lists/partial" "$XA_APT/cache/archives/partial" "$XA_DEBS"
[ -f "$XA_APT/status" ] || : >"$XA_APT/status"
# shellcheck disable=SC2046
apt_() { "$1" $(xa_apt_opts) "${@:2}"; }
updated=0
apt_update() {
	[ $updated -eq 0 ] || return 0
	say "apt-get update (arm64 lists in $XA_APT)"
	apt_ apt-get update >"$XA_CACHE/update.log" 2>&1 || { cat "$XA_CACHE/update.log" >&2; die "apt-get update failed"; }
	updated=1
}

deb_of() { ls -t "$XA_DEBS/${1}"_*.deb 2>/dev/null | head -n 1; }

# Download the packages given whose .deb is not cached yet.
download() {
	local pkg missing=()
	for pkg in "$@"; do
		[ -n "$(deb_of "$pkg")" ] || missing+=("$pkg")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ -n "$(find "$XA_APT/lists" -maxdepth 1 -name '*_Packages*' -print -quit)" ] || apt_update
	say "downloading ${missing[*]}"
	# apt's sandbox user may not write here; apt then downloads as root and only warns.
	if ! (cd "$XA_DEBS" && apt_ apt-get download "${missing[@]}") >"$XA_CACHE/download.log" 2>&1; then
		[ $updated -eq 0 ] || { cat "$XA_CACHE/download.log" >&2; die "apt-get download failed"; }
		say "download failed, running apt-get update and retrying"
		apt_update
		(cd "$XA_DEBS" && apt_ apt-get download "${missing[@]}") >"$XA_CACHE/download.log" 2>&1 ||
			{ cat "$XA_CACHE/download.log" >&2; die "apt-get download failed"; }
	fi
}

extract() {
	local pkg
	for pkg in "$@"; do
		dpkg-deb -x "$(deb_of "$pkg")" "$XA_ROOT"
	done
}

# The package that ships library $1: known names first, then Debian's naming rule
# (libfoo.so.N -> libfooN, libfoo-N), checked against the arm64 package lists.
soname_package() {
	local so=$1 base ver cand
	case $so in
	ld-linux-aarch64.so.1 | libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1) echo libc6; return ;;
	libz.so.1) echo zlib1g; return ;;
	libgcc_s.so.1) echo libgcc-s1; return ;;
	libbz2.so.1.0) echo libbz2-1.0; return ;;
	libxenctrl.so.* | libxenguest.so.* | libxenlight.so.* | libxlutil.so.* | libxenstat.so.* | libxenvchan.so.*)
		echo "libxenmisc$XEN_VER"; return ;;
	esac
	base=${so%%.so.*} ver=${so#*.so.}
	ver=${ver%%.*}
	for cand in "$base$ver" "$base-$ver" "${base}t64$ver"; do
		cand=$(echo "$cand" | tr '_A-Z' '-a-z')
		if apt_ apt-cache show --no-all-versions "$cand" >/dev/null 2>&1; then
			echo "$cand"
			return
		fi
	done
}

# linux-image-arm64 is a meta package: fetch the image package it points at.
resolve_kernel() {
	{ apt_ apt-cache depends linux-image-arm64 2>/dev/null || true; } |
		awk '/Depends: linux-image-[0-9]/ && !found { print $2; found = 1 }'
}

# The packages of an earlier fetch (stamp) keep re-extraction offline. The kernel package is
# always the stamp's last line.
pkgs=()
if [ -f "$STAMP" ]; then
	mapfile -t pkgs <"$STAMP"
else
	kpkg=$(resolve_kernel)
	if [ -z "$kpkg" ]; then
		apt_update
		kpkg=$(resolve_kernel)
	fi
	[ -n "$kpkg" ] || die "cannot resolve linux-image-arm64 to a kernel image package"
	pkgs=("${PACKAGES[@]}" "$kpkg")
fi

# Follow NEEDED from ELF files $@ until every library they need is in the tree, fetching and
# extracting the packages of those missing; adds those packages to pkgs.
fetch_libs() {
	local round so pkg new
	for round in 1 2 3 4 5 6 7 8; do
		new=()
		while read -r so; do
			pkg=$(soname_package "$so")
			if [ -z "$pkg" ] && [ $updated -eq 0 ]; then
				apt_update
				pkg=$(soname_package "$so")
			fi
			[ -n "$pkg" ] || die "no arm64 package found for $so"
			case " ${pkgs[*]} " in
			*" $pkg "*) die "$so still missing after extracting $pkg" ;;
			esac
			case " ${new[*]:-} " in
			*" $pkg "*) ;;
			*) new+=("$pkg") ;;
			esac
		done < <(missing_libs "$@")
		[ ${#new[@]} -gt 0 ] || return 0
		say "libraries round $round: ${new[*]}"
		download "${new[@]}"
		extract "${new[@]}"
		# Keep the kernel package last in the stamp list.
		pkgs=("${pkgs[@]:0:${#pkgs[@]}-1}" "${new[@]}" "${pkgs[-1]}")
	done
	die "libraries of $* still missing after 8 rounds"
}

if [ $fetched -eq 1 ]; then
	# Only libraries for --libs-for files are missing: add them to the tree and the stamp.
	fetch_libs "${libs_for[@]}"
	printf '%s\n' "${pkgs[@]}" >"$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
	echo "$XA_CACHE"
	exit 0
fi

download "${pkgs[@]}"
rm -rf "$XA_ROOT"
mkdir -p "$XA_ROOT"
extract "${pkgs[@]}"

tool_files=()
for t in "${TOOLS[@]}"; do
	f=$XA_ROOT/usr/lib/xen-$XEN_VER/bin/$t
	[ -f "$f" ] || die "no $t in xen-utils-$XEN_VER"
	tool_files+=("$f")
done
fetch_libs "${tool_files[@]}" "${libs_for[@]}"

# Of the kernel's modules keep only Xen's (the rest is ~400 MB nobody here loads).
find "$XA_ROOT/lib/modules" -name '*.ko' ! -name '*xen*' -delete
find "$XA_ROOT/lib/modules" -depth -type d -empty -delete
# Unneeded bulk from libc6.
rm -rf "$XA_ROOT/usr/lib/$XA_MULTIARCH/gconv" "$XA_ROOT/usr/share/locale" "$XA_ROOT/usr/share/doc"
[ -f "$(xen_image)" ] || die "no $(xen_image) in the extracted packages"
[ -n "$(linux_vmlinuz)" ] || die "no vmlinuz in the extracted packages"
printf '%s\n' "${pkgs[@]}" >"$STAMP"
echo "$XA_CACHE"
