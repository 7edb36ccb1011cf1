"""uniprof --libvirt against real libvirt domains (tests/integration/libvirtlib.py): our x86_64
and arm64 test guests booted by libvirt's QEMU driver under TCG, profiled by name, UUID and id;
the guardian's rescue through libvirt; the one-line errors of bad targets."""
import os
import subprocess
import time
import unittest

from guestlib import (ROOT, UNIPROF, check_profile, load_expected, parse_folded, run_uniprof,
                      tempdir, track_process, untrack_process)
import libvirtlib
from libvirtlib import Domain, virsh

EXPECTED_X86 = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))
EXPECTED_ARM = load_expected(os.path.join(ROOT, "tests", "guests", "arm64", "expected.txt"))


def setUpModule():
    why = libvirtlib.ensure_libvirtd()
    if why:
        raise RuntimeError("no libvirtd can run here, so --libvirt cannot be tested: " + why)


def our_stub_dirs():
    """Directories of ours given to libvirt's QEMU for a gdbstub socket (removed at detach)."""
    return [d for d in os.listdir("/tmp") if d.startswith("uniprof.") and
            os.stat(os.path.join("/tmp", d)).st_uid != 0]


class LibvirtX86_64(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dom = Domain("x86_64", smp=2)
        cls.tmp = tempdir("uniprof-libvirt-test-")

    @classmethod
    def tearDownClass(cls):
        cls.dom.destroy()

    def assert_running(self):
        deadline = time.monotonic() + 10
        while self.dom.state() != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.dom.state(), "running")

    def profile(self, target, *extra, seconds=6):
        out = os.path.join(self.tmp, "out.folded")
        rc, _, err = run_uniprof(["--libvirt", target, "-k", self.dom.kernel, "-F", "250",
                                  "-t", str(seconds), "-o", out, "--per-vcpu"] + list(extra))
        self.assertEqual(rc, 0, err)
        return parse_folded(open(out).read()), err

    def test_by_name_chains_and_ratios(self):
        stacks, err = self.profile(self.dom.name, "-v")
        failures, report = check_profile(stacks, EXPECTED_X86)
        print("\n    profile: %s\n    %s" % (report, err.strip().splitlines()[-6]))
        self.assertEqual(failures, [])
        self.assertEqual(set(f[0] for f, _ in stacks), {"vcpu0", "vcpu1"})
        # -v says how QMP and memory are reached: through libvirt, QEMU's memory read directly.
        self.assertIn("QMP through libvirt at qemu:///system, domain %s" % self.dom.name, err)
        self.assertIn("QEMU is process", err)
        self.assertIn("guest memory: QEMU's process memory", err)
        self.assert_running()
        # Nothing of ours stays in QEMU or /tmp: no gdbstub on our socket, no socket directory.
        # (QEMU keeps a "gdb" chardev with no socket after "gdbserver none".)
        self.assertNotIn("/tmp/uniprof.", self.dom.hmp("info chardev"))
        self.assertEqual(our_stub_dirs(), [])

    def test_by_uuid_and_id(self):
        for target in (self.dom.uuid, str(self.dom.id)):
            stacks, _ = self.profile(target, seconds=3)
            failures, _ = check_profile(stacks, EXPECTED_X86)
            self.assertEqual(failures, [], target)
            self.assert_running()

    def test_guardian_rescues_through_libvirt(self):
        """SIGKILLed mid-run, uniprof's guardian resumes the guest and removes the gdbstub,
        with a libvirt connection of its own."""
        for delay in (0.3, 1.0, 2.5):
            p = subprocess.Popen([UNIPROF, "--libvirt", self.dom.name, "-F", "1000", "-o",
                                  os.devnull], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            track_process(p)
            time.sleep(delay)
            p.kill()
            p.wait()
            untrack_process(p)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if self.dom.state() == "running" and not our_stub_dirs():
                    break
                time.sleep(0.05)
            self.assertEqual(self.dom.state(), "running", "killed after %.1f s" % delay)
            self.assertEqual(our_stub_dirs(), [], "killed after %.1f s" % delay)
        # The next run starts its own gdbstub: nothing was left behind.
        stacks, _ = self.profile(self.dom.name, seconds=1)
        self.assertGreater(sum(n for _, n in stacks), 0)

    def check_bad(self, args, needle, rc=1):
        code, out, err = run_uniprof(list(args) + ["-t", "1", "-o", os.path.join(self.tmp, "bad")],
                                     timeout=60)
        lines = err.strip().splitlines()
        self.assertEqual(code, rc, err)
        self.assertEqual(len(lines), 1, err)
        self.assertIn(needle, lines[0])
        self.assert_running()

    def test_bad_targets(self):
        self.check_bad(["--libvirt", "uniprof-no-such-domain"],
                       "no libvirt domain 'uniprof-no-such-domain' at qemu:///system")
        self.check_bad(["--libvirt", self.dom.name, "-c", "qemu+ssh://elsewhere/system"],
                       "remote libvirt")
        self.check_bad(["--libvirt", "test", "-c", "test:///default"],
                       "runs on libvirt's TEST driver: uniprof profiles QEMU and Xen domains")
        self.check_bad(["--libvirt", self.dom.name, "-c",
                        "qemu+unix:///system?socket=/nonexistent/libvirt-sock"],
                       "cannot connect to libvirt")
        self.check_bad(["--libvirt", self.dom.name, "-c", "lxc:///"], "cannot connect to libvirt at lxc:///")
        self.check_bad(["-c", "qemu:///system", "--qmp", "/nonexistent"], "-c/--connect", rc=2)
        # libvirt holds QEMU's only QMP monitor: --qmp on it says so and what to do.
        self.check_bad(["--qmp", self.dom.monitor_socket()],
                       "QMP socket busy: another client (libvirt?) holds it; try --libvirt NAME")

    def test_permission(self):
        """A user libvirt does not let in gets libvirt's reason and a hint, in one line."""
        p = subprocess.run(["runuser", "-u", "nobody", "--", UNIPROF, "--libvirt", self.dom.name,
                            "-t", "1", "-o", "/dev/null"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("cannot connect to libvirt at qemu:///system", p.stderr)
        self.assert_running()

    def test_paused_and_shut_off(self):
        virsh("suspend", self.dom.name)
        try:
            self.check_bad_paused()
        finally:
            virsh("resume", self.dom.name)
        name = "uniprof-test-off-%d" % os.getpid()
        xml = os.path.join(self.tmp, "off.xml")
        with open(xml, "w") as f:
            f.write("<domain type='qemu'><name>%s</name><memory unit='MiB'>16</memory>"
                    "<os><type arch='x86_64'>hvm</type><kernel>%s</kernel></os></domain>"
                    % (name, self.dom.kernel))
        virsh("define", xml)
        try:
            self.check_bad(["--libvirt", name], "libvirt domain %s is not running (shut off)" % name)
        finally:
            virsh("undefine", name, check=False)

    def check_bad_paused(self):
        code, _, err = run_uniprof(["--libvirt", self.dom.name, "-t", "1", "-o", os.devnull])
        self.assertEqual(code, 1, err)
        self.assertIn("the guest is not running (status: paused)", err)
        self.assertEqual(self.dom.state(), "paused")  # as found: not ours to resume


class LibvirtArm64(unittest.TestCase):
    def test_by_name_chains_and_ratios(self):
        dom = Domain("arm64", smp=2)
        self.addCleanup(dom.destroy)
        out = os.path.join(tempdir("uniprof-libvirt-arm-"), "out.folded")
        rc, _, err = run_uniprof(["--libvirt", dom.name, "-k", dom.kernel, "-F", "250", "-t", "6",
                                  "-o", out, "--per-vcpu"])
        self.assertEqual(rc, 0, err)
        failures, report = check_profile(parse_folded(open(out).read()), EXPECTED_ARM)
        print("\n    profile: %s" % report)
        self.assertEqual(failures, [])
        self.assertEqual(dom.state(), "running")


if __name__ == "__main__":
    unittest.main()
