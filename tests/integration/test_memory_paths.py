"""How uniprof --qmp reads guest memory: out of QEMU's process, from QEMU's shared RAM file, or
through the gdbstub.  Each path, chosen automatically or forced with --memory, must give the
same chains with the same ratios; -v must say which one is used, and why not the fast one."""
import os
import re
import shutil
import socket
import unittest

from guestlib import (ROOT, UNIPROF, check_profile, load_expected, parse_folded,
                      run_uniprof, tempdir, x86_64_guest)

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PathsBase:
    """A guest with its qmp address; profile() checks chains and ratios and returns stderr."""

    qmp = None
    command = None  # how to run uniprof; None: as we are

    def profile(self, *extra, seconds=6, rate=250):
        out = os.path.join(self.tmp, "out.folded")
        rc, _, err = run_uniprof(["--qmp", self.qmp, "-k", self.kernel, "-F", str(rate),
                                  "-t", str(seconds), "--per-vcpu", "-v", "-o", out] + list(extra),
                                 command=self.command)
        self.assertEqual(rc, 0, err)
        stacks = parse_folded(open(out).read())
        failures, report = check_profile(stacks, EXPECTED)
        print("\n    %s: %s" % (" ".join(extra) or "auto", report))
        self.assertEqual(failures, [])
        self.assertEqual(self.guest.status(), "running")
        return err

    def memory_line(self, err):
        m = re.search(r"^uniprof: guest memory: (.*)$", err, re.M)
        self.assertIsNotNone(m, err)
        return m.group(1)

    def check_refused(self, args, needle):
        rc, out, err = run_uniprof(["--qmp", self.qmp] + args, timeout=30, command=self.command)
        self.assertEqual(rc, 1, err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertIn(needle, lines[0])
        self.assertEqual(out, "")
        self.assertEqual(self.guest.status(), "running")


class AnonymousRam(PathsBase, unittest.TestCase):
    """QEMU's default: guest RAM is anonymous memory of the QEMU process."""

    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=2)
        cls.qmp = cls.guest.qmp_path
        cls.tmp = tempdir("uniprof-mem-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_auto_reads_qemu_process(self):
        err = self.profile()
        self.assertEqual(self.memory_line(err),
                         "QEMU's process memory (pid %d): 2 RAM ranges, 64 MiB" % self.guest.proc.pid)

    def test_forced_paths_give_the_same_chains(self):
        err = self.profile("--memory", "process")
        self.assertIn("QEMU's process memory", self.memory_line(err))
        err = self.profile("--memory", "gdbstub")
        self.assertEqual(self.memory_line(err), "QEMU's gdbstub ('m' packets)")

    def test_shared_refused_without_a_shared_file(self):
        self.check_refused(["--memory", "shared"], "share=on")


class SharedRam(PathsBase, unittest.TestCase):
    """Guest RAM in a memfd that QEMU maps shared: uniprof maps the same file read-only."""

    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=2, extra=[
            "-object", "memory-backend-memfd,id=ram0,size=64M,share=on",
            "-machine", "memory-backend=ram0"])
        cls.qmp = cls.guest.qmp_path
        cls.tmp = tempdir("uniprof-mem-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_auto_maps_the_shared_file(self):
        err = self.profile()
        line = self.memory_line(err)
        # The BIOS ROM stays in QEMU's anonymous memory: read from the process.
        self.assertRegex(line, r"^QEMU's shared file /memfd:\S+ \(deleted\), mapped read-only: "
                               r"1 RAM ranges, 64 MiB; QEMU's process memory \(pid %d\): 1 ranges"
                         % self.guest.proc.pid)

    def test_forced_shared_and_process(self):
        err = self.profile("--memory", "shared", seconds=3)
        self.assertIn("QEMU's shared file", self.memory_line(err))
        err = self.profile("--memory", "process", seconds=3)
        self.assertNotIn("shared file", self.memory_line(err))


class FileRam(PathsBase, unittest.TestCase):
    """Guest RAM in a file of ours (memory-backend-file), read through its path or map_files."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempdir("uniprof-mem-")
        cls.path = os.path.join(cls.tmp, "guest-ram")
        cls.guest, cls.kernel = x86_64_guest(smp=2, extra=[
            "-object", "memory-backend-file,id=ram0,size=64M,share=on,mem-path=" + cls.path,
            "-machine", "memory-backend=ram0"])
        cls.qmp = cls.guest.qmp_path

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_shared_file_by_path(self):
        err = self.profile("--memory", "shared", seconds=3)
        self.assertIn("QEMU's shared file %s, mapped read-only" % self.path, self.memory_line(err))


class RemoteQmp(PathsBase, unittest.TestCase):
    """QMP over TCP: QEMU's process could be on another host, so memory goes through the stub."""

    @classmethod
    def setUpClass(cls):
        port = free_tcp_port()
        cls.guest, cls.kernel = x86_64_guest(
            smp=2, extra=["-qmp", "tcp:127.0.0.1:%d,server=on,wait=off" % port])
        cls.qmp = "127.0.0.1:%d" % port
        cls.tmp = tempdir("uniprof-mem-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_falls_back_to_the_gdbstub_and_says_why(self):
        err = self.profile()
        self.assertIn("reading guest memory through the gdbstub: QMP is not a unix socket", err)
        self.assertEqual(self.memory_line(err), "QEMU's gdbstub ('m' packets)")

    def test_forced_fast_path_refused(self):
        self.check_refused(["--memory", "process"], "QMP is not a unix socket")


class NoPermission(PathsBase, unittest.TestCase):
    """uniprof as an ordinary user against root's QEMU: it may talk to QEMU's sockets but not
    read its memory, so memory goes through the stub."""

    @classmethod
    def setUpClass(cls):
        # QEMU's sockets open to anyone, in a directory anyone may enter.
        cls.guest, kernel = x86_64_guest(smp=2, umask=0)
        os.chmod(cls.guest.dir, 0o755)
        cls.qmp = cls.guest.qmp_path
        # The binary, the symbols and the output where the user can reach them.
        cls.tmp = tempdir("uniprof-mem-")
        os.chmod(cls.tmp, 0o777)
        binary = os.path.join(cls.tmp, "uniprof")
        cls.kernel = os.path.join(cls.tmp, "guest.elf")
        shutil.copy(UNIPROF, binary)
        shutil.copy(kernel, cls.kernel)
        os.chmod(binary, 0o755)
        os.chmod(cls.kernel, 0o644)
        cls.command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", binary]

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_falls_back_to_the_gdbstub_and_says_why(self):
        err = self.profile()
        self.assertRegex(err, r"reading guest memory through the gdbstub: cannot read QEMU's "
                              r"memory \(pid %d\): .*Operation not permitted" % self.guest.proc.pid)
        self.assertEqual(self.memory_line(err), "QEMU's gdbstub ('m' packets)")

    def test_forced_fast_path_refused(self):
        self.check_refused(["--memory", "process"], "Operation not permitted")


if __name__ == "__main__":
    unittest.main()
