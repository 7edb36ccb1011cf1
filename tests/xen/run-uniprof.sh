#!/bin/bash
# Boot Xen + dom0 under QEMU TCG once and run tests/xen/dom0/uniprof-test.sh there: `uniprof -d`
# against our 2-vCPU PV test guest (by id and by name, refused inputs, a domain destroyed while
# sampled) and against a Linux PV domU.  The checks are on the host (tests/integration/test_xen.py
# reads the sections); this script only builds, boots and collects.
#
#   tests/xen/run-uniprof.sh [--out DIR] [--uniprof BIN] [--no-linux] [--bench] [--add HOST:IMAGE]...
#                            [boot.sh options...]
#
#   --out DIR       results (default build/xen-uniprof): sections/*.txt, console.log, timings.txt
#   --uniprof BIN   the uniprof to test (default build/uniprof; dynamically linked is fine)
#   --no-linux      skip the Linux PV domU
#   --bench         also time xenctx and uniprof per trace (sections bench-*)
#   --add HOST:IMAGE  one more file for dom0 (mkdom0.sh --add)
#
# Exit status: boot.sh's (the dom0 script always exits 0 when it gets to its end; 124 = timeout).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$(cd "$XEN_TESTS_DIR/../.." && pwd)
out=$repo/build/xen-uniprof uniprof=$repo/build/uniprof linux=1 bench=0 boot_args=() extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--uniprof) uniprof=$2; shift 2 ;;
	--no-linux) linux=0; shift ;;
	--bench) bench=1; shift ;;
	--add) extra+=(--add "$2"); shift 2 ;;
	-h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) boot_args+=("$1"); shift ;;
	esac
done
[ -x "$uniprof" ] || die "no uniprof binary at $uniprof (run make)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
need_host_tools make:make gcc:gcc nm:binutils
"$XEN_TESTS_DIR/fetch.sh" >/dev/null

guest_dir=$repo/tests/guests/xen-pv
make -s -C "$guest_dir" O="$out/xen-pv"
# Our x86_64 KVM test guest boots through the PVH entry point: Xen runs it as a PVH domU.
make -s -C "$repo/tests/guests/x86_64" O="$out/x86_64"
# The same guest built without frame pointers: walked through its .eh_frame (--unwind cfi).
make -s -C "$repo/tests/guests/x86_64" O="$out/x86_64-nofp" NOFP=1
adds=(--add "$uniprof:/usr/bin/uniprof"
	--add "$out/x86_64/guest.elf:/guests/pvh.elf"
	--add "$out/x86_64-nofp/guest.elf:/guests/pvh-nofp.elf"
	--add "$out/xen-pv/xen-pv.elf:/guests/xen-pv.elf"
	--add "$out/xen-pv/xen-pv.syms:/guests/xen-pv.syms")
if [ $linux -eq 1 ]; then
	"$XEN_TESTS_DIR/mklinux-domu.sh" -o "$out/linux-domu.cpio.gz"
	adds+=(--add "$(linux_vmlinuz):/guests/linux/vmlinuz"
		--add "$out/linux-domu.cpio.gz:/guests/linux/initrd.cpio.gz")
fi
adds+=("${extra[@]}")
if [ $bench -eq 1 ]; then
	: >"$out/bench-flag"
	# xenctx -s reads System.map format: the PVH guest's, for its bench round.
	nm -n "$out/x86_64/guest.elf" >"$out/x86_64/guest.syms"
	adds+=(--add "$out/bench-flag:/test/bench" --add "$out/x86_64/guest.syms:/guests/pvh.syms")
fi
"$XEN_TESTS_DIR/mkdom0.sh" -o "$out/dom0.cpio.gz" --test "$XEN_TESTS_DIR/dom0/uniprof-test.sh" "${adds[@]}"
exec "$XEN_TESTS_DIR/boot.sh" --initrd "$out/dom0.cpio.gz" --out "$out" "${boot_args[@]}"
