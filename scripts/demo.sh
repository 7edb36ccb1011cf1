#!/bin/sh
# Boot the bundled x86_64 demo guest under QEMU TCG, profile it for a few seconds with
# uniprof --qmp, and write demo.folded and demo.svg (a flame graph) in the current directory.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
kernel=$BUILD/guests/x86_64/guest.elf
dir=$(mktemp -d /tmp/uniprof-demo.XXXXXX)
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

qemu-system-x86_64 -accel tcg -smp 2 -m 64M -display none -nodefaults -no-user-config \
	-kernel "$kernel" -serial "file:$dir/serial.log" \
	-qmp "unix:$dir/qmp.sock,server=on,wait=off" &
qemu_pid=$!

# Wait until both vCPUs run their workloads.
i=0
until grep -q "uniprof-guest: ready" "$dir/serial.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$qemu_pid" 2>/dev/null; then
		echo "demo: the guest did not come up" >&2
		exit 1
	fi
	sleep 0.1
done

echo "demo: profiling the guest for 5 seconds at 250 Hz"
"$BUILD/uniprof" --qmp "$dir/qmp.sock" -k "$kernel" -F 250 -t 5 --per-vcpu -o demo.folded
echo "demo: wrote demo.folded ($(wc -l < demo.folded) distinct stacks); the heaviest:"
awk '{ print $NF " " $0 }' demo.folded | sort -rn | cut -d' ' -f2- | sed 's/^/  /' | head -n 6
echo "demo: profiling it again for 5 seconds, into a flame graph"
"$BUILD/uniprof" --qmp "$dir/qmp.sock" -k "$kernel" -F 250 -t 5 --per-vcpu -o demo.svg
echo "demo: wrote demo.svg ($(wc -c < demo.svg) bytes); open it in a browser: xdg-open demo.svg"
echo "demo: (click a frame to zoom in, Search or Ctrl-F to highlight frames by regular expression)"
