"""Benchmark: what --tasks adds to a sample, on the Linux test guest (Debian 6.1, KASLR, one
vCPU running dd so that nearly every sample is in the kernel).

Runs uniprof with and without --tasks, alternating, RUNS times each at 250 Hz, and prints from
-vv the median per-stack time with the guest stopped (the walk plus, with --tasks, the task's
three reads), the median pause, the memory reads per sample, and the BTF read's one-time pause;
then the medians of the runs and the --tasks / plain ratios.  One vCPU, as FACTS.md advises for
per-sample costs.  Numbers only: nothing here asserts.

Usage: make bench, or BUILD=build python3 bench/tasks_cost.py [--quick]
"""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from guestlib import linux_guest, run_uniprof  # noqa: E402

QUICK = "--quick" in sys.argv
SECONDS = 3 if QUICK else 6
RUNS = 2 if QUICK else 4
RATE = 250


def measure(guest, system_map, extra):
    rc, _, err = run_uniprof(["--qmp", guest.qmp_path, "-k", system_map, "-F", str(RATE),
                              "-t", str(SECONDS), "-vv", "-o", os.devnull] + extra)
    if rc:
        raise RuntimeError(err.strip().splitlines()[-1])
    walk = float(re.search(r"unwinding \(\w+\): median ([\d.]+) us per stack", err).group(1))
    pause = float(re.search(r"median pause (\d+) us", err).group(1))
    reads = float(re.search(r"memory per sample: ([\d.]+) reads", err).group(1))
    btf = re.search(r"reading the BTF stopped the guest for (\d+) us", err)
    return walk, pause, reads, int(btf.group(1)) if btf else None


def main():
    guest, system_map = linux_guest(work="dd")
    results = {"plain": [], "tasks": []}
    try:
        for _ in range(RUNS):
            results["plain"].append(measure(guest, system_map, []))
            results["tasks"].append(measure(guest, system_map, ["--tasks"]))
    finally:
        guest.stop()
    med = {}
    for name, runs in results.items():
        for walk, pause, reads, btf in runs:
            print("%-6s walk %6.2f us/stack  pause %5.0f us  reads/sample %5.2f%s" %
                  (name, walk, pause, reads, "  BTF read %d us" % btf if btf else ""))
        med[name] = [statistics.median(r[i] for r in runs) for i in range(3)]
    print("medians: plain walk %.2f us, pause %.0f us, %.2f reads; --tasks walk %.2f us, "
          "pause %.0f us, %.2f reads" % tuple(med["plain"] + med["tasks"]))
    print("ratios --tasks/plain: walk %.2f, pause %.2f" %
          (med["tasks"][0] / med["plain"][0], med["tasks"][1] / med["plain"][1]))


if __name__ == "__main__":
    main()
