#!/usr/bin/env python3
"""Capture the recorded test tier's data from our two test guests.

Boots each test guest (tests/guests/x86_64, tests/guests/arm64) under QEMU TCG, opens a
gdbstub through QMP and stops the VM a few times.  At each stop it reads every vCPU's
registers, walks the guest's page tables and frame records itself (independently of uniprof's
C code), checks its own translation against the gdbstub's virtual reads, checks the stack it
found against the guest's expected.txt, and writes what a walker needs to repeat the walk
offline: registers, page-table pages, stack bytes, code pages, symbols and the expected
stacks.  The file format is described in README.md next to this script.

The guests built without frame pointers (x86_64-nofp, arm64-nofp) are walked by a stack scan
instead, independent of their unwind tables: from the leaf outward, the caller of each frame is
the first stack word (or, for an arm64 leaf, x30) that follows a call to that frame's function;
their files name a copy of the guest's ELF (its .eh_frame and .debug_frame) for the CFI unwinder.

usage: python3 tests/recorded/capture.py [--samples N]
           [--only x86_64|arm64|x86_64-nofp|arm64-nofp] [--out DIR]
       (after `make all guests`; writes tests/recorded/LABEL.rec, and LABEL.elf for -nofp)

Every QEMU started here is killed by its PID on every exit path (tests/integration/guestlib).
"""
import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import guestlib  # noqa: E402
from gdbstub import Stub, StubError  # noqa: E402
from guestlib import SymbolTable, nm_symbols, X86_64_G, X86_64_G_CR0  # noqa: E402
import gdbstub  # noqa: E402

PAGE = 4096
MAX_DEPTH = 64
MAX_STOPS = 60        # give up on covering every chain after this many stops
SCAN_BYTES = 2048     # how far above sp a stack scan looks for return addresses


class CaptureError(Exception):
    pass


class Fault(Exception):
    """A virtual address the guest's page tables do not map."""


class WalkFailed(Exception):
    """A stop whose frame records cannot be followed (the guest was between calls)."""


# ---- guest physical memory, page walks --------------------------------------------------------

class Memory:
    """Guest memory at one stop: physical pages read once, virtual reads for cross-checks."""

    def __init__(self, stub):
        self.stub = stub
        self.physical = False
        self.pages = {}

    def _mode(self, physical):
        if physical != self.physical:
            self.stub.set_physical(physical)
            self.physical = physical

    def page(self, paddr):
        base = paddr & ~(PAGE - 1)
        if base not in self.pages:
            self._mode(True)
            data = self.stub.read_memory(base, PAGE)
            if data is None:
                raise CaptureError("cannot read physical page 0x%x" % base)
            self.pages[base] = data
        return self.pages[base]

    def phys(self, paddr, length):
        out = b""
        while len(out) < length:
            at = paddr + len(out)
            n = min(length - len(out), PAGE - at % PAGE)
            out += self.page(at)[at % PAGE:at % PAGE + n]
        return out

    def virt(self, tid, vaddr, length):
        """Through the gdbstub's own translation, with vCPU tid's page tables."""
        self._mode(False)
        self.stub.select(tid)
        return self.stub.read_memory(vaddr, length)


def le64(data, off=0):
    return struct.unpack_from("<Q", data, off)[0]


class X86_64:
    name = "x86_64"
    nm = "nm"
    objcopy = "objcopy"
    # x86_64 'g' layout (guestlib, arch/x86_64/regs.c): byte offsets.
    G_RBP, G_RSP, G_RIP = X86_64_G["rbp"], X86_64_G["rsp"], X86_64_G["rip"]
    G_CR0 = X86_64_G_CR0
    G_OFFSETS = {"cr0": G_CR0, "cr3": G_CR0 + 16, "cr4": G_CR0 + 24, "efer": G_CR0 + 40}
    frameless = ()
    # Unmapped in our guest: an empty lower-half PML4 slot, an empty upper-half one, and a
    # non-canonical address.
    fault_candidates = (0x00007f0000000000, 0xffff888000000000, 0x0000800000000000)

    def __init__(self, nofp=False):
        self.nofp = nofp

    def boot(self):
        return guestlib.x86_64_guest(nofp=self.nofp)

    @staticmethod
    def call_target(code, ra):
        """The function a call ending at ra calls (call rel32), or None."""
        b = code(ra - 5, 5)
        if b is None or b[0] != 0xe8:
            return None
        return (ra + struct.unpack_from("<i", b, 1)[0]) & 0xffffffffffffffff

    @staticmethod
    def leaf_return(regs):
        """Where a leaf without a frame keeps its return address besides the stack: nowhere."""
        return None

    def read_regs(self, stub, numbers):
        g = stub.g()
        regs = {"pc": le64(g, self.G_RIP), "sp": le64(g, self.G_RSP), "fp": le64(g, self.G_RBP),
                "lr": 0}
        for name, off in self.G_OFFSETS.items():
            regs[name] = le64(g, off)
        return g, {}, regs

    @staticmethod
    def translate(mem, regs, va, tables, ignore_disabled=False):
        """(paddr, page size) of va; adds the physical table pages read to tables.
        (ignore_disabled: as for Arm64; x86_64 has no such switch.)"""
        cr0, cr4, efer = regs["cr0"], regs["cr4"], regs["efer"]
        if not cr0 & (1 << 31):
            return va, PAGE
        if not (efer & (1 << 10) or efer & (1 << 8)) or not cr4 & (1 << 5):
            raise CaptureError("guest is not in long mode (cr4 %#x efer %#x)" % (cr4, efer))
        levels = 5 if cr4 & (1 << 12) else 4
        bits = 12 + 9 * levels
        top = va >> (bits - 1)
        if top not in (0, (1 << (65 - bits)) - 1):
            raise Fault("non-canonical")
        table = regs["cr3"] & 0x000ffffffffff000
        for level in range(levels, 0, -1):
            shift = 12 + 9 * (level - 1)
            entry_at = table + ((va >> shift) & 511) * 8
            tables.add(entry_at & ~(PAGE - 1))
            entry = le64(mem.phys(entry_at, 8))
            if not entry & 1:
                raise Fault("level %d entry not present" % level)
            addr = entry & 0x000ffffffffff000
            if level == 1 or (level in (2, 3) and entry & (1 << 7)):
                size = 1 << shift
                return (addr & ~(size - 1)) | (va & (size - 1)), size
            table = addr
        raise AssertionError("unreachable")

    @staticmethod
    def expected_fixup(leaf):
        return "none"


class Arm64:
    name = "aarch64"
    nm = "aarch64-linux-gnu-nm"
    objcopy = "aarch64-linux-gnu-objcopy"
    SYSREGS = ("TTBR0_EL1", "TTBR1_EL1", "TCR_EL1", ("SCTLR_EL1", "SCTLR"))
    # delta_leaf never stores a frame record (tests/guests/arm64/README.md): its caller is in LR.
    frameless = ("delta_leaf",)
    # Unmapped: a TTBR0 address (EPD0 is set, though TTBR0's tables would map it), an empty
    # level-0 slot of TTBR1, an empty level-1 slot, and a non-canonical address.
    fault_candidates = (0x0000000040200000, 0xffff900000000000, 0xffff8000c0000000,
                        0x00ff800040201000)

    def __init__(self, nofp=False):
        self.nofp = nofp

    def boot(self):
        return guestlib.arm64_guest(nofp=self.nofp)

    @staticmethod
    def call_target(code, ra):
        """The function a call ending at ra calls (bl imm26), or None."""
        b = code(ra - 4, 4)
        if b is None:
            return None
        insn = struct.unpack_from("<I", b)[0]
        if insn & 0xfc000000 != 0x94000000:
            return None
        imm = insn & 0x3ffffff
        imm -= (imm & 0x2000000) << 1
        return (ra - 4 + 4 * imm) & 0xffffffffffffffff

    @staticmethod
    def leaf_return(regs):
        """A leaf that calls nothing keeps its return address in x30."""
        return regs["lr"]

    def read_regs(self, stub, numbers):
        g = stub.g()
        regs = {"pc": le64(g, 32 * 8), "sp": le64(g, 31 * 8), "fp": le64(g, 29 * 8),
                "lr": le64(g, 30 * 8), "cpsr": struct.unpack_from("<I", g, 33 * 8)[0]}
        sysregs = {}
        for want in self.SYSREGS:
            names = (want,) if isinstance(want, str) else want
            name = next((n for n in names if n in numbers), None)
            if name is None:
                raise CaptureError("target description has no %s" % "/".join(names))
            sysregs[name] = stub.p(numbers[name])
        regs["ttbr0"], regs["ttbr1"], regs["tcr"] = (sysregs[n] for n in self.SYSREGS[:3])
        regs["sctlr"] = sysregs.get("SCTLR_EL1", sysregs.get("SCTLR"))
        return g, sysregs, regs

    @staticmethod
    def translate(mem, regs, va, tables, ignore_disabled=False):
        """(paddr, block size) of va through TTBR0/TTBR1; adds the table pages read to tables.

        With ignore_disabled the walk goes on where TCR_EL1.EPDx disables it: only to collect the
        tables a walker must not use.
        """
        if not regs["sctlr"] & 1:
            return va, PAGE
        tcr = regs["tcr"]
        upper = (va >> 55) & 1
        # TxSZ, EPDx, and TGx as log2 of the granule (the two fields encode it differently).
        if upper:
            tsz, epd, ttbr = (tcr >> 16) & 63, (tcr >> 23) & 1, regs["ttbr1"]
            granule = {1: 14, 2: 12, 3: 16}.get((tcr >> 30) & 3)
        else:
            tsz, epd, ttbr = tcr & 63, (tcr >> 7) & 1, regs["ttbr0"]
            granule = {0: 12, 2: 14, 1: 16}.get((tcr >> 14) & 3)
        if granule is None:
            raise CaptureError("reserved granule in TCR_EL1 %#x" % tcr)
        va_bits = 64 - tsz
        if va >> va_bits != (((1 << tsz) - 1) if upper else 0):
            raise Fault("top bits do not match TTBR%d's range" % upper)
        stride = granule - 3
        level = 4 - -(-(va_bits - granule) // stride)
        table = ttbr & 0x0000fffffffffffe
        fault = Fault("TTBR%d walks disabled" % upper) if epd else None
        if epd and not ignore_disabled:
            raise fault
        while True:
            shift = granule + stride * (3 - level)
            index = (va >> shift) & ((1 << min(stride, va_bits - shift)) - 1)
            entry_at = table + index * 8
            tables.add(entry_at & ~(PAGE - 1))
            desc = le64(mem.phys(entry_at, 8))
            if not desc & 1:
                raise Fault("level %d descriptor invalid" % level)
            addr = desc & 0x0000fffffffff000 & ~((1 << granule) - 1)
            if level == 3 or not desc & 2:
                if level == 3 and not desc & 2:
                    raise Fault("reserved level-3 descriptor")
                if level < 3 and level not in ((1, 2) if granule == 12 else (2,)):
                    raise Fault("block descriptor at level %d" % level)
                size = 1 << shift
                if fault:
                    raise fault
                return (addr & ~(size - 1)) | (va & (size - 1)), size
            table = addr
            level += 1

    def expected_fixup(self, leaf):
        return "frameless" if leaf in self.frameless and not self.nofp else "none"


# ---- symbols ----------------------------------------------------------------------------------

def text_section(path):
    """(address, size) of the ELF64 file's .text section."""
    try:
        addr, _, size = gdbstub.text_section(path)
    except ValueError as e:
        raise CaptureError(str(e))
    return addr, size


def text_symbols(arch, elf):
    """[(start, size, name)] of the functions in .text, sorted; an assembly label without a
    size extends to the next symbol (or the end of .text)."""
    start, size = text_section(elf)
    syms = [[addr, size, name] for addr, size, kind, name in nm_symbols(arch.nm, elf)
            if kind in "tT"]
    syms = [s for s in syms if start <= s[0] < start + size]
    for i, s in enumerate(syms):
        if not s[1]:
            s[1] = (syms[i + 1][0] if i + 1 < len(syms) else start + size) - s[0]
    return [tuple(s) for s in syms], (start, size)


def symbolize(syms, addr):
    """The name holding addr in a SymbolTable, else the address in hex."""
    return syms.lookup(addr) or "0x%x" % addr


# ---- one stop ---------------------------------------------------------------------------------

class Capture:
    def __init__(self, arch, elf, expected):
        self.arch = arch
        syms, self.text = text_symbols(arch, elf)
        self.syms = SymbolTable(syms)
        addr, offset, size = gdbstub.text_section(elf)
        with open(elf, "rb") as f:
            f.seek(offset)
            self.text_bytes = (addr, f.read(size))
        self.roots = {c[0] for cs in expected.values() for _, c in cs}
        self.expected = expected
        self.tables = {}       # physical page -> bytes, checked to stay the same
        self.code = {}         # physical page -> bytes
        self.faults = []
        self.samples = []      # (stop number, [vcpu records], {physical: bytes})
        self.dropped = []      # (stop number, vCPU, why)
        self.stops = 0

    def keep_page(self, store, base, data, what):
        if store.get(base, data) != data:
            raise CaptureError("%s page 0x%x changed between stops" % (what, base))
        store[base] = data

    def walk(self, mem, regs, tables, xlates):
        """Our own frame walk: (pcs, highest record address). Reads through our translation;
        raises WalkFailed for a stack no walker could follow."""
        pcs, fp, top = [regs["pc"]], regs["fp"], regs["sp"]
        if symbolize(self.syms, regs["pc"]) in self.arch.frameless:
            pcs.append(regs["lr"])
        while fp:
            if len(pcs) >= MAX_DEPTH or fp % 8 or fp % PAGE > PAGE - 16:
                raise WalkFailed("implausible frame pointer 0x%x" % fp)
            try:
                pa, size = self.arch.translate(mem, regs, fp, tables)
            except Fault as e:
                raise WalkFailed("frame record 0x%x: %s" % (fp, e))
            xlates[fp] = (pa, size)
            record = mem.phys(pa, 16)
            top = max(top, fp)
            next_fp, ra = le64(record), le64(record, 8)
            if not ra:
                break
            pcs.append(ra)
            if next_fp and next_fp <= fp:
                raise WalkFailed("frame pointer not growing at 0x%x" % fp)
            fp = next_fp
        return pcs, top

    def text_code(self, addr, n):
        """n bytes of .text at addr, from the ELF file, or None."""
        start, data = self.text_bytes
        if addr < start or addr + n > start + len(data):
            return None
        return data[addr - start:addr - start + n]

    def scan_walk(self, mem, regs, tables, xlates):
        """The stack without frame pointers: from the leaf outward, each frame's caller is the
        first return address (x30 for an arm64 leaf, then stack words from sp up) that follows
        a call to the frame's function, until the guest's root.  (pcs, highest slot read)."""
        pcs, top, slot = [regs["pc"]], regs["sp"], regs["sp"]
        callee = self.func_start(regs["pc"])
        lr = self.arch.leaf_return(regs)
        if lr and self.arch.call_target(self.text_code, lr) == callee:
            pcs.append(lr)
            callee = self.func_start(lr - 1)
        while symbolize(self.syms, pcs[-1] - (len(pcs) > 1)) not in self.roots:
            if len(pcs) >= MAX_DEPTH or slot >= regs["sp"] + SCAN_BYTES or callee is None:
                raise WalkFailed("no caller of 0x%x within %d bytes above sp" %
                                 (pcs[-1], SCAN_BYTES))
            try:
                pa, size = self.arch.translate(mem, regs, slot, tables)
            except Fault as e:
                raise WalkFailed("stack 0x%x: %s" % (slot, e))
            xlates[slot & ~(PAGE - 1)] = self.arch.translate(mem, regs, slot & ~(PAGE - 1),
                                                             tables)
            word = le64(mem.phys(pa, 8))
            if self.arch.call_target(self.text_code, word) == callee:
                pcs.append(word)
                callee = self.func_start(word - 1)
                top = slot
            slot += 8
        return pcs, top

    def chain_names(self, pcs):
        """Root first, return addresses named by the call before them."""
        names = [symbolize(self.syms, pcs[0])] + [symbolize(self.syms, ra - 1) for ra in pcs[1:]]
        return names[::-1]

    def stop(self, stub, numbers, tids, number):
        """Capture one stop; keep it as a sample when every vCPU walked an expected chain."""
        mem = Memory(stub)
        vcpus, stack_bytes, ok = [], {}, True
        for index, tid in enumerate(tids):
            stub.select(tid)
            g, sysregs, regs = self.arch.read_regs(stub, numbers)
            if not self.code:
                self.capture_code(mem, tid, regs)
                self.capture_faults(mem, tid, regs)
            tables, xlates = set(), {}
            try:
                walk = self.scan_walk if self.arch.nofp else self.walk
                pcs, top = walk(mem, regs, tables, xlates)
            except WalkFailed as e:
                self.dropped.append((number, index, str(e)))
                ok = False
                continue
            names = self.chain_names(pcs)
            if names not in [c for _, c in self.expected.get("vcpu%d" % index, [])]:
                self.dropped.append((number, index, "walked %s, not an expected chain"
                                     % ";".join(names)))
                ok = False
                continue
            # The stack a walker reads: below sp for a leaf's pushed slot, up to the last record.
            # Without frame pointers, unwind rules read saved registers a little further up.
            lo, hi = (regs["sp"] - 64) & ~7, (top + (64 if self.arch.nofp else 16) + 7) & ~7
            for va in {regs["pc"], regs["sp"], lo, hi - 1} | set(pcs) | \
                    {self.func_start(pc) for pc in pcs[:1]} | \
                    {self.func_start(ra - 1) for ra in pcs[1:]}:
                if va is not None:
                    xlates[va] = self.arch.translate(mem, regs, va, tables)
            stack, va = b"", lo
            while va < hi:
                n = min(hi - va, PAGE - va % PAGE)
                pa, _ = self.arch.translate(mem, regs, va, tables)
                stack_bytes[pa] = mem.phys(pa, n)
                stack += stack_bytes[pa]
                va += n
            if mem.virt(tid, lo, hi - lo) != stack:
                raise CaptureError("vcpu%d: our translation of the stack 0x%x..0x%x disagrees "
                                   "with the gdbstub's" % (index, lo, hi))
            for base in tables:
                self.keep_page(self.tables, base, mem.page(base), "page-table")
            vcpus.append({"g": g, "sysregs": sysregs, "regs": regs, "pcs": pcs, "names": names,
                          "xlates": xlates,
                          "fixup": self.arch.expected_fixup(symbolize(self.syms, pcs[0]))})
        if ok:
            self.samples.append((number, vcpus, stack_bytes))

    def func_start(self, addr):
        for start, size, _ in self.syms.syms:
            if start <= addr < start + size:
                return start
        return None

    def capture_code(self, mem, tid, regs):
        """The physical pages of .text, checked against the gdbstub's virtual reads."""
        start, size = self.text
        for va in range(start & ~(PAGE - 1), start + size, PAGE):
            tables = set()
            pa, _ = self.arch.translate(mem, regs, va, tables)
            data = mem.page(pa)
            if mem.virt(tid, va, PAGE) != data:
                raise CaptureError("code page 0x%x: our translation disagrees with the "
                                   "gdbstub's" % va)
            self.code[pa & ~(PAGE - 1)] = data
            for base in tables:
                self.keep_page(self.tables, base, mem.page(base), "page-table")

    def capture_faults(self, mem, tid, regs):
        """Addresses our walk finds unmapped; the gdbstub must not read them either."""
        for va in self.arch.fault_candidates:
            tables = set()
            try:
                self.arch.translate(mem, regs, va, tables)
            except Fault:
                pass
            else:
                raise CaptureError("0x%x is mapped, expected a fault candidate" % va)
            if mem.virt(tid, va, 8) is not None:
                raise CaptureError("0x%x: our walk faults, the gdbstub reads it" % va)
            # Also keep the tables a walker ignoring TCR_EL1.EPDx would use, so that such a
            # walker wrongly succeeds rather than faults for lack of data.
            try:
                self.arch.translate(mem, regs, va, tables, ignore_disabled=True)
            except Fault:
                pass
            for base in tables:
                self.keep_page(self.tables, base, mem.page(base), "page-table")
            self.faults.append(va)

    def write(self, path, label, elf=None):
        lines = ["# uniprof recorded test data: %s, captured by tests/recorded/capture.py on %s."
                 % (label, time.strftime("%Y-%m-%d")),
                 "# Format: tests/recorded/README.md.",
                 "# %d stops taken, samples kept from stops %s." %
                 (self.stops, ", ".join(str(stop) for stop, _, _ in self.samples))]
        lines += ["# Dropped stop %d: vcpu%d %s." % d for d in self.dropped]
        lines.append("arch %s" % self.arch.name)
        if elf:
            lines.append("unwind cfi")
            lines.append("elf %s" % elf)
        lines += ["sym 0x%x 0x%x %s" % s for s in self.syms.syms]
        for base in sorted(self.tables):
            lines.append("page 0x%x %s" % (base, self.tables[base].hex()))
        for base in sorted(self.code):
            if base not in self.tables:
                lines.append("page 0x%x %s" % (base, self.code[base].hex()))
        lines += ["fault 0x%x" % va for va in self.faults]
        for n, (stop, vcpus, stack_bytes) in enumerate(self.samples):
            lines.append("sample %d" % n)
            for pa in sorted(stack_bytes):
                lines.append("bytes 0x%x %s" % (pa, stack_bytes[pa].hex()))
            for index, v in enumerate(vcpus):
                lines.append("vcpu %d" % index)
                lines.append("g %s" % v["g"].hex())
                lines += ["sysreg %s 0x%x" % kv for kv in v["sysregs"].items()]
                lines += ["reg %s 0x%x" % (k, v["regs"][k]) for k in ("pc", "sp", "fp", "lr")]
                lines += ["xlate 0x%x 0x%x 0x%x" % (va, pa, size)
                          for va, (pa, size) in sorted(v["xlates"].items())]
                lines.append("fixup %s" % v["fixup"])
                names_leaf_first = v["names"][::-1]
                lines += ["expect 0x%x %s" % (pc, name)
                          for pc, name in zip(v["pcs"], names_leaf_first)]
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)


def covered(samples):
    return {(i, ";".join(v["names"])) for _, vcpus, _ in samples for i, v in enumerate(vcpus)}


def select(samples, want):
    """want samples covering as many (vCPU, chain) pairs as possible, in stop order."""
    chosen, seen = [], set()
    for s in samples:
        pairs = covered([s])
        if pairs - seen:
            chosen.append(s)
            seen |= pairs
    for s in samples:
        if len(chosen) >= want:
            break
        if s not in chosen:
            chosen.append(s)
    return sorted(chosen, key=lambda s: s[0])


def attach(guest):
    """A gdbstub started in the running guest through QMP (HMP gdbserver), connected (which
    stops the VM) and past qSupported."""
    qmp = guestlib.QMP(guest.qmp_path)
    sock = os.path.join(guest.dir, "gdb.sock")
    out = qmp.execute("human-monitor-command",
                      **{"command-line": "gdbserver unix:%s,server=on,wait=off" % sock})
    qmp.close()
    if not os.path.exists(sock):
        raise CaptureError("gdbserver did not start: %r" % out)
    stub = Stub(sock)
    stub.supported()
    return stub


def capture(arch, want, rng, log):
    src_dir = "x86_64" if arch.name == "x86_64" else "arm64"
    elf_dir = src_dir + ("-nofp" if arch.nofp else "")
    elf = os.path.join(guestlib.BUILD, "guests", elf_dir, "guest.elf")
    if not os.path.exists(elf):
        raise CaptureError("%s is missing: run make all guests" % elf)
    expected = guestlib.load_expected(os.path.join(ROOT, "tests", "guests", src_dir,
                                                   "expected.txt"))
    all_pairs = {(int(v[4:]), ";".join(c)) for v, cs in expected.items() for _, c in cs}
    cap = Capture(arch, elf, expected)
    guest, _ = arch.boot()
    stub = None
    try:
        stub = attach(guest)
        numbers = stub.register_numbers() if arch.name == "aarch64" else {}
        tids = stub.threads()
        if [int(t, 16) for t in tids] != [1, 2]:
            raise CaptureError("expected vCPU threads 1 and 2, got %r" % tids)
        for number in range(MAX_STOPS):
            stub.cont()
            time.sleep(rng.uniform(0.05, 0.4))
            stub.interrupt()
            cap.stop(stub, numbers, tids, number)
            if len(cap.samples) >= want and covered(cap.samples) >= all_pairs:
                break
        stub.set_physical(False)
        stub.detach()
    finally:
        if stub:
            stub.close()
        guest.stop()
        shutil.rmtree(guest.dir, ignore_errors=True)
    cap.stops = number + 1
    missing = all_pairs - covered(cap.samples)
    if missing:
        raise CaptureError("after %d stops, no sample of %s" % (cap.stops, sorted(missing)))
    cap.samples = select(cap.samples, want)
    for stop, vcpu, why in cap.dropped:
        log("%s: dropped stop %d: vcpu%d %s" % (arch.name, stop, vcpu, why))
    return cap


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=6, help="samples to keep per guest")
    ap.add_argument("--only", choices=("x86_64", "arm64", "x86_64-nofp", "arm64-nofp"))
    ap.add_argument("--seed", type=int, default=None, help="seed for the stop times")
    ap.add_argument("--out", default=HERE, help="directory for the .rec files")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    for label, arch in (("x86_64", X86_64()), ("arm64", Arm64()),
                        ("x86_64-nofp", X86_64(nofp=True)), ("arm64-nofp", Arm64(nofp=True))):
        if args.only and args.only != label:
            continue
        t0 = time.monotonic()
        cap = capture(arch, args.samples, rng, lambda m: print(m, file=sys.stderr))
        path = os.path.join(args.out, "%s.rec" % label)
        elf = None
        if arch.nofp:
            # The unwind tables and symbols, without the rest of the debug information.
            elf = "%s.elf" % label
            subprocess.run([arch.objcopy, "--strip-debug", "--keep-section=.debug_frame",
                            os.path.join(guestlib.BUILD, "guests", label, "guest.elf"),
                            os.path.join(args.out, elf)], check=True)
        cap.write(path, "tests/guests/%s" % label.replace("-nofp", " (NOFP=1)"), elf)
        print("%s: %d stops, %d samples kept, %d bytes, %.1f s"
              % (path, cap.stops, len(cap.samples), os.path.getsize(path),
                 time.monotonic() - t0))
        for n, (_, vcpus, _) in enumerate(cap.samples):
            for i, v in enumerate(vcpus):
                print("  sample %d vcpu%d %s%s" % (n, i, ";".join(v["names"]),
                                                  "" if v["fixup"] == "none" else
                                                  " (%s)" % v["fixup"]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CaptureError, StubError) as e:
        print("capture: %s" % e, file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
