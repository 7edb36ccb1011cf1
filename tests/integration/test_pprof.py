"""uniprof's pprof output (-o FILE.pb.gz, -f pprof) from our x86_64 test guest under QEMU TCG,
read back by a real reader: `go tool pprof` from Debian's golang-go (scripts/install-deps.sh).

The totals pprof reports must equal the samples uniprof's summary line counts (each sample
walks every vCPU), the chains and ratios must be the guest's known ones (as the folded tests
check them), the vCPU label must be on every sample, and inlined frames must be pprof's own
inline lines.  Without go the tests are skipped, and a skip fails the suite (run.py).
"""
import os
import re
import shutil
import subprocess
import unittest

from guestlib import ROOT, check_profile, load_expected, run_uniprof, tempdir, x86_64_guest

EXPECTED = load_expected(os.path.join(ROOT, "tests", "guests", "x86_64", "expected.txt"))
SEPARATOR = "-----------+-------------------------------------------------------"


def parse_traces(text):
    """`pprof -traces` to a list of (labels, value, frames leaf first, inline flags)."""
    blocks = text.split(SEPARATOR + "\n")
    traces = []
    for block in blocks[1:]:
        labels, frames, inline, value = {}, [], [], None
        for line in block.splitlines():
            if not line.strip():
                continue
            # "%10s:  %s" for a label, "%10s   %s%s" for a frame (value on the first only).
            if len(line) > 10 and line[10] == ":":
                labels[line[:10].strip()] = line[11:].strip()
                continue
            assert line[10:13] == "   ", "bad -traces line %r" % line
            if value is None:
                value = line[:10].strip()
            name = line[13:]
            inline.append(name.endswith(" (inline)"))
            frames.append(name[:-len(" (inline)")] if inline[-1] else name)
        if frames:
            traces.append((labels, value, frames, inline))
    return traces


def summary_samples(err):
    return int(re.search(r"uniprof: (\d+) samples in ", err).group(1))


class PprofX86_64(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.go = shutil.which("go")
        if not cls.go:
            return
        cls.tmp = tempdir("uniprof-pprof-")
        cls.home = os.path.join(cls.tmp, "home")
        os.makedirs(cls.home)
        cls.guest, cls.kernel = x86_64_guest(smp=2)

    @classmethod
    def tearDownClass(cls):
        if cls.go:
            cls.guest.stop()

    def setUp(self):
        # Per test, so that each one counts as skipped (run.py fails the suite for a skip).
        if not self.go:
            self.skipTest("go is missing (Debian's golang-go, scripts/install-deps.sh installs "
                          "it): no `go tool pprof` to read our files with")

    def pprof(self, *args):
        """`go tool pprof ARGS`'s standard output; it must succeed and say nothing on stderr
        (no symbolization attempts, no complaints about the file)."""
        env = dict(os.environ, HOME=self.home, PPROF_TMPDIR=self.home,
                   GOCACHE=os.path.join(self.home, "gocache"))
        p = subprocess.run([self.go, "tool", "pprof"] + list(args), capture_output=True,
                           text=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        return p.stdout

    def profile(self, name, *extra, rate=250, seconds=6):
        out = os.path.join(self.tmp, name)
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kernel, "-F", str(rate),
                                  "-t", str(seconds), "-o", out] + list(extra))
        self.assertEqual(rc, 0, err)
        self.assertEqual(open(out, "rb").read(2), b"\x1f\x8b")  # gzip
        return out, err

    def total(self, path, *args):
        m = re.search(r"100% of (\d+)(\w*) total", self.pprof("-top", *args, path))
        self.assertIsNotNone(m)
        return int(m.group(1)), m.group(2)

    def test_chains_totals_labels_inline(self):
        path, err = self.profile("guest.pb.gz", "--per-vcpu", "--inline", "--lines")
        samples = summary_samples(err)
        period = round(1e9 / 250)
        # Every sample walks both vCPUs (KVM has no stale vCPUs): pprof counts them all.
        self.assertEqual(self.total(path, "-sample_index=samples"), (2 * samples, ""))
        self.assertEqual(self.total(path, "-unit=ns"), (2 * samples * period, "ns"))

        raw = self.pprof("-raw", path)
        self.assertIn("PeriodType: cpu nanoseconds\nPeriod: %d\n" % period, raw)
        self.assertIn("samples/count cpu/nanoseconds", raw)
        self.assertRegex(raw, r"\n1: 0x[0-9a-f]+/0x[0-9a-f]+/0x0 %s +\[FN\]\[FL\]\[LN\]\[IN\]\n"
                         % re.escape(self.kernel))

        traces = parse_traces(self.pprof("-sample_index=samples", "-traces", path))
        self.assertEqual(sum(int(v) for _, v, _, _ in traces), 2 * samples)
        stacks = []
        for labels, value, frames, inline in traces:
            # The label names the vCPU whose root frame --per-vcpu added.
            self.assertEqual(labels, {"vcpu": frames[-1]})
            self.assertRegex(frames[-1], r"^vcpu[01]$")
            # Only inlined lines are marked, and a location's last line never is.
            if frames[0] == "spin_units":
                self.assertEqual(inline, [True] + [False] * (len(frames) - 1))
            else:
                self.assertNotIn(True, inline)
            stacks.append((frames[::-1], int(value)))
        # Every leaf spins in spin_units, an always_inline helper DWARF knows.
        inlined = dict((vcpu, [(w, c + ["spin_units"]) for w, c in chains])
                       for vcpu, chains in EXPECTED.items())
        failures, report = check_profile(stacks, inlined)
        print("\n    pprof: %s\n    %s" % (report, err.strip().splitlines()[-1]))
        self.assertEqual(failures, [])
        self.assertEqual(self.guest.status(), "running")

        # The named functions, with their source files, as pprof lists them.
        top = self.pprof("-top", "-lines", path)
        for name in ("spin_units", "alpha_leaf", "beta_leaf", "gamma_leaf", "delta_leaf",
                     "start64", "ap_start64"):
            self.assertRegex(top, r"\b%s [\w./-]+:\d+" % name)
        self.assertRegex(top, r"spin_units workload\.c:\d+ \(inline\)")

    def test_format_option_and_labels_without_per_vcpu(self):
        # -f pprof whatever the name; a sample count makes the total exact.
        path, err = self.profile("guest.prof", "-f", "pprof", "-n", "50", seconds=60)
        self.assertIn("50 samples", err)
        self.assertEqual(self.total(path, "-sample_index=samples"), (100, ""))
        traces = parse_traces(self.pprof("-sample_index=samples", "-traces", path))
        roots = set(frames[-1] for _, _, frames, _ in traces)
        self.assertFalse(any(r.startswith("vcpu") for r in roots), roots)
        self.assertTrue(roots <= {"start64", "ap_start64"}, roots)
        self.assertFalse(any(any(inline) for _, _, _, inline in traces))
        by_label = {}
        for labels, value, _, _ in traces:
            by_label[labels["vcpu"]] = by_label.get(labels["vcpu"], 0) + int(value)
        self.assertEqual(by_label, {"vcpu0": 50, "vcpu1": 50})
        tags = self.pprof("-sample_index=samples", "-tags", path)
        self.assertRegex(tags, r"vcpu: Total 100(\.0)?\n +50(\.0)? \(50\.00%\): vcpu0\n +50(\.0)? \(50\.00%\): vcpu1\n")
        # pprof's own filter on the label keeps one vCPU's chains.
        only1 = self.pprof("-sample_index=samples", "-tagfocus=vcpu=^vcpu1$", "-top", path)
        self.assertIn("accounting for 50, 50.00% of 100 total", only1)
        self.assertIn(" ap_start64\n", only1)
        self.assertNotRegex(only1, r"\sstart64\n")
        self.assertEqual(self.guest.status(), "running")


if __name__ == "__main__":
    unittest.main()
