"""make install and make uninstall, into a temporary DESTDIR: the binary and the manual page
land under PREFIX, the page renders, and uninstall removes both."""
import filecmp
import os
import shutil
import stat
import subprocess
import unittest

from guestlib import BUILD, ROOT, UNIPROF, tempdir


class Install(unittest.TestCase):
    def make(self, *args):
        # BUILD as the test run has it: the binary is already built there, so nothing compiles.
        p = subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + os.path.relpath(BUILD, ROOT)] +
                           list(args), capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def test_install_and_uninstall(self):
        dest = tempdir("uniprof-install-")
        for prefix, default in (("/usr", False), (None, True)):
            args = ["DESTDIR=" + dest] + ([] if default else ["PREFIX=" + prefix])
            root = dest + ("/usr/local" if default else prefix)
            binary = os.path.join(root, "bin", "uniprof")
            page = os.path.join(root, "share", "man", "man1", "uniprof.1")
            self.make("install", *args)
            self.assertTrue(filecmp.cmp(binary, UNIPROF, shallow=False))
            self.assertEqual(stat.S_IMODE(os.stat(binary).st_mode), 0o755)
            self.assertEqual(stat.S_IMODE(os.stat(page).st_mode), 0o644)
            self.assertTrue(filecmp.cmp(page, os.path.join(ROOT, "doc", "uniprof.1"),
                                        shallow=False))
            out = subprocess.run([binary, "--version"], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0)
            self.assertTrue(out.stdout.startswith("uniprof "), out.stdout)
            # The installed page renders: through man when it is there, else groff.
            if shutil.which("man"):
                cmd = ["man", "-l", page]
            else:
                cmd = ["groff", "-man", "-Tutf8", "-P-cbu", page]
            r = subprocess.run(cmd, capture_output=True, text=True,
                               env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("--dump", r.stdout.replace("\u2010", "-"))
            self.assertIn("GUEST MEMORY", r.stdout)
            self.make("uninstall", *args)
            self.assertFalse(os.path.exists(binary))
            self.assertFalse(os.path.exists(page))
        # Nothing but the (now empty) directories install made is left.
        left = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files]
        self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main()
