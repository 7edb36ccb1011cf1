#!/usr/bin/env python3
"""Write a seed for fuzz_unwind (its input layout is described at the top of fuzz_unwind.c):
x86_64 registers at a stack page whose frames the four rows walk (CFA = rsp + 16, return address
at CFA - 8, rbx saved at CFA - 16), return addresses chosen so each frame picks the next row."""
import struct
import sys

NR_GPRS, NR_ROWS = 33, 4
RSP, RBX, RIP = 7, 3, 16
OK, OFFSET, SAME = 1, 2, 0
BASE = 0xffffc90000010000


def row(cfa_reg, cfa_off, ra_reg, rules):
    out = struct.pack("<BBBBh", OK, cfa_reg, ra_reg, 0, cfa_off)
    for r in range(NR_GPRS):
        kind, value = rules.get(r, (SAME, 0))
        out += struct.pack("<BBh", kind, 0, value)
    return out


gprs = [0] * NR_GPRS
gprs[RSP] = BASE + 0x100
gprs[RIP] = 0xffffffff81000000  # (addr >> 2) % 5 == 0: row 0
gprs[32] = BASE + 0x100          # arm64's sp, for the second pass
data = b"".join(struct.pack("<Q", v) for v in gprs) + struct.pack("<Q", (1 << NR_GPRS) - 1)
for i in range(NR_ROWS):
    data += row(RSP, 16, RIP, {RIP: (OFFSET, -8), RBX: (OFFSET, -16)})
stack = bytearray(4096)
for frame in range(8):
    at = 0x100 + 16 * frame
    # Return addresses whose address - 1 picks rows 1, 2, 3, 0, ...
    ra = 0xffffffff81000000 + 4 * ((frame + 1) % 5) + 1
    struct.pack_into("<QQ", stack, at, 0x1000 + frame, ra)
data += bytes(stack)
sys.stdout.buffer.write(data)
