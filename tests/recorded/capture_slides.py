#!/usr/bin/env python3
"""Capture the slide finder's recorded test data from our EFI and Linux guests.

Boots the x86_64 EFI guest (OVMF), the arm64 EFI guest (QEMU_EFI) and the Linux KASLR guest
(Debian's kernel, dd workload), one at a time, under QEMU TCG.  Through a gdbstub (HMP
`gdbserver` over QMP) it stops each guest a few times and notes the vCPU's pc (and lr on
arm64), as uniprof does before its slide search.  Then, with the guest stopped, it runs the
slide finder's search itself (in Python, a mirror of symbolize/slide.c) over the gdbstub's
virtual reads, and records every 4 KiB page that search touched: the page's bytes when the
gdbstub reads it, a `fault` line when it does not.  Pages the search never touched are not
recorded and read as unmapped in the replay (tests/unit/test_recorded_slides.c).

The true slide is what the guest prints on its console: "uniprof-guest: slide 0x..." (EFI),
"uniprof-guest: _text 0x..." (Linux; slide = that - 0xffffffff81000000).  The Python search
must find that same slide, or the capture fails.

usage: python3 tests/recorded/capture_slides.py [--only efi-x86_64|efi-arm64|linux]
                                                [--stops N] [--seed N] [--out DIR]
       (after `make all guests`; writes tests/recorded/slides/)

Every QEMU started here is killed by its PID on every exit path (tests/integration/guestlib).
"""
import argparse
import bisect
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True     # no __pycache__ in the source tree
from capture import CaptureError, attach, guestlib  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from gdbstub import StubError  # noqa: E402
from guestlib import nm_symbols, x86_64_g_reg  # noqa: E402

PAGE = 4096
MAX_STOPS = 60            # stops tried to get the wanted number in the guest's code
KASLR_ALIGN = 2 << 20     # symbolize/slide.c: KASLR_ALIGN, KASLR_RANGE, PE_SCAN_RANGE, PE_MAX_PCS
KASLR_RANGE = 1 << 30
PE_SCAN_RANGE = 64 << 20
PE_MAX_PCS = 8
LINUX_TEXT = 0xffffffff81000000
MAP_CONTEXT = 12          # System.map lines kept on each side of a sampled pc's symbol


def le(data, off, size):
    return int.from_bytes(data[off:off + size], "little")


# ---- guest memory as the finder sees it -----------------------------------------------------

class Recorder:
    """Virtual reads through the gdbstub, a whole page at a time; remembers every page read."""

    def __init__(self, stub):
        self.stub = stub
        self.pages = {}        # page address -> bytes, or None when unreadable

    def page(self, va):
        base = va & ~(PAGE - 1)
        if base not in self.pages:
            self.pages[base] = self.stub.read_memory(base, PAGE)
        return self.pages[base]

    def read(self, va, length):
        """Bytes at va, or None if any page of it is unreadable (the finder's fault)."""
        out = b""
        while len(out) < length:
            at = va + len(out)
            data = self.page(at)
            if data is None:
                return None
            n = min(length - len(out), PAGE - at % PAGE)
            out += data[at % PAGE:at % PAGE + n]
        return out


# ---- symbol files -----------------------------------------------------------------------------

def elf_functions(nm, path):
    """[(start, size, name)] of the ELF's code symbols (nm -S), sorted."""
    return Symbols([(start, size, name, RANKS[kind]) for start, size, kind, name
                    in nm_symbols(nm, path) if kind in RANKS])


RANKS = {"T": 4, "W": 3, "w": 3, "t": 2}


def finish(syms):
    """[(start, size, name)]: sorted, one per address, the best alias kept, as
    symbolize/symtab.c does (higher rank, then larger size, then the name)."""
    out = []
    for start, size, name, _ in sorted(syms, key=lambda s: (s[0], -s[3], -s[1], s[2])):
        if not out or out[-1][0] != start:
            out.append((start, size, name))
    return out


def lookup(syms, addr):
    """The name holding addr, as symbolize/symtab.c finds it (unsized: up to the next one,
    at most 64 KiB); None when nothing holds it."""
    k = bisect.bisect_right(syms.starts, addr)
    if k == 0:
        return None
    start, size, name = syms[k - 1]
    if size:
        return name if addr - start < size else None
    end = syms[k][0] if k < len(syms) else start + 0x10000
    return name if addr < min(end, start + 0x10000) else None


class Symbols(list):
    """finish()ed symbols with their starts, for bisect."""

    def __init__(self, syms):
        super().__init__(finish(syms))
        self.starts = [s[0] for s in self]


def elf_sections(path):
    """{name: (addr, size, flags)} of an ELF64 file's sections."""
    with open(path, "rb") as f:
        data = f.read()
    shoff = le(data, 0x28, 8)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    hdr = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = hdr[shstrndx][4]
    out = {}
    for name, _, flags, addr, _, size in hdr:
        end = data.index(b"\0", strtab + name)
        out[data[strtab + name:end].decode()] = (addr, size, flags)
    return out


def pe_size_of_image(dos_page):
    """(machine, SizeOfImage) of the PE headers in dos_page, or None."""
    if not dos_page or dos_page[:2] != b"MZ":
        return None
    lfanew = le(dos_page, 0x3c, 4)
    if lfanew + 24 + 60 > len(dos_page) or dos_page[lfanew:lfanew + 4] != b"PE\0\0":
        return None
    machine = le(dos_page, lfanew + 4, 2)
    opt = lfanew + 24
    if le(dos_page, opt, 2) != 0x20b:
        return None
    return machine, le(dos_page, opt + 56, 4)


# ---- the guests -------------------------------------------------------------------------------

class EfiGuest:
    """An EFI application; its guest.elf is the symbol file (debug sections stripped)."""
    kind = "efi"

    def __init__(self, label, boot, nm, objcopy, machine, arm64):
        self.label, self.boot, self.nm, self.objcopy = label, boot, nm, objcopy
        self.machine, self.arm64 = machine, arm64
        # Names to see: alpha_leaf and beta_leaf, and on arm64 their callers too (in lr).
        self.variety = 3 if arm64 else 2

    def true_slide(self, console):
        m = re.search(r"uniprof-guest: slide (0x[0-9a-f]+)", console)
        if not m:
            raise CaptureError("%s: no slide line on the console" % self.label)
        return int(m.group(1), 16)

    def prepare(self, symfile, slide, stub):
        self.elf = symfile
        self.syms = elf_functions(self.nm, symfile)
        text = elf_sections(symfile)[".text"]
        self.text = (text[0], text[1])
        hdr = stub.read_memory(slide, PAGE)
        info = pe_size_of_image(hdr)
        if not info or info[0] != self.machine:
            raise CaptureError("%s: no PE header for machine 0x%x at the slide 0x%x"
                               % (self.label, self.machine, slide))
        self.image = (slide, info[1])

    def wanted(self, pcs):
        """Keep a stop only if its pcs are in our image (firmware interrupts are left out)."""
        base, size = self.image
        return all(base <= pc < base + size for pc in pcs if pc)

    def names(self, slide, pc, is_return):
        return lookup(self.syms, pc - slide - (1 if is_return else 0))

    def read_text(self, rec, slide):
        """confirm() by code bytes at slide: the functions' first bytes (we take all of .text)."""
        start, size = self.text
        for va in range(start & ~(PAGE - 1), start + size, PAGE):
            rec.page(va + slide)

    def search(self, rec, pcs):
        """symbolize/slide.c for a file with code: slide 0, then a PE header below each pc.
        Returns the image base found (the slide: the ELF is linked at 0), or None."""
        self.read_text(rec, 0)
        for pc in pcs[:PE_MAX_PCS]:
            page = pc & ~(PAGE - 1)
            back = 0
            while back < PE_SCAN_RANGE and back <= page:
                base = page - back
                back += PAGE
                info = pe_size_of_image(rec.read(base, PAGE) if rec.read(base, 2) == b"MZ"
                                        else None)
                if info and info[0] == self.machine and pc - base < info[1]:
                    # The whole image, generously: headers, .text and what follows.
                    for va in range(base, base + info[1], PAGE):
                        rec.page(va)
                    self.read_text(rec, base)
                    return base
        return None

    def symfile_out(self, out_dir):
        """guest.elf without its DWARF: .symtab and the code stay."""
        dest = os.path.join(out_dir, "%s.elf" % self.label)
        subprocess.run([self.objcopy, "--strip-debug", self.elf, dest], check=True)
        if elf_functions(self.nm, dest) != self.syms:
            raise CaptureError("%s: stripping changed the symbols" % dest)
        return dest

    how = "PE image at"


class LinuxGuest:
    """Debian's kernel with KASLR; a trimmed System.map is the symbol file."""
    kind = "linux"
    label = "linux"
    arm64 = False
    how = "linux_banner"
    variety = 3          # more than clear_user_*, where dd spends nearly all its time

    @staticmethod
    def boot():
        return guestlib.linux_guest(work="dd")

    def true_slide(self, console):
        m = re.search(r"uniprof-guest: _text (0x[0-9a-f]+)", console)
        if not m:
            raise CaptureError("linux: no _text line on the console")
        return int(m.group(1), 16) - LINUX_TEXT

    def prepare(self, symfile, slide, stub):
        self.lines = open(symfile).read().splitlines()
        syms, self.banner = [], None
        for line in self.lines:
            f = line.split()
            if len(f) != 3:      # module symbols ("[mod]") and odd lines
                continue
            addr = int(f[0], 16)
            if f[2] == "linux_banner":
                self.banner = addr
            if f[1] in RANKS and addr:
                syms.append((addr, 0, f[2], RANKS[f[1]]))
        if not self.banner:
            raise CaptureError("%s has no linux_banner" % symfile)
        self.syms = Symbols(syms)
        self.slide = slide

    def wanted(self, pcs):
        """Kernel pcs named by the map (dd spends its time in the kernel)."""
        return all(self.names(self.slide, pc, False) for pc in pcs)

    def names(self, slide, pc, is_return):
        return lookup(self.syms, pc - slide - (1 if is_return else 0))

    def search(self, rec, pcs):
        """symbolize/slide.c for a map with linux_banner: slide 0, then every KASLR slide."""
        want = b"Linux version "
        if rec.read(self.banner, len(want)) == want:
            return 0
        for s in range(KASLR_ALIGN, KASLR_RANGE, KASLR_ALIGN):
            if rec.read(self.banner + s, len(want)) == want:
                return s
        return None

    def symfile_out(self, out_dir, pcs):
        """_text, linux_banner, and the map's lines from MAP_CONTEXT symbols below each sampled
        pc's symbol to MAP_CONTEXT above it, in the map's order."""
        ranges = []
        for pc in pcs:
            k = bisect.bisect_right(self.syms.starts, pc - self.slide) - 1
            ranges.append((self.syms[max(0, k - MAP_CONTEXT)][0],
                           self.syms[min(len(self.syms) - 1, k + MAP_CONTEXT)][0]))
        out = []
        for line in self.lines:
            f = line.split()
            if len(f) != 3:
                continue
            addr = int(f[0], 16)
            if f[2] in ("_text", "linux_banner") or any(lo <= addr <= hi for lo, hi in ranges):
                out.append(line + "\n")
        dest = os.path.join(out_dir, "linux.map")
        with open(dest, "w") as f:
            f.write("".join(out))
        trimmed = Symbols([(int(f[0], 16), 0, f[2], RANKS[f[1]]) for f in map(str.split, out)
                           if f[1] in RANKS])
        for pc in pcs:
            if lookup(trimmed, pc - self.slide) != lookup(self.syms, pc - self.slide):
                raise CaptureError("%s names 0x%x differently from the whole map" % (dest, pc))
        return dest


GUESTS = {
    "efi-x86_64": lambda: EfiGuest("efi-x86_64", guestlib.efi_x86_64_guest, "nm", "objcopy",
                                   0x8664, False),
    "efi-arm64": lambda: EfiGuest("efi-arm64", guestlib.efi_arm64_guest, "aarch64-linux-gnu-nm",
                                  "aarch64-linux-gnu-objcopy", 0xaa64, True),
    "linux": LinuxGuest,
}


def read_pcs(stub, arm64):
    """The stopped vCPU's pc, and lr on arm64 (uniprof/slides.c takes both)."""
    g = stub.g()
    if arm64:
        return [le(g, 32 * 8, 8), le(g, 30 * 8, 8)]
    return [x86_64_g_reg(g, "rip")]


def stop_names(g, slide, stop):
    return {g.names(slide, pc, i > 0) for i, pc in enumerate(stop)}


def enough(g, slide, kept, want):
    """Stop once there are want stops whose pcs have at least g.variety names."""
    names = set()
    for stop in kept:
        names |= stop_names(g, slide, stop)
    return len(kept) >= want and len(names) >= g.variety


def choose(g, slide, kept, want):
    """want stops: each one bringing a new name first, then the earliest; in stop order."""
    chosen, names = [], set()
    for i, stop in enumerate(kept):
        if stop_names(g, slide, stop) - names:
            chosen.append(i)
            names |= stop_names(g, slide, stop)
    chosen += [i for i in range(len(kept)) if i not in chosen][:max(0, want - len(chosen))]
    return [kept[i] for i in sorted(chosen[:want])]


def capture(g, want_stops, rng, out_dir, log):
    t0 = time.monotonic()
    guest, symfile = g.boot()
    stub = None
    try:
        slide = g.true_slide(guest.console())
        stub = attach(guest)   # stops the VM
        if [int(t, 16) for t in stub.threads()] != [1]:
            raise CaptureError("%s: expected one vCPU" % g.label)
        stub.set_physical(False)
        g.prepare(symfile, slide, stub)
        kept, stops, dropped = [], 0, []
        while stops < MAX_STOPS and not enough(g, slide, kept, want_stops):
            stub.cont()
            time.sleep(rng.uniform(0.02, 0.2))
            stub.interrupt()
            stops += 1
            got = [pc for pc in read_pcs(stub, g.arm64) if pc]
            if g.wanted(got):
                kept.append(got)
            else:
                dropped.append(got)
        if len(kept) < want_stops:
            raise CaptureError("%s: only %d stops of %d in the image" % (g.label, len(kept), stops))
        chosen = choose(g, slide, kept, want_stops)
        pcs = [pc for stop in chosen for pc in stop]
        # The search, on the guest as it is at the last stop (uniprof pauses once for it).
        rec = Recorder(stub)
        found = g.search(rec, pcs)
        if found != slide:
            raise CaptureError("%s: our search found %s, the guest says 0x%x"
                               % (g.label, found if found is None else hex(found), slide))
        stub.detach()
    finally:
        if stub:
            stub.close()
        guest.stop()
        shutil.rmtree(guest.dir, ignore_errors=True)
    for d in dropped:
        log("%s: dropped a stop outside the image: %s" % (g.label, " ".join(map(hex, d))))
    os.makedirs(out_dir, exist_ok=True)
    if g.kind == "efi":
        sym_out = g.symfile_out(out_dir)
    else:
        sym_out = g.symfile_out(out_dir, pcs)
    rows = []
    for stop in chosen:
        for i, pc in enumerate(stop):
            name = g.names(slide, pc, i > 0)
            if not name:
                raise CaptureError("%s: 0x%x has no name" % (g.label, pc))
            rows.append(("lr" if i else "pc", pc, name))
    path = os.path.join(out_dir, "%s.slides" % g.label)
    mapped = {va: d for va, d in rec.pages.items() if d is not None}
    faults = sorted(va for va, d in rec.pages.items() if d is None)
    lines = ["# uniprof recorded slide data: %s, captured by tests/recorded/capture_slides.py "
             "on %s." % (g.label, time.strftime("%Y-%m-%d")),
             "# Format: tests/recorded/README.md, \"Slides\".  %d stops, %d dropped (pc outside "
             "the image); the search read %d pages, %d of them unmapped."
             % (stops, len(dropped), len(rec.pages), len(faults)),
             "symfile %s" % os.path.basename(sym_out),
             "slide 0x%x" % slide,
             "how %s" % g.how]
    lines += ["%s 0x%x %s" % r for r in rows]
    lines += ["page 0x%x %s" % (va, mapped[va].hex()) for va in sorted(mapped)]
    lines += ["fault 0x%x" % va for va in faults]
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    return {"path": path, "symfile": sym_out, "slide": slide, "stops": stops,
            "pcs": rows, "pages": len(mapped), "faults": len(faults),
            "seconds": time.monotonic() - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(GUESTS))
    ap.add_argument("--stops", type=int, default=8, help="stops to keep per guest")
    ap.add_argument("--seed", type=int, default=None, help="seed for the stop times")
    ap.add_argument("--out", default=os.path.join(HERE, "slides"), help="data directory")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for label in ("efi-x86_64", "efi-arm64", "linux"):
        if args.only and args.only != label:
            continue
        r = capture(GUESTS[label](), args.stops, rng, args.out,
                    lambda m: print(m, file=sys.stderr))
        print("%s: slide 0x%x, %d stops, %d pages, %d faults, %d bytes (+ %s %d bytes), %.1f s"
              % (r["path"], r["slide"], r["stops"], r["pages"], r["faults"],
                 os.path.getsize(r["path"]), os.path.basename(r["symfile"]),
                 os.path.getsize(r["symfile"]), r["seconds"]))
        for kind, pc, name in r["pcs"]:
            print("  %s 0x%x %s" % (kind, pc, name))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CaptureError, StubError) as e:
        print("capture_slides: %s" % e, file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
