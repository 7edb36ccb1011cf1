#!/usr/bin/env python3
"""Write a seed for fuzz_modules (layout at the top of fuzz_modules.c): guest memory at BASE
holding the list head and two modules, each with code, two function symbols, a data symbol and
a two-entry ORC table; the list comes back to the head."""
import struct
import sys

BASE = 0xffff800000000000
mem = bytearray(0x2000)


def module(at, name, text, symtab_at, ks_at, orc_at, nxt):
    struct.pack_into("<QQ", mem, at + 8, nxt, 0)                 # list.next, list.prev
    mem[at + 24:at + 24 + len(name)] = name
    struct.pack_into("<QI", mem, at + 0x60, text, 0x1000)         # text base, size
    struct.pack_into("<IQQ", mem, at + 0x6c, 2, BASE + orc_at, BASE + orc_at + 8)
    struct.pack_into("<Q", mem, at + 0x80, BASE + ks_at)          # kallsyms
    strtab = symtab_at + 4 * 24
    struct.pack_into("<QIxxxxQ", mem, ks_at, BASE + symtab_at, 4, BASE + strtab)
    names = b"\0mod_read\0mod_loop\0mod_data\0"
    mem[strtab:strtab + len(names)] = names
    syms = [(0, 0, 0, 0), (1, 0x12, text + 0x10, 0x80), (10, 0x12, text + 0x100, 0x40),
            (19, 0x11, text + 0x800, 8)]
    for i, (n, info, value, size) in enumerate(syms):
        struct.pack_into("<IBBHQQ", mem, symtab_at + 24 * i, n, info, 0, 1 if n else 0,
                         value, size)
    # ORC: two ips (self-relative) at the start and middle of the code, then two entries.
    for i, ip in enumerate((text, text + 0x800)):
        struct.pack_into("<i", mem, orc_at + 4 * i, (ip - (BASE + orc_at + 4 * i)) & 0xffffffff
                         if ip - (BASE + orc_at + 4 * i) < 2**31 else 0)
    struct.pack_into("<hhH", mem, orc_at + 8, 8, 0, 5 | 2 << 8)
    struct.pack_into("<hhH", mem, orc_at + 14, 0, 0, 0)


head = 0
struct.pack_into("<Q", mem, head, BASE + 0x100 + 8)
module(0x100, b"first", BASE + 0x1000, 0x400, 0x380, 0x300, BASE + 0x200 + 8)
module(0x200, b"second", BASE + 0x1000 + 0x0, 0x600, 0x5c0, 0x500, BASE + head)
sys.stdout.buffer.write(bytes(mem))
