"""--unwind orc on Debian's Linux kernel (tests/guests/linux, KASLR, no frame pointers), under
QEMU TCG with the dd workload (dd if=/dev/zero of=/dev/null).

uniprof reads the kernel's own ORC tables from guest memory, located through the System.map at
the slide it found, or from a -k vmlinux's .orc_unwind sections (checked against the guest).  At least 95% of the kernel samples must unwind to the syscall entry
(entry_SYSCALL_64...), the median depth must be at least 6, and most samples must be the dd
chain entry_SYSCALL_64 ... ksys_read ... read_zero ... clear_user_*.  --unwind fp on the same
guest must stay shallow (the test discriminates), and --unwind auto must pick ORC.

Module code (tests/guests/linux/module/uniprof_test.c, read through /proc/uniprof_test by dd):
uniprof reads the guest's module list, each module's ORC table and symbol table; the walks go
through the module's frames (named from its symbols) to the system call entry.
"""
import os
import re
import statistics
import subprocess
import unittest

from guestlib import debian_vmlinux, linux_guest, parse_folded, run_uniprof, tempdir

HEX = re.compile(r"^0x[0-9a-f]+$")


def dd_chain(frames):
    """entry_SYSCALL_64* ... ksys_read ... read_zero ... clear_user_*, root first."""
    try:
        i = frames.index("ksys_read")
        j = frames.index("read_zero", i)
    except ValueError:
        return False
    return (frames[0].startswith("entry_SYSCALL_64") and
            any(f.startswith("clear_user") for f in frames[j + 1:]))


class LinuxOrc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.system_map = linux_guest(work="dd")
        cls.tmp = tempdir("uniprof-orc-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def profile(self, unwind, seconds=5, files=()):
        out = os.path.join(self.tmp, "%s.folded" % unwind)
        k = [a for f in files for a in ("-k", f)]
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.system_map, "-F", "200",
                                  "-t", str(seconds), "-v", "--unwind", unwind, "-o", out] + k)
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(open(out).read())
        # Kernel samples: a named leaf (a user-mode sample is one hex user address).
        kernel = [(f, n) for f, n in stacks if not HEX.match(f[-1])]
        total = sum(n for _, n in kernel)
        self.assertGreater(total, 100, err)
        entry = sum(n for f, n in kernel if f[0].startswith("entry_SYSCALL_64"))
        chain = sum(n for f, n in kernel if dd_chain(f))
        depth = statistics.median([len(f) for f, n in kernel for _ in range(n)])
        top = sorted(kernel, key=lambda s: -s[1])[:3]
        cost = re.search(r"unwinding \(\w+\): (.*)", err).group(1)
        print("\n    --unwind %s: %d kernel samples, %.1f%% to entry_SYSCALL_64, %.1f%% the dd "
              "chain, median depth %g; %s\n    top: %s" %
              (unwind, total, 100.0 * entry / total, 100.0 * chain / total, depth, cost,
               "; ".join("%s %d" % (";".join(f), n) for f, n in top)))
        self.assertEqual(self.guest.status(), "running")
        return err, total, entry, chain, depth

    def test_orc_full_kernel_stacks(self):
        err, total, entry, chain, depth = self.profile("orc")
        self.assertRegex(err, r"unwind: orc: .*System\.map: \d+ ORC entries at 0x[0-9a-f]+, "
                              r"format 1 \(kernel version\)")
        self.assertGreaterEqual(entry, 0.95 * total)
        self.assertGreaterEqual(chain, 0.80 * total)
        self.assertGreaterEqual(depth, 6)

    def test_orc_from_a_vmlinux(self):
        # Debian's vmlinux keeps .orc_unwind_ip and .orc_unwind (no symbols: the System.map of
        # the same build gives the slide and the banner): read from the file, not the guest.
        vmlinux = debian_vmlinux(self.system_map, self.tmp)
        err, total, entry, chain, depth = self.profile("orc", seconds=3, files=[vmlinux])
        self.assertRegex(err, r"unwind: orc: .*vmlinux: \d+ ORC entries from its \.orc_unwind "
                              r"sections, format 1 \(kernel version\)")
        self.assertGreaterEqual(entry, 0.95 * total)
        self.assertGreaterEqual(chain, 0.80 * total)
        # A vmlinux whose tables are not the running kernel's is not used: the guest's are.
        other = os.path.join(self.tmp, "vmlinux.other")
        data = bytearray(open(vmlinux, "rb").read())
        sections = subprocess.run(["readelf", "-S", "-W", vmlinux], capture_output=True,
                                  text=True, check=True).stdout
        offset = int(re.search(r"\.orc_unwind_ip\s+PROGBITS\s+[0-9a-f]+ ([0-9a-f]+)", sections).group(1), 16)
        data[offset:offset + 8] = bytes(8)
        open(other, "wb").write(data)
        err, total, entry, _, _ = self.profile("orc", seconds=2, files=[other])
        self.assertIn("its ORC tables are not the running kernel's", err)
        self.assertRegex(err, r"unwind: orc: .*System\.map: \d+ ORC entries at 0x")
        self.assertGreaterEqual(entry, 0.95 * total)

    def test_auto_picks_orc(self):
        err, total, entry, chain, depth = self.profile("auto", seconds=3)
        self.assertIn("unwind: orc:", err)
        self.assertIn("unwinding (orc)", err)
        self.assertGreaterEqual(entry, 0.95 * total)

    def test_fp_stays_shallow(self):
        err, total, entry, chain, depth = self.profile("fp", seconds=3)
        self.assertLessEqual(depth, 2)
        self.assertLess(entry, 0.05 * total)
        self.assertEqual(chain, 0)


MODULE_CHAIN = ("uniprof_test_read", "uniprof_test_outer", "uniprof_test_inner")


def through_module(frames):
    """entry_SYSCALL_64* ... proc_reg_read, then the module's functions in their call order
    (GCC may suffix them: uniprof_test_outer.constprop.0), the leaf among them or below."""
    if not frames[0].startswith("entry_SYSCALL_64") or "proc_reg_read" not in frames:
        return False
    rest = frames[frames.index("proc_reg_read") + 1:]
    mod = [f for f in rest if f.startswith("uniprof_test_")]
    return (bool(mod) and rest[:len(mod)] == mod and
            all(f.split(".")[0] == MODULE_CHAIN[i] for i, f in enumerate(mod)))


class LinuxModuleOrc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.system_map = linux_guest(work="module")
        cls.tmp = tempdir("uniprof-orc-module-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def profile(self, unwind):
        out = os.path.join(self.tmp, "%s.folded" % unwind)
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.system_map, "-F", "200",
                                  "-t", "4", "-v", "--unwind", unwind, "-o", out])
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(open(out).read())
        kernel = [(f, n) for f, n in stacks if not HEX.match(f[-1])]
        total = sum(n for _, n in kernel)
        in_module = [(f, n) for f, n in kernel if any(x.startswith("uniprof_test_") for x in f)]
        module = sum(n for _, n in in_module)
        through = sum(n for f, n in in_module if through_module(f))
        top = sorted(kernel, key=lambda s: -s[1])[:2]
        print("\n    --unwind %s: %d kernel samples, %d in the module, %d of them walked from "
              "entry_SYSCALL_64 through proc_reg_read into it; top: %s" %
              (unwind, total, module, through, "; ".join("%s %d" % (";".join(f), n) for f, n in top)))
        self.assertEqual(self.guest.status(), "running")
        return err, total, module, through

    def test_walks_through_module_code(self):
        err, total, module, through = self.profile("orc")
        self.assertRegex(err, r"modules: 1 modules, 1 with their ORC table, [1-9]\d* function "
                              r"symbols")
        # dd spends its kernel time in the module's loop.
        self.assertGreater(module, 0.5 * total)
        self.assertGreaterEqual(through, 0.95 * module)

    def test_fp_does_not(self):
        # The module's names come without ORC too; the walk stops at the leaf.
        err, total, module, through = self.profile("fp")
        self.assertRegex(err, r"modules: 1 modules, 0 with their ORC table, [1-9]\d* function "
                              r"symbols")
        self.assertGreater(module, 0.5 * total)
        self.assertEqual(through, 0)


if __name__ == "__main__":
    unittest.main()
