"""Symbolization against guests that do not run where their symbol files say.

- Our EFI applications (x86_64 under OVMF, arm64 under QEMU_EFI) are loaded by the firmware
  at an address of its choosing: uniprof must find the slide from the running guest (the PE
  header below the sampled pcs, confirmed by code bytes) with no hint.
- Debian's Linux kernel boots with KASLR: uniprof must find the slide of our System.map
  (linux_banner) and name the kernel's leaf functions.
"""
import os
import re
import unittest

from guestlib import (ROOT, check_profile, efi_arm64_guest, efi_x86_64_guest, linux_guest,
                      load_expected, parse_folded, run_uniprof, tempdir)


def guest_slide(console):
    m = re.search(r"uniprof-guest: slide (0x[0-9a-f]+)", console)
    return int(m.group(1), 16)


def workload_only(stacks):
    """Drop samples taken while firmware code ran (their leaf has no name in our image)."""
    return [(f, n) for f, n in stacks if not f[-1].startswith("0x")]


class EfiBase:
    guest_fn = None
    folder = None

    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = cls.guest_fn()
        cls.tmp = tempdir("uniprof-efi-")
        cls.expected = load_expected(os.path.join(ROOT, "tests", "guests", cls.folder, "expected.txt"))

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_slide_found_and_chains_named(self):
        out = os.path.join(self.tmp, "out.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "200",
                                  "-t", "8", "--per-vcpu", "-v", "-o", out])
        self.assertEqual(rc, 0, err)
        slide = guest_slide(self.guest.console())
        self.assertNotEqual(slide, 0)
        m = re.search(r"slide (0x[0-9a-f]+): (.*)", err)
        self.assertIsNotNone(m, err)
        print("\n    %s: guest says slide 0x%x; uniprof: %s" % (self.folder, slide, m.group(0)))
        self.assertEqual(int(m.group(1), 16), slide)
        self.assertIn("PE image at", m.group(2))
        stacks = parse_folded(open(out).read())
        total = sum(n for _, n in stacks)
        work = workload_only(stacks)
        firmware = total - sum(n for _, n in work)
        failures, report = check_profile(work, self.expected)
        print("    %s; firmware samples %d of %d" % (report, firmware, total))
        self.assertEqual(failures, [])
        self.assertLess(firmware, 0.2 * total)
        self.assertEqual(self.guest.status(), "running")


class EfiX86_64(EfiBase, unittest.TestCase):
    guest_fn = staticmethod(efi_x86_64_guest)
    folder = "efi-x86_64"


class EfiArm64(EfiBase, unittest.TestCase):
    guest_fn = staticmethod(efi_arm64_guest)
    folder = "efi-arm64"


# Kernel functions the dd workload (reading /dev/zero, writing /dev/null) runs in.
DD_PATH = re.compile(r"^(clear_user\w*|read_zero|_copy_to_iter|iov_iter_zero|__clear_user|"
                     r"\w*entry_SYSCALL\w*|exit_to_user_mode\w*|syscall_\w*|do_syscall_64|"
                     r"vfs_read|ksys_read|__x64_sys_read|write_null|vfs_write|ksys_write|"
                     r"__x64_sys_write|\w*rep_movs\w*|\w*copy_user\w*|fsnotify\w*|"
                     r"\w*fdget\w*|rw_verify_area|security_file_permission|__fsnotify_parent|"
                     r"\w*_fpu\w*|lapic_next_event|\w*timer\w*|\w*tick\w*|\w*irq\w*|"
                     r"native_\w*|__\w+)$")


class LinuxKaslr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.system_map = linux_guest(work="dd")
        cls.tmp = tempdir("uniprof-linux-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_kaslr_slide_and_kernel_leaves(self):
        text = int(re.search(r"uniprof-guest: _text (0x[0-9a-f]+)", self.guest.console()).group(1), 16)
        slide = text - 0xffffffff81000000
        out = os.path.join(self.tmp, "linux.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.system_map, "-F", "200",
                                  "-t", "4", "-v", "-o", out])
        self.assertEqual(rc, 0, err)
        m = re.search(r"slide (-?0x[0-9a-f]+): (.*)", err)
        self.assertIsNotNone(m, err)
        print("\n    true slide 0x%x; uniprof: %s" % (slide, m.group(0)))
        self.assertEqual(int(m.group(1), 16), slide)
        self.assertIn("linux_banner", m.group(2))
        stacks = parse_folded(open(out).read())
        total = sum(n for _, n in stacks)
        leaves = {}
        for frames, n in stacks:
            leaves[frames[-1]] = leaves.get(frames[-1], 0) + n
        named = sum(n for leaf, n in leaves.items() if not leaf.startswith("0x"))
        on_path = sum(n for leaf, n in leaves.items() if DD_PATH.match(leaf))
        top = sorted(leaves.items(), key=lambda kv: -kv[1])[:6]
        depth = max(len(f) for f, _ in stacks)
        print("    %d samples, %d with a kernel leaf name, %d on the dd path; deepest stack %d; "
              "top leaves %s" % (total, named, on_path, depth, top))
        # dd keeps the CPU in the kernel; its leaves are real symbols of the read/write path.
        self.assertGreater(named, 0.8 * total)
        self.assertGreater(on_path, 0.9 * named)
        self.assertTrue(any(l.startswith("clear_user") for l, _ in top), top)
        self.assertEqual(self.guest.status(), "running")

    def test_wrong_map_is_refused(self):
        # A System.map whose banner is not in this guest: no slide is confirmed, nothing named.
        bogus = os.path.join(self.tmp, "bogus.map")
        with open(bogus, "w") as f:
            f.write("ffffffff81000000 T _text\nffffffff81000100 T fake_function\n"
                    "ffffffff82ffff00 D linux_banner\n")
        out = os.path.join(self.tmp, "bogus.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", bogus, "-F", "100",
                                  "-t", "1", "-o", out])
        self.assertEqual(rc, 0, err)
        self.assertIn("no slide confirmed", err)
        stacks = parse_folded(open(out).read())
        # dd's rare user-mode samples are [user], named by no symbol file either.
        self.assertTrue(all(f.startswith("0x") or f == "[user]" for frames, _ in stacks
                            for f in frames))
        self.assertEqual(self.guest.status(), "running")


if __name__ == "__main__":
    unittest.main()
