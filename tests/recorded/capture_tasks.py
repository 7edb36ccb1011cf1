#!/usr/bin/env python3
"""Capture what tests/unit/test_tasks.c replays: the Debian Linux test guest's BTF, reduced,
and per-vCPU registers with the guest memory `current` resolution reads.

    python3 tests/recorded/capture_tasks.py [--samples N] [--out DIR]

Boots tests/guests/linux (KASLR on, -smp 3, uniprof.work=dd,loop: dd pinned to CPU 0 in the
kernel, a busybox sh loop pinned to CPU 1 in user mode, CPU 2 idle), starts a gdbstub through QMP, reads
the kernel's BTF between __start_BTF and __stop_BTF (System.map + the console's _text slide),
reduces it with btf_reduce.c (built here with cc -lbpf) and, at N stops, for each vCPU: the 'g'
packet, the 8 bytes at the per-CPU base (GS base, or KERNEL_GS_BASE in user mode) plus
current_task, and the span of the task's pid, tgid and comm.  The expected task of each is what this script
decodes itself from those bytes, and must agree with the console's "work NAME cpu N pid P"
lines for the workloads.  Python 3 standard library, cc and libbpf-dev.
"""
import argparse
import os
import random
import re
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import guestlib  # noqa: E402
from capture import attach  # noqa: E402

G_CS, G_GS_BASE, G_KGS_BASE = 140, 172, 180


def kernel_half(a):
    return a >= 0xff00000000000000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "unit", "data", "tasks"))
    args = ap.parse_args()
    work = guestlib.tempdir("uniprof-capture-tasks-")
    tool = os.path.join(work, "btf_reduce")
    subprocess.run(["cc", "-O1", "-o", tool, os.path.join(HERE, "btf_reduce.c"), "-lbpf"],
                   check=True)
    out = subprocess.run([os.path.join(ROOT, "tests", "guests", "linux", "prepare.sh")],
                         capture_output=True, text=True, check=True)
    paths = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    syms = {}
    for line in open(paths["system_map"]):
        a, _, name = line.split()[:3]
        if name in ("current_task", "__start_BTF", "__stop_BTF", "_text"):
            syms[name] = int(a, 16)
    guest = guestlib.Guest("qemu-system-x86_64", [
        "-smp", "3", "-m", "512M", "-kernel", paths["kernel"], "-initrd", paths["initrd"],
        "-no-reboot", "-append",
        "console=ttyS0 loglevel=4 panic=-1 tsc=reliable uniprof.work=dd,loop"], timeout=180)
    console = guest.console()
    slide = int(re.search(r"_text 0x([0-9a-f]+)", console).group(1), 16) - syms["_text"]
    work_pids = {m.group(1): int(m.group(2))
                 for m in re.finditer(r"work (\w+) cpu \d+ pid (\d+)", console)}
    name = "linux-%s" % paths["version"]
    rng = random.Random(12)
    lines = ["# captured by tests/recorded/capture_tasks.py from tests/guests/linux, kernel %s"
             % paths["version"], "# workloads: %s" % " ".join("%s=%d" % kv for kv in
                                                             sorted(work_pids.items()))]
    stub = attach(guest)
    try:
        start = syms["__start_BTF"] + slide
        blob = stub.read_memory(start, syms["__stop_BTF"] - syms["__start_BTF"])
        if not blob or blob[:2] != b"\x9f\xeb":
            raise SystemExit("no BTF at 0x%x" % start)
        full = os.path.join(work, "full.btf")
        open(full, "wb").write(blob)
        reduced = os.path.join(args.out, name + ".btf")
        layout = subprocess.run([tool, full, reduced], capture_output=True, text=True,
                                check=True).stdout.split()
        lay = {layout[i]: int(layout[i + 1], 16) for i in range(0, len(layout), 2)}
        lines.append("# the full BTF was %d bytes; %s is btf_reduce.c's reduction of it"
                     % (len(blob), os.path.basename(reduced)))
        lines.append("layout pid 0x%x tgid 0x%x comm 0x%x" % (lay["pid"], lay["tgid"], lay["comm"]))
        lines.append("current_task 0x%x" % syms["current_task"])
        tids = stub.threads()
        seen_user = seen_kernel = 0
        for n in range(200):
            stub.cont()
            time.sleep(rng.uniform(0.05, 0.3))
            stub.interrupt()
            block = []
            for v, tid in enumerate(tids):
                stub.select(tid)
                g = stub.g()
                user = struct.unpack_from("<I", g, G_CS)[0] & 3 == 3
                base = struct.unpack_from("<Q", g, G_GS_BASE)[0]
                if not kernel_half(base):
                    base = struct.unpack_from("<Q", g, G_KGS_BASE)[0]
                ptr_at = base + syms["current_task"]
                task = struct.unpack("<Q", stub.read_memory(ptr_at, 8))[0]
                # The fields' span, as uniprof reads it when they are close (one read).
                lo = min(lay["pid"], lay["tgid"], lay["comm"])
                hi = max(lay["pid"] + 4, lay["tgid"] + 4, lay["comm"] + 16)
                span = stub.read_memory(task + lo, hi - lo)
                pid, = struct.unpack_from("<i", span, lay["pid"] - lo)
                tgid, = struct.unpack_from("<i", span, lay["tgid"] - lo)
                comm = span[lay["comm"] - lo:lay["comm"] - lo + 16]
                cname = comm.split(b"\0")[0].decode()
                if cname in ("dd", "sh") and pid != work_pids["dd" if cname == "dd" else "loop"]:
                    raise SystemExit("vCPU %d: %s pid %d, the console says otherwise" %
                                     (v, cname, pid))
                block += ["sample %d vcpu %d" % (n, v), "g " + g.hex(),
                          "mem 0x%x %s" % (ptr_at, struct.pack("<Q", task).hex()),
                          "mem 0x%x %s" % (task + lo, span.hex()),
                          "expect %s pid %d tgid %d user %d" % (cname, pid, tgid, user)]
                seen_user += user
                seen_kernel += not user
            lines += block
            if n + 1 >= args.samples and seen_user and seen_kernel:
                break
        stub.detach()
    finally:
        stub.close()
        guest.stop()
    path = os.path.join(args.out, name + ".rec")
    open(path, "w").write("\n".join(lines) + "\n")
    print("wrote %s and %s (%d stops)" % (path, reduced, n + 1))


if __name__ == "__main__":
    main()
