"""uniprof against the hostile flavours of the x86_64 and arm64 test guests (tests/guests/x86_64
and tests/guests/arm64, HOSTILE=1): frame-pointer loops, frame pointers into MMIO, past RAM, across an unmapped page, through a page
table that loops or lies past RAM, non-canonical and misaligned ones, and a 10,000-deep
recursion.  On each forced memory path the run must finish with exit 0 and a profile, count
those walks as truncated for the right reasons, cut the recursion at --max-depth, leave the
guest running and making progress, and read no device memory.

Device reads are seen by QEMU's own trace event memory_region_ops_read (written to a file):
RAM is never traced, MMIO and port I/O always are, and the guest's vCPUs show as "cpu 0" and
"cpu 1"; a read made for a debugger (the gdbstub's 'm', the monitor) shows as "cpu -1".  Before
the gdbstub path read physical memory kept to RAM, its runs read the local APIC and the HPET
(x86_64) thousands of times."""
import os
import re
import socket
import time
import unittest

from guestlib import QMP, arm64_guest, parse_folded, run_uniprof, tempdir, x86_64_guest

# One leaf per hostile case on vCPU 0 (tests/guests/*/hostile_hold.S).
COMMON_CASES = ["hold_self_loop", "hold_two_cycle", "hold_unmapped_edge", "hold_noncanonical_fp",
                "hold_misaligned_fp", "hold_noncanonical_ra", "hold_table_loop", "hold_past_ram",
                "hold_table_past_ram"]


def stop_counts(err):
    """The -v summary's walk endings: {"end": n, "unreadable memory": n, ...}."""
    m = re.search(r"^uniprof: walks ended at a root (\d+); truncated: (.*)$", err, re.M)
    assert m, err
    counts = {"end": int(m.group(1))}
    for part in m.group(2).split(", "):
        name, _, n = part.rpartition(" ")
        counts[name] = int(n)
    return counts


def walk_times(err):
    m = re.search(r"^uniprof: unwinding \(fp\): median ([\d.]+) us per stack \(p99 ([\d.]+), "
                  r"mean [\d.]+, max ([\d.]+)\)", err, re.M)
    assert m, err
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


class HostileBase:
    """One hostile guest: make_guest(extra) boots it; CASES its vCPU 0 leaves; MMIO_PROBE an
    HMP command that reads one of its devices, and the region name the trace gives it."""
    make_guest = None
    CASES = None
    MMIO_PROBE = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempdir("uniprof-hostile-")
        cls.trace = os.path.join(cls.tmp, "trace.log")
        cls.guest, cls.kernel = cls.make_guest(
            ["-trace", "enable=memory_region_ops_read,file=" + cls.trace])

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def debugger_reads(self):
        """Device reads QEMU made on a debugger's behalf so far, by region name."""
        time.sleep(0.5)  # the trace backend writes from a thread of its own
        regions = {}
        with open(self.trace, errors="replace") as f:
            for line in f:
                m = re.search(r"memory_region_ops_read cpu -1 .* name '([^']*)'", line)
                if m:
                    regions[m.group(1)] = regions.get(m.group(1), 0) + 1
        return regions

    def rounds(self):
        found = re.findall(r"uniprof-guest: hostile rounds (\d+)", self.guest.console())
        return int(found[-1]) if found else 0

    def assert_keeps_running(self):
        self.assertEqual(self.guest.status(), "running")
        before = self.rounds()
        deadline = time.monotonic() + 60
        while self.rounds() == before and time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertGreater(self.rounds(), before, "the guest made no progress after the run")

    def profile(self, memory, max_depth):
        out = os.path.join(self.tmp, "hostile-%s.folded" % memory)
        before = self.debugger_reads()
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "200",
                                  "-t", "6", "-v", "-v", "--memory", memory, "--per-vcpu",
                                  "--max-depth", str(max_depth), "-o", out], timeout=180)
        self.assertEqual(rc, 0, err)
        after = self.debugger_reads()
        stacks = parse_folded(open(out).read())
        counts = stop_counts(err)
        median, p99, longest = walk_times(err)
        print("\n    --memory %s --max-depth %d: %s; walk median %.1f us, p99 %.1f us, "
              "max %.1f us; device reads for the debugger: %s" %
              (memory, max_depth, counts, median, p99, longest,
               {k: after.get(k, 0) - before.get(k, 0) for k in after} or "none"))
        return stacks, err, counts, before, after

    def check_run(self, stacks, err, counts, max_depth):
        self.assertTrue(stacks, "empty profile")
        # Every hostile case was sampled, as the leaf of its own stack.
        leaves = {frames[-1] for frames, _ in stacks}
        for case in self.CASES:
            self.assertIn(case, leaves, "no sample in %s" % case)
        # Loops end as "did not grow", junk pointers as bad addresses, unmapped, past-RAM and
        # (on the process path) MMIO pointers as unreadable.
        for reason in ("stack did not grow", "non-canonical or misaligned", "unreadable memory",
                       "depth cap"):
            self.assertGreater(counts[reason], 0, "%s: %s" % (reason, err))
        m = re.search(r"^uniprof: \d+ samples in [\d.]+ s, (\d+) stacks, (\d+) truncated", err,
                      re.M)
        self.assertIsNotNone(m, err)
        self.assertEqual(int(m.group(2)), sum(v for k, v in counts.items() if k != "end"))
        # The recursion (on vCPU 1) is cut at exactly --max-depth frames, all of them "deep";
        # a sample taken while it winds up or down, shallower than that, ends at the root or
        # at on_stack, where the walk would go back to a stack below this one.
        deep = [(frames, n) for frames, n in stacks if frames[-1] == "deep"]
        capped = [(frames, n) for frames, n in deep if len(frames) - 1 == max_depth]
        self.assertTrue(capped, "no sample cut at the depth cap")
        for frames, _ in deep:
            self.assertEqual(frames[0], "vcpu1")
            self.assertLessEqual(len(frames) - 1, max_depth)
            if len(frames) - 1 == max_depth:
                self.assertEqual(set(frames[1:]), {"deep"})
            else:
                self.assertIn(frames[1], ("ap_start64", "start_el1", "on_stack"), frames[:4])
        self.assertGreaterEqual(counts["depth cap"], sum(n for _, n in capped))

    def test_process_memory(self):
        stacks, err, counts, before, after = self.profile("process", 4096)
        self.check_run(stacks, err, counts, 4096)
        self.assertEqual(after, before, "uniprof read device memory")
        self.assert_keeps_running()

    def gdbstub_run(self):
        if "_gdbstub" not in type(self).__dict__:
            type(self)._gdbstub = self.profile("gdbstub", 128)
        return type(self)._gdbstub

    def test_gdbstub_memory(self):
        stacks, err, counts, _, _ = self.gdbstub_run()
        self.check_run(stacks, err, counts, 128)
        self.assert_keeps_running()

    def test_gdbstub_memory_reads_no_mmio(self):
        """The stub translates virtual addresses itself and would read whatever lies behind
        them, device memory included: over the gdbstub uniprof translates and reads physical
        memory, only where QEMU's memory map has RAM or ROM."""
        _, err, _, before, after = self.gdbstub_run()
        self.assertEqual(after, before, "uniprof read device memory")
        self.assertNotIn("device memory unchecked", err)

    def test_trace_sees_a_debugger_read(self):
        """The detector itself: a monitor read of a device shows up as a debugger read."""
        command, region = self.MMIO_PROBE
        before = self.debugger_reads()
        q = QMP(self.guest.qmp_path)
        try:
            q.hmp(command)
        finally:
            q.close()
        after = self.debugger_reads()
        self.assertGreater(after.get(region, 0), before.get(region, 0), after)


class HostileX86_64(HostileBase, unittest.TestCase):
    make_guest = staticmethod(lambda extra: x86_64_guest(smp=2, hostile=True, extra=extra))
    CASES = COMMON_CASES + ["hold_lapic", "hold_hpet"]
    MMIO_PROBE = ("xp /1wx 0xfee00030", "apic-msi")


def stub_exchange(path, payloads):
    """Connect to the gdbstub at path, send each payload as a packet and wait for its reply
    (acks included, no checks beyond a reply ending in a checksum); return the replies.
    QEMU stops the VM when a debugger connects and may announce it with an unrequested stop
    reply (T02...) before or after answering the first packet: such packets are skipped, so
    each reply is the one its payload asked for."""
    replies = []
    packet = re.compile(rb"\$([^#$]*)#[0-9a-f]{2}")
    stop = re.compile(rb"[TS][0-9a-f]{2}")
    with socket.socket(socket.AF_UNIX) as g:
        g.settimeout(10)
        g.connect(path)
        buf = b""
        for p in payloads:
            data = p.encode()
            g.sendall(b"+$" + data + b"#%02x" % (sum(data) & 0xff))
            reply = None
            while reply is None:
                m = packet.search(buf)
                if m is None:
                    chunk = g.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                    continue
                buf = buf[m.end():]
                if not (p != "?" and stop.match(m.group(1))):
                    reply = m.group(0)
            replies.append(reply or b"")
        g.sendall(b"+")
    return replies


class StubLeftPhysical(unittest.TestCase):
    """QEMU keeps the gdbstub's physical memory mode (Qqemu.PhyMemMode) across connections, so
    a run killed while reading through the stub leaves it on.  The process path's check at
    attach compares our reads with the stub's virtual 'm': before it set the mode back, it
    found them different and (forced) failed."""

    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=1)
        cls.tmp = tempdir("uniprof-phys-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_process_path_after_physical_mode(self):
        stub = os.path.join(self.tmp, "stub.sock")
        q = QMP(self.guest.qmp_path)
        try:
            q.hmp("gdbserver unix:%s,server=on,wait=off" % stub)
            replies = stub_exchange(stub, ["qSupported", "Qqemu.PhyMemMode:1", "D"])
            self.assertIn(b"$OK#", replies[1])
            q.hmp("gdbserver none")
        finally:
            q.close()
        self.assertEqual(self.guest.status(), "running")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "100",
                                  "-t", "2", "--memory", "process", "-o", os.devnull])
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.guest.status(), "running")


class HostileArm64(HostileBase, unittest.TestCase):
    make_guest = staticmethod(lambda extra: arm64_guest(smp=2, hostile=True, extra=extra))
    CASES = COMMON_CASES + ["hold_uart", "hold_gic", "hold_misaligned_ra"]
    MMIO_PROBE = ("xp /1wx 0x9000018", "pl011")


if __name__ == "__main__":
    unittest.main()
