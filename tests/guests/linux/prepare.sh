#!/bin/bash
# Prepare the Linux test guest: Debian's kernel (the one tests/xen/fetch.sh caches, or with
# --arch arm64 the one tests/xen-arm64/fetch.sh caches), a busybox initramfs with init.sh as
# /init, and a System.map for that kernel made from its own /proc/kallsyms (Debian ships only a
# placeholder System.map).
#
#   tests/guests/linux/prepare.sh [--arch x86_64|arm64] [--out DIR] [--force] [--timeout SEC] [--perf]
#
#   --arch ARCH    the guest's architecture (default x86_64)
#   --out DIR      where to put vmlinuz (a link into the cache), initramfs.cpio.gz and System.map
#                  (default: build/guests/linux, or build/guests/linux-arm64)
#   --force        make the System.map again even if the cache has one for this kernel
#   --timeout SEC  give up on the kallsyms boot after SEC seconds (default 300)
#   --perf         also initramfs-perf.cpio.gz: the same with Debian's linux-perf (the host's,
#                  installed if missing), for uniprof.perf=SEC (init.sh); prints perf_initrd=PATH
#
# The System.map is cached in $UNIPROF_CACHE/linux/<kernel version>/ (default
# /var/cache/uniprof); making it boots the kernel once under QEMU TCG with
# "nokaslr uniprof.mode=kallsyms", which takes 13-21 s (x86_64). On success prints, one per line:
#   kernel=PATH  initrd=PATH  system_map=PATH  version=KERNEL_VERSION
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
# shellcheck source=../../xen/lib.sh
. "$REPO/tests/xen/lib.sh"

arch=x86_64 out='' force=0 timeout=300 perf=0
while [ $# -gt 0 ]; do
	case $1 in
	--arch) arch=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--force) force=1; shift ;;
	--perf) perf=1; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	-h|--help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
# Per architecture: QEMU, its machine, the console, where the dump goes, the kernel and where
# nokaslr puts _text.
case $arch in
x86_64)
	[ -n "$out" ] || out=$REPO/build/guests/linux
	qemu=(qemu-system-x86_64 -accel tcg -m 512M)
	qemu_pkg=qemu-system-x86
	console=ttyS0
	# ttyS0 is the console (markers, counts); ttyS1 carries the dump alone, in raw mode.
	dump_serial=(-serial "file:@WORK@/console.log" -serial "file:@WORK@/kallsyms.raw")
	dump_dev=ttyS1
	link_sym=_text link_text=ffffffff81000000
	need_sym=linux_banner
	cc=gcc cc_pkg=gcc
	"$REPO/tests/xen/fetch.sh" >/dev/null
	vmlinuz=$(linux_vmlinuz)
	busybox=''
	;;
arm64)
	[ -n "$out" ] || out=$REPO/build/guests/linux-arm64
	qemu=(qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg -m 512M)
	qemu_pkg=qemu-system-arm
	console=ttyAMA0
	# virt has one UART: the dump shares it with the console, between markers.
	dump_serial=(-serial "file:@WORK@/kallsyms.raw")
	dump_dev=ttyAMA0
	# kallsyms starts at _stext; the image header below it (_text) is not listed.
	link_sym=_stext link_text=ffff800008010000
	need_sym=vectors
	cc=aarch64-linux-gnu-gcc cc_pkg=gcc-aarch64-linux-gnu
	# shellcheck source=../../xen-arm64/lib.sh
	. "$REPO/tests/xen-arm64/lib.sh"
	"$REPO/tests/xen-arm64/fetch.sh" >/dev/null
	vmlinuz=$(linux_image)
	busybox=$XA_ROOT/bin/busybox
	;;
*) die "--arch: x86_64 or arm64, not $arch" ;;
esac
need_host_tools cpio:cpio gzip:gzip "${qemu[0]}:$qemu_pkg" md5sum:coreutils "$cc:$cc_pkg"

kver=$(linux_kver)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The initramfs: busybox with every applet linked (init.sh needs no --install), init.sh as /init.
work=$(mktemp -d "${TMPDIR:-/tmp}/uniprof-linux.XXXXXX")
qemu_pid=''
cleanup() {
	if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
make_busybox_root "$work/root" $busybox
# The applets are linked at boot (init.sh) when this busybox cannot run here.
if "$work/root/usr/bin/busybox" true 2>/dev/null; then
	for applet in $("$work/root/usr/bin/busybox" --list); do
		[ -e "$work/root/usr/bin/$applet" ] || ln -s busybox "$work/root/usr/bin/$applet"
	done
fi
install -m 755 "$HERE/init.sh" "$work/root/init"
# The system-call workloads (getpid, pingpong): no C library, so nothing more to copy.
$cc -std=gnu11 -O2 -static -nostdlib -ffreestanding -fno-stack-protector -fno-pic -no-pie \
	-Wl,--build-id=none -o "$work/root/usr/bin/workload" "$HERE/workload.c" ||
	die "cannot build workload.c with $cc"
# The test module (module/uniprof_test.c, x86_64): built against Debian's headers for this kernel
# (linux-headers-$kver, installed if missing), cached per kernel and source.
if [ "$arch" = x86_64 ]; then
	mcache=${UNIPROF_CACHE:-/var/cache/uniprof}/linux/$kver/module-$(cat "$HERE/module/uniprof_test.c" "$HERE/module/Kbuild" | sha256sum | cut -c1-16)
	if [ ! -f "$mcache/uniprof_test.ko" ]; then
		need_host_tools make:make
		# (need_host_tools installs a package when a command is missing: none is ever called so.)
		[ -d "/usr/src/linux-headers-$kver" ] || need_host_tools "no-such-command:linux-headers-$kver"
		mkdir -p "$work/module" "$mcache"
		cp "$HERE/module/uniprof_test.c" "$HERE/module/Kbuild" "$work/module/"
		make -s -C "/usr/src/linux-headers-$kver" M="$work/module" modules >"$work/module.log" 2>&1 ||
			die "building the test module failed: $(tail -n 5 "$work/module.log")"
		cp "$work/module/uniprof_test.ko" "$mcache/uniprof_test.ko"
	fi
	mkdir -p "$work/root/usr/lib/modules"
	cp "$mcache/uniprof_test.ko" "$work/root/usr/lib/modules/uniprof_test.ko"
fi
pack_cpio "$work/root" "$out/initramfs.cpio.gz"
if [ $perf -eq 1 ]; then
	[ "$arch" = x86_64 ] || die "--perf is for the x86_64 guest only"
	# Debian's linux-perf (the host's: installed here if missing, with the libraries it needs,
	# which are copied as the Xen harness copies dom0's): a second initramfs.
	need_host_tools perf:linux-perf ldd:libc-bin
	perf_bin=$(command -v perf)
	is_elf "$perf_bin" || die "$perf_bin is no ELF program (Debian's linux-perf installs one)"
	install -m 755 "$perf_bin" "$work/root/usr/bin/perf"
	x86_64_copy_elf_libs "$work/root" "$perf_bin"
	pack_cpio "$work/root" "$out/initramfs-perf.cpio.gz"
fi
ln -sfn "$vmlinuz" "$out/vmlinuz"

# The System.map, cached per kernel version and checked against the vmlinuz it came from.
cache=${UNIPROF_CACHE:-/var/cache/uniprof}/linux/$kver
sum=$(sha256sum "$vmlinuz" | cut -d' ' -f1)
if [ $force -eq 1 ] || [ ! -s "$cache/System.map" ] || [ "$(cat "$cache/vmlinuz.sha256" 2>/dev/null)" != "$sum" ]; then
	say "making the System.map of $kver (one boot with nokaslr uniprof.mode=kallsyms)"
	start=$(date +%s.%N)
	"${qemu[@]}" -smp 1 -display none -nodefaults -no-user-config \
		-no-reboot -kernel "$vmlinuz" -initrd "$out/initramfs.cpio.gz" \
		-append "console=$console loglevel=4 panic=-1 nokaslr uniprof.mode=kallsyms uniprof.dump=$dump_dev" \
		"${dump_serial[@]//@WORK@/$work}" \
		</dev/null >/dev/null 2>"$work/qemu.err" &
	qemu_pid=$!
	deadline=$((SECONDS + timeout))
	while kill -0 "$qemu_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	if kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=''
		tail -n 20 "$work/console.log" "$work/kallsyms.raw" >&2 2>/dev/null || true
		die "the kallsyms boot did not finish within $timeout s"
	fi
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=''
	elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	sed -n '/^=== BEGIN kallsyms ===$/,/^=== END kallsyms ===$/p' "$work/kallsyms.raw" |
		sed '1d;$d' >"$work/kallsyms"
	[ -f "$work/console.log" ] || cp "$work/kallsyms.raw" "$work/console.log"
	read -r lines md5 < <(sed -n 's/^uniprof-guest: kallsyms lines \([0-9]*\) md5 \([0-9a-f]*\).*/\1 \2/p' \
		"$work/console.log" | tr -d '\r')
	[ -n "${md5:-}" ] || { tail -n 20 "$work/console.log" >&2; cat "$work/qemu.err" >&2; die "the kallsyms boot printed no summary"; }
	got=$(wc -l <"$work/kallsyms")
	[ "$got" = "$lines" ] || die "the kallsyms dump arrived damaged: $got of $lines lines"
	[ "$(md5sum <"$work/kallsyms" | cut -d' ' -f1)" = "$md5" ] || die "the kallsyms dump arrived damaged: md5 differs"
	# Module symbols ("addr type name [module]", also [bpf] and [__builtin__ftrace]) are dropped.
	awk 'NF == 3 && $1 ~ /^[0-9a-f]+$/ && length($1) == 16' "$work/kallsyms" |
		LC_ALL=C sort -s -k1,1 >"$work/System.map"
	grep -q "^$link_text T $link_sym\$" "$work/System.map" ||
		die "$link_sym is not at $link_text in the dump ($(grep -m1 " $link_sym\$" "$work/System.map" || echo "no $link_sym")): was nokaslr ignored?"
	grep -q " $need_sym\$" "$work/System.map" || die "no $need_sym in the dump"
	mkdir -p "$cache"
	mv "$work/System.map" "$cache/System.map.tmp"
	mv "$cache/System.map.tmp" "$cache/System.map"
	echo "$sum" >"$cache/vmlinuz.sha256"
	say "System.map: $(wc -l <"$cache/System.map") symbols of $lines in /proc/kallsyms, kallsyms boot took $elapsed s"
fi
cp "$cache/System.map" "$out/System.map"

echo "kernel=$out/vmlinuz"
echo "initrd=$out/initramfs.cpio.gz"
[ $perf -eq 0 ] || echo "perf_initrd=$out/initramfs-perf.cpio.gz"
echo "system_map=$out/System.map"
echo "version=$kver"
