"""Run uniprof inside Xen nested in QEMU TCG, for the Xen integration tests.

tests/xen/run-uniprof.sh does the work (builds the PV test guest, the dom0 initramfs with our
uniprof in it, boots once, runs tests/xen/dom0/uniprof-test.sh); this module starts it, kills it
by PID if the test is interrupted, and reads back the sections the dom0 script printed.
"""
import os
import re
import subprocess
import time

from guestlib import BUILD, ROOT, UNIPROF, kill_tracked, track_process, untrack_process

RUN_SCRIPT = os.path.join(ROOT, "tests", "xen", "run-uniprof.sh")


def state_ok(state):
    """An `xl list` state column of a domain that may run: none of paused, shut down, crashed,
    dying.  "------" is a domain whose vCPUs are runnable but waiting for a pCPU (dom0 has the
    only one while it runs xl)."""
    return bool(re.fullmatch(r"[-rb]{6}", (state or "").strip()))


def stacks_accounted(err, stacks, nr_vcpus=2):
    """None when every vCPU state of every pause in uniprof's summary (stderr err) was either
    walked into the folded profile (stacks) or reported as not counted (stale: not run since the
    previous sample); else what does not add up."""
    m = re.search(r"(\d+) samples in [\d.]+ s, (\d+) stacks", err)
    if not m:
        return "no summary line in: %r" % err
    stale = re.search(r"(\d+) vCPU states not counted", err)
    samples, walked = int(m.group(1)), int(m.group(2))
    skipped = int(stale.group(1)) if stale else 0
    if nr_vcpus * samples != walked + skipped:
        return "%d samples x %d vCPUs != %d stacks + %d stale" % (samples, nr_vcpus, walked, skipped)
    if sum(n for _, n in stacks) != walked:
        return "the profile counts %d stacks, the summary %d" % (sum(n for _, n in stacks), walked)
    return None


class NestedRun:
    """One boot of Xen + dom0 running the uniprof dom0 test; results under out."""

    def __init__(self, out=None, linux=True, timeout=420, pcpus=1, script=RUN_SCRIPT,
                 uniprof=UNIPROF):
        self.out = out or os.path.join(BUILD, "xen-uniprof")
        self.log = os.path.join(self.out, "run-uniprof.log")
        if os.environ.get("UNIPROF_XEN_REUSE") and os.path.exists(os.path.join(self.out, "sections", "exit")):
            # Re-check the results of the last run without booting again (while editing checks).
            self.returncode, self.seconds = int(open(os.path.join(self.out, "sections", "exit")).read()), 0.0
            return
        # One pCPU by default: a pause then never waits for another QEMU thread to be scheduled
        # on a busy host (with two, pauses took 2-40 ms on this 2-core machine under load).
        cmd = [script, "--out", self.out, "--uniprof", uniprof, "--timeout", str(timeout),
               "--smp", str(pcpus)]
        if not linux:
            cmd.append("--no-linux")
        os.makedirs(self.out, exist_ok=True)
        start = time.monotonic()
        with open(self.log, "w") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
            # boot.sh kills its QEMU by PID on TERM.
            track_process(proc, terminate_timeout=20)
            try:
                self.returncode = proc.wait(timeout=timeout + 120)
            finally:
                if proc.poll() is None:
                    kill_tracked()
                untrack_process(proc)
        self.seconds = time.monotonic() - start

    def tail(self, lines=20):
        if not os.path.exists(self.log):
            return "(no log: %s)" % self.log
        text = open(self.log, errors="replace").read().splitlines()
        return "\n".join(text[-lines:])

    def section(self, name):
        """Text of section name, or None when the dom0 script did not print it."""
        path = os.path.join(self.out, "sections", name + ".txt")
        if not os.path.exists(path):
            return None
        return open(path, errors="replace").read()

    def uniprof(self, name):
        """(exit status, folded profile, stderr) of the uniprof run the dom0 script called name."""
        rc = self.section(name + ".rc")
        return (int(rc.strip()) if rc and rc.strip().lstrip("-").isdigit() else None,
                self.section(name + ".folded"), self.section(name + ".err"))
