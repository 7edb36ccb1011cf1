# shellcheck shell=bash disable=SC2034
# Shared helpers for the nested-Xen test scripts. Source it; it defines no side effects
# beyond variables and functions.

XEN_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XEN_CACHE=${UNIPROF_CACHE:-/var/cache/uniprof}/xen
XEN_DEBS=$XEN_CACHE/debs
XEN_ROOT=$XEN_CACHE/root
XEN_VER=4.17
# The extracted package tree the linux_* helpers look in, and the copy_elf_libs of the dom0's
# architecture: tests/xen-arm64/lib.sh sets both to its own after sourcing this file.  Nothing
# here is redefined there: per-arch code has per-arch names.
XEN_PKG_ROOT=$XEN_ROOT
XEN_COPY_ELF_LIBS=x86_64_copy_elf_libs

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Install host tools we need (Debian package names) if their command is missing.
# Arguments: pairs of "command:package".
need_host_tools() {
	local pair missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing host tools: ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || die "need root to install ${missing[*]}"
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } ||
		die "could not install ${missing[*]}"
}

# Paths inside the extracted package tree. Valid after fetch.sh has run.
xen_hypervisor_gz() { echo "$XEN_ROOT/boot/xen-$XEN_VER-amd64.gz"; }
linux_vmlinuz() { ls "$XEN_PKG_ROOT"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1; }
linux_kver() { local v; v=$(linux_vmlinuz); echo "${v##*/vmlinuz-}"; }

# Library search path for ldd: the extracted Xen libraries win over any installed on the host.
xen_ld_path() { echo "$XEN_ROOT/usr/lib/x86_64-linux-gnu:$XEN_ROOT/lib/x86_64-linux-gnu"; }

is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

# copy_elf_libs ROOT FILE: copy the shared libraries (and the ELF interpreter) that ELF file FILE
# needs into image root ROOT, for the dom0's architecture ($XEN_COPY_ELF_LIBS).  Static and
# non-ELF files need nothing; dies on a missing library.
copy_elf_libs() { "$XEN_COPY_ELF_LIBS" "$@"; }

# copy_elf_libs for an x86_64 dom0: all under usr/lib/x86_64-linux-gnu (the image is
# /usr-merged), found by ldd with the extracted Xen libraries first.
x86_64_copy_elf_libs() {
	local root=$1 file=$2 out line lib
	is_elf "$file" || return 0
	out=$(LD_LIBRARY_PATH=$(xen_ld_path) ldd "$file" 2>&1) || {
		case $out in *"not a dynamic executable"*|*"statically linked"*) return 0 ;; esac
		die "ldd $file: $out"
	}
	case $out in *"not found"*) die "ldd $file: missing libraries: $(echo "$out" | grep 'not found' | tr -s ' \t' ' ')" ;; esac
	mkdir -p "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64"
	while read -r line; do
		case $line in
		*"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) continue ;;
		esac
		case $lib in
		*/ld-linux-x86-64.so.2) cp -L "$lib" "$root/usr/lib64/ld-linux-x86-64.so.2" ;;
		*) cp -L "$lib" "$root/usr/lib/x86_64-linux-gnu/${lib##*/}" ;;
		esac
	done <<<"$out"
}

# Lay out a /usr-merged busybox root in $1 (bin, sbin, lib, lib64 link into usr/) with the
# busybox binary $2 (default: the x86 one of the extracted packages).
make_busybox_root() {
	local root=$1 busybox=${2:-$XEN_ROOT/bin/busybox}
	mkdir -p "$root"/usr/bin "$root"/usr/lib "$root"/usr/lib64 "$root"/usr/sbin \
		"$root"/proc "$root"/sys "$root"/dev "$root"/run "$root"/tmp "$root"/etc "$root"/var "$root"/root
	ln -sfn usr/bin "$root/bin"
	ln -sfn usr/sbin "$root/sbin"
	ln -sfn usr/lib "$root/lib"
	ln -sfn usr/lib64 "$root/lib64"
	ln -sfn ../run "$root/var/run"
	cp "$busybox" "$root/usr/bin/busybox"
	ln -sfn busybox "$root/usr/bin/sh"
}

# Pack image root $1 into gzip'd newc cpio $2.
pack_cpio() {
	local root=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -print | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$out.tmp"
	mv "$out.tmp" "$out"
}

# run_qemu OUT TIMEOUT QEMU-COMMAND...: run a nested-Xen QEMU in the background, its serial
# console going to OUT/console.log (the command says -serial file:OUT/console.log) and its stderr
# to OUT/qemu.stderr.  QEMU is killed by its PID on every exit path, after TIMEOUT seconds, and
# 20 s after dom0's EXIT marker if dom0's reboot or power-off did not end it.  Then writes
# OUT/timings.txt and splits the console into OUT/sections (extract.py).  Returns the dom0 test's
# status ("=== EXIT rc ==="), 124 on timeout or without an EXIT marker, or QEMU's own status
# when QEMU failed.
_qemu_pid=
_qemu_stop() {
	if [ -n "$_qemu_pid" ] && kill -0 "$_qemu_pid" 2>/dev/null; then
		kill "$_qemu_pid" 2>/dev/null || true
		sleep 1
		if kill -0 "$_qemu_pid" 2>/dev/null; then kill -9 "$_qemu_pid" 2>/dev/null || true; fi
	fi
	if [ -n "$_qemu_pid" ]; then wait "$_qemu_pid" 2>/dev/null || true; fi
	_qemu_pid=
}
run_qemu() {
	local out=$1 timeout=$2 log=$1/console.log start now hwm total
	local peak_kib=0 t_dom0='' t_up='' t_run='' t_exit='' status='' qrc=0 rc=0
	shift 2
	: >"$log"
	trap _qemu_stop EXIT
	trap 'exit 130' INT TERM HUP
	start=$(date +%s.%N)
	"$@" </dev/null >"$out/qemu.stderr" 2>&1 &
	_qemu_pid=$!
	echo "$_qemu_pid" >"$out/qemu.pid"
	_elapsed() { echo "$(date +%s.%N) $start" | awk '{ printf "%.1f", $1 - $2 }'; }
	_mark() { grep -aq "$1" "$log"; }
	while kill -0 "$_qemu_pid" 2>/dev/null; do
		hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$_qemu_pid/status" 2>/dev/null || true)
		[ -n "$hwm" ] && [ "$hwm" -gt "$peak_kib" ] && peak_kib=$hwm
		[ -n "$t_dom0" ] || ! _mark 'Freed .* init memory' || t_dom0=$(_elapsed)
		[ -n "$t_up" ] || ! _mark 'dom0-init: toolstack up' || t_up=$(_elapsed)
		[ -n "$t_run" ] || ! _mark '=== BEGIN run ===' || t_run=$(_elapsed)
		[ -n "$t_exit" ] || ! _mark '=== EXIT [-0-9]* ===' || t_exit=$(_elapsed)
		now=$(_elapsed)
		if [ -n "$t_exit" ] && awk -v n="$now" -v e="$t_exit" 'BEGIN { exit !(n - e > 20) }'; then
			status=killed-after-exit
			break
		fi
		if awk -v n="$now" -v t="$timeout" 'BEGIN { exit !(n > t) }'; then
			say "timeout after ${timeout}s; killing QEMU (console: $log)"
			status=timeout
			break
		fi
		sleep 0.5
	done
	if [ -z "$status" ]; then
		wait "$_qemu_pid" || qrc=$?
		_qemu_pid=
		status=exited
	else
		_qemu_stop
	fi
	total=$(_elapsed)
	[ -n "$t_up" ] || ! _mark 'dom0-init: toolstack up' || t_up=$total
	[ -n "$t_run" ] || ! _mark '=== BEGIN run ===' || t_run=$total
	[ -n "$t_exit" ] || ! _mark '=== EXIT [-0-9]* ===' || t_exit=$total
	{
		echo "dom0_kernel_s ${t_dom0:-none}"
		echo "toolstack_up_s ${t_up:-none}"
		echo "boot_to_test_s ${t_run:-none}"
		echo "test_end_s ${t_exit:-none}"
		echo "total_s $total"
		echo "qemu_peak_rss_mib $((peak_kib / 1024))"
		echo "qemu_status $qrc"
		echo "status $status"
	} >"$out/timings.txt"
	python3 "$XEN_TESTS_DIR/extract.py" "$log" "$out/sections" || rc=$?
	if [ "$status" = timeout ]; then
		return 124
	fi
	if [ "$qrc" -ne 0 ]; then
		say "QEMU exited with status $qrc: $(head -c 500 "$out/qemu.stderr")"
		return "$qrc"
	fi
	[ $rc -ne 124 ] || say "no EXIT marker in $log"
	return "$rc"
}

# finish_dom0 ROOT OUT [HOST:/IMAGE/PATH]...: the architecture-independent rest of a dom0
# initramfs in ROOT: dom0/init.sh as /init, dom0/lib.sh as /test/lib.sh, the directories the
# toolstack wants, the caller's files with the libraries their ELF files need (copy_elf_libs,
# for the architecture $XEN_COPY_ELF_LIBS names); then packs ROOT into OUT.
finish_dom0() {
	local root=$1 out=$2 spec src dst f
	shift 2
	cp "$XEN_TESTS_DIR/dom0/init.sh" "$root/init"
	chmod 755 "$root/init"
	mkdir -p "$root/etc/xen" "$root/var/lib/xen" "$root/var/lib/xenstored" "$root/var/log/xen/console" \
		"$root/var/lock" "$root/test"
	cp "$XEN_TESTS_DIR/dom0/lib.sh" "$root/test/lib.sh"
	echo "$XEN_VER" >"$root/etc/xen-version"
	: >"$root/etc/xen/xl.conf"
	for spec in "$@"; do
		src=${spec%%:*} dst=${spec#*:}
		[ "$src" != "$spec" ] && [ -n "$src" ] && [ "${dst#/}" != "$dst" ] || die "--add wants HOST:/IMAGE/PATH, got '$spec'"
		[ -e "$src" ] || die "--add: $src does not exist"
		mkdir -p "$root$(dirname "$dst")"
		cp -a -L "$src" "$root$dst"
		if [ -d "$src" ]; then
			while IFS= read -r -d '' f; do copy_elf_libs "$root" "$f"; done < <(find -L "$src" -type f -print0)
		else
			copy_elf_libs "$root" "$src"
		fi
	done
	pack_cpio "$root" "$out"
	say "wrote $out ($(du -h "$out" | cut -f1))"
}
