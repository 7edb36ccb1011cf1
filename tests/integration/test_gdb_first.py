"""A gdbstub someone used first: a real gdb session (Debian's gdb, which offers the
multiprocess extension) attaches to our x86_64 guest's QEMU and detaches; QEMU 7.2 keeps the
multiprocess mode for the next client, so a plain 'D' is refused.  uniprof must detach the way
that mode expects ('D;PID') and leave the guest running without resuming it through QMP."""
import os
import shutil
import subprocess
import sys
import unittest

from guestlib import (ROOT, check_profile, load_expected, parse_folded, run_uniprof, tempdir,
                      x86_64_guest)

sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
from gdbstub import Stub  # noqa: E402

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))


class GdbFirst(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempdir("uniprof-gdbfirst-")
        cls.gdb_sock = os.path.join(cls.tmp, "gdb.sock")
        cls.guest, cls.kernel = x86_64_guest(
            smp=2, extra=["-gdb", "unix:%s,server=on,wait=off" % cls.gdb_sock])

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def gdb_session(self):
        """Attach and detach with the real gdb; returns its remote-protocol log."""
        gdb = shutil.which("gdb") or shutil.which("gdb-multiarch")
        if not gdb:
            self.fail("no gdb or gdb-multiarch installed (scripts/install-deps.sh installs gdb)")
        p = subprocess.run([gdb, "-batch", "-nx", "-ex", "set debug remote 1",
                            "-ex", "target remote " + self.gdb_sock, "-ex", "detach"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertEqual(self.guest.status(), "running", "gdb left the guest stopped")
        return p.stdout + p.stderr

    def test_detach_after_gdb(self):
        log = self.gdb_session()
        self.assertRegex(log, r"qSupported:[^#]*multiprocess\+", "gdb did not offer multiprocess")
        # The premise: a client that offers no multiprocess still gets "p<pid>.<tid>" thread ids,
        # and its plain 'D' is refused.
        stub = Stub(self.gdb_sock)
        try:
            stub.supported("xmlRegisters=i386")
            tids = stub.threads()
            self.assertTrue(tids and all(t.startswith("p") for t in tids), tids)
            self.assertEqual(stub.command("D"), "E22")
            self.assertEqual(stub.command("D;%s" % tids[0][1:].split(".")[0]), "OK")
        finally:
            stub.close()
        self.assertEqual(self.guest.status(), "running")

        for run in range(2):
            out = os.path.join(self.tmp, "out%d.folded" % run)
            rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "200",
                                      "-t", "3", "--per-vcpu", "-v", "-o", out])
            self.assertEqual(rc, 0, err)
            self.assertNotIn("still stopped", err)
            self.assertNotIn("refused to detach", err)
            failures, _ = check_profile(parse_folded(open(out).read()), EXPECTED)
            self.assertEqual(failures, [])
            self.assertEqual(self.guest.status(), "running")


if __name__ == "__main__":
    unittest.main()
