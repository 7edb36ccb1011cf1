#!/usr/bin/env python3
"""Compares uniprof's kernel stacks with perf's inside the guest, on the same run.

usage: perf_compare.py PERF_RAW UNIPROF_FOLDED [--top N]
  PERF_RAW is the second serial port's capture of a boot with uniprof.perf=SEC (init.sh): the
  `perf script -F comm,ip,sym` output between "=== BEGIN perf ===" and "=== END perf ===".
  UNIPROF_FOLDED is uniprof's folded output (--unwind orc) of the same guest during that time.

Kernel samples are those whose leaf is a kernel address (perf) or a named kernel frame (uniprof,
whose user samples are one hex address).  For each side: the share of kernel samples whose chain
reaches entry_SYSCALL_64*, the median kernel depth, and the top kernel chains' shares (root first,
kernel frames only), side by side.  Numbers only.
"""
import argparse
import collections
import re
import statistics

ADDR = re.compile(r"^\s*([0-9a-f]+)\s+(\S+)")


def perf_stacks(path):
    text = open(path, errors="replace").read().replace("\r", "")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    body = text.split("=== BEGIN perf ===", 1)[1].split("=== END perf ===", 1)[0]
    stacks = collections.Counter()
    for block in body.split("\n\n"):
        frames = []
        for line in block.splitlines()[1:]:
            m = ADDR.match(line)
            if m:
                frames.append((int(m.group(1), 16), re.sub(r"\+0x[0-9a-f]+$", "", m.group(2))))
        kernel = [name for addr, name in frames if addr >> 63]
        if frames and frames[0][0] >> 63:
            stacks[tuple(reversed(kernel))] += 1
    return stacks


def uniprof_stacks(path):
    stacks = collections.Counter()
    for line in open(path):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        frames = stack.split(";")
        if not re.match(r"^0x[0-9a-f]+$", frames[-1]):
            stacks[tuple(frames)] += int(n)
    return stacks


def summary(stacks):
    total = sum(stacks.values())
    entry = sum(n for f, n in stacks.items() if f and f[0].startswith("entry_SYSCALL_64"))
    depth = statistics.median([len(f) for f, n in stacks.items() for _ in range(n)])
    return total, 100.0 * entry / total, depth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("perf_raw")
    ap.add_argument("uniprof_folded")
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    perf, uni = perf_stacks(args.perf_raw), uniprof_stacks(args.uniprof_folded)
    for label, st in (("perf (in guest)", perf), ("uniprof --unwind orc", uni)):
        total, entry, depth = summary(st)
        print("%-22s %6d kernel samples, %5.1f%% reach entry_SYSCALL_64, median depth %g" %
              (label, total, entry, depth))
    pt, ut = sum(perf.values()), sum(uni.values())
    print("top kernel chains (share of kernel samples): perf | uniprof | difference")
    for chain, n in perf.most_common(args.top):
        p, u = 100.0 * n / pt, 100.0 * uni.get(chain, 0) / ut
        print("  %5.1f%% | %5.1f%% | %+5.1f  %s" % (p, u, u - p, ";".join(chain)))
    return 0


if __name__ == "__main__":
    main()
