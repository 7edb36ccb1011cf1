"""A gdbstub (GDB remote serial protocol) client for our test tools, and their .text finder
(symbol lookup is tests/integration/guestlib.py's).  Python 3 standard library only.

The client talks to QEMU's gdbstub over a unix socket, all-stop, with acks on.  What QEMU 7.2
does that a client must know:
  - connecting stops the VM and QEMU sends a stop reply ("T02thread:...") by itself, before any
    command; stop replies that answer nothing are skipped here;
  - qXfer:features target descriptions use "xi:include" without declaring the xi prefix;
  - with "qSupported:multiprocess+" negotiated, a bare "D" gets E22 and leaves the VM stopped:
    detach() sends "D;PID" then, and "D" otherwise;
  - an 'm' read answers at most MAX_M bytes; read_memory() splits longer reads.

Used by tests/tools/selfcheck.py, tests/guests/linux/probe.py and tests/recorded/capture*.py.
"""
import socket
import struct
import xml.etree.ElementTree as ET

MAX_M = 2048          # the largest 'm' read QEMU 7.2 answers


class StubError(Exception):
    """The gdbstub closed, answered garbage, or refused a command."""


class Stub:
    """Remote serial protocol over a unix socket, all-stop, with acks."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.pending = b""
        self.multiprocess = False
        self.pid = 1

    def close(self):
        self.sock.close()

    # ---- framing ------------------------------------------------------------------------------

    def _byte(self):
        if not self.pending:
            self.pending = self.sock.recv(65536)
            if not self.pending:
                raise StubError("gdbstub closed the connection")
        b, self.pending = self.pending[0], self.pending[1:]
        return b

    def _body(self):
        """The rest of a packet whose '$' was read: payload unescaped and run-length decoded;
        acks it."""
        raw = bytearray()
        while True:
            b = self._byte()
            if b == ord("#"):
                break
            raw.append(b)
        checksum = int(bytes([self._byte(), self._byte()]), 16)
        if sum(raw) & 0xff != checksum:
            raise StubError("bad checksum from gdbstub")
        self.sock.sendall(b"+")
        out, i = bytearray(), 0
        while i < len(raw):
            b = raw[i]
            if b == ord("}"):
                out.append(raw[i + 1] ^ 0x20)
                i += 2
            elif b == ord("*"):
                out.extend(out[-1:] * (raw[i + 1] - 29))
                i += 2
            else:
                out.append(b)
                i += 1
        return bytes(out)

    def _packet(self):
        """The next packet's payload (acks before it are skipped)."""
        while self._byte() != ord("$"):
            pass
        return self._body()

    def _send(self, payload):
        """Send a packet and wait for its ack; a packet arriving first (the stop reply QEMU
        sends on connect) is acked and dropped, a '-' resends."""
        data = payload.encode("latin-1")
        frame = b"$%s#%02x" % (data, sum(data) & 0xff)
        self.sock.sendall(frame)
        while True:
            b = self._byte()
            if b == ord("+"):
                return
            if b == ord("-"):
                self.sock.sendall(frame)
            elif b == ord("$"):
                self._body()

    @staticmethod
    def _is_stop(reply):
        return reply[:1] in ("T", "S", b"T", b"S")

    # ---- commands -----------------------------------------------------------------------------

    def command(self, payload):
        """Send payload and return its reply as text.  A stop reply is never the answer to the
        commands sent this way, so one (QEMU's on connect) is skipped."""
        self._send(payload)
        while True:
            reply = self._packet().decode("latin-1")
            if not self._is_stop(reply):
                return reply

    def ok(self, payload):
        reply = self.command(payload)
        if reply != "OK":
            raise StubError("%s: gdbstub answered %r" % (payload, reply))

    def supported(self, features=""):
        """qSupported[:features]; multiprocess is on when both sides offer it."""
        reply = self.command("qSupported:" + features if features else "qSupported")
        self.multiprocess = ("multiprocess+" in features.split(";")
                             and "multiprocess+" in reply.split(";"))
        return reply

    def halt_reason(self):
        """'?': the stop reply for why the VM is stopped."""
        self._send("?")
        return self._packet().decode("latin-1")

    def cont(self):
        """Resume the VM; no reply until the next stop, and no byte may follow while it runs."""
        self._send("c")

    def interrupt(self):
        """Stop the running VM (0x03); returns the stop reply."""
        self.sock.sendall(b"\x03")
        reply = self._packet().decode("latin-1")
        if not self._is_stop(reply):
            raise StubError("unexpected stop reply %r" % reply)
        return reply

    def detach(self):
        """Detach, which resumes the VM; True when the gdbstub said OK."""
        return self.command("D;%x" % self.pid if self.multiprocess else "D") == "OK"

    def threads(self):
        """The thread ids as the gdbstub spells them ("1", or "p1.1" with multiprocess)."""
        tids, reply = [], self.command("qfThreadInfo")
        while reply.startswith("m"):
            tids += reply[1:].split(",")
            reply = self.command("qsThreadInfo")
        if self.multiprocess and tids and tids[0].startswith("p"):
            self.pid = int(tids[0][1:].split(".")[0], 16)
        return tids

    def select(self, tid):
        """Make tid the thread for g, p and m."""
        self.ok("Hg%s" % tid)

    def g(self):
        """The 'g' register block as bytes."""
        reply = self.command("g")
        if not reply or reply.startswith("E"):
            raise StubError("g: %r" % reply)
        return bytes.fromhex(reply)

    def p(self, number):
        """Register number as an unsigned little-endian integer."""
        reply = self.command("p%x" % number)
        if not reply or reply.startswith("E"):
            raise StubError("p %x: %r" % (number, reply))
        return int.from_bytes(bytes.fromhex(reply), "little")

    def read_memory(self, addr, length):
        """Bytes at addr (virtual or physical, per set_physical), or None when unreadable."""
        out = bytearray()
        while len(out) < length:
            n = min(MAX_M, length - len(out))
            reply = self.command("m%x,%x" % (addr + len(out), n))
            if not reply or reply.startswith("E") or len(reply) != 2 * n:
                return None
            out += bytes.fromhex(reply)
        return bytes(out)

    def set_physical(self, physical):
        """QEMU's Qqemu.PhyMemMode: 'm' reads physical addresses when on."""
        self.ok("Qqemu.PhyMemMode:%d" % bool(physical))

    # ---- target description -------------------------------------------------------------------

    def xfer(self, annex):
        data, offset = b"", 0
        while True:
            self._send("qXfer:features:read:%s:%x,%x" % (annex, offset, 0xf00))
            reply = self._packet()
            while self._is_stop(reply):
                reply = self._packet()
            if not reply or reply[:1] not in (b"m", b"l"):
                raise StubError("qXfer %s: %r" % (annex, reply[:40]))
            data += reply[1:]
            offset += len(reply) - 1
            if reply[:1] == b"l":
                return data

    def _xml(self, annex):
        # QEMU writes "xi:include" without declaring the xi prefix.
        return ET.fromstring(self.xfer(annex).replace(b"xi:include", b"include"))

    def register_numbers(self):
        """Name -> number for every register the target description lists."""
        numbers, nxt = {}, 0
        features = []
        for child in self._xml("target.xml"):
            if child.tag.endswith("include"):
                features.append(self._xml(child.get("href")))
            elif child.tag == "feature":
                features.append(child)
        for feature in features:
            for reg in feature.iter("reg"):
                if reg.get("regnum") is not None:
                    nxt = int(reg.get("regnum"))
                numbers[reg.get("name")] = nxt
                nxt += 1
        return numbers


# ---- ELF symbols ------------------------------------------------------------------------------

def text_section(path):
    """(address, file offset, size) of the ELF64 file's .text section."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("%s: not a little-endian ELF64 file" % path)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)

    def section(i):
        return struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)

    strtab = section(shstrndx)[4]
    for i in range(shnum):
        name, _, _, addr, offset, size = section(i)
        end = data.index(b"\0", strtab + name)
        if data[strtab + name:end] == b".text":
            return addr, offset, size
    raise ValueError("%s has no .text" % path)


