#!/usr/bin/env python3
"""Capture tests/recorded/linux-arm64.rec: one stop of Debian's arm64 Linux (KASLR on, workload
dd) taken on the exception vectors while __arch_clear_user (a frameless leaf) runs, with just
the registers, memory and kallsyms lines that the slide anchor and the exception-entry rule
read.  tests/unit/test_linux_arm64.c replays it.

    python3 tests/recorded/capture_linux_arm64.py [--out FILE] [--stops N]

Boots the guest (tests/guests/linux/prepare.sh --arch arm64, guestlib), starts a gdbstub
through QMP, and stops the VM at random times until a stop has the pc in [VBAR_EL1,
VBAR_EL1 + 0x800), SPSR_EL1 at EL1 and ELR_EL1 in __arch_clear_user; on the way it keeps one
VBAR_EL1 that is not the kernel's vectors (KPTI's trampoline, seen while the vCPU runs user
code).  Its own expectations come from the registers and the x29 chain it reads itself, and
the true slide from the guest's console (_stext).  QEMU is killed by its PID on every path.
"""
import argparse
import bisect
import os
import random
import re
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import guestlib  # noqa: E402
from gdbstub import Stub  # noqa: E402

LINE = 64
VECTORS = 0x800
SYSREGS = ("VBAR", "ELR_EL1", "SPSR_EL1", "TCR_EL1")


def load_map(path):
    syms = []
    with open(path) as f:
        for line in f:
            a, t, n = line.split()
            syms.append((int(a, 16), t, n))
    return syms


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "linux-arm64.rec"))
    ap.add_argument("--stops", type=int, default=3000)
    args = ap.parse_args()

    guest, kallsyms = guestlib.linux_arm64_guest(work="dd")
    try:
        capture(guest, kallsyms, args)
    finally:
        guest.stop()


def capture(guest, kallsyms, args):
    syms = load_map(kallsyms)
    text = sorted((a, n) for a, t, n in syms if t in "TtWw")
    starts = [a for a, _ in text]
    byname = {n: a for a, t, n in syms}
    stext = int(re.search(r"uniprof-guest: _stext (0x[0-9a-f]+)", guest.console()).group(1), 16)
    slide = stext - byname["_stext"]

    def containing(addr):
        i = bisect.bisect_right(starts, addr - slide) - 1
        return i if i >= 0 else None

    qmp = guestlib.QMP(guest.qmp_path)
    sock = os.path.join(guest.dir, "gdb.sock")
    qmp.execute("human-monitor-command",
                **{"command-line": "gdbserver unix:%s,server=on,wait=off" % sock})
    qmp.close()
    stub = Stub(sock)
    stub.supported()
    stub.halt_reason()
    numbers = stub.register_numbers()
    rng = random.Random(14)
    other_vbar = None
    found = None
    for _ in range(args.stops):
        g = stub.g()
        x = struct.unpack_from("<33Q", g)
        cpsr = struct.unpack_from("<I", g, 33 * 8)[0]
        sysregs = {n: stub.p(numbers[n]) for n in SYSREGS}
        vbar, elr, spsr = sysregs["VBAR"], sysregs["ELR_EL1"], sysregs["SPSR_EL1"]
        vectors = byname["vectors"] + slide
        if vbar != vectors and other_vbar is None:
            other_vbar = vbar
        i = containing(elr)
        # Read at this very stop: in user mode (KPTI) the kernel is not mapped.
        if (other_vbar and 0 <= x[32] - vbar < VECTORS and vbar == vectors and
                spsr & 0xf in (4, 5) and i is not None and text[i][1] == "__arch_clear_user"):
            found = (x, cpsr, sysregs)
            other_vbar = (other_vbar, stub.read_memory(other_vbar, VECTORS))
            break
        stub.cont()
        time.sleep(rng.uniform(0.001, 0.01))
        stub.interrupt()
    if not found or other_vbar[1] is None:
        stub.detach()
        raise SystemExit("no stop on the vectors in __arch_clear_user (or no second VBAR) in "
                         "%d stops" % args.stops)
    x, cpsr, sysregs = found
    mem = {}

    def keep(addr, length):
        for a in range(addr & ~(LINE - 1), addr + length, LINE):
            if a not in mem:
                mem[a] = stub.read_memory(a, LINE)

    vbar = sysregs["VBAR"]
    table = stub.read_memory(vbar, VECTORS)
    for a in range(0, VECTORS, LINE):
        mem[vbar + a] = table[a:a + LINE]
    # What the leaf rule reads: the leaf's first instructions and pc, the call before x30.
    elr, lr = sysregs["ELR_EL1"], x[30]
    keep(text[containing(elr)][0] + slide, 32)
    keep(elr, 4)
    keep(lr - 4, 4)
    keep(text[containing(lr - 4)][0] + slide, 32)
    # The x29 chain, record by record, to the root.
    expect = [elr, lr]
    fp, wanted = x[29], {containing(elr), containing(lr)}
    for _ in range(32):
        if not fp:
            break
        rec = stub.read_memory(fp, 16)
        if rec is None:
            raise SystemExit("frame record at 0x%x unreadable" % fp)
        keep(fp, 16)
        fp, ra = struct.unpack("<QQ", rec)
        if not ra:
            break
        expect.append(ra)
        wanted.add(containing(ra - 1))
        # The exception-record rule reads the first instructions of each caller.
        keep(text[containing(ra - 4)][0] + slide, 32)
    # Vector branch targets and the chain's functions, each with the symbol after it (its end).
    for e in range(16):
        entry = table[e * 128:(e + 1) * 128]
        for k in range(31, -1, -1):
            insn = struct.unpack_from("<I", entry, 4 * k)[0]
            if insn & 0xfc000000 == 0x14000000:
                imm = insn & 0x03ffffff
                imm = imm - (1 << 26) if imm & (1 << 25) else imm
                wanted.add(containing(vbar + e * 128 + 4 * k + 4 * imm))
                break
    keep_syms = set()
    for i in wanted:
        if i is not None:
            keep_syms.add(text[i])
            if i + 1 < len(text):
                keep_syms.add(text[i + 1])
    keep_syms.add((byname["vectors"], "vectors"))
    keep_syms.add((byname["_stext"], "_stext"))
    names = [text[containing(expect[0])][1]] + [text[containing(a - 1)][1] for a in expect[1:]]
    stub.detach()

    with open(args.out, "w") as f:
        f.write("# Debian arm64 Linux %s, KASLR on, workload dd, one vCPU stopped on the "
                "exception vectors\n" % os.path.basename(os.path.dirname(kallsyms)))
        f.write("# by tests/recorded/capture_linux_arm64.py; replayed by "
                "tests/unit/test_linux_arm64.c\n")
        f.write("# chain (leaf first): %s\n" % ";".join(names))
        f.write("slide 0x%x\n" % slide)
        for n, v in (("pc", x[32]), ("sp", x[31]), ("x29", x[29]), ("x30", x[30]),
                     ("cpsr", cpsr), ("vbar", vbar), ("elr", sysregs["ELR_EL1"]),
                     ("spsr", sysregs["SPSR_EL1"]), ("tcr", sysregs["TCR_EL1"])):
            f.write("reg %s 0x%x\n" % (n, v))
        f.write("base 0x%x\n" % other_vbar[0])
        f.write("base 0x%x\n" % vbar)
        for a in range(0, VECTORS, LINE):
            mem[other_vbar[0] + a] = other_vbar[1][a:a + LINE]
        for a in sorted(mem):
            f.write("mem 0x%x %s\n" % (a, mem[a].hex()))
        for a, n in sorted(keep_syms):
            f.write("sym %016x %s %s\n" % (a, "T", n))
        f.write("expect %s\n" % " ".join("0x%x" % a for a in expect))
    print("wrote %s: slide 0x%x, %d memory lines, %d symbols, chain %s"
          % (args.out, slide, len(mem), len(keep_syms), ";".join(names)))


if __name__ == "__main__":
    main()
