"""--unwind against our test guests built without frame pointers (tests/guests/*, NOFP=1: the
same workload, -fomit-frame-pointer -fasynchronous-unwind-tables), under QEMU TCG.

With --unwind cfi and auto, at least 95% of the samples must be the complete expected chains
in the expected ratios.  With --unwind fp the same guest must give truncated stacks and say so:
every stack that is not a complete chain counts as truncated, and the summary points at
--unwind cfi.  The frame-pointer guests' .debug_frame unwinds the same way (cfi, auto).
"""
import os
import re
import unittest

from guestlib import (ROOT, arm64_guest, check_profile, load_expected, parse_folded, run_uniprof,
                      tempdir, x86_64_guest)

SUMMARY = re.compile(r"(\d+) stacks, (\d+) truncated")


class UnwindBase:
    arch = None
    nofp = True

    @classmethod
    def setUpClass(cls):
        boot = x86_64_guest if cls.arch == "x86_64" else arm64_guest
        cls.guest, cls.kernel = boot(nofp=cls.nofp)
        cls.expected = load_expected(os.path.join(ROOT, "tests", "guests", cls.arch,
                                                  "expected.txt"))
        cls.tmp = tempdir("uniprof-unwind-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def profile(self, unwind, seconds=6):
        out = os.path.join(self.tmp, "%s.folded" % unwind)
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "250",
                                  "-t", str(seconds), "--per-vcpu", "-v", "--unwind", unwind,
                                  "-o", out])
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(open(out).read())
        stacks_seen, truncated = map(int, SUMMARY.search(err).groups())
        self.assertEqual(stacks_seen, sum(n for _, n in stacks))
        failures, report = check_profile(stacks, self.expected)
        complete = sum(r["complete"] for r in report.values())
        cost = re.search(r"unwinding \(\w+\): (.*)", err).group(1)
        print("\n    %s %s%s: %d of %d stacks complete chains (%.1f%%), %d truncated; %s" %
              (self.arch, "no-FP guest" if self.nofp else "FP guest", ", --unwind " + unwind,
               complete, stacks_seen, 100.0 * complete / max(stacks_seen, 1), truncated, cost))
        return stacks, err, failures, complete, stacks_seen, truncated

    def check_complete(self, unwind):
        stacks, err, failures, complete, total, truncated = self.profile(unwind)
        self.assertEqual(failures, [])
        # Honest the other way too: a complete chain is never reported as truncated.
        self.assertLessEqual(truncated, total - complete)
        self.assertIn("unwind tables: .eh_frame, .debug_frame" if self.nofp else
                      "unwind tables: .debug_frame", err)
        self.assertEqual(self.guest.status(), "running")

    def test_cfi(self):
        self.check_complete("cfi")

    def test_auto(self):
        self.check_complete("auto")


class NoFramePointersBase(UnwindBase):
    def test_fp_truncates_and_says_so(self):
        stacks, err, failures, complete, total, truncated = self.profile("fp", seconds=3)
        self.assertNotEqual(failures, [])
        self.assertLess(complete, 0.05 * total)
        # Every stack that is not a complete chain is reported as truncated...
        self.assertGreaterEqual(truncated, total - complete)
        self.assertNotIn(" 0 truncated", err)
        # ...with the reasons under -v, and the hint.
        reasons = re.search(r"walks ended at a root (\d+); truncated: (.*)", err)
        self.assertEqual(int(reasons.group(1)), total - truncated)
        self.assertRegex(reasons.group(2), r"null frame pointer [1-9]|zero frame record [1-9]|"
                                           r"non-canonical or misaligned [1-9]")
        self.assertIn("stopped at the leaf, truncated", err)
        self.assertIn("Try --unwind cfi (the symbol files have unwind tables)", err)
        self.assertEqual(self.guest.status(), "running")


class X86_64NoFramePointers(NoFramePointersBase, unittest.TestCase):
    arch = "x86_64"


class Arm64NoFramePointers(NoFramePointersBase, unittest.TestCase):
    arch = "arm64"


class UnwindUsage(unittest.TestCase):
    """Refused before anything is attached: one line, exit status 2."""

    def check_refused(self, args, needle):
        rc, out, err = run_uniprof(args, timeout=30)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn(needle, err)

    def test_unknown_unwinder(self):
        self.check_refused(["--qmp", "/nonexistent.sock", "--unwind", "dwarf"],
                           "bad --unwind 'dwarf': give fp, cfi, auto or orc")

    def test_cfi_needs_a_symbol_file(self):
        for how in ("cfi", "auto"):
            self.check_refused(["--qmp", "/nonexistent.sock", "--unwind", how],
                               "--unwind %s reads the unwind tables of the -k files" % how)
        self.check_refused(["--qmp", "/nonexistent.sock", "--unwind", "orc"],
                           "--unwind orc finds the kernel's ORC tables through its symbols")


class X86_64FramePointersByCfi(UnwindBase, unittest.TestCase):
    """The frame-pointer guest's .debug_frame (from -g) unwinds it as well."""
    arch = "x86_64"
    nofp = False


if __name__ == "__main__":
    unittest.main()
