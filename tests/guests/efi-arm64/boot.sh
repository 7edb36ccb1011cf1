#!/bin/sh
# Boots the arm64 EFI test guest under QEMU's UEFI firmware (ArmVirtQemu) and
# QEMU TCG, in the foreground.
#
#   boot.sh O SERIAL_LOG [extra qemu arguments...]
#
# O is the folder `make O=...` built into (it must hold esp/EFI/BOOT/BOOTAA64.EFI).
# QEMU replaces this shell (exec), so the caller's $! is QEMU's pid.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 BUILD_DIR SERIAL_LOG [qemu arguments...]" >&2
	exit 2
fi
o=$(cd "$1" && pwd)
log=$2
shift 2

firmware=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
for f in "$firmware" "$o/esp/EFI/BOOT/BOOTAA64.EFI"; do
	if [ ! -r "$f" ]; then
		echo "$0: $f is missing (apt-get install qemu-efi-aarch64; make O=$o)" >&2
		exit 1
	fi
done

# -bios: no variable store, so every boot starts from the same (default) state
# and the boot manager falls back to \EFI\BOOT\BOOTAA64.EFI on the virtio disk.
exec qemu-system-aarch64 -accel tcg -M virt -cpu cortex-a57 -m 256M -smp 1 \
	-bios "$firmware" \
	-drive if=none,id=esp,format=raw,file=fat:"$o/esp",readonly=on \
	-device virtio-blk-pci,drive=esp \
	-display none -serial file:"$log" -net none -monitor none "$@"
