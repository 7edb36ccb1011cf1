#!/usr/bin/env python3
"""Checks the arm64 EFI test guest on its own, without uniprof: confirms the
slide the guest printed (PE header at the image base, the ELF's .text bytes at
.text + slide), then samples the guest through QEMU's gdbstub at random times,
walks frame records (x29) as uniprof does and compares the chains with expected.txt.
Samples whose pc is outside our image are counted as firmware (the UEFI timer
interrupt runs on our stack). Exits 1 if the slide does not check out or fewer
than 95% of the samples carry an expected chain.

usage: selfcheck.py SOCKET GUEST_ELF SERIAL_LOG [--samples N]
  SOCKET is QEMU's -gdb unix:SOCKET,server=on,wait=off; SERIAL_LOG holds the
  guest's "uniprof-guest: slide 0x..." line.
"""
import argparse
import bisect
import collections
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time


class Stub:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""

    def _byte(self):
        while not self.buf:
            data = self.s.recv(65536)
            if not data:
                raise EOFError("stub closed")
            self.buf += data
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def _reply(self):
        while self._byte() != b"$":
            pass
        body = b""
        while True:
            b = self._byte()
            if b == b"#":
                break
            body += b
        self._byte()
        self._byte()
        self.s.sendall(b"+")
        return body.decode()

    def _send(self, data):
        cs = sum(data.encode()) & 0xFF
        self.s.sendall(b"$" + data.encode() + b"#%02x" % cs)
        while self._byte() != b"+":
            pass

    def cmd(self, data):
        self._send(data)
        return self._reply()

    def cont(self):
        self._send("c")

    def interrupt(self):
        self.s.sendall(b"\x03")
        return self._reply()

    def regs(self):
        raw = bytes.fromhex(self.cmd("g"))
        x = struct.unpack_from("<31Q", raw, 0)
        pc = struct.unpack_from("<Q", raw, 256)[0]
        return pc, x[29], x[30]

    def read(self, addr, n):
        r = self.cmd("m%x,%x" % (addr, n))
        if r.startswith("E") or len(r) != 2 * n:
            return None
        return bytes.fromhex(r)


def load_symbols(elf):
    out = subprocess.run([os.environ.get("NM", "aarch64-linux-gnu-nm"), "-n", "-S", elf],
                         capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tT":
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
    syms.sort()
    return syms


def text_section(elf):
    """(link address, bytes) of the ELF's .text."""
    out = subprocess.run([os.environ.get("OBJDUMP", "aarch64-linux-gnu-objdump"), "-h", elf],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"\s\.text\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out)
    size, vma, off = (int(g, 16) for g in m.groups())
    with open(elf, "rb") as f:
        f.seek(off)
        return vma, f.read(size)


def symbolize(syms, slide, addr):
    link = addr - slide
    i = bisect.bisect_right([s[0] for s in syms], link) - 1
    if i >= 0 and syms[i][0] <= link < syms[i][0] + syms[i][1]:
        return syms[i][2]
    return "0x%x" % addr


def walk(stub, syms, slide, pc, fp, lr):
    """Frames leaf first; a return address is named by the call before it."""
    frames = [symbolize(syms, slide, pc)]
    rec = stub.read(fp, 16) if fp else None
    if rec is not None and struct.unpack("<2Q", rec)[1] != lr:
        # pc's function has not stored its frame record yet: its caller is only in x30.
        frames.append(symbolize(syms, slide, lr - 4))
    for _ in range(64):
        rec = stub.read(fp, 16) if fp else None
        if rec is None:
            frames.append("<bad fp>")
            break
        fp, ret = struct.unpack("<2Q", rec)
        frames.append(symbolize(syms, slide, ret - 4))
        if fp == 0:
            break
    return frames


def check_slide(stub, elf, slide):
    """Messages about what was wrong; empty when the slide checks out."""
    bad = []
    hdr = stub.read(slide, 0x40)
    if hdr is None or hdr[:2] != b"MZ":
        return ["no MZ at the image base 0x%x" % slide]
    lfanew = struct.unpack_from("<I", hdr, 0x3c)[0]
    pe = stub.read(slide + lfanew, 6)
    if pe is None or pe[:4] != b"PE\0\0" or struct.unpack_from("<H", pe, 4)[0] != 0xaa64:
        bad.append("no PE\\0\\0 with machine 0xaa64 at 0x%x" % (slide + lfanew))
    vma, text = text_section(elf)
    got = b"".join(stub.read(slide + vma + o, min(1024, len(text) - o)) or b""
                   for o in range(0, len(text), 1024))
    # All code is PC-relative and nothing is relocated: the bytes match exactly.
    if got != text:
        bad.append(".text at 0x%x differs from the ELF's" % (slide + vma))
    print("slide 0x%x: MZ at 0x%x, PE header at 0x%x, .text (%d bytes) at 0x%x %s"
          % (slide, slide, slide + lfanew, len(text), slide + vma,
             "matches" if got == text else "DIFFERS"))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("elf")
    ap.add_argument("serial_log")
    ap.add_argument("--expected", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "expected.txt"))
    ap.add_argument("--samples", type=int, default=1000)
    args = ap.parse_args()
    m = re.search(r"uniprof-guest: slide (0x[0-9a-f]+)", open(args.serial_log, errors="replace").read())
    if not m:
        print("no slide line in %s" % args.serial_log)
        return 1
    slide = int(m.group(1), 16)
    syms = load_symbols(args.elf)
    want = {}
    for line in open(args.expected):
        _, weight, chain = line.split()
        want[chain] = int(weight)

    stub = Stub(args.socket)
    stub.cmd("qSupported:multiprocess+")
    stub.cmd("?")
    bad = check_slide(stub, args.elf, slide)
    for msg in bad:
        print("slide: " + msg)

    counts = collections.Counter()
    firmware = 0
    for _ in range(args.samples):
        stub.cont()
        time.sleep(random.uniform(0.002, 0.012))
        stub.interrupt()
        pc, fp, lr = stub.regs()
        frames = walk(stub, syms, slide, pc, fp, lr)
        firmware += frames[0].startswith("0x")
        counts[";".join(reversed(frames))] += 1
    # With multiprocess+ a bare "D" gets E22 and leaves the VM stopped.
    if stub.cmd("D;1") != "OK":
        print("detach failed: the guest may be left stopped")

    total = sum(counts.values())
    good = sum(n for chain, n in counts.items() if chain in want)
    wsum = sum(want.values())
    print("vcpu0: %d samples, %.1f%% match expected chains, %.1f%% with the pc in firmware"
          % (total, 100.0 * good / total, 100.0 * firmware / total))
    for chain, n in counts.most_common():
        exp = want.get(chain)
        tag = "expected %.1f%%" % (100.0 * exp / wsum) if exp else "UNEXPECTED"
        print("  %5d %5.1f%%  %-14s %s" % (n, 100.0 * n / total, tag, chain))
    return 0 if good >= 0.95 * total and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
