"""Benchmark: how soon the guest runs again after uniprof is killed with SIGKILL.

Boots the x86_64 test guest under QEMU TCG (2 vCPUs), then N times (default 30) starts
uniprof --qmp -k guest.elf -F 1000 and kills it (SIGKILL) at a random moment: uniform over
[0, 2] s, which covers attaching, the slide search and sampling.  Each time it measures the time
from the kill to QMP's first "running" (tests/integration/guestlib.py sigkill_and_wait: QMP
serves one client at a time, so that answer comes once uniprof's guardian, which inherited
uniprof's QMP connection, has resumed the guest and let go).  That is an upper bound of the
guest's real stop: it includes our own QMP connection and query.  Prints each kill and the
median, p90 and maximum.  Numbers only: nothing here asserts.

Usage: BUILD=build python3 bench/kvm_sigkill.py [N] [SEED]
"""
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from guestlib import sigkill_and_wait, x86_64_guest  # noqa: E402


SMP = int(os.environ.get("SMP", "1"))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else random.randrange(1 << 30)
    rng = random.Random(seed)
    guest, kernel = x86_64_guest(smp=SMP)
    times, lost = [], []
    try:
        for i in range(n):
            delay = rng.uniform(0, 2.0)
            took = sigkill_and_wait(guest, ["--qmp", guest.qmp_path, "-k", kernel, "-F", "1000",
                                            "-o", os.devnull], delay)
            print("kill %2d after %6.3f s: %s" % (
                i, delay, "guest NOT running after 15 s" if took is None else
                "running again after %.1f ms" % (took * 1e3)), flush=True)
            if took is None:
                lost.append(delay)
                guest.stop()
                guest, kernel = x86_64_guest(smp=SMP)
            else:
                times.append(took * 1e3)
    finally:
        guest.stop()
    times.sort()
    print("seed %d: %d kills, %d with the guest left stopped" % (seed, n, len(lost)))
    if times:
        print("kill to running: median %.1f ms, p90 %.1f ms, max %.1f ms; over 100 ms: %d of %d"
              % (statistics.median(times), times[int(0.9 * (len(times) - 1))], times[-1],
                 sum(t > 100 for t in times), len(times)))


if __name__ == "__main__":
    main()
