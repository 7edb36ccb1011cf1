#!/usr/bin/env python3
"""Record what a real QEMU sends a QMP client that asks what uniprof's attach asks, byte for
byte, as seeds for fuzz/fuzz_qmp.c (see README.md here).

Each test guest is booted under TCG (tests/integration/guestlib.py, killed by its pid at the
end).  The client speaks as backends/kvm/qmp.c does (compact JSON, one id per command, counting
from 1) and runs the harness's script: qmp_capabilities, query-status, query-target,
query-cpus-fast, human-monitor-command "gdbserver ...", stop, cont, then a pause for the
events to arrive.  Everything received, greeting and events included, goes to the file.

    python3 tests/unit/data/qmp/capture.py [--out DIR]     (after make guests)
"""
import argparse
import json
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "integration"))
import guestlib  # noqa: E402

# (command, arguments or None); gdbserver's socket path is filled in per guest.  Keep in step
# with SCRIPT in fuzz/fuzz_qmp.c.
SCRIPT = [("qmp_capabilities", None), ("query-status", None), ("query-target", None),
          ("query-cpus-fast", None), ("human-monitor-command", "gdbserver"),
          ("stop", None), ("cont", None)]


class Recorder:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.data = b""
        self.pending = b""

    def message(self):
        while b"\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QEMU hung up")
            self.data += chunk
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def execute(self, ident, command, args):
        msg = {"execute": command, "id": ident}
        if args is not None:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        while self.message().get("id") != ident:
            pass

    def linger(self, seconds):
        """Keep what arrives for a while (the events of stop and cont)."""
        self.sock.settimeout(seconds)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.data += chunk
        except socket.timeout:
            pass


def record(name, guest, stub_arg, out, busy):
    try:
        r = Recorder(guest.qmp_path)
        r.message()  # the greeting
        for ident, (command, args) in enumerate(SCRIPT, 1):
            if args == "gdbserver":
                args = {"command-line": "gdbserver " + stub_arg}
            r.execute(ident, command, args)
        r.linger(0.5)
        with open(os.path.join(out, name + ".qmp"), "wb") as f:
            f.write(r.data)
        print("%s.qmp: %d bytes%s" % (name, len(r.data), " (QEMU had a gdbstub)" if busy else ""))
    finally:
        guest.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=HERE)
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)

    guest, _ = guestlib.x86_64_guest(smp=2)
    record("x86_64-smp2", guest, "unix:%s/gdb.sock,server=on,wait=off" % guest.dir, out, False)
    # QEMU started with -gdb: a second gdbstub is refused ("duplicate yank instance").
    d = guestlib.tempdir("uniprof-capture-")
    guest, _ = guestlib.x86_64_guest(smp=1, extra=["-gdb", "unix:%s/gdb0.sock,server=on,wait=off" % d])
    record("x86_64-smp1-gdb-busy", guest, "unix:%s/gdb.sock,server=on,wait=off" % guest.dir, out, True)
    guest, _ = guestlib.arm64_guest(smp=4)
    record("aarch64-smp4", guest, "unix:%s/gdb.sock,server=on,wait=off" % guest.dir, out, False)
    # A gdbserver that QEMU cannot start: a socket in a directory that is not there.
    guest, _ = guestlib.x86_64_guest(smp=1)
    record("x86_64-smp1-gdb-fails", guest, "unix:/nonexistent/uniprof/gdb.sock,server=on,wait=off",
           out, False)


if __name__ == "__main__":
    main()
