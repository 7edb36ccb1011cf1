#!/usr/bin/env python3
"""Split a nested-Xen serial console log into the sections dom0 marked.

    extract.py CONSOLE_LOG OUT_DIR

Lines between "=== BEGIN name ===" and "=== END name ===" go to OUT_DIR/name.txt (sections may
nest; a line belongs to every open section). "=== EXIT rc ===" ends the run: its rc is written to
OUT_DIR/exit and becomes this script's exit status. Lines Xen itself printed ("(XEN) ...") are left
out of sections. Exit status 124 means no EXIT marker was found (the run died or timed out).
"""
import os
import re
import sys

MARK = re.compile(r"=== (BEGIN|END|EXIT) (\S+) ===\s*$")
NAME_OK = re.compile(r"^[A-Za-z0-9_.-]+$")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    log, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    open_sections = []
    sections = {}
    rc = None
    for raw in text.split("\n"):
        line = raw.replace("\r", "")
        m = MARK.search(line)
        if m:
            kind, name = m.groups()
            if kind == "EXIT":
                rc = int(name) if name.lstrip("-").isdigit() else 125
                break
            if not NAME_OK.match(name):
                continue
            if kind == "BEGIN":
                open_sections.append(name)
                sections.setdefault(name, [])
            elif name in open_sections:
                open_sections.remove(name)
            continue
        if line.startswith("(XEN)"):
            continue
        for name in open_sections:
            sections[name].append(line)
    for name, lines in sections.items():
        with open(os.path.join(out_dir, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + ("\n" if lines else ""))
    if rc is None:
        print("extract: no EXIT marker in %s" % log, file=sys.stderr)
        return 124
    with open(os.path.join(out_dir, "exit"), "w") as f:
        f.write("%d\n" % rc)
    return rc


if __name__ == "__main__":
    sys.exit(main())
