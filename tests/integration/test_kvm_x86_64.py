"""uniprof --qmp against our x86_64 test guest under QEMU TCG (tests/guests/x86_64)."""
import os
import signal
import socket
import stat
import subprocess
import time
import unittest

from guestlib import (ROOT, UNIPROF, check_profile, load_expected, parse_folded, run_uniprof,
                      tempdir, x86_64_guest)

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))


class ProfileX86_64(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=2)
        cls.tmp = tempdir("uniprof-x86-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def assert_running(self):
        self.assertEqual(self.guest.status(), "running")

    def profile(self, *extra, rate=250, seconds=6):
        out = os.path.join(self.tmp, "out.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", str(rate),
                                  "-t", str(seconds), "-o", out] + list(extra))
        self.assertEqual(rc, 0, err)
        return parse_folded(open(out).read()), err

    def test_chains_and_ratios(self):
        stacks, err = self.profile("--per-vcpu")
        failures, report = check_profile(stacks, EXPECTED)
        print("\n    profile: %s\n    %s" % (report, err.strip().splitlines()[-1]))
        self.assertEqual(failures, [])
        self.assertEqual(set(f[0] for f, _ in stacks), {"vcpu0", "vcpu1"})
        self.assert_running()

    def test_without_per_vcpu_roots_are_symbols(self):
        stacks, _ = self.profile(seconds=1)
        roots = set(f[0] for f, _ in stacks)
        self.assertFalse(any(r.startswith("vcpu") for r in roots), roots)
        total = sum(n for _, n in stacks)
        self.assertGreater(total, 0)
        self.assert_running()

    def test_sample_count_and_summary(self):
        stacks, err = self.profile("--per-vcpu", "-n", "50", seconds=60)
        self.assertEqual(sum(n for _, n in stacks), 100)  # 50 samples x 2 vCPUs
        self.assertIn("50 samples", err)
        self.assertIn("truncated", err)
        self.assertIn("Hz requested", err)
        self.assert_running()

    def test_max_stacks_other_bucket(self):
        # Two distinct stacks kept; the rest of each vCPU's samples in its [other] frame.
        stacks, err = self.profile("--per-vcpu", "--max-stacks", "2", "-n", "100", seconds=60)
        self.assertEqual(sum(n for _, n in stacks), 200)
        other = {f[0]: n for f, n in stacks if f[1:] == ["[other]"]}
        self.assertTrue(other and set(other) <= {"vcpu0", "vcpu1"}, stacks)
        self.assertIn(len(stacks) - len(other), (1, 2), stacks)  # names may merge two
        self.assertIn("uniprof: %d of 200 samples" % sum(other.values()), err)
        self.assertIn("are in [other]", err)
        self.assert_running()

    def test_max_depth_truncates(self):
        stacks, err = self.profile("--per-vcpu", "--max-depth", "2", seconds=1)
        self.assertTrue(all(len(f) <= 3 for f, _ in stacks), stacks)
        self.assertNotIn(" 0 truncated", err)
        self.assert_running()

    def test_sigint_writes_profile_and_resumes(self):
        out = os.path.join(self.tmp, "sigint.folded")
        p = subprocess.Popen([UNIPROF, "--qmp", self.guest.qmp_path, "-k", self.kernel,
                              "-F", "200", "--per-vcpu", "-o", out],
                             stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        stacks = parse_folded(open(out).read())
        self.assertGreater(sum(n for _, n in stacks), 100)
        self.assert_running()
        # A burst of signals while sampling fast must not leave the guest stopped either.
        p = subprocess.Popen([UNIPROF, "--qmp", self.guest.qmp_path, "-F", "2000", "-o", out],
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        for _ in range(5):
            p.send_signal(signal.SIGINT)
            time.sleep(0.001)
        p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assert_running()

    def test_inline_frames_and_lines(self):
        # Every leaf spins in spin_units, an always_inline helper: DWARF knows it.
        src = os.path.join(ROOT, "tests", "guests", "x86_64", "workload.c")
        lines = open(src).read().splitlines()
        loop = 1 + next(i for i, l in enumerate(lines) if "for (uint64_t left" in l)
        stacks, err = self.profile("--per-vcpu", "--inline", seconds=2)
        inline = dict((vcpu, [(w, c + ["spin_units"]) for w, c in chains])
                      for vcpu, chains in EXPECTED.items())
        # Short runs: the chains' shape is the point here, not their ratios.
        failures, _ = check_profile(stacks, inline, tolerance=1.0)
        self.assertEqual(failures, [])
        stacks, err = self.profile("--per-vcpu", "--lines", seconds=2)
        leaf_lines = dict((vcpu, [(w, c[:-1] + ["%s (workload.c:%d)" % (c[-1], loop)])
                                  for w, c in chains]) for vcpu, chains in EXPECTED.items())
        failures, _ = check_profile(stacks, leaf_lines, tolerance=1.0)
        self.assertEqual(failures, [])
        self.assert_running()

    def test_slide_given_and_confirmed(self):
        # The kernel runs at its link address: the slide found is 0, confirmed by code bytes.
        stacks, err = self.profile("--per-vcpu", "-v", seconds=1)
        self.assertIn("slide 0x0: the guest's code matches the file's", err)
        # A wrong slide given by the user is obeyed (no names match): the user is in charge.
        stacks, err = self.profile("--per-vcpu", "--slide", "0x200000", seconds=1)
        self.assertTrue(all(f.startswith("0x") for frames, _ in stacks for f in frames[1:]))
        self.assert_running()

    def test_sigkill_leaves_guest_running(self):
        # Killed while it samples as fast as it can (mostly with the guest stopped), uniprof
        # cannot clean up: its guardian process resumes the guest instead.
        for _ in range(3):
            p = subprocess.Popen([UNIPROF, "--qmp", self.guest.qmp_path, "-F", "5000",
                                  "-o", os.devnull], stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            p.kill()
            p.wait()
            deadline = time.monotonic() + 10
            while self.guest.status() != "running" and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assert_running()
        # And the guest still works for the next profiler.
        stacks, _ = self.profile("--per-vcpu", seconds=1)
        self.assertGreater(sum(n for _, n in stacks), 0)

    def check_bad(self, args, needle, rc=None):
        code, out, err = run_uniprof(args, timeout=30)
        self.assertNotEqual(code, 0)
        if rc is not None:
            self.assertEqual(code, rc)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn(needle, lines[0])
        self.assertEqual(out, "")
        self.assert_running()

    def test_bad_input(self):
        q = self.guest.qmp_path
        self.check_bad(["--qmp", "/nonexistent/qmp.sock"], "No such file or directory")
        self.check_bad(["--qmp", self.guest.serial], "not a socket")  # a plain file
        # A socket that accepts but says nothing is not QMP either.
        silent = os.path.join(self.tmp, "silent.sock")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(silent)
        srv.listen(1)
        try:
            self.check_bad(["--qmp", silent], "not a QMP socket")
        finally:
            srv.close()
        self.check_bad(["--qmp", q, "-k", "/nonexistent/guest.elf"], "/nonexistent/guest.elf")
        self.check_bad(["--qmp", q, "-k", self.guest.serial], "not a symbol file")
        self.check_bad(["--qmp", q, "--frobnicate"], "unknown option '--frobnicate'", rc=2)
        self.check_bad(["--qmp", q, "-F", "fast"], "bad frequency", rc=2)
        self.check_bad(["--qmp", q, "-o", "/nonexistent/dir/out.folded"], "/nonexistent/dir")
        self.check_bad([], "give exactly one target", rc=2)
        self.check_bad(["--qmp", q, "--gdb", "/nonexistent/gdb.sock"], "gdbstub")
        self.check_bad(["--qmp", q, "--memory", "fast"], "bad --memory 'fast'", rc=2)
        self.check_bad(["-d", "1", "--memory", "process"], "--memory is for QEMU targets", rc=2)
        # A failed run leaves the output as it was: an old profile keeps its content, a new
        # file is not left behind, and a device such as /dev/null stays a device.
        old = os.path.join(self.tmp, "old.folded")
        with open(old, "w") as f:
            f.write("root;leaf 1\n")
        new = os.path.join(self.tmp, "new.folded")
        for out in (old, new, "/dev/null"):
            self.check_bad(["--qmp", "/nonexistent/qmp.sock", "-o", out], "No such file")
        self.assertEqual(open(old).read(), "root;leaf 1\n")
        self.assertFalse(os.path.exists(new))
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode))


class ExistingGdbstub(unittest.TestCase):
    """QEMU started with its own -gdb: uniprof finds and uses it, or takes it from --gdb."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempdir("uniprof-gdb-")
        cls.gdb = os.path.join(cls.tmp, "gdb.sock")
        cls.guest, cls.kernel = x86_64_guest(
            smp=2, extra=["-gdb", "unix:%s,server=on,wait=off" % cls.gdb])

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def run_profile(self, *extra):
        out = os.path.join(self.tmp, "out.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "250",
                                  "-t", "6", "--per-vcpu", "-v", "-o", out] + list(extra))
        self.assertEqual(rc, 0, err)
        failures, _ = check_profile(parse_folded(open(out).read()), EXPECTED)
        self.assertEqual(failures, [])
        self.assertEqual(self.guest.status(), "running")
        return err

    def test_found_from_command_line(self):
        err = self.run_profile()
        self.assertIn("using QEMU's own gdbstub at " + self.gdb, err)

    def test_given_with_gdb_option(self):
        self.run_profile("--gdb", self.gdb)


if __name__ == "__main__":
    unittest.main()
