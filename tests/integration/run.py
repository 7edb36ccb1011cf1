"""Run the integration tests (test_*.py here, or the files named) and print one summary line.

INTEGRATION_LEAVE_OUT: test files (without .py, comma-separated) the run leaves out, named in
the output.  The sanitizer pass of make test leaves out the files whose uniprof is not the one
it built (test_xen_arm64 runs the cross-built arm64 uniprof) or that measure guests, not
uniprof's memory safety (test_linux_perf, whose code paths test_orc and test_tasks run).  Files
left out count as neither passed nor failed.
"""
import glob
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class TimedResult(unittest.TextTestResult):
    """Charges each test file with the wall time from the end of the test before its first
    test to the end of its last (its guests' boots included), to name the slowest files."""

    last = time.monotonic()
    files = {}

    def stopTest(self, test):
        super().stopTest(test)
        now = time.monotonic()
        name = test.id().split(".")[0]
        TimedResult.files[name] = TimedResult.files.get(name, 0) + now - TimedResult.last
        TimedResult.last = now


def main():
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    leave_out = [n for n in os.environ.get("INTEGRATION_LEAVE_OUT", "").split(",") if n]
    left = [f for f in files if os.path.splitext(os.path.basename(f))[0] in leave_out]
    files = [f for f in files if f not in left]
    if left:
        print("left out of this run (INTEGRATION_LEAVE_OUT): %s" %
              ", ".join(os.path.splitext(os.path.basename(f))[0] for f in left))
    suite = unittest.TestSuite()
    loader = unittest.defaultTestLoader
    for path in files:
        name = os.path.splitext(os.path.basename(path))[0]
        suite.addTests(loader.loadTestsFromName(name))
    start = TimedResult.last = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout,
                                     resultclass=TimedResult).run(suite)
    print("time per test file (%.0f s in all):" % (time.monotonic() - start))
    for name, seconds in sorted(TimedResult.files.items(), key=lambda f: -f[1]):
        print("  %6.1f s  %s" % (seconds, name))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    # A skipped test is not a pass: treat it as a failure of the suite.
    return 0 if failed == 0 and skipped == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
