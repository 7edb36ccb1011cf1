"""Benchmark: what one uniprof --qmp sample costs the guest, side by side with gdb.

Boots the x86_64 test guest under QEMU TCG, then in one run:
  - uniprof at several rates: median pause per sample (guest stopped), achieved rate;
  - gdb -batch 'thread apply all bt' on the same guest: wall time per stack snapshot.
Prints medians and the ratio.  Numbers only: nothing here asserts.
Usage: python3 bench/kvm_sample_cost.py   (after make all guests)
"""
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from guestlib import BUILD, run_uniprof, tempdir, x86_64_guest  # noqa: E402


def uniprof_run(guest, kernel, rate, seconds):
    rc, _, err = run_uniprof(["--qmp", guest.qmp_path, "-k", kernel, "-F", str(rate),
                              "-t", str(seconds), "-o", "/dev/null"])
    if rc:
        raise RuntimeError(err)
    m = re.search(r"(\d+) samples in .* rate ([\d.]+) Hz of ([\d.]+) Hz requested, "
                  r"median pause (\d+) us", err)
    return int(m.group(1)), float(m.group(2)), int(m.group(4))


def gdb_snapshots(guest, kernel, n):
    """Time n 'gdb -batch' stack snapshots through a gdbstub opened with HMP."""
    sock = os.path.join(tempdir("uniprof-bench-"), "gdb.sock")
    from guestlib import QMP
    q = QMP(guest.qmp_path)
    q.execute("human-monitor-command", **{"command-line": "gdbserver unix:%s,server=on,wait=off" % sock})
    times = []
    try:
        for _ in range(n):
            t0 = time.monotonic()
            subprocess.run(["gdb", "-nx", "-batch", "-ex", "set pagination off",
                            "-ex", "target remote " + sock, "-ex", "thread apply all bt",
                            kernel], capture_output=True, check=True, timeout=60)
            times.append(time.monotonic() - t0)
    finally:
        q.execute("human-monitor-command", **{"command-line": "gdbserver none"})
        if q.execute("query-status")["status"] != "running":
            q.execute("cont")
        q.close()
    return statistics.median(times)


def main():
    guest, kernel = x86_64_guest(smp=2)
    try:
        print("uniprof --qmp on the x86_64 test guest (2 vCPUs, TCG), %s" % BUILD)
        print("%10s %10s %12s %16s" % ("requested", "samples", "achieved Hz", "median pause us"))
        pauses = []
        for rate in (100, 200, 500, 1000):
            n, achieved, pause = uniprof_run(guest, kernel, rate, 5)
            pauses.append(pause)
            print("%10d %10d %12.1f %16d" % (rate, n, achieved, pause))
        gdb = gdb_snapshots(guest, kernel, 10)
        median_pause = statistics.median(pauses)
        print("gdb -batch 'thread apply all bt': median %.1f ms per snapshot" % (gdb * 1e3))
        print("ratio gdb snapshot / uniprof pause: %.0fx" % (gdb * 1e6 / median_pause))
    finally:
        guest.stop()


if __name__ == "__main__":
    main()
