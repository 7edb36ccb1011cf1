"""Benchmark: what a stack walk costs with each unwinder, on the same guest.

Boots the x86_64 and arm64 test guests under QEMU TCG, x86_64 with one vCPU and 14 extra frames
under the workload (fw_cfg opt/uniprof/depth: its stacks are then 21 frames deep), arm64 with
the two vCPUs it needs and no such knob (6-7 frames), both flavours: with frame pointers (which also
carries .debug_frame, from -g) and without (NOFP=1, .eh_frame).  For each it runs uniprof
--unwind fp, cfi and auto at 250 Hz and prints, from -vv: the median and p99 time one stack's
walk took with the guest stopped (its guest-memory reads through the memory layer included),
the frames per stack, the share of walks that reached a root, the memory reads and unwind-row
lookups per sample, and the cfi / fp ratio of the median per-stack cost.  Then Debian's Linux
kernel (tests/guests/linux, dd) with --unwind fp and orc, twice each, and the ratio of their
median pauses (the cost ORC adds to a sample).
Numbers only: nothing here asserts.

Usage: make bench, or BUILD=build python3 bench/unwind_cost.py [--quick]
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from guestlib import arm64_guest, linux_guest, run_uniprof, x86_64_guest  # noqa: E402

QUICK = "--quick" in sys.argv
SECONDS = 3 if QUICK else 8
DEPTH = 14
RATE = 250


def measure(guest, kernel, unwind):
    rc, _, err = run_uniprof(["--qmp", guest.qmp_path, "-k", kernel, "-F", str(RATE),
                              "-t", str(SECONDS), "-vv", "--unwind", unwind, "-o", os.devnull])
    if rc:
        return {"error": err.strip().splitlines()[-1]}
    walk = re.search(r"unwinding \(\w+\): median ([\d.]+) us per stack \(p99 ([\d.]+), mean "
                     r"([\d.]+), max [\d.]+\), ([\d.]+) frames per stack", err)
    stacks, truncated = map(int, re.search(r"(\d+) stacks, (\d+) truncated", err).groups())
    reads = re.search(r"memory per sample: ([\d.]+) reads", err)
    pause = re.search(r"median pause (\d+) us", err)
    rows = re.search(r"unwind rows: ([\d.]+) lookups per sample", err)
    return {"median": float(walk.group(1)), "p99": float(walk.group(2)),
            "frames": float(walk.group(4)), "stacks": stacks,
            "complete": 100.0 * (stacks - truncated) / max(stacks, 1),
            "reads": float(reads.group(1)) if reads else 0.0,
            "rows": float(rows.group(1)) if rows else 0.0,
            "pause": float(pause.group(1)) if pause else 0.0}


def main():
    print("unwind cost per stack (1 vCPU, TCG, %d Hz, %d s per run; walk time includes the "
          "guest-memory reads)" % (RATE, SECONDS))
    print("%-22s %-5s %9s %9s %7s %9s %8s %8s" % ("guest", "unw", "median", "p99", "frames",
                                                   "complete", "reads", "rows"))
    for arch in ("x86_64", "arm64"):
        for nofp in (False, True):
            if arch == "x86_64":
                guest, kernel = x86_64_guest(smp=1, nofp=nofp, extra=[
                    "-fw_cfg", "name=opt/uniprof/depth,string=%d" % DEPTH])
            else:
                guest, kernel = arm64_guest(smp=2, nofp=nofp)
            label = "%s%s" % (arch, "-nofp" if nofp else "")
            try:
                results = {}
                for unwind in ("fp", "cfi", "auto"):
                    r = results[unwind] = measure(guest, kernel, unwind)
                    if "error" in r:
                        print("%-22s %-5s %s" % (label, unwind, r["error"]))
                        continue
                    print("%-22s %-5s %7.2fus %7.2fus %7.1f %8.1f%% %8.1f %8.1f" %
                          (label, unwind, r["median"], r["p99"], r["frames"], r["complete"],
                           r["reads"], r["rows"]))
                fp, cfi = results.get("fp", {}), results.get("cfi", {})
                if fp.get("median") and cfi.get("median"):
                    print("%-22s cfi/fp: %.2fx per stack, %.2fx per frame" %
                          (label, cfi["median"] / fp["median"],
                           (cfi["median"] / cfi["frames"]) / (fp["median"] / fp["frames"])))
            finally:
                guest.stop()
    linux_orc()
    return 0


def linux_orc():
    """Debian's kernel (no frame pointers) under dd: fp against orc, walk and whole pause."""
    guest, system_map = linux_guest(work="dd")
    try:
        results = {}
        for unwind in ("fp", "orc", "fp", "orc"):
            r = measure(guest, system_map, unwind)
            if "error" in r:
                print("%-22s %-5s %s" % ("linux-dd", unwind, r["error"]))
                continue
            results.setdefault(unwind, []).append(r)
            print("%-22s %-5s %7.2fus %7.2fus %7.1f %8.1f%% %8.1f %8.1f  pause %.0fus" %
                  ("linux-dd", unwind, r["median"], r["p99"], r["frames"], r["complete"],
                   r["reads"], r["rows"], r["pause"]))
        if results.get("fp") and results.get("orc"):
            fp = sorted(r["pause"] for r in results["fp"])[len(results["fp"]) // 2]
            orc = sorted(r["pause"] for r in results["orc"])[len(results["orc"]) // 2]
            print("%-22s orc/fp: median pause %.0f / %.0f us = %.2fx (ORC adds %.0f%%)" %
                  ("linux-dd", orc, fp, orc / fp, 100.0 * (orc - fp) / fp))
    finally:
        guest.stop()


if __name__ == "__main__":
    sys.exit(main())
