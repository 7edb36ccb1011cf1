#!/usr/bin/env python3
"""Checks one of our test guests on its own, without uniprof: samples it through QEMU's gdbstub
at random times (stops 2 to 12 ms apart), walks the frame records as uniprof does and compares
the chains with the guest's expected.txt.

  arm64       the bare-metal arm64 guest (tests/guests/arm64), two vCPUs, each checked
              against its own chains; frame records via x29, with the x30 rule.
              --freeze-check instead stops the VM for 5 s and reports how far CNTVCT moved.
  efi-arm64   the EFI guests (tests/guests/efi-*), one vCPU.  First confirms the slide the
  efi-x86_64  guest printed on SERIAL_LOG (PE header at the image base, the ELF's .text bytes
              at .text + slide), then walks x29 (with the x30 rule) or rbp.  Samples whose pc
              is outside our image are counted as firmware (the UEFI timer interrupt runs on
              our stack).

Exits 1 if fewer than 95% of a vCPU's samples carry an expected chain, or (EFI) the slide does
not check out.

usage: tests/tools/selfcheck.py GUEST SOCKET GUEST_ELF [SERIAL_LOG] [--samples N]
                                [--expected FILE] [--freeze-check]
  GUEST is arm64, efi-arm64 or efi-x86_64; SOCKET is QEMU's -gdb unix:SOCKET,server=on,wait=off;
  SERIAL_LOG (EFI guests) holds the guest's "uniprof-guest: slide 0x..." line.  NM names the
  nm to use (default aarch64-linux-gnu-nm for arm64 guests, nm for x86_64).
"""
import argparse
import collections
import os
import random
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from gdbstub import Stub, text_section  # noqa: E402
from guestlib import SymbolTable, nm_symbols, x86_64_g_reg  # noqa: E402

GUESTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guests")


class Arm64:
    nm = "aarch64-linux-gnu-nm"
    machine = 0xaa64
    bad = "<bad fp>"
    ret_back = 4          # a return address is named by the bl 4 bytes before it

    @staticmethod
    def regs(g):
        """(pc, fp, lr, x1) from a 'g' block."""
        x = struct.unpack_from("<31Q", g, 0)
        pc = struct.unpack_from("<Q", g, 256)[0]
        return pc, x[29], x[30], x[1]


class X86_64:
    nm = "nm"
    machine = 0x8664
    bad = "<bad rbp>"
    ret_back = 1

    @staticmethod
    def regs(g):
        """(rip, rbp, None, None): no link register."""
        return x86_64_g_reg(g, "rip"), x86_64_g_reg(g, "rbp"), None, None


GUESTS = {"arm64": (Arm64, False), "efi-arm64": (Arm64, True), "efi-x86_64": (X86_64, True)}


def walk(stub, arch, name, pc, fp, lr):
    """Frames leaf first; a return address is named by the call before it.  With a link
    register: when the record at fp does not hold lr, pc's function has not stored its frame
    record (yet), so its caller is only in lr."""
    frames = [name(pc)]
    if lr is not None:
        rec = stub.read_memory(fp, 16) if fp else None
        if rec is not None and struct.unpack("<2Q", rec)[1] != lr:
            frames.append(name(lr - arch.ret_back))
    for _ in range(64):
        rec = stub.read_memory(fp, 16) if fp else None
        if rec is None:
            frames.append(arch.bad)
            break
        fp, ret = struct.unpack("<2Q", rec)
        frames.append(name(ret - arch.ret_back))
        if fp == 0:
            break
    return frames


def check_slide(stub, arch, elf, slide):
    """Messages about what was wrong; empty when the slide checks out."""
    bad = []
    hdr = stub.read_memory(slide, 0x40)
    if hdr is None or hdr[:2] != b"MZ":
        return ["no MZ at the image base 0x%x" % slide]
    lfanew = struct.unpack_from("<I", hdr, 0x3c)[0]
    pe = stub.read_memory(slide + lfanew, 6)
    if pe is None or pe[:4] != b"PE\0\0" or struct.unpack_from("<H", pe, 4)[0] != arch.machine:
        bad.append("no PE\\0\\0 with machine 0x%x at 0x%x" % (arch.machine, slide + lfanew))
    vma, offset, size = text_section(elf)
    with open(elf, "rb") as f:
        f.seek(offset)
        text = f.read(size)
    got = b"".join(stub.read_memory(slide + vma + o, min(1024, len(text) - o)) or b""
                   for o in range(0, len(text), 1024))
    # Code is PC/rip-relative and nothing is relocated: the bytes match exactly.
    if got != text:
        bad.append(".text at 0x%x differs from the ELF's" % (slide + vma))
    print("slide 0x%x: MZ at 0x%x, PE header at 0x%x, .text (%d bytes) at 0x%x %s"
          % (slide, slide, slide + lfanew, len(text), slide + vma,
             "matches" if got == text else "DIFFERS"))
    return bad


def read_expected(path, per_vcpu):
    """{vcpu: {chain: weight}}; with per_vcpu False every line counts for vcpu 0."""
    want = collections.defaultdict(dict)
    for line in open(path):
        vcpu, weight, chain = line.split()
        want[int(vcpu[4:]) if per_vcpu else 0][chain] = int(weight)
    return want


def freeze_check(stub, tids, name):
    """In every leaf's spin loop of the arm64 guest x1 holds the last CNTVCT value read."""
    def regs(t):
        stub.select(t)
        return Arm64.regs(stub.g())
    before = [regs(t) for t in tids]
    t0 = time.monotonic()
    time.sleep(5)
    stub.cont()
    time.sleep(0.2)
    stub.interrupt()
    host = time.monotonic() - t0
    after = [regs(t) for t in tids]
    for t, b, a in zip(tids, before, after):
        print("thread %s: pc %s -> %s, CNTVCT advanced %d ticks over %.3f s of host "
              "time (5 s stopped, 0.2 s running)" % (t, name(b[0]), name(a[0]), a[3] - b[3], host))


def report(cpu, counts, want, firmware):
    """Prints one vCPU's chains; True when 95% of its samples are expected."""
    total = sum(counts.values())
    good = sum(n for chain, n in counts.items() if chain in want)
    wsum = sum(want.values())
    extra = ", %.1f%% with the pc in firmware" % (100.0 * firmware / total) \
        if firmware is not None else ""
    print("vcpu%d: %d samples, %.1f%% match expected chains%s"
          % (cpu, total, 100.0 * good / total, extra))
    for chain, n in counts.most_common():
        exp = want.get(chain)
        tag = "expected %.1f%%" % (100.0 * exp / wsum) if exp else "UNEXPECTED"
        print("  %5d %5.1f%%  %-14s %s" % (n, 100.0 * n / total, tag, chain))
    return good >= 0.95 * total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("guest", choices=sorted(GUESTS))
    ap.add_argument("socket")
    ap.add_argument("elf")
    ap.add_argument("serial_log", nargs="?", help="the guest's console log (EFI guests)")
    ap.add_argument("--expected", help="default: tests/guests/GUEST/expected.txt")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--freeze-check", action="store_true", help="arm64 only")
    args = ap.parse_args()
    arch, efi = GUESTS[args.guest]
    if efi and not args.serial_log:
        ap.error("%s needs SERIAL_LOG" % args.guest)
    if efi and args.freeze_check:
        ap.error("--freeze-check is for the arm64 guest")

    slide = 0
    if efi:
        m = re.search(r"uniprof-guest: slide (0x[0-9a-f]+)",
                      open(args.serial_log, errors="replace").read())
        if not m:
            print("no slide line in %s" % args.serial_log)
            return 1
        slide = int(m.group(1), 16)
    table = SymbolTable([(start, size, n) for start, size, kind, n
                         in nm_symbols(os.environ.get("NM", arch.nm), args.elf)
                         if kind in "tT" and size])

    def name(addr):
        return table.lookup(addr - slide) or "0x%x" % addr

    want = read_expected(args.expected or os.path.join(GUESTS_DIR, args.guest, "expected.txt"),
                         per_vcpu=not efi)

    stub = Stub(args.socket, timeout=30)
    stub.supported("multiprocess+")
    stub.halt_reason()
    # The EFI guests have one vCPU: 'g' reads it without selecting a thread.
    tids = [None] if efi else stub.threads()
    bad = check_slide(stub, arch, args.elf, slide) if efi else []
    for msg in bad:
        print("slide: " + msg)

    if args.freeze_check:
        freeze_check(stub, tids, name)
        if not stub.detach():
            print("detach failed: the guest may be left stopped")
        return 0

    counts = [collections.Counter() for _ in tids]
    firmware = 0
    for _ in range(args.samples):
        stub.cont()
        time.sleep(random.uniform(0.002, 0.012))
        stub.interrupt()
        for i, t in enumerate(tids):
            if t is not None:
                stub.select(t)
            pc, fp, lr, _ = arch.regs(stub.g())
            frames = walk(stub, arch, name, pc, fp, lr)
            firmware += frames[0].startswith("0x")
            counts[i][";".join(reversed(frames))] += 1
    if not stub.detach():
        print("detach failed: the guest may be left stopped")

    ok = not bad
    for cpu, c in enumerate(counts):
        ok = report(cpu, c, want[cpu], firmware if efi else None) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
