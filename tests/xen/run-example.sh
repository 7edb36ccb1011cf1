#!/bin/bash
# End-to-end example: build the Xen PV test guest and a Linux PV domU, boot Xen + dom0 under QEMU
# TCG, create both domains, sample them with xenctx, and check the PV guest's stacks against
# tests/guests/xen-pv/expected.txt.
#
#   tests/xen/run-example.sh [--out DIR] [--no-linux] [boot.sh options...]
#
# Results land in DIR (default build/xen-example): console.log, sections/*.txt, timings.txt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

repo=$(cd "$XEN_TESTS_DIR/../.." && pwd)
out=$repo/build/xen-example linux=1 boot_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--no-linux) linux=0; shift ;;
	-h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) boot_args+=("$1"); shift ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
need_host_tools make:make gcc:gcc nm:binutils
"$XEN_TESTS_DIR/fetch.sh" >/dev/null

guest_dir=$repo/tests/guests/xen-pv
make -s -C "$guest_dir" O="$out/xen-pv"
adds=(--add "$out/xen-pv/xen-pv.elf:/guests/xen-pv.elf"
	--add "$out/xen-pv/xen-pv.syms:/guests/xen-pv.syms"
	--add "$guest_dir/expected.txt:/guests/expected.txt")
if [ $linux -eq 1 ]; then
	"$XEN_TESTS_DIR/mklinux-domu.sh" -o "$out/linux-domu.cpio.gz"
	adds+=(--add "$(linux_vmlinuz):/guests/linux/vmlinuz"
		--add "$out/linux-domu.cpio.gz:/guests/linux/initrd.cpio.gz")
fi
"$XEN_TESTS_DIR/mkdom0.sh" -o "$out/dom0.cpio.gz" --test "$XEN_TESTS_DIR/dom0/example-xenctx.sh" "${adds[@]}"

rc=0
"$XEN_TESTS_DIR/boot.sh" --initrd "$out/dom0.cpio.gz" --out "$out" "${boot_args[@]}" || rc=$?
cat "$out/timings.txt" >&2
[ -f "$out/sections/xenctx-timing.txt" ] && cat "$out/sections/xenctx-timing.txt" >&2
python3 "$XEN_TESTS_DIR/check-xenctx.py" "$guest_dir/expected.txt" "$out/sections" || rc=1
[ $rc -eq 0 ] || rc=1
exit $rc
