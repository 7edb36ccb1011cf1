#!/bin/bash
# End-to-end smoke test of the arm64 nested Xen: fetch the packages, build the domU and dom0
# initramfs, boot Xen + dom0 in qemu-system-aarch64 (TCG) with dom0/smoke.sh as dom0's test, and
# check that the 2-vCPU PVH domU ran and was destroyed. Prints the timings and the wall time.
#
#   tests/xen-arm64/run-smoke.sh [--out DIR] [boot.sh options...]
#
# Results in DIR (default build/xen-arm64-smoke): console.log, sections/*.txt, timings.txt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

t0=$(date +%s.%N)
repo=$(cd "$XA_DIR/../.." && pwd)
out=$repo/build/xen-arm64-smoke boot_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	-h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) boot_args+=("$1"); shift ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$XA_DIR/fetch.sh" >/dev/null
"$XA_DIR/mkdomu.sh" -o "$out/domu.cpio.gz" 2>/dev/null
"$XA_DIR/mkdom0.sh" -o "$out/dom0.cpio.gz" --test "$XA_DIR/dom0/smoke.sh" \
	--add "$(linux_image):/guests/Image" --add "$out/domu.cpio.gz:/guests/domu.cpio.gz" 2>/dev/null
t1=$(date +%s.%N)

rc=0
"$XA_DIR/boot.sh" --initrd "$out/dom0.cpio.gz" --out "$out" "${boot_args[@]}" || rc=$?
t2=$(date +%s.%N)

s=$out/sections
check() { # FILE PATTERN WHAT
	if ! grep -Eq "$2" "$s/$1" 2>/dev/null; then
		say "FAIL: $3 (no /$2/ in $s/$1)"
		[ $rc -ne 0 ] || rc=1
	fi
}
check xl-info.txt '^xen_version +: 4\.17' "xl info"
check xl-list.txt '^smoke +[0-9]+ +128 +2 ' "domU smoke listed with 128 MiB, 2 vCPUs"
check run.txt 'smoke: domU up' "domU printed its banner"
check xl-vcpu-list.txt '^smoke +[0-9]+ +1 ' "xl vcpu-list shows vCPU 1 of smoke"
if grep -Eq '^smoke ' "$s/xl-destroy.txt" 2>/dev/null; then say "FAIL: smoke still listed after xl destroy"; rc=1; fi

sed 's/^/  /' "$out/timings.txt" >&2
grep -h 'smoke: ' "$s/run.txt" 2>/dev/null | sed 's/^/  /' >&2 || true
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "  build %.1f s, boot+test %.1f s, wall %.1f s\n", b - a, c - b, c - a }' >&2
if [ $rc -eq 0 ]; then say "PASS ($out)"; else say "FAILED, rc $rc ($out/console.log)"; fi
exit $rc
