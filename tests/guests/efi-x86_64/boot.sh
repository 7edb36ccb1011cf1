#!/bin/sh
# Boots the x86_64 EFI test guest under OVMF and QEMU TCG, in the foreground.
#
#   boot.sh O SERIAL_LOG [extra qemu arguments...]
#
# O is the folder `make O=...` built into (it must hold esp/EFI/BOOT/BOOTX64.EFI).
# The firmware's variable store is copied afresh to $O/OVMF_VARS.fd on every boot,
# so every boot starts from the same state; two guests booted at once need two O.
# QEMU replaces this shell (exec), so the caller's $! is QEMU's pid.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 BUILD_DIR SERIAL_LOG [qemu arguments...]" >&2
	exit 2
fi
o=$(cd "$1" && pwd)
log=$2
shift 2

ovmf_code=/usr/share/OVMF/OVMF_CODE.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS.fd
for f in "$ovmf_code" "$ovmf_vars" "$o/esp/EFI/BOOT/BOOTX64.EFI"; do
	if [ ! -r "$f" ]; then
		echo "$0: $f is missing (apt-get install ovmf; make O=$o)" >&2
		exit 1
	fi
done
cp "$ovmf_vars" "$o/OVMF_VARS.fd"

# The ESP is a read-only virtual FAT disk made from $o/esp (virtio-blk, because
# QEMU's IDE/AHCI disks refuse a read-only drive); with fresh variables
# OVMF's boot manager finds \EFI\BOOT\BOOTX64.EFI on it and starts it unattended.
exec qemu-system-x86_64 -accel tcg -M q35 -m 256M -smp 1 \
	-drive if=pflash,format=raw,readonly=on,file="$ovmf_code" \
	-drive if=pflash,format=raw,file="$o/OVMF_VARS.fd" \
	-drive if=none,id=esp,format=raw,file=fat:"$o/esp",readonly=on \
	-device virtio-blk-pci,drive=esp \
	-display none -serial file:"$log" -net none -monitor none "$@"
