"""uniprof --dump against our x86_64 and arm64 test guests under QEMU TCG: one pause, every
vCPU's backtrace.  The guests keep running their loops, so each dump catches each vCPU
somewhere along one of its expected chains (tests/guests/*/expected.txt), from the root down."""
import os
import unittest

from guestlib import (ROOT, arm64_guest, check_backtrace, load_expected, parse_backtrace,
                      run_uniprof, tempdir, x86_64_guest)

EXPECTED_X86_64 = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))
EXPECTED_ARM64 = load_expected(os.path.join(ROOT, "tests", "guests", "arm64", "expected.txt"))


class DumpBase:
    expected = None

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def dump(self, *args, first="--dump"):
        rc, out, err = run_uniprof([first, "--qmp", self.guest.qmp_path] + list(args))
        self.assertEqual(rc, 0, err)
        return out, err

    def assert_running(self):
        self.assertEqual(self.guest.status(), "running")

    def test_every_vcpu_on_an_expected_chain(self):
        for _ in range(3):
            out, err = self.dump("-k", self.kernel, "-v")
            dumps = parse_backtrace(out)
            self.assertEqual(sorted(dumps), sorted(self.expected), out)
            self.assertEqual(check_backtrace(dumps, self.expected), [], out)
            for d in dumps.values():
                outer = [f for f in d["frames"] if not f["inlined"]]
                # Function+offset on every frame, file:line from DWARF on the guest's C frames.
                self.assertTrue(all(f["offset"] is not None for f in outer), out)
                self.assertTrue(any(f["file"] == "workload.c" and f["line"] for f in outer), out)
            self.assertRegex(err, r"the guest was stopped for \d+ us")
        print("\n    %s dump:\n%s" % (self.guest_name, "\n".join("      " + l for l in out.splitlines())))
        self.assert_running()

    def test_dump_subcommand_and_output_file(self):
        path = os.path.join(self.tmp, "dump.txt")
        out, _ = self.dump("-k", self.kernel, "-o", path, first="dump")
        self.assertEqual(out, "")
        dumps = parse_backtrace(open(path).read())
        self.assertEqual(check_backtrace(dumps, self.expected), [])
        self.assert_running()

    def test_without_symbols(self):
        out, _ = self.dump()
        dumps = parse_backtrace(out)
        self.assertEqual(sorted(dumps), sorted(self.expected))
        self.assertTrue(all(f["name"] == "??" for d in dumps.values() for f in d["frames"]), out)
        self.assert_running()

    def test_profile_options_refused(self):
        for args, word in ((["-f", "folded"], "-f"), (["-F", "99"], "-F"), (["-t", "1"], "-t"),
                           (["--per-vcpu"], "--per-vcpu")):
            rc, out, err = run_uniprof(["--dump", "--qmp", self.guest.qmp_path] + args)
            self.assertEqual(rc, 2, err)
            self.assertEqual(out, "")
            lines = err.strip().splitlines()
            self.assertEqual(len(lines), 1, err)
            self.assertIn("%s does not apply to --dump" % word, lines[0])
        self.assert_running()


class DumpX86_64(DumpBase, unittest.TestCase):
    expected = EXPECTED_X86_64
    guest_name = "x86_64"

    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=2)
        cls.tmp = tempdir("uniprof-dump-")

    def test_inlined_frames(self):
        # Every leaf spins in spin_units, an always_inline helper: a dump that catches a vCPU
        # there shows it as a frame of its own above the leaf, at the same pc.  Almost all the
        # guest's time is spent there: a few dumps are enough to see it.
        seen = []
        for _ in range(5):
            out, _ = self.dump("-k", self.kernel)
            for d in parse_backtrace(out).values():
                f = d["frames"]
                if f[0]["inlined"]:
                    self.assertEqual(f[0]["name"], "spin_units", out)
                    self.assertEqual(f[0]["addr"], f[1]["addr"], out)
                    self.assertFalse(f[1]["inlined"])
                    self.assertTrue(f[1]["name"].endswith("_leaf"), out)
                    seen.append(f[1]["name"])
            if seen:
                break
        self.assertTrue(seen, "no dump caught a vCPU inside spin_units")
        self.assert_running()


class DumpArm64(DumpBase, unittest.TestCase):
    expected = EXPECTED_ARM64
    guest_name = "arm64"

    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = arm64_guest()
        cls.tmp = tempdir("uniprof-dump-")


if __name__ == "__main__":
    unittest.main()
