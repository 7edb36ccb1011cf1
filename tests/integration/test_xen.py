"""uniprof -d against Xen PV domains, in Xen 4.17 nested in QEMU TCG (tests/xen/).

One boot for everything (~1-2 minutes): inside dom0 the script tests/xen/dom0/uniprof-test.sh
profiles our 2-vCPU PV test guest (tests/guests/xen-pv) by id and by name, dumps its stacks
(--dump, three times), is refused a paused
domain, a missing id and a missing name, loses the guest to `xl destroy` mid-run, and profiles a
Linux PV domU (frame pointers, then its ORC tables with --tasks).  The checks here read what it printed.
"""
import os
import re
import unittest

from guestlib import (ROOT, UNIPROF, check_backtrace, check_profile, load_expected,
                      parse_backtrace, parse_folded)
from xenlib import NestedRun, stacks_accounted, state_ok

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "xen-pv", "expected.txt"))
EXPECTED_PVH = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))


class XenNested(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(UNIPROF, os.X_OK):
            raise RuntimeError("no %s: run make first" % UNIPROF)
        cls.xen = NestedRun()
        print("\n    nested Xen run: %.0f s, exit %d" % (cls.xen.seconds, cls.xen.returncode))

    def setUp(self):
        self.assertEqual(self.xen.returncode, 0,
                         "the nested run failed; its log ends:\n" + self.xen.tail())

    def assert_profile(self, name, expected=EXPECTED):
        rc, folded, err = self.xen.uniprof(name)
        self.assertIsNotNone(folded, "no output from uniprof run %s" % name)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("this build has no Xen support", err)
        stacks = parse_folded(folded)
        failures, report = check_profile(stacks, expected)
        print("\n    %s: %s\n    %s" % (name, report, err.strip().splitlines()[-1]))
        self.assertEqual(failures, [])
        self.assertEqual(set(f[0] for f, _ in stacks), {"vcpu0", "vcpu1"})
        # Each pause sees both vCPUs: a state is either walked or not counted as stale (not run
        # since the previous sample: with one pCPU for dom0 and both vCPUs, that is common).
        self.assertIsNone(stacks_accounted(err, stacks))
        return stacks, err

    def test_pv_by_id(self):
        _, err = self.assert_profile("pv-id")
        self.assertRegex(err, r"\d+ samples in [\d.]+ s")
        self.assertIn("PV x86_64 guest, 2 vCPUs", err)
        # The 2-page PV context buffer is mapped once and then reused (hcall_buffers.c): the
        # dynamic linker did bind libxenctrl's calls to uniprof's buffer functions.
        m = re.search(r"multi-page hypercall buffers: (\d+) mapped, (\d+) reused", err)
        self.assertIsNotNone(m, err)
        self.assertLessEqual(int(m.group(1)), 2)
        self.assertGreater(int(m.group(2)), 100)

    def test_pv_by_name(self):
        self.assert_profile("pv-name")

    def test_pvh_guest(self):
        # The HVM path: CPU state from the HVM context, guest frames, our own page walk.
        _, err = self.assert_profile("pvh", EXPECTED_PVH)
        self.assertIn("HVM/PVH x86_64 guest, 2 vCPUs", err)
        self.assertIn("slide 0x0: the guest's code matches", err)
        self.assertTrue(state_ok(self.xen.section("pvh-state-after")),
                        self.xen.section("pvh-state-after"))

    def assert_dumps(self, names, expected):
        for name in names:
            rc, out, err = self.xen.uniprof(name)
            self.assertIsNotNone(out, "no output from uniprof run %s" % name)
            self.assertEqual(rc, 0, err)
            dumps = parse_backtrace(out)
            self.assertEqual(sorted(dumps), ["vcpu0", "vcpu1"], out)
            self.assertEqual(check_backtrace(dumps, expected), [], out)
            self.assertTrue(all(f["offset"] is not None for d in dumps.values()
                                for f in d["frames"] if not f["inlined"]), out)
        print("\n    %s:\n%s" % (name, "\n".join("      " + l for l in out.splitlines())))

    def test_pv_dump(self):
        # One pause each: every vCPU's stack from the root down along one of its chains.
        self.assert_dumps(["dump-1", "dump-2", "dump-3"], EXPECTED)
        self.assertRegex(self.xen.section("dump-1.err"), r"the guest was stopped for \d+ us")

    def test_pvh_dump(self):
        self.assert_dumps(["pvh-dump"], EXPECTED_PVH)
    def test_pvh_guest_without_frame_pointers(self):
        # The CFI unwinder over the HVM context's general registers: complete chains...
        _, err = self.assert_profile("pvh-nofp-cfi", EXPECTED_PVH)
        self.assertIn("unwind tables: .eh_frame, .debug_frame", err)
        # ...where frame pointers give truncated stacks, every one of them reported so.
        rc, folded, err = self.xen.uniprof("pvh-nofp-fp")
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(folded)
        failures, report = check_profile(stacks, EXPECTED_PVH)
        complete = sum(r["complete"] for r in report.values())
        total, truncated = map(int, re.search(r"(\d+) stacks, (\d+) truncated", err).groups())
        print("\n    pvh-nofp-fp: %d of %d complete, %d truncated" % (complete, total, truncated))
        self.assertNotEqual(failures, [])
        self.assertGreaterEqual(truncated, total - complete)
        self.assertIn("Try --unwind cfi", err)
        self.assertTrue(state_ok(self.xen.section("pvh-nofp-state-after")),
                        self.xen.section("pvh-nofp-state-after"))

    def test_domain_runs_afterwards(self):
        listing = self.xen.section("xl-list-after")
        self.assertRegex(listing, r"(?m)^uniprof-pv\s")
        self.assertTrue(state_ok(self.xen.section("pv-state-after")), listing)

    def test_sigkill_leaves_domain_unpaused(self):
        # uniprof -d killed 30 times at random moments: its guardian undoes the pause it held,
        # every time (each kill's line ends with the domain's state once it ran again).
        kills = self.xen.section("pv-kills").splitlines()
        self.assertEqual(len(kills), 30, kills)
        for line in kills:
            self.assertRegex(line, r"^kill \d+ after [0-9.]+ s: \S+ \d+ ms, \d+ polls$")
            self.assertTrue(state_ok(line.split(": ")[1].split()[0]), line)
        print("\n    " + "\n    ".join(kills))
        self.assertTrue(state_ok(self.xen.section("pv-state-after-kill")),
                        self.xen.section("pv-state-after-kill"))

    def assert_refused(self, name, *words):
        rc, folded, err = self.xen.uniprof(name)
        self.assertEqual(rc, 1, err)
        self.assertEqual(folded, "")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        for w in words:
            self.assertIn(w, lines[0])
        return lines[0]

    def test_paused_domain_refused_and_left_paused_by_its_owner(self):
        self.assert_refused("paused", "paused")
        # After the owner's `xl unpause`, it runs: our refusal did not add a pause of its own.
        self.assertTrue(state_ok(self.xen.section("pv-state-after-paused")))

    def test_no_such_domain_id(self):
        self.assert_refused("bad-id", "9999")

    def test_no_such_domain_name(self):
        self.assert_refused("bad-name", "nosuchname")

    def test_domain_destroyed_mid_run(self):
        rc, folded, err = self.xen.uniprof("lost")
        self.assertEqual(rc, 1, err)
        self.assertRegex(err, r"sampling stopped: domain \d+ (is being destroyed|is gone|was destroyed|does not exist)")
        stacks = parse_folded(folded)
        self.assertGreater(sum(n for _, n in stacks), 100)
        # Gone for good: our mappings did not keep it as a zombie.
        self.assertNotRegex(self.xen.section("xl-list-after-lost"), r"(?m)^(uniprof-pv|\(null\))\s")

    def test_linux_pv_domu(self):
        """Debian's kernel has no frame pointers: expect a named kernel leaf and short stacks."""
        rc, folded, err = self.xen.uniprof("linux")
        self.assertIsNotNone(folded, "no Linux domU run")
        how = "uniprof -k kallsyms"
        if rc != 0 or "print as hex" in err:
            # uniprof could not use dom0's kallsyms: the unsymbolized run, named by awk in dom0.
            print("\n    linux: uniprof -k kallsyms did not name the kernel: %s" % err.strip())
            rc, _, err = self.xen.uniprof("linux-raw")
            folded, how = self.xen.section("linux.named"), "awk over kallsyms"
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(folded)
        total = sum(n for _, n in stacks)
        self.assertGreater(total, 100)
        kernel = sum(n for f, n in stacks if re.fullmatch(r"[A-Za-z_][\w.]*", f[-1]))
        top = sorted(stacks, key=lambda s: -s[1])[:6]
        print("\n    linux (%s): %d samples, %d with a named leaf; %s\n    top stacks: %s" %
              (how, total, kernel, err.strip().splitlines()[-1],
               [(";".join(f), n) for f, n in top]))
        # dd spends much of its time in the kernel.
        self.assertGreater(kernel, 0)
        self.assertTrue(state_ok(self.xen.section("linux-state-after")))

    def test_linux_pv_domu_orc_and_tasks(self):
        """The same domU with --unwind orc --tasks: the kernel's ORC tables and task_struct
        layout read through Xen's foreign mappings, as on KVM."""
        rc, folded, err = self.xen.uniprof("linux-orc")
        self.assertIsNotNone(folded, "no Linux domU run")
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"unwind: orc: ")
        stacks = parse_folded(folded)
        total = sum(n for _, n in stacks)
        comms = {}
        for f, n in stacks:
            comms[f[0]] = comms.get(f[0], 0) + n
        # dd's samples in the kernel: the walk from the leaf to the kernel's entry, a system
        # call's (a PV kernel enters at xen_entry_SYSCALL_64, which pops what Xen pushed and
        # jumps on to entry_SYSCALL_64_after_hwframe) or Xen's event upcall (an interrupt).
        entry = re.compile(r"(xen_)?entry_SYSCALL_64(_after_hwframe)?$|"
                           r"(asm_)?exc_xen_hypervisor_callback$")

        def from_entry(f):
            return len(f) > 1 and entry.match(f[1])

        dd_kernel = [(f, n) for f, n in stacks if f[0] == "dd" and not f[-1].startswith("[user]")]
        dd_total = sum(n for _, n in dd_kernel)
        to_entry = sum(n for f, n in dd_kernel if from_entry(f))
        chain = sum(n for f, n in dd_kernel if "ksys_read" in f and "read_zero" in f)
        depths = sorted(len(f) - 1 for f, n in dd_kernel for _ in range(n))
        # The frame-pointer run of the same boot, for comparison: its walks stop at the leaf.
        fp = [(f, n) for f, n in parse_folded(self.xen.section("linux.folded") or "")
              if f and not f[-1].startswith("[user]") and re.fullmatch(r"[A-Za-z_][\w.]*", f[-1])]
        fp_entry = sum(n for f, n in fp if "entry_SYSCALL_64" in f[0] and len(f) > 1)
        print("\n    linux-orc: %d samples, by task %s; dd in the kernel %d: %d (%.1f%%) from "
              "an entry (system call or Xen upcall), %d (%.1f%%) through ksys_read and read_zero, median depth %s "
              "(fp run: %d of %d named kernel stacks from the entry)\n    %s"
              % (total, sorted(comms.items(), key=lambda kv: -kv[1])[:5], dd_total, to_entry,
                 100.0 * to_entry / max(dd_total, 1), chain, 100.0 * chain / max(dd_total, 1),
                 depths[len(depths) // 2] if depths else "-", fp_entry,
                 sum(n for _, n in fp), err.strip().splitlines()[-1]))
        self.assertGreater(total, 100)
        # Every stack has its task (the domU runs init's shell loop, dd and the kernel's own).
        m = re.search(r"(\d+) stacks in user mode \(\[user\]\), (\d+) with their task "
                      r"\((\d+) unknown\)", err)
        self.assertIsNotNone(m, err)
        self.assertLessEqual(int(m.group(3)), 0.01 * (int(m.group(2)) + int(m.group(3))), m.group(0))
        self.assertGreater(comms.get("dd", 0), 0.1 * total)
        self.assertGreater(dd_total, 20)
        self.assertGreaterEqual(to_entry, 0.95 * dd_total)
        m = re.search(r"(\d+) stacks, (\d+) truncated", err)
        self.assertLessEqual(int(m.group(2)), 0.05 * int(m.group(1)), m.group(0))
        self.assertGreater(chain, 0)
        # Deeper than frame pointers, whose walks on this kernel stop at the leaf.
        self.assertGreaterEqual(depths[len(depths) // 2], 3)
        self.assertTrue(state_ok(self.xen.section("linux-state-after")))
