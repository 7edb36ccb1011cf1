#!/bin/bash
# Boot Xen 4.17 arm64 + an arm64 Linux dom0 in qemu-system-aarch64 (TCG, virt machine with EL2)
# in the background, wait for dom0's test to finish or a timeout, kill QEMU by its PID on every
# exit path, and split the serial console into the sections dom0 marked. Prints only errors.
#
#   tests/xen-arm64/boot.sh --initrd DOM0.cpio.gz --out DIR [options]
#
#   --initrd FILE      dom0 initramfs from mkdom0.sh (required)
#   --out DIR          results: DIR/console.log, DIR/sections/NAME.txt, DIR/exit, DIR/timings.txt
#   --timeout SEC      kill QEMU after SEC seconds (default 600)
#   --mem MIB          QEMU guest RAM (default 1024)
#   --smp N            QEMU vCPUs = Xen pCPUs (default 2)
#   --dom0-mem MIB     dom0 memory (default 384)
#   --dom0-vcpus N     dom0 vCPUs (default 2)
#   --cpu MODEL        QEMU CPU model (default cortex-a57)
#   --gic N            GIC version of the virt machine (default 3)
#   --kernel IMAGE     dom0 kernel (default: the cached Debian arm64 Image)
#   --xen-args ARGS    extra Xen command line
#   --dom0-args ARGS   extra dom0 kernel command line
#
# Xen is QEMU's -kernel (an arm64 Image itself); dom0's kernel and initramfs are loaded with
# `-device guest-loader`, which adds the multiboot,module nodes Xen looks for to the device tree.
# Exit status: 124 on timeout (or QEMU gone without an EXIT marker), QEMU's own status when it
# failed, else the dom0 test's (from "=== EXIT rc ==="; 125 when dom0 had no test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

initrd='' out='' timeout=600 mem=1024 smp=2 dom0_mem=384 dom0_vcpus=2 cpu=cortex-a57 gic=3
kernel='' xen_args='' dom0_args=''
while [ $# -gt 0 ]; do
	case $1 in
	--initrd) initrd=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--cpu) cpu=$2; shift 2 ;;
	--gic) gic=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--dom0-mem) dom0_mem=$2; shift 2 ;;
	--dom0-vcpus) dom0_vcpus=$2; shift 2 ;;
	--xen-args) xen_args=$2; shift 2 ;;
	--dom0-args) dom0_args=$2; shift 2 ;;
	-h|--help) sed -n '2,24s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -f "$initrd" ] || die "missing --initrd FILE"
[ -n "$out" ] || die "missing --out DIR"
need_host_tools qemu-system-aarch64:qemu-system-arm python3:python3
"$XA_DIR/fetch.sh" >/dev/null
[ -n "$kernel" ] || kernel=$(linux_image) || die "no dom0 kernel in the cache"
[ -f "$kernel" ] || die "no kernel $kernel"
extract_py=$XA_DIR/../xen/extract.py
[ -f "$extract_py" ] || die "missing $extract_py"

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/sections" "$out/exit" "$out/timings.txt"
initrd=$(cd "$(dirname "$initrd")" && pwd)/$(basename "$initrd")
case "$initrd$kernel$out" in *,*) die "no commas allowed in file names (QEMU -device syntax)" ;; esac
log=$out/console.log
: >"$log"

# Module load addresses in guest RAM (QEMU virt: RAM from 0x40000000). QEMU puts Xen and the
# device tree at the bottom; the modules go from 0x42000000 up, 2 MiB aligned. Xen copies dom0's
# kernel and initramfs into dom0's memory, and relocates itself to the top of RAM.
ram_base=$((0x40000000))
align2m() { echo $(( ($1 + 0x1fffff) & ~0x1fffff )); }
kaddr=$((0x42000000))
iaddr=$(align2m $((kaddr + $(stat -c %s "$kernel") + 0x200000)))
iend=$((iaddr + $(stat -c %s "$initrd")))
[ $iend -lt $((ram_base + mem * 1024 * 1024 - 256 * 1024 * 1024)) ] ||
	die "dom0 kernel + initramfs too big for --mem $mem"

xen_cmdline="bootscrub=0 console=dtuart dtuart=/pl011@9000000 dom0_mem=${dom0_mem}M"
xen_cmdline+=" dom0_max_vcpus=$dom0_vcpus loglvl=all guest_loglvl=all $xen_args"
dom0_cmdline="console=hvc0 rdinit=/init loglevel=4 $dom0_args"

qpid=
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		sleep 1
		if kill -0 "$qpid" 2>/dev/null; then kill -9 "$qpid" 2>/dev/null || true; fi
	fi
	if [ -n "$qpid" ]; then wait "$qpid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

start=$(date +%s.%N)
qemu-system-aarch64 -nodefaults -display none -no-reboot \
	-machine "virt,virtualization=on,gic-version=$gic" -accel tcg,tb-size=128 -cpu "$cpu" \
	-smp "$smp" -m "$mem" \
	-serial "file:$log" \
	-kernel "$(xen_image)" -append "$xen_cmdline" \
	-device "guest-loader,addr=$(printf '0x%x' $kaddr),kernel=$kernel,bootargs=${dom0_cmdline//,/,,}" \
	-device "guest-loader,addr=$(printf '0x%x' "$iaddr"),initrd=$initrd" \
	</dev/null >"$out/qemu.stderr" 2>&1 &
qpid=$!
echo "$qpid" >"$out/qemu.pid"

elapsed() { echo "$(date +%s.%N) $start" | awk '{ printf "%.1f", $1 - $2 }'; }
mark() { grep -aq "$1" "$log"; }
peak_kib=0 t_dom0='' t_up='' t_run='' t_exit='' status=''
while kill -0 "$qpid" 2>/dev/null; do
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$qpid/status" 2>/dev/null || true)
	[ -n "$hwm" ] && [ "$hwm" -gt "$peak_kib" ] && peak_kib=$hwm
	[ -n "$t_dom0" ] || ! mark 'Freed .* init memory' || t_dom0=$(elapsed)
	[ -n "$t_up" ] || ! mark 'dom0-init: toolstack up' || t_up=$(elapsed)
	[ -n "$t_run" ] || ! mark '=== BEGIN run ===' || t_run=$(elapsed)
	[ -n "$t_exit" ] || ! mark '=== EXIT [-0-9]* ===' || t_exit=$(elapsed)
	now=$(elapsed)
	# After the EXIT marker dom0 powers off, which ends QEMU; give it a little while.
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
qrc=0
if [ -z "$status" ]; then
	wait "$qpid" || qrc=$?
	qpid=
	status=exited
else
	cleanup
	qpid=
fi
total=$(elapsed)
[ -n "$t_up" ] || ! mark 'dom0-init: toolstack up' || t_up=$total
[ -n "$t_run" ] || ! mark '=== BEGIN run ===' || t_run=$total
[ -n "$t_exit" ] || ! mark '=== EXIT [-0-9]* ===' || t_exit=$total

{
	echo "xen_to_dom0_kernel_s ${t_dom0:-none}"
	echo "toolstack_up_s ${t_up:-none}"
	echo "boot_to_test_s ${t_run:-none}"
	echo "test_end_s ${t_exit:-none}"
	echo "total_s $total"
	echo "qemu_peak_rss_mib $((peak_kib / 1024))"
	echo "qemu_status $qrc"
	echo "status $status"
} >"$out/timings.txt"

rc=0
python3 "$extract_py" "$log" "$out/sections" || rc=$?
if [ "$status" = timeout ]; then
	exit 124
fi
if [ "$qrc" -ne 0 ]; then
	say "QEMU exited with status $qrc: $(head -c 500 "$out/qemu.stderr")"
	exit "$qrc"
fi
[ $rc -ne 124 ] || say "no EXIT marker in $log"
exit "$rc"
