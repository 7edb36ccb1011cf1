"""Benchmark: the guest pause per sample under libvirt (--libvirt) beside plain --qmp.

The same x86_64 test guest with 1 vCPU is booted twice: by libvirt's QEMU driver (a transient
domain, see tests/integration/libvirtlib.py) and by hand with a QMP socket of its own.  While one
is sampled the other is paused, so that QEMU's vCPU thread and uniprof each have a host core on a
2-core machine.  uniprof samples
each at 100 Hz for a few seconds, the two alternating, ROUNDS times; the summary line's median
pause of each run is kept and the medians of those are printed with their ratio.  The samples
themselves go through the gdbstub and QEMU's memory alike on both; only QMP (attach, the
slide search's and the detach's commands) goes through libvirt.  Numbers only: nothing here
asserts.

Usage: BUILD=build python3 bench/libvirt_pause.py [--quick]
"""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from guestlib import QMP, run_uniprof, x86_64_guest  # noqa: E402
import libvirtlib  # noqa: E402

QUICK = "--quick" in sys.argv
ROUNDS = 3 if QUICK else 7
SECONDS = 3 if QUICK else 5
SUMMARY = re.compile(r"(\d+) samples in .* rate ([\d.]+) Hz .* median pause (\d+) us, p99 pause (\d+) us")


def sample(target_args, kernel):
    rc, _, err = run_uniprof(target_args + ["-k", kernel, "-F", "100", "-t", str(SECONDS),
                                            "-o", os.devnull, "-v"])
    if rc:
        raise RuntimeError(err)
    m = SUMMARY.search(err)
    memory = re.search(r"guest memory: (.*)", err)
    return int(m.group(3)), int(m.group(4)), float(m.group(2)), memory.group(1) if memory else "?"


def main():
    why = libvirtlib.ensure_libvirtd()
    if why:
        sys.exit("no libvirtd: " + why)
    dom = libvirtlib.Domain("x86_64", smp=1)
    try:
        guest, kernel = x86_64_guest(smp=1)
        runs = {"--qmp": [], "--libvirt": []}
        how = {}
        def plain(run):
            qmp = QMP(guest.qmp_path)  # QEMU's monitor takes one client: uniprof's next
            try:
                qmp.execute("cont" if run else "stop")
            finally:
                qmp.close()

        def managed(run):
            libvirtlib.virsh("resume" if run else "suspend", dom.name)

        for _ in range(ROUNDS):
            for name, args, k, other in (
                    ("--qmp", ["--qmp", guest.qmp_path], kernel, managed),
                    ("--libvirt", ["--libvirt", dom.name], dom.kernel, plain)):
                other(False)
                try:
                    median, p99, rate, memory = sample(args, k)
                finally:
                    other(True)
                runs[name].append((median, p99, rate))
                how[name] = memory
        print("per-sample guest pause, 1 vCPU, 100 Hz, %d runs of %d s each, alternating:"
              % (ROUNDS, SECONDS))
        for name, rs in runs.items():
            print("  %-10s median of run medians %6.0f us, median p99 %6.0f us, rate %.1f Hz "
                  "(memory: %s)" % (name, statistics.median(r[0] for r in rs),
                                    statistics.median(r[1] for r in rs),
                                    statistics.median(r[2] for r in rs), how[name]))
        print("  ratio --libvirt / --qmp: %.2f" % (statistics.median(r[0] for r in runs["--libvirt"]) /
                                                  statistics.median(r[0] for r in runs["--qmp"])))
    finally:
        dom.destroy()


if __name__ == "__main__":
    main()
