"""uniprof --qmp against our AArch64 test guest under QEMU TCG (tests/guests/arm64).

The guest runs its kernel in the upper half (TTBR1), two vCPUs, and one chain (delta) spends
its time in a leaf without a frame record, whose caller is only in LR.  Two CPU models, since
the gdbstub numbers the system registers differently on each.
"""
import os
import re
import unittest

from guestlib import (ROOT, arm64_guest, check_profile, load_expected, parse_folded, run_uniprof,
                      tempdir)

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "arm64", "expected.txt"))


class Arm64Base:
    cpu = None
    ttbr0_regnum = None

    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = arm64_guest(cpu=cls.cpu)
        cls.tmp = tempdir("uniprof-arm64-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_chains_ratios_and_leaves(self):
        out = os.path.join(self.tmp, "out.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "250",
                                  "-t", "6", "--per-vcpu", "-vv", "-o", out])
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(open(out).read())
        failures, report = check_profile(stacks, EXPECTED)
        fixups = re.search(r"leaf callers found: (.*)", err).group(1)
        print("\n    %s: %s\n    %s\n    leaf callers: %s" % (self.cpu, report,
                                                           err.strip().splitlines()[-2], fixups))
        self.assertEqual(failures, [])
        self.assertEqual(set(f[0] for f, _ in stacks), {"vcpu0", "vcpu1"})
        # The system registers came from the target description, with this model's numbers.
        self.assertIn("TTBR0_EL1 is gdbstub register %d" % self.ttbr0_regnum, err)
        # delta_leaf has no frame record: its caller came from LR, about 2/3 of vCPU 1's time.
        frameless = int(re.search(r"frameless leaf (\d+)", fixups).group(1))
        delta = sum(n for f, n in stacks if f[-1] == "delta_leaf")
        self.assertGreater(delta, 0)
        self.assertGreaterEqual(frameless, delta)
        self.assertEqual(self.guest.status(), "running")

    def test_gdbstub_path_gives_the_same_chains(self):
        # The stub translates: only TCR_EL1 (for pointer authentication) is read per sample.
        out = os.path.join(self.tmp, "gdb.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "250",
                                  "-t", "6", "--per-vcpu", "-v", "--memory", "gdbstub", "-o", out])
        self.assertEqual(rc, 0, err)
        self.assertIn("guest memory: QEMU's gdbstub ('m' packets)", err)
        failures, report = check_profile(parse_folded(open(out).read()), EXPECTED)
        print("\n    %s, gdbstub: %s" % (self.cpu, report))
        self.assertEqual(failures, [])
        self.assertEqual(self.guest.status(), "running")

    def test_without_symbols_leaves_lose_their_caller_but_walks_finish(self):
        out = os.path.join(self.tmp, "nosym.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-F", "200", "-t", "1",
                                  "--per-vcpu", "-o", out])
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(open(out).read())
        self.assertTrue(all(all(f.startswith("0x") for f in frames[1:]) for frames, _ in stacks))
        self.assertIn(" 0 truncated", err)
        self.assertEqual(self.guest.status(), "running")


class Arm64CortexA57(Arm64Base, unittest.TestCase):
    cpu = "cortex-a57"
    ttbr0_regnum = 146


class Arm64Max(Arm64Base, unittest.TestCase):
    cpu = "max"
    ttbr0_regnum = 171


if __name__ == "__main__":
    unittest.main()
