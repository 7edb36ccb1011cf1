"""uniprof -d on Xen on Arm: Xen 4.17 arm64 nested in qemu-system-aarch64 TCG (tests/xen-arm64/).

One boot: inside the arm64 dom0 the script tests/xen/dom0/uniprof-test-arm64.sh profiles our
arm64 test guest (tests/guests/arm64 built as a domU Image, 2 vCPUs, known chains and ratios)
with uniprof cross-built for arm64 (make cross-arm64), dumps its stacks (--dump, three times),
then loses the guest to `xl destroy` mid-run; last it profiles Debian's arm64 Linux as a domU
from its kallsyms.  The checks here read what it printed.
"""
import os
import re
import unittest

from guestlib import (BUILD, ROOT, check_backtrace, check_profile, load_expected,
                      parse_backtrace, parse_folded)
from xenlib import NestedRun, stacks_accounted, state_ok

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "arm64", "expected.txt"))
UNIPROF_ARM64 = os.path.join(BUILD, "arm64", "uniprof")
RUN_SCRIPT = os.path.join(ROOT, "tests", "xen-arm64", "run-uniprof.sh")


class XenArm64Nested(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(UNIPROF_ARM64, os.X_OK):
            raise RuntimeError("no %s: run make cross-arm64 first" % UNIPROF_ARM64)
        cls.xen = NestedRun(out=os.path.join(BUILD, "xen-arm64-uniprof"), script=RUN_SCRIPT,
                            uniprof=UNIPROF_ARM64, timeout=600)
        print("\n    nested Xen on Arm run: %.0f s, exit %d" % (cls.xen.seconds, cls.xen.returncode))

    def setUp(self):
        self.assertEqual(self.xen.returncode, 0,
                         "the nested run failed; its log ends:\n" + self.xen.tail())

    def test_arm64_guest_profile(self):
        rc, folded, err = self.xen.uniprof("arm64")
        self.assertIsNotNone(folded, "no output from uniprof")
        self.assertEqual(rc, 0, err)
        self.assertIn("aarch64 guest, 2 vCPUs", err)
        stacks = parse_folded(folded)
        failures, report = check_profile(stacks, EXPECTED)
        print("\n    arm64: %s\n    %s" % (report, err.strip().splitlines()[-1]))
        self.assertEqual(failures, [])
        self.assertEqual(set(f[0] for f, _ in stacks), {"vcpu0", "vcpu1"})
        self.assertIsNone(stacks_accounted(err, stacks))
        self.assertTrue(state_ok(self.xen.section("arm64-state-after")),
                        self.xen.section("arm64-state-after"))

    def test_linux_domu_from_kallsyms(self):
        # Debian's arm64 kernel as a domU (dd), named from its kallsyms: the frameless
        # __arch_clear_user keeps read_zero as its caller through code read from the domU.
        rc, folded, err = self.xen.uniprof("linux-arm64")
        self.assertIsNotNone(folded, "no output from uniprof")
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(folded)
        total = sum(n for _, n in stacks)
        from_entry = sum(n for frames, n in stacks if frames[0] == "el0t_64_sync")
        clear = [(f, n) for f, n in stacks if f[-1] == "__arch_clear_user"]
        clear_total = sum(n for _, n in clear)
        clear_caller = sum(n for f, n in clear if len(f) > 1 and f[-2] == "read_zero")
        print("\n    linux-arm64 domU: %d samples, %d from el0t_64_sync; __arch_clear_user %d, "
              "under read_zero %d" % (total, from_entry, clear_total, clear_caller))
        self.assertGreater(total, 100)
        self.assertGreaterEqual(from_entry, 0.9 * total)
        self.assertGreater(clear_total, 0.5 * total)
        self.assertGreaterEqual(clear_caller, 0.8 * clear_total)
        self.assertTrue(state_ok(self.xen.section("linux-arm64-state-after")),
                        self.xen.section("linux-arm64-state-after"))

    def test_dump(self):
        # One pause each: every vCPU's stack from the root down along one of its chains.
        for name in ("dump-1", "dump-2", "dump-3"):
            rc, out, err = self.xen.uniprof(name)
            self.assertIsNotNone(out, "no output from uniprof run %s" % name)
            self.assertEqual(rc, 0, err)
            dumps = parse_backtrace(out)
            self.assertEqual(sorted(dumps), ["vcpu0", "vcpu1"], out)
            self.assertEqual(check_backtrace(dumps, EXPECTED), [], out)
        print("\n    %s:\n%s" % (name, "\n".join("      " + l for l in out.splitlines())))
        self.assertRegex(err, r"the guest was stopped for \d+ us")
    def test_arm64_guest_without_frame_pointers(self):
        # The CFI unwinder over the vCPU context's general registers: complete chains...
        rc, folded, err = self.xen.uniprof("arm64-nofp-cfi")
        self.assertIsNotNone(folded, "no output from uniprof")
        self.assertEqual(rc, 0, err)
        self.assertIn("unwind tables: .eh_frame, .debug_frame", err)
        stacks = parse_folded(folded)
        failures, report = check_profile(stacks, EXPECTED)
        print("\n    arm64-nofp-cfi: %s\n    %s" % (report, err.strip().splitlines()[-1]))
        self.assertEqual(failures, [])
        self.assertIsNone(stacks_accounted(err, stacks))
        # ...where frame pointers give truncated stacks, every one of them reported so.
        rc, folded, err = self.xen.uniprof("arm64-nofp-fp")
        self.assertEqual(rc, 0, err)
        failures, report = check_profile(parse_folded(folded), EXPECTED)
        complete = sum(r["complete"] for r in report.values())
        total, truncated = map(int, re.search(r"(\d+) stacks, (\d+) truncated", err).groups())
        print("\n    arm64-nofp-fp: %d of %d complete, %d truncated" % (complete, total, truncated))
        self.assertNotEqual(failures, [])
        self.assertGreaterEqual(truncated, total - complete)
        self.assertIn("Try --unwind cfi", err)
        self.assertTrue(state_ok(self.xen.section("arm64-nofp-state-after")),
                        self.xen.section("arm64-nofp-state-after"))

    def test_domain_destroyed_mid_run(self):
        rc, folded, err = self.xen.uniprof("gone")
        self.assertEqual(rc, 1, err)
        self.assertRegex(err, r"sampling stopped: domain \d+ (is being destroyed|is gone|was destroyed|does not exist)")
        self.assertGreater(sum(n for _, n in parse_folded(folded)), 50)
        self.assertNotRegex(self.xen.section("xl-list-after-gone"), r"(?m)^(uniprof-arm64|\(null\))\s")


if __name__ == "__main__":
    unittest.main()
