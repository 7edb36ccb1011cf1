"""Faults on the real thing, against our x86_64 test guest under QEMU TCG: the output pipe's
reader going away, a full disk under -o, QEMU killed mid-run.  Each time uniprof exits promptly
with one line saying why and a non-zero status, leaves no file that looks complete when the
profile could not be written whole, and leaves the guest running."""
import os
import random
import signal
import subprocess
import time
import unittest

from guestlib import UNIPROF, parse_folded, sigkill_and_wait, tempdir, x86_64_guest


def messages(err):
    """stderr's lines, less the run's summary line (which every run prints)."""
    return [l for l in err.splitlines() if l and " samples in " not in l]


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=2)
        cls.tmp = tempdir("uniprof-faults-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def assert_running(self, guest=None):
        guest = guest or self.guest
        deadline = time.monotonic() + 10
        while guest.status() != "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(guest.status(), "running")

    def uniprof(self, *extra):
        return [UNIPROF, "--qmp", self.guest.qmp_path, "-k", self.kernel] + list(extra)

    def piped(self, extra, reader, timeout):
        """uniprof ARGS | reader (a shell command); (uniprof's status, reader's output,
        uniprof's stderr, seconds)."""
        err_path = os.path.join(self.tmp, "pipe.err")
        start = time.monotonic()
        with open(err_path, "w") as err:
            up = subprocess.Popen(self.uniprof(*extra), stdout=subprocess.PIPE, stderr=err)
            rd = subprocess.Popen(["sh", "-c", reader], stdin=up.stdout, stdout=subprocess.PIPE)
            up.stdout.close()  # the reader holds the only read end
            try:
                out = rd.communicate(timeout=timeout)[0]
                rc = up.wait(timeout=timeout)
            finally:
                for p in (up, rd):
                    if p.poll() is None:
                        p.kill()
                        p.wait()
        return rc, out.decode(), open(err_path).read(), time.monotonic() - start

    def test_reader_gone_while_sampling(self):
        # No -t: before, uniprof sampled on until killed, to write into a closed pipe.
        rc, _, err, took = self.piped([], "exit 0", timeout=60)
        self.assertEqual(rc, 1, err)
        self.assertLess(took, 20, err)
        self.assertEqual(len(messages(err)), 1, err)
        self.assertIn("reader has gone", err)
        self.assert_running()

    def test_head_1(self):
        rc, out, err, took = self.piped(["-t", "2", "--per-vcpu"], "head -1", timeout=60)
        self.assertLess(took, 20, err)
        self.assertEqual(len(out.splitlines()), 1, out)
        parse_folded(out)
        # The whole profile may fit in the pipe before head exits (status 0); if not, the
        # failed write is one line and status 1.
        self.assertIn(rc, (0, 1), err)
        self.assertLessEqual(len(messages(err)), 1, err)
        self.assert_running()

    def test_dev_full(self):
        proc = subprocess.run(self.uniprof("-t", "1", "-o", "/dev/full"), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(messages(proc.stderr),
                         ["uniprof: /dev/full: writing the profile: No space left on device"],
                         proc.stderr)
        self.assert_running()

    def test_disk_full(self):
        mnt = os.path.join(self.tmp, "small")
        os.makedirs(mnt, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        # Fill it but for one page: the SVG (tens of KiB) is cut short by ENOSPC.
        filler = os.path.join(mnt, "filler")
        subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=1k"], capture_output=True)
        os.truncate(filler, os.path.getsize(filler) - 4096)
        created = os.path.join(mnt, "run.svg")
        proc = subprocess.run(self.uniprof("-t", "1", "-o", created), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(len(messages(proc.stderr)), 1, proc.stderr)
        self.assertIn("No space left on device", proc.stderr)
        self.assertFalse(os.path.exists(created), "a partial profile was left behind")
        self.assert_running()
        # A file that was there before is emptied, not left holding a cut profile.
        older = os.path.join(mnt, "older.svg")
        with open(older, "w") as f:
            f.write("old\n")
        proc = subprocess.run(self.uniprof("-t", "1", "-o", older), capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(len(messages(proc.stderr)), 1, proc.stderr)
        self.assertEqual(os.path.getsize(older), 0)
        self.assert_running()

    def test_sigkill_at_random_moments(self):
        # Killed anywhere (attaching, searching slides, sampling at 1000 Hz), uniprof leaves the
        # guest to its guardian, which must get it running again every time.  How fast is
        # bench/kvm_sigkill.py's business; here only that it happens.
        seed = random.randrange(1 << 30)
        rng = random.Random(seed)
        for i in range(12):
            # Every other kill lands in the first 100 ms: attaching (the gdbstub started and
            # connected, the guest stopped by it).
            delay = rng.uniform(0, 0.1) if i % 2 else rng.uniform(0, 1.5)
            took = sigkill_and_wait(self.guest, ["--qmp", self.guest.qmp_path, "-k", self.kernel,
                                                 "-F", "1000", "-o", os.devnull], delay)
            self.assertIsNotNone(took, "seed %d, kill %d after %.3f s: guest not running"
                                 % (seed, i, delay))
        # Nothing of ours is left in QEMU: the next run starts its own gdbstub and works.
        proc = subprocess.run(self.uniprof("-t", "1", "-o", os.path.join(self.tmp, "after.folded")),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assert_running()

    def test_qemu_killed(self):
        guest, kernel = x86_64_guest(smp=2)
        self.addCleanup(guest.stop)
        out = os.path.join(self.tmp, "killed.folded")
        up = subprocess.Popen([UNIPROF, "--qmp", guest.qmp_path, "-k", kernel, "-t", "60",
                               "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        try:
            time.sleep(3)
            guest.proc.send_signal(signal.SIGKILL)
            start = time.monotonic()
            err = up.communicate(timeout=30)[1]
            took = time.monotonic() - start
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()
        self.assertEqual(up.returncode, 1, err)
        self.assertLess(took, 15, err)
        self.assertEqual(len(messages(err)), 1, err)
        self.assertIn("sampling stopped", err)
        stacks = parse_folded(open(out).read())
        self.assertGreater(sum(n for _, n in stacks), 0)


if __name__ == "__main__":
    unittest.main()
