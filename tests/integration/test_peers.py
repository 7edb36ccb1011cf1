"""The scripted peer tier: the real uniprof against a fake QEMU (tests/peers/fakeqemu.py)
that answers QMP and the gdbstub as each case file in tests/peers/cases/ says, faults and all.

A case's "expect" gives uniprof's exit status, a regular expression its one line on stderr must
match (searched; null: no stderr at all) -- one line, or two when sampling stopped (the error,
then the summary of the samples written), the exact QMP commands the fake must have received,
the exact gdbstub packets ("gdb") or some it must or must not have received, and that the guest runs again at the end.  uniprof gets
"timeout" seconds (default 20) before the case fails as a hang.
"""
import glob
import json
import os
import re
import subprocess
import sys
import unittest

from guestlib import ROOT, UNIPROF, tempdir

sys.path.insert(0, os.path.join(ROOT, "tests", "peers"))
from fakeqemu import FakeQemu  # noqa: E402

SUMMARY = r"^uniprof: \d+ samples in [0-9.]+ s, "
CASES = sorted(glob.glob(os.path.join(ROOT, "tests", "peers", "cases", "*.json")))


class Peers(unittest.TestCase):
    def run_case(self, path):
        case = json.load(open(path))
        expect = case["expect"]
        tmp = tempdir("uniprof-peer-")
        fake = FakeQemu(case, tmp)
        fake.start()
        out = os.path.join(tmp, "out.folded")
        cmd = [UNIPROF, "--qmp", fake.qmp_path, "--memory", "gdbstub", "-o", out] + case.get(
            "args", ["-F", "100", "-n", "3"])
        # Its own process group, so that a hang kills the guardian too.
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        try:
            _, err = p.communicate(timeout=expect.get("timeout", 20))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.communicate()
            fake.stop()
            self.fail("uniprof hung; the fake saw %s" % fake.log[-5:])
        fake.stop()
        lines = err.splitlines()
        report = "stderr: %r\nqmp: %s\ngdb: %s" % (err, fake.seen("qmp"), fake.seen("gdb")[-8:])
        self.assertEqual(p.returncode, expect["rc"], report)
        if expect.get("stderr") is None:
            self.assertEqual(lines, [], report)
        else:
            self.assertRegex(lines[0] if lines else "", "^uniprof: .*" + expect["stderr"], report)
            # An error while sampling still writes the samples taken, and says how many.
            if len(lines) == 2 and p.returncode:
                self.assertIn("sampling stopped: ", lines[0], report)
                self.assertRegex(lines[1], SUMMARY, report)
            else:
                self.assertEqual(len(lines), 1, report)
        if "qmp" in expect:
            self.assertEqual(fake.seen("qmp"), expect["qmp"], report)
        gdb = fake.seen("gdb")
        if "gdb" in expect:
            self.assertEqual(gdb, expect["gdb"], report)
        for packet in expect.get("gdb_seen", []):
            self.assertIn(packet, gdb, report)
        for packet in expect.get("gdb_not_seen", []):
            self.assertNotIn(packet, gdb, report)
        self.assertTrue(fake.running, "guest left stopped\n" + report)


def _make(path):
    return lambda self: self.run_case(path)


for _path in CASES:
    setattr(Peers, "test_" + os.path.splitext(os.path.basename(_path))[0], _make(_path))
