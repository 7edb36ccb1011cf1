#!/usr/bin/env python3
"""Looks at the running Linux test guest through QEMU's gdbstub, without uniprof: checks that
linux_banner, at its System.map address plus the KASLR slide, reads "Linux version", and that the
IDT's vector 0 handler gives the same slide, then stops
the guest at random times and reports where the vCPUs were (user or kernel, the kernel's leaf
symbols, what rbp holds). Exits 1 if either check fails.

usage: probe.py SOCKET SYSTEM_MAP CONSOLE_LOG [--samples N]
  SOCKET is QEMU's -gdb unix:SOCKET,server=on,wait=off; CONSOLE_LOG is the guest's serial log,
  which holds "uniprof-guest: _text 0x..." (the runtime _text the guest read from /proc/kallsyms).
"""
import argparse
import collections
import os
import random
import re
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration"))
from gdbstub import Stub  # noqa: E402
from guestlib import SymbolTable, x86_64_g_reg  # noqa: E402

KERNEL_MIN = 0xFFFF800000000000
# Since 4.15 x86_64 Linux loads the IDT from a read-only alias at the start of the cpu_entry_area,
# mapped in every page table (user ones too); vector 0's gate points at asm_exc_divide_error.
RO_IDT = 0xFFFFFE0000000000


def regs(stub, tid):
    """(rip, rbp, rsp, cs) of vCPU tid."""
    stub.select(tid)
    g = stub.g()
    return tuple(x86_64_g_reg(g, r) for r in ("rip", "rbp", "rsp", "cs"))


def load_map(path):
    """System.map -> (sorted text symbols [(addr, name)], {name: addr} of all symbols)."""
    text, every = [], {}
    for line in open(path):
        f = line.split()
        if len(f) != 3:
            continue
        addr = int(f[0], 16)
        every.setdefault(f[2], addr)
        if f[1] in "tTwW":
            text.append((addr, f[2]))
    text.sort()
    return text, every


def text_table(text):
    """System.map's text symbols as a guestlib SymbolTable, each reaching to the next."""
    ends = [a for a, _ in text[1:]] + [1 << 64]
    return SymbolTable([(a, end - a, name) for (a, name), end in zip(text, ends)])


def symbolize(table, addr):
    return table.lookup(addr) or "0x%x" % addr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("system_map")
    ap.add_argument("console_log")
    ap.add_argument("--samples", type=int, default=500)
    args = ap.parse_args()

    text, every = load_map(args.system_map)
    table = text_table(text)
    m = re.search(r"uniprof-guest: _text 0x([0-9a-f]+)", open(args.console_log, errors="replace").read())
    if not m:
        print("no '_text' line in %s" % args.console_log)
        return 1
    slide = int(m.group(1), 16) - every["_text"]
    print("_text 0x%s, System.map _text 0x%x, slide 0x%x (%d x 2 MiB)"
          % (m.group(1), every["_text"], slide, slide // (2 << 20)))

    stub = Stub(args.socket, timeout=30)
    stub.supported("multiprocess+")
    tids = stub.threads()
    ok = True
    try:
        banner = every.get("linux_banner")
        data = stub.read_memory(banner + slide, 128) if banner is not None else None
        line = data.split(b"\0")[0].decode(errors="replace").strip() if data else None
        print("linux_banner at 0x%x: %r" % (banner + slide, line) if banner is not None
              else "linux_banner not in the System.map")
        ok = bool(line and line.startswith("Linux version "))

        gate = stub.read_memory(RO_IDT, 16)
        if gate and "asm_exc_divide_error" in every:
            lo, _, _, _, mid, hi = struct.unpack_from("<HHBBHI", gate)
            idt_slide = (lo | mid << 16 | hi << 32) - every["asm_exc_divide_error"]
            print("IDT vector 0 handler gives slide 0x%x (%s)"
                  % (idt_slide, "same" if idt_slide == slide else "DIFFERENT"))
            ok = ok and idt_slide == slide
        else:
            print("IDT at 0x%x unreadable" % RO_IDT)

        user, kern = collections.Counter(), collections.Counter()
        leaves, rbp_kinds = collections.Counter(), collections.Counter()
        for _ in range(args.samples):
            stub.cont()
            time.sleep(random.uniform(0.002, 0.012))
            stub.interrupt()
            for t in tids:
                rip, rbp, rsp, cs = regs(stub, t)
                if rip >= KERNEL_MIN:
                    kern[t] += 1
                    leaves[symbolize(table, rip - slide)] += 1
                    # rbp on the kernel stack (close to rsp) looks like a frame pointer; anything
                    # else is a general-purpose register.
                    rbp_kinds["kernel, rbp near rsp" if 0 <= rbp - rsp < 16384 else
                              "kernel, rbp 0" if rbp == 0 else "kernel, rbp elsewhere"] += 1
                else:
                    user[t] += 1
                    rbp_kinds["user, cpl %d" % (cs & 3)] += 1
    finally:
        if not stub.detach():
            print("detach failed: the guest may be left stopped")
    for i, t in enumerate(tids):
        n = user[t] + kern[t]
        print("vcpu%d: %d samples, user %d (%.1f%%), kernel %d (%.1f%%)"
              % (i, n, user[t], 100.0 * user[t] / n, kern[t], 100.0 * kern[t] / n))
    total = sum(user.values()) + sum(kern.values())
    for kind, n in rbp_kinds.most_common():
        print("  %-24s %d" % (kind, n))
    print("kernel leaf symbols:")
    for name, n in leaves.most_common(15):
        print("  %5d %5.1f%%  %s" % (n, 100.0 * n / total, name))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
