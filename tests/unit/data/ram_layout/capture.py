#!/usr/bin/env python3
"""Capture QEMU's real "info mtree -f" and "gpa2hva" outputs and /proc/PID/maps for
tests/unit/test_ram_layout.c (see README.md here).

Each machine is started paused (-S, no guest needed) with a QMP socket, asked over QMP
(human-monitor-command) and killed by its pid, whatever happens.  Files are written as QEMU's
monitor gives them, byte for byte (its HMP output ends lines with CR LF).

    python3 tests/unit/data/ram_layout/capture.py [--out DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "integration"))
from guestlib import QMP  # noqa: E402

EFI = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"

# name: (binary, machine arguments, [(gpa2hva file suffix, address)], seconds to run first)
# Machines that never run show the layout at reset; the ones that run a while show what the
# firmware made of it (SeaBIOS's PAM settings, SMRAM).
MACHINES = {
    "x86_64-default": ("qemu-system-x86_64", [], []),
    "x86_64-pc-64M-smp2": ("qemu-system-x86_64", ["-M", "pc", "-m", "64M", "-smp", "2"], [
        ("ram", 0x100000), ("rom", 0xfffc0000), ("mmio", 0xfec00000),
        ("unmapped", 0x100000000000)]),
    "x86_64-pc-64M-smp2-booted": ("qemu-system-x86_64", ["-M", "pc", "-m", "64M", "-smp", "2"], [
        ("ram", 0x100000), ("rom", 0xe0000)], 2),
    "x86_64-q35-256M": ("qemu-system-x86_64", ["-M", "q35", "-m", "256M"], []),
    "x86_64-q35-256M-booted": ("qemu-system-x86_64", ["-M", "q35", "-m", "256M"], [], 2),
    "x86_64-q35-256M-kvm": ("qemu-system-x86_64", ["-M", "q35", "-m", "256M", "-accel", "kvm"], []),
    "x86_64-pc-memfd": ("qemu-system-x86_64", [
        "-M", "pc", "-m", "64M",
        "-object", "memory-backend-memfd,id=ram0,size=64M,share=on",
        "-machine", "memory-backend=ram0"], [("ram", 0x100000)]),
    "x86_64-pc-file": ("qemu-system-x86_64", [
        "-M", "pc", "-m", "64M",
        "-object", "memory-backend-file,id=ram0,size=64M,share=on,mem-path={dir}/guest ram/pc ram",
        "-machine", "memory-backend=ram0"], [("ram", 0x100000)]),
    "aarch64-virt-128M": ("qemu-system-aarch64", ["-M", "virt", "-cpu", "cortex-a57", "-m", "128M"], [
        ("ram", 0x40000000), ("mmio", 0x09000000), ("unmapped", 0x48000000)]),
    "aarch64-virt-128M-efi": ("qemu-system-aarch64", [
        "-M", "virt", "-cpu", "cortex-a57", "-m", "128M", "-bios", EFI], [
        ("rom", 0x0), ("ram", 0x40000000)]),
    "aarch64-virt-128M-efi-booted": ("qemu-system-aarch64", [
        "-M", "virt", "-cpu", "cortex-a57", "-m", "128M", "-bios", EFI], [], 5),
}

# Whose /proc/PID/maps to keep: a memfd-backed and a file-backed (a path with spaces) QEMU.
MAPS = ("x86_64-pc-memfd", "x86_64-pc-file")


def connect(proc, path, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("QEMU exited with %d" % proc.returncode)
        if os.path.exists(path):
            try:
                return QMP(path, keep_line_ends=True)
            except (ConnectionRefusedError, FileNotFoundError):
                pass
        time.sleep(0.05)
    raise RuntimeError("no QMP socket at %s" % path)


def write(path, text):
    with open(path, "w", newline="") as f:
        f.write(text)
    print("wrote", path)


def capture(name, out, tmp):
    binary, args, addrs, run = (MACHINES[name] + (0,))[:4]
    if "-bios" in args and not os.path.exists(EFI):
        print("skipped", name, "(no", EFI + ")")
        return
    os.makedirs(os.path.join(tmp, "guest ram"), exist_ok=True)
    sock = os.path.join(tmp, name + ".sock")
    cmd = [binary, "-accel", "tcg", "-display", "none", "-nodefaults", "-no-user-config", "-S",
           "-qmp", "unix:%s,server=on,wait=off" % sock] + [a.format(dir=tmp) for a in args]
    if "-accel" in args:
        cmd[1:3] = []  # the machine's own accelerator instead of TCG
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    print("started", name, "pid", proc.pid, file=sys.stderr)
    try:
        q = connect(proc, sock)
        if run:
            q.execute("cont")
            time.sleep(run)
            q.execute("stop")
        write(os.path.join(out, name + ".mtree"), q.hmp("info mtree -f"))
        for what, addr in addrs:
            write(os.path.join(out, "%s.gpa2hva-%s" % (name, what)), q.hmp("gpa2hva 0x%x" % addr))
        if name in MAPS:
            with open("/proc/%d/maps" % proc.pid) as f:
                write(os.path.join(out, name + ".maps"), f.read())
        q.close()
    finally:
        proc.kill()
        proc.wait()
        print("killed", name, "pid", proc.pid, file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--only", action="append", choices=sorted(MACHINES))
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="uniprof-ram-layout-")
    try:
        for name in opts.only or MACHINES:
            capture(name, opts.out, tmp)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
