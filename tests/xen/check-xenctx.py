#!/usr/bin/env python3
"""Check the stacks xenctx printed for the Xen PV test guest against its expected chains.

    check-xenctx.py EXPECTED_TXT SECTIONS_DIR

EXPECTED_TXT has lines "vcpuN WEIGHT root;...;leaf". SECTIONS_DIR holds xenctx-pv-vN-I.txt, each
the output of `xenctx -f -s xen-pv.syms DOMID N`. xenctx prints the pc, then one return address per
frame, and stops at a saved rbp of 0 without printing that frame's return address, so it never
shows the root (the entry asm symbol): a sample matches a chain when it equals the chain without
its root. A sample that is a root-side prefix of a chain (pc in a caller between two calls) counts
as partial. Exit status 0 when every vCPU has a full match and no sample matches nothing.
"""
import collections
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import guestlib  # noqa: E402

FRAME = re.compile(r"^\s*(?:[0-9a-fA-F]+:)?\s*[|*]?\s*\[<([0-9a-fA-F]+)>\]\s*(\S*)")
SECTION = re.compile(r"^xenctx-pv-v(\d+)-(\d+)\.txt$")


def load_expected(path):
    """guestlib's expected chains keyed by vCPU number, as xenctx's sections are."""
    return {int(vcpu[len("vcpu"):]): chains for vcpu, chains in guestlib.load_expected(path).items()}


def parse_trace(text):
    """Return the root-first list of function names in xenctx's Call Trace, or None."""
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() in ("Call Trace:", "Stack Trace:"))
    except StopIteration:
        return None
    names = []
    for line in lines[start + 1:]:
        m = FRAME.match(line)
        if not m:
            break
        names.append(m.group(2).split("+")[0] or "?" + m.group(1))
    return list(reversed(names))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    expected = load_expected(sys.argv[1])
    sections = sorted(f for f in os.listdir(sys.argv[2]) if SECTION.match(f))
    if not sections:
        print("check-xenctx: no xenctx-pv-* sections in %s" % sys.argv[2])
        return 1
    full = collections.Counter()
    tally = collections.Counter()
    bad = 0
    for name in sections:
        vcpu = int(SECTION.match(name).group(1))
        with open(os.path.join(sys.argv[2], name)) as f:
            trace = parse_trace(f.read())
        shown = ";".join(trace) if trace else "(no call trace)"
        verdict = "BAD"
        for _, chain in expected.get(vcpu, []):
            if trace == chain[1:]:
                verdict = "ok"
                full[vcpu] += 1
                tally[(vcpu, ";".join(chain))] += 1
                break
            if trace and chain[1:1 + len(trace)] == trace:
                verdict = "partial"
        if verdict == "BAD":
            bad += 1
        print("%-22s vcpu%d %-7s %s" % (name, vcpu, verdict, shown))
    print("samples per expected chain (weights are time ratios; few samples only hint at them):")
    for vcpu in sorted(expected):
        for weight, chain in expected[vcpu]:
            print("  vcpu%d weight %d: %d  %s" % (vcpu, weight, tally[(vcpu, ";".join(chain))], ";".join(chain)))
    missing = [v for v in expected if full[v] == 0]
    ok = bad == 0 and not missing
    print("check-xenctx: %s (%d samples, %d bad, vCPUs without a full match: %s)" % (
        "PASS" if ok else "FAIL", len(sections), bad, missing or "none"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
