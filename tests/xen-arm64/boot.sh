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

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/sections" "$out/exit" "$out/timings.txt"
initrd=$(cd "$(dirname "$initrd")" && pwd)/$(basename "$initrd")
case "$initrd$kernel$out" in *,*) die "no commas allowed in file names (QEMU -device syntax)" ;; esac
log=$out/console.log

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

rc=0
run_qemu "$out" "$timeout" qemu-system-aarch64 -nodefaults -display none -no-reboot \
	-machine "virt,virtualization=on,gic-version=$gic" -accel tcg,tb-size=128 -cpu "$cpu" \
	-smp "$smp" -m "$mem" \
	-serial "file:$log" \
	-kernel "$(xen_image)" -append "$xen_cmdline" \
	-device "guest-loader,addr=$(printf '0x%x' $kaddr),kernel=$kernel,bootargs=${dom0_cmdline//,/,,}" \
	-device "guest-loader,addr=$(printf '0x%x' "$iaddr"),initrd=$initrd" || rc=$?
say "run took $(awk '$1 == "total_s" { print $2 }' "$out/timings.txt") s, test exit $rc; sections in $out/sections"
exit "$rc"
