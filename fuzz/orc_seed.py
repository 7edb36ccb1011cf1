#!/usr/bin/env python3
"""Write a seed for fuzz_orc (input layout at the top of fuzz_orc.c): a format 3 table of four
entries (two call frames, a pt_regs frame, a terminator) and a stack whose frames walk through
them into user mode."""
import struct
import sys

BASE = 0xffffffff81000000
SP = 0xffffc90000010100


def entry(sp_off, bp_off, sp_reg, bp_reg, typ, signal=0):
    return struct.pack("<hhH", sp_off, bp_off, sp_reg | bp_reg << 4 | typ << 8 | signal << 11)


ips = [0x100, 0x200, 0x300, 0x400]
entries = [entry(8, 0, 5, 0, 2), entry(24, -16, 5, 1, 2), entry(0, 0, 5, 0, 3, 1),
           entry(0, 0, 0, 0, 0)]
out = bytes([2, len(ips) - 1])   # version 3, four entries
out += b"".join(struct.pack("<i", ip - 4 * i) for i, ip in enumerate(ips))
out += b"".join(entries)
out += struct.pack("<QQQ", 0x110, SP, 0)
stack = bytearray(0x100 + 0x200)          # from SP's page start
struct.pack_into("<Q", stack, 0x100, BASE + 0x210)      # leaf's return address
struct.pack_into("<Q", stack, 0x118, BASE + 0x310)      # F1's return address
struct.pack_into("<Q", stack, 0x120 + 128, 0x401000)     # pt_regs.ip: user
struct.pack_into("<Q", stack, 0x120 + 152, 0x7ffd0000)   # pt_regs.sp
out += bytes(stack)
sys.stdout.buffer.write(out)
