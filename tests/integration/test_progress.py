"""uniprof's live status line: with standard error on a terminal (a pseudo-terminal here) and a
run longer than a second, one line redrawn in place with '\\r', wiped before the summary; none
with --quiet, none when standard error is not a terminal.  And the summary's p99 pause."""
import os
import pty
import re
import select
import subprocess
import time
import tty
import unittest

from guestlib import UNIPROF, run_uniprof, x86_64_guest

STATUS = re.compile(r"\runiprof: (\d+) samples, [\d.]+ Hz, \d+ truncated, [\d.]+ s elapsed, "
                    r"[\d.]+ s left")
SUMMARY = re.compile(r"uniprof: \d+ samples in [\d.]+ s, .*median pause \d+ us, p99 pause \d+ us\n")


class Progress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.guest, cls.kernel = x86_64_guest(smp=2)

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def on_terminal(self, *extra, seconds=2.5):
        """Run uniprof with standard error on a raw pseudo-terminal (no newline translation,
        so every '\\r' is uniprof's own); what it wrote there."""
        master, slave = pty.openpty()
        tty.setraw(slave)
        try:
            p = subprocess.Popen([UNIPROF, "--qmp", self.guest.qmp_path, "-k", self.kernel,
                                  "-F", "100", "-t", str(seconds), "-o", os.devnull] + list(extra),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
            os.close(slave)
            slave = None
            data = b""
            deadline = time.monotonic() + seconds + 60
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 1)
                if not ready:
                    if p.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the last writer closed the terminal
                    break
                if not chunk:
                    break
                data += chunk
            self.assertEqual(p.wait(timeout=30), 0, data)
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        return data.decode()

    def test_status_line_on_a_terminal(self):
        err = self.on_terminal()
        redraws = STATUS.findall(err)
        print("\n    %d status lines, samples %s" % (len(redraws), [int(n) for n in redraws]))
        # After 1 s, about every 250 ms until 2.5 s: a few, with growing counts.
        self.assertGreaterEqual(len(redraws), 2, repr(err))
        counts = [int(n) for n in redraws]
        self.assertEqual(counts, sorted(counts))
        # The line is wiped (spaces, then '\r') before the summary, which stands alone.
        last = err.rsplit("\r", 1)[1]
        self.assertRegex(last, "^" + SUMMARY.pattern)
        self.assertTrue(err[:-len(last)].endswith(" \r"), repr(err[-200:]))
        self.assertEqual(self.guest.status(), "running")

    def test_short_run_has_none(self):
        err = self.on_terminal(seconds=0.6)
        self.assertNotIn("\r", err)
        self.assertRegex(err, "^" + SUMMARY.pattern + "$")

    def test_quiet(self):
        err = self.on_terminal("--quiet")
        self.assertNotIn("\r", err)
        self.assertNotRegex(err, r"samples, [\d.]+ Hz")
        self.assertRegex(err, "^" + SUMMARY.pattern + "$")

    def test_not_a_terminal(self):
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", "100",
                                  "-t", "2.5", "-o", os.devnull])
        self.assertEqual(rc, 0, err)
        self.assertNotIn("\r", err)
        self.assertRegex(err, "^" + SUMMARY.pattern + "$")


if __name__ == "__main__":
    unittest.main()
