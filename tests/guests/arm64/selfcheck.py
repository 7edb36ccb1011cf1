#!/usr/bin/env python3
"""Checks the arm64 test guest on its own, without uniprof: samples it through
QEMU's gdbstub, walks frame records as uniprof does and compares the chains
with expected.txt. Exits 1 if fewer than 95% of a vCPU's samples match.

usage: selfcheck.py SOCKET GUEST_ELF [--samples N] [--freeze-check]
  SOCKET is QEMU's -gdb unix:SOCKET,server=on,wait=off. --freeze-check
  instead stops the VM for 5 s and reports how far CNTVCT moved.
"""
import argparse
import bisect
import os
import collections
import random
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
        while True:
            b = self._byte()
            if b == b"$":
                break
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

    def threads(self):
        out = []
        r = self.cmd("qfThreadInfo")
        while r.startswith("m"):
            out += r[1:].split(",")
            r = self.cmd("qsThreadInfo")
        return out

    def regs(self, tid):
        assert self.cmd("Hg" + tid) == "OK"
        raw = bytes.fromhex(self.cmd("g"))
        x = struct.unpack_from("<31Q", raw, 0)
        sp, pc = struct.unpack_from("<2Q", raw, 248)
        return x, sp, pc

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


def symbolize(syms, addr):
    i = bisect.bisect_right([s[0] for s in syms], addr) - 1
    if i >= 0 and syms[i][0] <= addr < syms[i][0] + syms[i][1]:
        return syms[i][2]
    return "0x%x" % addr


def walk(stub, syms, x, pc):
    frames = [symbolize(syms, pc)]
    fp, lr = x[29], x[30]
    rec = stub.read(fp, 16) if fp else None
    if rec is None:
        return frames + ["<bad fp>"]
    saved_fp, saved_lr = struct.unpack("<2Q", rec)
    if lr != saved_lr:
        # pc's function has no frame record: its caller is only in x30.
        frames.append(symbolize(syms, lr - 4))
    for _ in range(64):
        rec = stub.read(fp, 16)
        if rec is None:
            frames.append("<bad fp>")
            break
        saved_fp, saved_lr = struct.unpack("<2Q", rec)
        frames.append(symbolize(syms, saved_lr - 4))
        if saved_fp == 0:
            break
        fp = saved_fp
    return frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("elf")
    ap.add_argument("--expected", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "expected.txt"))
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--freeze-check", action="store_true")
    args = ap.parse_args()
    syms = load_symbols(args.elf)
    want = collections.defaultdict(dict)
    for line in open(args.expected):
        vcpu, weight, chain = line.split()
        want[int(vcpu[4:])][chain] = int(weight)

    stub = Stub(args.socket)
    stub.cmd("qSupported:multiprocess+")
    stub.cmd("?")
    tids = stub.threads()

    if args.freeze_check:
        # In every leaf's spin loop x1 holds the last CNTVCT value read.
        before = [stub.regs(t) for t in tids]
        t0 = time.monotonic()
        time.sleep(5)
        stub.cont()
        time.sleep(0.2)
        stub.interrupt()
        host = time.monotonic() - t0
        after = [stub.regs(t) for t in tids]
        for t, (xb, _, pcb), (xa, _, pca) in zip(tids, before, after):
            print("thread %s: pc %s -> %s, CNTVCT advanced %d ticks over %.3f s of host "
                  "time (5 s stopped, 0.2 s running)"
                  % (t, symbolize(syms, pcb), symbolize(syms, pca), xa[1] - xb[1], host))
        stub.cmd("D")
        return 0

    counts = [collections.Counter() for _ in tids]
    for _ in range(args.samples):
        stub.cont()
        time.sleep(random.uniform(0.002, 0.012))
        stub.interrupt()
        for i, t in enumerate(tids):
            x, sp, pc = stub.regs(t)
            counts[i][";".join(reversed(walk(stub, syms, x, pc)))] += 1
    stub.cmd("D")

    ok = True
    for cpu, c in enumerate(counts):
        total = sum(c.values())
        good = sum(n for chain, n in c.items() if chain in want[cpu])
        print("vcpu%d: %d samples, %.1f%% match expected chains" % (cpu, total, 100.0 * good / total))
        ok = ok and good >= 0.95 * total
        wsum = sum(want[cpu].values())
        for chain, n in c.most_common():
            exp = want[cpu].get(chain)
            tag = "expected %.1f%%" % (100.0 * exp / wsum) if exp else "UNEXPECTED"
            print("  %5d %5.1f%%  %-14s %s" % (n, 100.0 * n / total, tag, chain))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
