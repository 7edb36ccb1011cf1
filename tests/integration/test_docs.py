"""The documents say what the binary does: every option --help lists is in README.md's table and
in the man page, and the man page is well-formed troff."""
import os
import re
import subprocess
import unittest

from guestlib import ROOT, UNIPROF

MAN = os.path.join(ROOT, "doc", "uniprof.1")


def help_options():
    out = subprocess.run([UNIPROF, "--help"], capture_output=True, text=True, check=True).stdout
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", out)))


class Docs(unittest.TestCase):
    def test_help_lists_options(self):
        # A floor, so that a broken --help cannot pass the checks below by listing nothing.
        self.assertGreaterEqual(len(help_options()), 15)

    def test_readme_has_every_option(self):
        readme = open(os.path.join(ROOT, "README.md")).read()
        missing = [o for o in help_options() if "`" + o not in readme and " " + o not in readme]
        self.assertEqual(missing, [])

    def test_man_page_has_every_option(self):
        # troff writes a '-' as "\-" to keep it a hyphen-minus.
        man = open(MAN).read().replace("\\-", "-")
        missing = [o for o in help_options() if o not in man]
        self.assertEqual(missing, [])

    def test_man_page_renders_without_warnings(self):
        # -ww: every warning; -P-cbu: plain text, no overstriking.
        out = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-P-cbu", MAN],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stderr.strip(), "")
        self.assertIn("GUEST MEMORY", out.stdout)


if __name__ == "__main__":
    unittest.main()
