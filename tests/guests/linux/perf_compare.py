#!/usr/bin/env python3
"""Compares uniprof's kernel stacks with perf's inside the guest, on the same run.

usage: perf_compare.py PERF_RAW UNIPROF_FOLDED [--map SYSTEM_MAP] [--comm NAME]... [--top N]
                       [--fold-hardirqs]
  PERF_RAW is the second serial port's capture of a boot with uniprof.perf=SEC (init.sh): the
  `perf script -F comm,ip,sym` output between "=== BEGIN perf ===" and "=== END perf ===".
  UNIPROF_FOLDED is uniprof's folded output (--unwind orc --tasks) of the same guest while perf
  recorded.

Kernel samples are those whose leaf is a kernel address (perf) or a named kernel frame (uniprof,
whose user samples are one [user] frame or a hex address).  For each task name given (all tasks
together without --comm): each side's kernel samples, the shares whose chain reaches
entry_SYSCALL_64* and any kernel entry (system call, interrupt or exception from user mode,
ret_from_fork, the idle task's start), the median kernel depth, and the top kernel chains'
shares (root first, kernel frames only), side by side.  Numbers only.

--map names every function by one of its names: symbols at one address (__x64_sys_getpid and
__ia32_sys_getpid) are one function, named differently by perf and uniprof.
--fold-hardirqs cuts uniprof's chains at a hardware interrupt's entry (asm_sysvec_*,
asm_common_interrupt) unless softirqs ran there: perf's cpu-clock event samples from a timer
interrupt, so it never lands inside another interrupt handler, which runs with interrupts off,
and counts that time where the interrupt came in.
tests/integration/test_linux_perf.py imports it.
"""
import argparse
import collections
import re
import statistics

ADDR = re.compile(r"^\s*([0-9a-f]+)\s+(\S+)")
HEX = re.compile(r"^0x[0-9a-f]+$")
KERNEL_ENTRY = re.compile(r"^(entry_|syscall_return_via_sysret|asm_|"
                          r"ret_from_fork|secondary_startup_64|common_startup_64|"
                          r"x86_64_start_kernel|start_kernel|xen_)")
HARDIRQ = re.compile(r"^(asm_sysvec_|asm_common_interrupt)")
SOFTIRQ = ("handle_softirqs", "__do_softirq")


def aliases(map_text):
    """{name: one name for its address (the first global one)} for a System.map's text."""
    at = collections.defaultdict(list)
    for line in map_text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and len(fields[1]) == 1 and fields[1] in "tTwW":
            at[fields[0]].append((fields[1] not in "TW", fields[2]))
    return {name: min(names)[1] for names in at.values() for _, name in names}


def renamed(stacks, names):
    """stacks with every frame named as names says."""
    out = collections.Counter()
    for (comm, chain), n in stacks.items():
        out[(comm, tuple(names.get(f, f) for f in chain))] += n
    return out


def fold_hardirqs(stacks):
    """stacks with chains cut where a hardware interrupt came in, unless softirqs ran in it."""
    out = collections.Counter()
    for (comm, chain), n in stacks.items():
        for i, f in enumerate(chain):
            if i and HARDIRQ.match(f) and not any(s in chain[i:] for s in SOFTIRQ):
                chain = chain[:i]
                break
        out[(comm, chain)] += n
    return out


def perf_stacks(text):
    """{(comm, chain): samples} of perf's kernel samples; chain root first."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text.replace("\r", ""))
    body = text.split("=== BEGIN perf ===", 1)[1].split("=== END perf ===", 1)[0]
    stacks = collections.Counter()
    for block in body.strip("\n").split("\n\n"):
        lines = block.splitlines()
        if not lines:
            continue
        comm = lines[0].strip()
        frames = []
        for line in lines[1:]:
            m = ADDR.match(line)
            if m:
                frames.append((int(m.group(1), 16), re.sub(r"\+0x[0-9a-f]+$", "", m.group(2))))
        if frames and frames[0][0] >> 63:
            stacks[(comm, tuple(reversed([name for addr, name in frames if addr >> 63])))] += 1
    return stacks


def uniprof_stacks(text):
    """{(comm, chain): samples} of uniprof's kernel samples (folded, --tasks: the task first)."""
    stacks = collections.Counter()
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if len(frames) < 2 or frames[-1].startswith("[user]") or HEX.match(frames[-1]):
            continue
        stacks[(frames[0], tuple(frames[1:]))] += int(n)
    return stacks


def chains(stacks, comm=None):
    """The chains of one task (all with comm None), merged: {chain: samples}."""
    out = collections.Counter()
    for (c, chain), n in stacks.items():
        if comm is None or c == comm:
            out[chain] += n
    return out


def summary(st):
    """(kernel samples, % reaching entry_SYSCALL_64*, median depth, % reaching any kernel
    entry) of {chain: samples}."""
    total = sum(st.values())
    if not total:
        return 0, 0.0, 0, 0.0
    entry = sum(n for f, n in st.items() if f and f[0].startswith("entry_SYSCALL_64"))
    anyentry = sum(n for f, n in st.items() if f and KERNEL_ENTRY.match(f[0]))
    depth = statistics.median([len(f) for f, n in st.items() for _ in range(n)])
    return total, 100.0 * entry / total, depth, 100.0 * anyentry / total


def top_chains(perf, uni, top):
    """[(perf %, uniprof %, chain)] for perf's top chains."""
    pt, ut = sum(perf.values()) or 1, sum(uni.values()) or 1
    return [(100.0 * n / pt, 100.0 * uni.get(chain, 0) / ut, chain)
            for chain, n in perf.most_common(top)]


def report(perf, uni, comm, top):
    lines = ["task %s:" % (comm or "(all)")]
    for label, st in (("perf (in guest)", perf), ("uniprof --unwind orc", uni)):
        total, entry, depth, anyentry = summary(st)
        lines.append("  %-22s %6d kernel samples, %5.1f%% reach entry_SYSCALL_64, %5.1f%% a "
                     "kernel entry, median depth %g" % (label, total, entry, anyentry, depth))
    lines.append("  top kernel chains (share of kernel samples): perf | uniprof | difference")
    for p, u, chain in top_chains(perf, uni, top):
        lines.append("    %5.1f%% | %5.1f%% | %+5.1f  %s" % (p, u, u - p, ";".join(chain)))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("perf_raw")
    ap.add_argument("uniprof_folded")
    ap.add_argument("--comm", action="append", default=[])
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--map")
    ap.add_argument("--fold-hardirqs", action="store_true")
    args = ap.parse_args()
    perf = perf_stacks(open(args.perf_raw, errors="replace").read())
    uni = uniprof_stacks(open(args.uniprof_folded).read())
    if args.map:
        names = aliases(open(args.map).read())
        perf, uni = renamed(perf, names), renamed(uni, names)
    if args.fold_hardirqs:
        uni = fold_hardirqs(uni)
    for comm in args.comm or [None]:
        print(report(chains(perf, comm), chains(uni, comm), comm, args.top))
    return 0


if __name__ == "__main__":
    main()
