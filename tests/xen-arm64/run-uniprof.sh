#!/bin/bash
# Run `uniprof -d` in the arm64 nested Xen: build our arm64 test guest as a domU Image
# (tests/guests/arm64, XEN=1), prepare Debian's arm64 Linux (tests/guests/linux/prepare.sh
# --arch arm64) as a second domU, a dom0 initramfs with the arm64 uniprof and
# tests/xen/dom0/uniprof-test-arm64.sh as its test, and boot it once.  The dom0 script's
# sections land in OUT/sections (checked by tests/integration/test_xen_arm64.py).
#
#   tests/xen-arm64/run-uniprof.sh [--out DIR] [--uniprof BIN] [--bench] [--add HOST:IMAGE]...
#                                  [boot.sh options...]
#
# --bench also times xenctx and uniprof per trace (sections bench-arm64-*, bench/xen_trace_cost.sh).
#
# BIN defaults to build/arm64/uniprof (make cross-arm64).  Xen gets one pCPU and dom0 one vCPU
# unless boot.sh options say otherwise: as in the x86 test, a pause then never waits for another
# QEMU thread to be scheduled on a busy host.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$(cd "$XA_DIR/../.." && pwd)
out=$repo/build/xen-arm64-uniprof uniprof=$repo/build/arm64/uniprof boot_args=(--smp 1 --dom0-vcpus 1)
bench=0 extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--uniprof) uniprof=$2; shift 2 ;;
	--bench) bench=1; shift ;;
	--add) extra+=(--add "$2"); shift 2 ;;
	--no-linux) shift ;;  # accepted for tests/integration/xenlib.py: no Linux domU here
	-h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) boot_args+=("$1"); shift ;;
	esac
done
[ -x "$uniprof" ] || die "no $uniprof: run make cross-arm64"
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$XA_DIR/fetch.sh" >/dev/null
make -s -C "$repo/tests/guests/arm64" O="$out/guest" XEN=1
# The same guest built without frame pointers: walked through its .eh_frame (--unwind cfi).
make -s -C "$repo/tests/guests/arm64" O="$out/guest-nofp" XEN=1 NOFP=1
if [ $bench -eq 1 ]; then
	: >"$out/bench-flag"
	aarch64-linux-gnu-nm -n "$out/guest/guest.elf" >"$out/guest/guest.syms"
	extra+=(--add "$out/bench-flag:/test/bench" --add "$out/guest/guest.syms:/guests/arm64.syms")
fi
# Debian's arm64 Linux as a domU too, with the kallsyms of a nokaslr boot (the same kernel is
# not randomized as a domU: no seed).
linux=$("$repo/tests/guests/linux/prepare.sh" --arch arm64)
linux_initrd=$(echo "$linux" | sed -n 's/^initrd=//p')
linux_map=$(echo "$linux" | sed -n 's/^system_map=//p')
extra+=(--add "$(linux_image):/guests/linux-arm64.img" --add "$linux_initrd:/guests/linux-arm64.cpio.gz"
	--add "$linux_map:/guests/linux-arm64.kallsyms")
"$XA_DIR/mkdom0.sh" -o "$out/dom0.cpio.gz" --test "$repo/tests/xen/dom0/uniprof-test-arm64.sh" \
	--add "$uniprof:/usr/bin/uniprof" \
	--add "$out/guest/guest.img:/guests/arm64.img" --add "$out/guest/guest.elf:/guests/arm64.elf" \
	--add "$out/guest-nofp/guest.img:/guests/arm64-nofp.img" \
	--add "$out/guest-nofp/guest.elf:/guests/arm64-nofp.elf" \
	"${extra[@]}"
exec "$XA_DIR/boot.sh" --initrd "$out/dom0.cpio.gz" --out "$out" "${boot_args[@]}"
