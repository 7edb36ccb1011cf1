"""uniprof record / uniprof report against our x86_64 test guest under QEMU TCG: a recording
reports the guest's known chains and exactly the stacks the run walked, in every format; a
recording killed with SIGKILL still reports what it holds; bad files give one-line errors."""
import os
import re
import shutil
import signal
import subprocess
import time
import unittest

from guestlib import (ROOT, UNIPROF, check_profile, load_expected, parse_folded, run_uniprof,
                      tempdir, x86_64_guest)

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))
SUMMARY = re.compile(r"uniprof: (\d+) samples in [\d.]+ s, (\d+) stacks, (\d+) truncated")


def formats():
    """The formats --help offers to report (folded, and whatever else this build writes)."""
    out = subprocess.run([UNIPROF, "--help"], capture_output=True, text=True, check=True).stdout
    names = re.search(r"--format FORMAT\s+(\S+), or raw", out).group(1)
    return names.split("|")


class Record(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=2)
        cls.tmp = tempdir("uniprof-record-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def assert_running(self):
        deadline = time.monotonic() + 10
        while self.guest.status() != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.guest.status(), "running")

    def record(self, name, *extra):
        """uniprof record into name; the recording's path and the run's summary numbers."""
        path = os.path.join(self.tmp, name)
        rc, out, err = run_uniprof(["record", "--qmp", self.guest.qmp_path, "-k", self.kernel,
                                    "-o", path] + list(extra))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "")
        m = SUMMARY.search(err)
        self.assertIsNotNone(m, err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"UNIPROF\0")
        return path, [int(x) for x in m.groups()]

    def report(self, recording, *extra, rc=0):
        out = os.path.join(self.tmp, "report.folded")
        code, stdout, err = run_uniprof(["report", recording, "-o", out] + list(extra))
        self.assertEqual(code, rc, err)
        return (parse_folded(open(out).read()) if code == 0 else None), err

    def test_report_has_the_chains_and_every_stack(self):
        path, (samples, stacks, _) = self.record("run.uniprof", "-F", "250", "-t", "6")
        self.assert_running()
        folded, err = self.report(path, "-k", self.kernel, "--per-vcpu", "-v")
        failures, report = check_profile(folded, EXPECTED)
        print("\n    profile: %s" % report)
        self.assertEqual(failures, [])
        # Exactly the stacks the run walked: two vCPUs, nothing stale under KVM/TCG.
        self.assertEqual(sum(n for _, n in folded), stacks)
        self.assertEqual(stacks, 2 * samples)
        self.assertNotIn("cut short", err)
        # The slide found while recording is the one used now.
        self.assertIn("slide 0x0: recorded: the guest's code matches the file's", err)
        # Without --per-vcpu, the same stacks merged across vCPUs.
        merged, _ = self.report(path, "-k", self.kernel)
        self.assertEqual(sum(n for _, n in merged), stacks)
        self.assertFalse(any(f[0].startswith("vcpu") for f, _ in merged))
        # Capped: every sample still counted, the stacks beyond the cap in one [other] line.
        capped, err = self.report(path, "-k", self.kernel, "--max-stacks", "3")
        self.assertEqual(sum(n for _, n in capped), stacks)
        other = [n for f, n in capped if f == ["[other]"]]
        self.assertEqual(len(other), 1, capped)
        m = re.search(r"uniprof: (\d+) of (\d+) samples \([\d.]+%\) are in \[other\]", err)
        self.assertIsNotNone(m, err)
        self.assertEqual(int(m.group(1)), other[0])
        self.assertEqual(int(m.group(2)), stacks)

    def test_report_elsewhere_and_in_every_format(self):
        path, (_, stacks, _) = self.record("fmt.uniprof", "-n", "40")
        # Another machine: the recording and a renamed copy of the ELF somewhere else.
        other = tempdir("uniprof-elsewhere-")
        moved = shutil.copy(path, os.path.join(other, "moved.uniprof"))
        elf = shutil.copy(self.kernel, os.path.join(other, "guest-copy.elf"))
        folded, err = self.report(moved, "-k", elf, "--per-vcpu", "-v")
        self.assertIn("recorded: the guest's code matches the file's", err)
        failures, _ = check_profile(folded, EXPECTED, tolerance=1.0)
        self.assertEqual(failures, [])
        self.assertEqual(sum(n for _, n in folded), stacks)
        for fmt in formats():
            out = os.path.join(other, "out." + fmt)
            rc, _, err = run_uniprof(["report", moved, "-k", elf, "-f", fmt, "-o", out])
            self.assertEqual(rc, 0, err)
            self.assertGreater(os.path.getsize(out), 0, fmt)
        # Without symbols: hex addresses, and a line saying which file the recording used.
        folded, err = self.report(moved)
        self.assertTrue(all(f.startswith("0x") for frames, _ in folded for f in frames))
        self.assertIn("no -k file", err)
        self.assertIn(self.kernel, err)

    def test_raw_by_extension_format_and_stdout(self):
        path = os.path.join(self.tmp, "ext.uniprof")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-n", "10", "-o", path])
        self.assertEqual(rc, 0, err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), b"UNIPROF\0")
        path = os.path.join(self.tmp, "stdout.raw")
        with open(path, "wb") as f:
            p = subprocess.run([UNIPROF, "--qmp", self.guest.qmp_path, "-n", "10", "-f", "raw"],
                               stdout=f, stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        folded, _ = self.report(path)
        self.assertEqual(sum(n for _, n in folded), 20)
        self.assert_running()

    def test_sigkill_leaves_a_readable_recording(self):
        path = os.path.join(self.tmp, "killed.uniprof")
        p = subprocess.Popen([UNIPROF, "record", "--qmp", self.guest.qmp_path, "-k", self.kernel,
                              "-F", "200", "-o", path], stderr=subprocess.DEVNULL)
        time.sleep(4)
        p.kill()
        p.wait()
        self.assert_running()
        folded, err = self.report(path, "-k", self.kernel, "--per-vcpu")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn("was cut short", lines[0])
        total = sum(n for _, n in folded)
        self.assertGreater(total, 50)
        self.assertIn("reporting its %d stacks" % total, lines[0])
        # Shorter, but the same shape: the guest's chains, nothing half-read.
        failures, _ = check_profile(folded, EXPECTED, tolerance=1.0)
        self.assertEqual(failures, [])

    def check_bad(self, args, needle, rc):
        code, out, err = run_uniprof(args, timeout=30)
        self.assertEqual(code, rc, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn(needle, lines[0])
        self.assertEqual(out, "")

    def test_bad_recordings(self):
        good, _ = self.record("good.uniprof", "-n", "5")
        data = open(good, "rb").read()
        cut = os.path.join(self.tmp, "header-cut.uniprof")
        with open(cut, "wb") as f:
            f.write(data[:20])
        newer = os.path.join(self.tmp, "newer.uniprof")
        with open(newer, "wb") as f:
            f.write(data[:8] + b"\x09\0\0\0" + data[12:])
        # A byte of the header record's target name changed: its check fails.
        damaged = os.path.join(self.tmp, "damaged.uniprof")
        with open(damaged, "wb") as f:
            f.write(data[:20] + bytes([data[20] ^ 0xff]) + data[21:])
        self.check_bad(["report", os.path.join(ROOT, "README.md")], "not a uniprof recording", 1)
        self.check_bad(["report", cut], "cut short inside its header", 1)
        self.check_bad(["report", newer], "newer uniprof", 1)
        self.check_bad(["report", damaged], "the file is corrupted", 1)
        self.check_bad(["report", "/nonexistent.uniprof"], "No such file", 1)
        self.check_bad(["report", good, "--qmp", self.guest.qmp_path], "uniprof report reads a recording", 2)
        self.check_bad(["record", "--qmp", self.guest.qmp_path, "--inline", "-o", cut],
                       "give it to uniprof report", 2)
        self.assert_running()


if __name__ == "__main__":
    unittest.main()
