"""Benchmark: what one uniprof --qmp sample costs the guest, side by side with its peers.

Boots the x86_64 test guest under QEMU TCG (RAM in a shared memfd, so every memory path can be
used; 11-frame stacks on vCPU 0) with 1, 2 and 4 vCPUs and prints, in one run:
  - the guest pause per sample (from the stop request until the stub acknowledged the
    continue), median and p99, for each memory path (QEMU's process memory, its shared RAM
    file, the gdbstub), at 100 Hz and 1 kHz, with the achieved rate;
  - the protocol's own floor on the same guest: a minimal gdbstub client that stops the guest,
    reads every vCPU's registers and lets it go (bench/gdbstub_floor.c);
  - the guest's slowdown: its own count of work done per second, without sampling and while
    sampled at 100 Hz and 1 kHz, by uniprof and by the floor client (1 vCPU, phases
    interleaved, medians);
  - two gdb baselines on the same guest: gdb -batch 'thread apply all bt' per sample (one
    process per stack, how people script it), and one long-lived gdb (MI) doing interrupt,
    'thread apply all bt', continue in a loop.
Numbers only: nothing here asserts.  Under TCG each vCPU thread takes a host core, so with 2
and 4 vCPUs on a 2-core host the pause also waits for the host to schedule QEMU and uniprof.

Usage: make bench, or BUILD=build python3 bench/kvm_sample_cost.py [--quick]
"""
import os
import queue
import re
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from guestlib import BUILD, QMP, run_uniprof, symbol_address, tempdir, x86_64_guest  # noqa: E402

QUICK = "--quick" in sys.argv
FLOOR = os.path.join(BUILD, "bench", "gdbstub_floor")
DEPTH = 4                      # extra frames: vCPU 0's stacks are 11 frames deep
PATHS = ("process", "shared", "gdbstub")
RATES = (100, 1000)
SECONDS = {100: 4 if QUICK else 8, 1000: 2 if QUICK else 4}
PHASE = 2 if QUICK else 4      # seconds per slowdown phase
ROUNDS = 2 if QUICK else 3


def boot(vcpus):
    """A guest with a second QMP monitor of the bench's own (uniprof holds the first)."""
    sock = os.path.join(tempdir("uniprof-bench-"), "bench.qmp")
    guest, kernel = x86_64_guest(smp=vcpus, extra=[
        "-object", "memory-backend-memfd,id=ram0,size=64M,share=on",
        "-machine", "memory-backend=ram0",
        "-fw_cfg", "name=opt/uniprof/depth,string=%d" % DEPTH,
        "-qmp", "unix:%s,server=on,wait=off" % sock])
    return guest, kernel, sock


def hmp(sock, line):
    q = QMP(sock)
    try:
        return q.hmp(line)
    finally:
        q.close()


def ensure_running(sock):
    q = QMP(sock)
    try:
        if q.execute("query-status")["status"] != "running":
            q.execute("cont")
    finally:
        q.close()


class Gdbserver:
    """A gdbstub of the bench's own on a unix socket, removed on exit."""

    def __init__(self, qmp_sock):
        self.qmp = qmp_sock
        self.path = os.path.join(tempdir("uniprof-bench-"), "gdb.sock")

    def __enter__(self):
        hmp(self.qmp, "gdbserver unix:%s,server=on,wait=off" % self.path)
        return self.path

    def __exit__(self, *exc):
        hmp(self.qmp, "gdbserver none")
        ensure_running(self.qmp)


def uniprof(guest, kernel, rate, seconds, *extra):
    rc, _, err = run_uniprof(["--qmp", guest.qmp_path, "-k", kernel, "-F", str(rate), "-t",
                              str(seconds), "-v", "-o", os.devnull] + list(extra),
                             timeout=seconds + 60)
    if rc:
        raise RuntimeError(err)
    m = re.search(r"(\d+) samples in .* rate ([\d.]+) Hz of ([\d.]+) Hz requested, "
                  r"median pause (\d+) us", err)
    p = re.search(r"p99 pause (\d+) us", err)
    h = re.search(r"from pause to the resume request: median (\d+) us", err)
    return {"samples": int(m.group(1)), "rate": float(m.group(2)), "median": int(m.group(4)),
            "p99": int(p.group(1)), "held": int(h.group(1))}


def floor(qmp_sock, rate, count, vcpus):
    with Gdbserver(qmp_sock) as sock:
        out = subprocess.run([FLOOR, sock, str(rate), str(count), str(vcpus)],
                             capture_output=True, text=True, timeout=count / rate + 60)
    if out.returncode:
        raise RuntimeError(out.stderr)
    median, p99 = out.stdout.split()
    return float(median), float(p99)


def work_units(qmp_sock, addr):
    out = hmp(qmp_sock, "x /1gx 0x%x" % addr)
    return int(out.split(":")[1].split()[0], 16)


def units_per_second(qmp_sock, addr, seconds):
    u0, t0 = work_units(qmp_sock, addr), time.monotonic()
    time.sleep(seconds)
    u1, t1 = work_units(qmp_sock, addr), time.monotonic()
    return (u1 - u0) / (t1 - t0)


def sampled_rate(qmp_sock, addr, command):
    """Work per second while command samples the guest, measured away from its start and end."""
    p = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        return units_per_second(qmp_sock, addr, PHASE)
    finally:
        p.wait(timeout=60)


def slowdown(guest, kernel, qmp_sock):
    """Work per second without sampling, while uniprof samples and while the floor client does
    (the protocol's own share), phases interleaved; medians.  Keys: 0, ("uniprof", hz),
    ("floor", hz)."""
    addr = symbol_address(kernel, "work_units")
    rates = {}
    for _ in range(ROUNDS):
        for hz in (100, 1000):
            rates.setdefault(0, []).append(units_per_second(qmp_sock, addr, PHASE))
            rates.setdefault(("uniprof", hz), []).append(sampled_rate(qmp_sock, addr, [
                os.path.join(BUILD, "uniprof"), "--qmp", guest.qmp_path, "-k", kernel,
                "-F", str(hz), "-t", str(PHASE + 2), "--memory", "process", "-o", os.devnull]))
            with Gdbserver(qmp_sock) as sock:
                rates.setdefault(("floor", hz), []).append(sampled_rate(qmp_sock, addr, [
                    FLOOR, sock, str(hz), str(hz * (PHASE + 2)), "1"]))
    # The spread of the unsampled phases says how much of a difference is noise.
    return (dict((k, statistics.median(v)) for k, v in rates.items()),
            (min(rates[0]), max(rates[0])))


def gdb_batch(qmp_sock, kernel, n):
    times = []
    with Gdbserver(qmp_sock) as sock:
        for _ in range(n):
            t0 = time.monotonic()
            subprocess.run(["gdb", "-nx", "-batch", "-ex", "set pagination off",
                            "-ex", "target remote " + sock, "-ex", "thread apply all bt",
                            kernel], capture_output=True, check=True, timeout=60)
            times.append(time.monotonic() - t0)
            ensure_running(qmp_sock)
    return statistics.median(times)


class GdbMI:
    """gdb --interpreter=mi2 driven line by line; every wait has a deadline."""

    def __init__(self, elf):
        self.p = subprocess.Popen(["gdb", "-nx", "-q", "--interpreter=mi2", elf],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def do(self, cmd, done, timeout=30):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None or line.startswith("^error"):
                raise RuntimeError("gdb: %s -> %s" % (cmd, line))
            if line.startswith(done):
                return

    def close(self):
        self.p.stdin.write("-gdb-exit\n")
        self.p.stdin.flush()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def gdb_loop(qmp_sock, kernel, rate, n):
    """The best a gdb user can do: one gdb, interrupt / thread apply all bt / continue."""
    pauses = []
    with Gdbserver(qmp_sock) as sock:
        gdb = GdbMI(kernel)
        try:
            gdb.do("-gdb-set mi-async on", "^done")
            gdb.do("-target-select remote " + sock, "^connected")
            gdb.do("-exec-continue", "^running")
            for _ in range(n):
                time.sleep(1.0 / rate)
                t0 = time.monotonic()
                gdb.do("-exec-interrupt", "*stopped")
                gdb.do('-interpreter-exec console "thread apply all bt"', "^done")
                gdb.do("-exec-continue", "^running")
                pauses.append(time.monotonic() - t0)
            gdb.do("-exec-interrupt", "*stopped")
            gdb.do("-target-detach", "^done")
        finally:
            gdb.close()
    pauses.sort()
    return statistics.median(pauses), pauses[(len(pauses) * 99 + 99) // 100 - 1]


def main():
    print("uniprof --qmp sample cost: x86_64 test guest, QEMU TCG, vCPU 0 stacks 11 frames, "
          "%d host cores, load average %.2f at start%s" %
          (os.cpu_count(), os.getloadavg()[0], ", --quick" if QUICK else ""))
    results, floors, one = {}, {}, None
    for vcpus in (1, 2, 4):
        guest, kernel, qmp_sock = boot(vcpus)
        try:
            for rate in RATES:
                floors[vcpus, rate] = floor(qmp_sock, rate, SECONDS[rate] * rate, vcpus)
                for path in PATHS:
                    results[vcpus, path, rate] = uniprof(guest, kernel, rate, SECONDS[rate],
                                                         "--memory", path)
            if vcpus == 1:
                one = (slowdown(guest, kernel, qmp_sock),
                       gdb_batch(qmp_sock, kernel, 5 if QUICK else 10),
                       gdb_loop(qmp_sock, kernel, 100, 100 if QUICK else 300))
        finally:
            guest.stop()

    for rate in RATES:
        print("\n-- guest pause per sample at %d Hz, us (median / p99) --" % rate)
        print("%6s %16s %16s %16s %16s" % ("vCPUs", "protocol floor", *PATHS))
        for vcpus in (1, 2, 4):
            row = ["%7.0f / %-6.0f" % floors[vcpus, rate]]
            row += ["%7d / %-6d" % (results[vcpus, p, rate]["median"],
                                    results[vcpus, p, rate]["p99"]) for p in PATHS]
            print("%6d %s" % (vcpus, " ".join("%16s" % c for c in row)))
    print("\n-- achieved rate, Hz (samples) --")
    for vcpus in (1, 2, 4):
        print("%d vCPUs: " % vcpus + ", ".join(
            "%s %d Hz: %.1f (%d, %.1f%%)" % (p, r, results[vcpus, p, r]["rate"],
                                             results[vcpus, p, r]["samples"],
                                             100 * results[vcpus, p, r]["rate"] / r)
            for p in PATHS for r in RATES))
    print("\n-- each extra vCPU, process path, 1000 Hz: median pause (floor) --")
    base = results[1, "process", 1000]["median"]
    for vcpus in (2, 4):
        extra = (results[vcpus, "process", 1000]["median"] - base) / (vcpus - 1)
        fextra = (floors[vcpus, 1000][0] - floors[1, 1000][0]) / (vcpus - 1)
        print("%d vCPUs: +%.0f us per extra vCPU (floor +%.0f us)" % (vcpus, extra, fextra))

    (rates, (lowest, highest)), batch, (loop_median, loop_p99) = one
    print("\n-- guest slowdown, 1 vCPU: work units per second (median of %d phases of %d s "
          "each, interleaved) --" % (ROUNDS * 2, PHASE))
    print("not sampled: %.1f (phases from %.1f to %.1f: differences of a few %% are noise)" %
          (rates[0], lowest, highest))
    for hz in (100, 1000):
        for who, what in (("uniprof", "uniprof, process path"),
                          ("floor", "the floor client (stop, g, continue)")):
            r = rates[who, hz]
            print("sampled at %d Hz by %s: %.1f (%.1f%% slower)" %
                  (hz, what, r, 100 * (1 - r / rates[0])))
    print("\n-- gdb baselines, 1 vCPU --")
    for path in PATHS:
        us = results[1, path, 100]["median"]
        print("uniprof %s path, 100 Hz: median pause %d us" % (path, us))
    us = results[1, "process", 100]["median"]
    print("gdb -batch 'thread apply all bt', one process per sample: median %.1f ms "
          "(%.0fx uniprof's process path)" % (batch * 1e3, batch * 1e6 / us))
    print("one gdb (MI): interrupt, thread apply all bt, continue at 100 Hz: median %.2f ms, "
          "p99 %.2f ms (%.0fx uniprof's process path)" %
          (loop_median * 1e3, loop_p99 * 1e3, loop_median * 1e6 / us))


if __name__ == "__main__":
    main()
