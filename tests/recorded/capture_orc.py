#!/usr/bin/env python3
"""Captures ORC test data from the Linux test guest (tests/guests/linux, Debian's kernel, dd):
for a few stops whose vCPU is on dd's read path, the registers, the stack bytes from rsp up, and
only the ORC entries the walk can need, so the file stays small.

Which entries is decided without unwinding: every word of the recorded stack that falls in the
kernel's text (a stack scan), and the leaf pc, are looked up (as themselves and minus 1) in the
guest's own .orc_unwind_ip by a binary search over gdbstub reads; the entry found and the next
one (which bounds it) are kept.  A stop is kept when its leaf is in clear_user_* and the scan
meets read_zero, vfs_read, ksys_read, do_syscall_64 and entry_SYSCALL_64* in that order
outward: the chain the walk must then give, exactly (tests/unit/test_orc_recorded.c).

usage: capture_orc.py [--samples N] [--out FILE]
"""
import argparse
import datetime
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "guests", "linux"))
from gdbstub import Stub  # noqa: E402
from guestlib import linux_guest, tempdir, x86_64_g_reg  # noqa: E402
from probe import load_map  # noqa: E402

CHAIN = ["read_zero", "vfs_read", "ksys_read", "do_syscall_64", "entry_SYSCALL_64"]
STACK_BYTES = 0x1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "linux-orc.rec"))
    args = ap.parse_args()
    sock = os.path.join(tempdir("uniprof-capture-orc-"), "gdb.sock")
    guest, system_map = linux_guest(work="dd", extra=["-gdb", "unix:%s,server=on,wait=off" % sock])
    text, every = load_map(system_map)
    try:
        stub = Stub(sock, timeout=30)
        stub.supported("multiprocess+")
        tid = stub.threads()[0]
        banner = stub.read_memory(every["linux_banner"], 16)
        slide = None
        for s in range(0, 1 << 30, 2 << 20):
            if (stub.read_memory(every["linux_banner"] + s, 14) or b"") == b"Linux version ":
                slide = s
                break
        assert slide is not None, "no KASLR slide found"
        del banner
        ip0 = every["__start_orc_unwind_ip"] + slide
        n = (every["__stop_orc_unwind_ip"] - every["__start_orc_unwind_ip"]) // 4
        entries = every["__start_orc_unwind"] + slide
        release = stub.read_memory(every["linux_banner"] + slide, 40).split(b" ")[2].decode()
        stext, etext = every["_stext"] + slide, every["_etext"] + slide

        def ip(i):
            off = int.from_bytes(stub.read_memory(ip0 + 4 * i, 4), "little", signed=True)
            return ip0 + 4 * i + off

        def find(addr):
            lo, hi = 0, n
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if ip(mid) <= addr:
                    lo = mid
                else:
                    hi = mid
            return lo

        def name(addr):
            best = None
            for a, nm in text:
                if a + slide > addr:
                    break
                best = (a, nm)
            return best

        samples = []
        tries = 0
        while len(samples) < args.samples and tries < 200:
            tries += 1
            stub.cont()
            time.sleep(random.uniform(0.05, 0.3))
            stub.interrupt()
            stub.select(tid)
            g = stub.g()
            pc, sp, bp = (x86_64_g_reg(g, r) for r in ("rip", "rsp", "rbp"))
            if pc < stext or not name(pc)[1].startswith("clear_user"):
                continue
            # Up to the top of the 16 KiB task stack, where the syscall's pt_regs end.
            stack = stub.read_memory(sp, min(STACK_BYTES, (sp | 0x3fff) + 1 - sp))
            if stack is None:
                continue
            words = [int.from_bytes(stack[i:i + 8], "little") for i in range(0, len(stack), 8)]
            cands = [pc] + [w for w in words if stext <= w < etext]
            names = [name(c)[1] for c in cands]
            k = 0
            for nm in names[1:]:
                if k < len(CHAIN) and nm.startswith(CHAIN[k]):
                    k += 1
            if k < len(CHAIN):
                continue
            orc = {}
            syms = {}
            for c in cands:
                for a in (c, c - 1):
                    i = find(a)
                    for j in (i, i + 1):
                        if j < n and ip(j) not in orc:
                            orc[ip(j)] = stub.read_memory(entries + 6 * j, 6).hex()
                start, nm = name(c)
                nxt = next(a for a, _ in text if a > start)
                syms[start + slide] = (nxt - start, nm)
            expect = [names[0]]
            for nm in names[1:]:
                if len(expect) <= len(CHAIN) and nm.startswith(CHAIN[len(expect) - 1]):
                    expect.append(nm)
            samples.append((pc, sp, bp, stack, orc, syms, expect))
            print("sample %d: %s" % (len(samples), " <- ".join(expect)))
        stub.detach()
    finally:
        guest.stop()
    if len(samples) < args.samples:
        print("only %d samples on the dd path in %d stops" % (len(samples), tries))
        return 1
    with open(args.out, "w") as f:
        f.write("# uniprof recorded ORC data: tests/guests/linux (Debian %s, dd), captured by "
                "tests/recorded/capture_orc.py on %s.\n" % (release, datetime.date.today()))
        f.write("# Format: tests/recorded/README.md (\"ORC recordings\").\n")
        f.write("release %s\n" % release)
        for pc, sp, bp, stack, orc, syms, expect in samples:
            f.write("sample\nregs 0x%x 0x%x 0x%x\n" % (pc, sp, bp))
            for off in range(0, len(stack), 64):
                f.write("stack 0x%x %s\n" % (sp + off, stack[off:off + 64].hex()))
            for a in sorted(orc):
                f.write("orc 0x%x %s\n" % (a, orc[a]))
            for a in sorted(syms):
                f.write("sym 0x%x 0x%x %s\n" % (a, syms[a][0], syms[a][1]))
            f.write("expect %s\n" % " ".join(expect))
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
