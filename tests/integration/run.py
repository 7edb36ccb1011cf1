"""Run the integration tests (test_*.py here, or the files named) and print one summary line."""
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
