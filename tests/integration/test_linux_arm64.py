"""Debian's arm64 Linux (KASLR on) profiled with nothing but the kallsyms a nokaslr boot made
(tests/guests/linux/prepare.sh --arch arm64): the slide found at arm64 scale from VBAR_EL1,
frameless leaves keeping their callers through code read from the guest, and no sample left on
the exception vectors."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from guestlib import (check_refused, linux_arm64_guest, parse_folded, run_uniprof,  # noqa: E402
                      tempdir)


def map_address(path, name):
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and fields[2] == name:
                return int(fields[0], 16)
    raise AssertionError("%s has no %s" % (path, name))


class LinuxArm64(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kallsyms = linux_arm64_guest(work="dd,urandom")
        cls.tmp = tempdir("uniprof-linux-arm64-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_profile_from_kallsyms_alone(self):
        stext = int(re.search(r"uniprof-guest: _stext (0x[0-9a-f]+)", self.guest.console()).group(1), 16)
        slide = stext - map_address(self.kallsyms, "_stext")
        out = os.path.join(self.tmp, "linux.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kallsyms, "-F", "200",
                                  "-t", "5", "-v", "-o", out])
        self.assertEqual(rc, 0, err)
        m = re.search(r"slide (-?0x[0-9a-f]+): (.*)", err)
        self.assertIsNotNone(m, err)
        print("\n    true slide 0x%x; uniprof: %s" % (slide, m.group(0)))
        self.assertEqual(int(m.group(1), 16), slide)
        self.assertIn("vector table", m.group(2))
        # KASLR on arm64 moves the kernel by far more than the 1 GiB an x86_64 search covers.
        self.assertGreater(slide, 1 << 30)

        stacks = parse_folded(open(out).read())
        total = sum(n for _, n in stacks)
        from_entry = sum(n for frames, n in stacks if frames[0] == "el0t_64_sync")
        on_vectors = sum(n for frames, n in stacks if "vectors" in frames)
        clear = [(frames, n) for frames, n in stacks if frames[-1] == "__arch_clear_user"]
        clear_total = sum(n for _, n in clear)
        clear_caller = sum(n for frames, n in clear if len(frames) > 1 and frames[-2] == "read_zero")
        leaves = {}
        for frames, n in stacks:
            leaves[frames[-1]] = leaves.get(frames[-1], 0) + n
        top = sorted(leaves.items(), key=lambda kv: -kv[1])[:6]
        print("    %d samples: %.1f%% from el0t_64_sync, %.2f%% on the vectors; dd's leaf "
              "__arch_clear_user %d, read_zero its caller in %.1f%%; top leaves %s"
              % (total, 100.0 * from_entry / total, 100.0 * on_vectors / total, clear_total,
                 100.0 * clear_caller / max(clear_total, 1), top))
        # Leaves in exception entry code (el0t_64_sync, el1h_64_irq, ...): from EL0 alone, from
        # EL1 below the function the exception interrupted.
        entry = re.compile(r"el[01][th]_(64|32)_(sync|irq|fiq|error)$")
        in_entry = [(frames, n) for frames, n in stacks if entry.match(frames[-1])]
        print("    %d samples with the leaf in entry code: %s"
              % (sum(n for _, n in in_entry), sorted(((";".join(f[-3:]), n) for f, n in in_entry),
                                                      key=lambda kv: -kv[1])[:4]))
        self.assertGreater(total, 200)
        self.assertGreaterEqual(from_entry, 0.9 * total)
        self.assertLessEqual(on_vectors, 0.01 * total)
        self.assertGreater(clear_total, 0.1 * total)
        self.assertGreaterEqual(clear_caller, 0.8 * clear_total)
        self.assertEqual(self.guest.status(), "running")

    def test_wrong_map_is_refused(self):
        # A map whose vectors branch nowhere it names: no slide is confirmed, nothing named.
        bogus = os.path.join(self.tmp, "bogus.map")
        with open(bogus, "w") as f:
            f.write("ffff800008010000 T _stext\nffff800008010800 T vectors\n"
                    "ffff800008011000 t not_a_handler\nffff800008020000 T fake_function\n")
        check_refused(self, self.guest, bogus, os.path.join(self.tmp, "bogus.folded"))


if __name__ == "__main__":
    unittest.main()
