#!/bin/bash
# Boot Xen + dom0 under QEMU TCG in the background, wait for dom0's test to finish (or a timeout),
# kill QEMU by its PID on every exit path, and split the serial console into the marked sections.
#
#   tests/xen/boot.sh --initrd DOM0.cpio.gz --out DIR [options]
#
#   --initrd FILE      dom0 initramfs from mkdom0.sh (required)
#   --out DIR          results: DIR/console.log, DIR/sections/NAME.txt, DIR/exit, DIR/timings.txt
#   --timeout SEC      kill QEMU after SEC seconds (default 600)
#   --mem MIB          QEMU guest RAM (default 1024)
#   --smp N            QEMU vCPUs = Xen pCPUs (default 2)
#   --dom0-mem MIB     dom0 memory (default 384)
#   --dom0-vcpus N     dom0 vCPUs (default 1)
#   --cpu MODEL        QEMU CPU model (default qemu64,+svm,+npt: HVM/PVH guests work)
#   --xen-args ARGS    extra Xen command line
#   --dom0-args ARGS   extra dom0 kernel command line
#
# Exit status: the test's own (from "=== EXIT rc ==="), 124 on timeout or a run that died without
# an EXIT marker.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

initrd='' out='' timeout=600 mem=1024 smp=2 dom0_mem=384 dom0_vcpus=1 xen_args='' dom0_args=''
# AMD SVM with nested paging, which TCG emulates: Xen can then run HVM and PVH guests.
cpu=qemu64,+svm,+npt
while [ $# -gt 0 ]; do
	case $1 in
	--initrd) initrd=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--cpu) cpu=$2; shift 2 ;;
	--dom0-mem) dom0_mem=$2; shift 2 ;;
	--dom0-vcpus) dom0_vcpus=$2; shift 2 ;;
	--xen-args) xen_args=$2; shift 2 ;;
	--dom0-args) dom0_args=$2; shift 2 ;;
	-h|--help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done
[ -f "$initrd" ] || die "missing --initrd FILE"
[ -n "$out" ] || die "missing --out DIR"
need_host_tools qemu-system-x86_64:qemu-system-x86 python3:python3
"$XEN_TESTS_DIR/fetch.sh" >/dev/null

# QEMU's multiboot loader wants the hypervisor as a plain ELF.
xen_elf=$XEN_CACHE/xen-$XEN_VER-amd64.elf
if [ ! -s "$xen_elf" ] || [ "$(xen_hypervisor_gz)" -nt "$xen_elf" ]; then
	gunzip -c "$(xen_hypervisor_gz)" >"$xen_elf.tmp" && mv "$xen_elf.tmp" "$xen_elf"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/sections" "$out/exit" "$out/timings.txt"
# Module paths go into -initrd's comma-separated list: link them under names without commas.
mkdir -p "$out/boot"
ln -sf "$(linux_vmlinuz)" "$out/boot/vmlinuz"
ln -sf "$(cd "$(dirname "$initrd")" && pwd)/$(basename "$initrd")" "$out/boot/dom0.cpio.gz"
log=$out/console.log

xen_cmdline="bootscrub=0 console=com1 com1=115200,8n1 dom0_mem=${dom0_mem}M,max:${dom0_mem}M"
xen_cmdline+=" dom0_max_vcpus=$dom0_vcpus loglvl=all guest_loglvl=all $xen_args"
dom0_cmdline="console=hvc0 earlyprintk=xen loglevel=4 $dom0_args"
# QEMU splits -initrd at commas: keep them out of the module list.
case "$out$dom0_cmdline" in *,*) die "no commas allowed in --out or --dom0-args" ;; esac
case "$out" in *" "*) die "no spaces allowed in --out" ;; esac

rc=0
run_qemu "$out" "$timeout" qemu-system-x86_64 -nodefaults -display none -no-reboot \
	-machine pc -accel tcg,tb-size=128 -cpu "$cpu" -smp "$smp" -m "$mem" \
	-serial "file:$log" \
	-kernel "$xen_elf" -append "$xen_cmdline" \
	-initrd "$out/boot/vmlinuz $dom0_cmdline,$out/boot/dom0.cpio.gz" || rc=$?
say "run took $(awk '$1 == "total_s" { print $2 }' "$out/timings.txt") s, test exit $rc; sections in $out/sections"
exit "$rc"
