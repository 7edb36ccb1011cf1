"""A scripted QEMU: a QMP server and the gdbstub it starts, faulting where a case file says.

It plays just enough of QEMU for uniprof --memory gdbstub on an x86_64 guest: the QMP greeting,
qmp_capabilities, query-status, query-target, query-cpus-fast, cont, and HMP "gdbserver", which
opens the gdbstub on the unix socket named; the gdbstub answers qSupported, the thread list,
Hg, g, p, m, c, D and the interrupt byte.  It models one thing of the guest: whether it runs
(a gdbstub client connecting or interrupting stops it; 'c', 'D' or QMP cont start it; a client
that goes away leaves it as it was).

A case (tests/peers/cases/NAME.json) changes the defaults:
  "greeting":  raw text sent instead of the QMP greeting, or null for none at all
  "qmp":       {command: action}, for that command's every execution
  "gdb":       [{"on": prefix, "nth": N, "do": action, "data": ...}], on the Nth packet (from 1)
               whose payload starts with prefix ("\\u0003" is the interrupt byte)
  "flood":     QMP events sent every 10 ms while a gdbstub client is connected
  "before_reply": QMP messages sent before every reply (events, other clients' replies)
  "vcpus":     how many vCPUs query-cpus-fast and the thread list give (default 1)
  "multiprocess": the stub is in multiprocess mode, as QEMU 7.2 stays after a gdb session that
               negotiated multiprocess+: thread ids "p01.0N", and a plain 'D' is refused (E22);
               'D;1' detaches
Actions: "close" (hang up), "silent" (never answer, stay connected), raw bytes sent instead of
the reply ("raw") or before it ("prepend"), a payload framed as a packet instead of the reply
("reply") or before it ("prepend_packet"); "repeat" repeats data, "then_close" hangs up after,
"ack": false leaves the packet unacknowledged.
QMP actions are a JSON object to answer with ({"error": ...}) or
"close"/"silent"/{"raw": text, "repeat": N}.

Everything received is logged in order: ("qmp", command or "hmp <line>"), ("gdb", payload).
Used in process by tests/integration/test_peers.py; run alone, it serves one case until killed:
  python3 tests/peers/fakeqemu.py CASE.json QMP_SOCKET
"""
import json
import os
import socket
import sys
import threading

# QEMU's x86_64 'g' reply: 16 GPRs, rip, eflags, 6 selectors, 3 bases, control registers...
G_LEN = 560
G_RBP = 6 * 8
G_RSP = 7 * 8
G_RIP = 16 * 8
GREETING = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""},
                    "capabilities": []}}


def frame(payload):
    data = payload.encode("latin-1") if isinstance(payload, str) else payload
    return b"$" + data + b"#%02x" % (sum(data) & 0xff)


def g_reply():
    regs = bytearray(G_LEN)
    # A frame pointer to follow, so that every sample reads memory ('m') once.
    regs[G_RBP:G_RBP + 8] = (0xffff888000010000).to_bytes(8, "little")
    regs[G_RSP:G_RSP + 8] = (0xffff888000010000 - 64).to_bytes(8, "little")
    regs[G_RIP:G_RIP + 8] = (0xffffffff81000000).to_bytes(8, "little")
    return regs.hex()


class FakeQemu:
    def __init__(self, case, directory):
        self.case = case
        self.qmp_path = os.path.join(directory, "qmp.sock")
        self.log = []
        self.running = True
        self.vcpus = case.get("vcpus", 1)
        self.multiprocess = case.get("multiprocess", False)
        self.counts = {}
        self._socks = []
        self._threads = []
        self._gdb_listener = None
        self._gdb_clients = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._qmp_conn = None
        self._qmp_send = threading.Lock()  # the flood and the replies share the stream

    # Life cycle -------------------------------------------------------------------------------

    def start(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.qmp_path)
        s.listen(4)
        self._socks.append(s)
        self._spawn(self._accept, s, self._serve_qmp)

    def stop(self):
        self._stop.set()
        for s in list(self._socks):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(2)

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    def _accept(self, listener, serve):
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self._socks.append(conn)
            self._spawn(serve, conn)

    def _note(self, kind, what):
        with self._lock:
            self.log.append((kind, what))

    def seen(self, kind):
        with self._lock:
            return [w for k, w in self.log if k == kind]

    # QMP --------------------------------------------------------------------------------------

    def _hang_up(self, conn):
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def _serve_qmp(self, conn):
        try:
            self._qmp_stream(conn)
        finally:
            self._hang_up(conn)

    def _qmp_stream(self, conn):
        self._qmp_conn = conn
        greeting = self.case.get("greeting", GREETING)
        try:
            if isinstance(greeting, dict):
                conn.sendall(json.dumps(greeting).encode() + b"\r\n")
            elif greeting is not None:
                conn.sendall(greeting.encode())
            buf = b""
            while not self._stop.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip() and not self._qmp_command(conn, line):
                        return
        except OSError:
            return

    def _qmp_command(self, conn, line):
        """Answer one command; False to hang up."""
        try:
            msg = json.loads(line)
        except ValueError:
            self._note("qmp", "(not JSON)")
            return True
        cmd = msg.get("execute", "")
        args = msg.get("arguments", {})
        name = cmd
        if cmd == "human-monitor-command":
            name = "hmp " + self._hide_paths(args.get("command-line", ""))
        self._note("qmp", name)
        action = self.case.get("qmp", {}).get(name, self.case.get("qmp", {}).get(cmd))
        if action == "close":
            return False
        if action == "silent":
            return True
        if isinstance(action, dict) and "raw" in action:
            conn.sendall(action["raw"].encode() * action.get("repeat", 1))
            return True
        reply = action if isinstance(action, dict) else {"return": self._qmp_default(cmd, args)}
        if reply.get("return") is NotImplemented:
            reply = {"error": {"class": "CommandNotFound",
                               "desc": "The command %s has not been found" % cmd}}
        reply = dict(reply)
        if "id" in msg:
            reply["id"] = msg["id"]
        # What may come first: events, and the reply to someone else's command.
        before = b"".join(json.dumps(m).encode() + b"\r\n" for m in self.case.get("before_reply", []))
        with self._qmp_send:
            conn.sendall(before + json.dumps(reply).encode() + b"\r\n")
        return True

    def _hide_paths(self, line):
        # uniprof's private gdbstub directory differs every run.
        if line.startswith("gdbserver unix:"):
            return "gdbserver unix:STUB" + line[line.index(","):] if "," in line else line
        return line

    def _qmp_default(self, cmd, args):
        if cmd == "qmp_capabilities":
            return {}
        if cmd == "query-status":
            return {"status": "running" if self.running else "paused", "running": self.running,
                    "singlestep": False}
        if cmd == "query-target":
            return {"arch": "x86_64"}
        if cmd == "query-cpus-fast":
            return [{"cpu-index": i, "thread-id": os.getpid(), "target": "x86_64",
                     "qom-path": "/machine/unattached/device[%d]" % i} for i in range(self.vcpus)]
        if cmd == "cont":
            self.running = True
            return {}
        if cmd == "stop":
            self.running = False
            return {}
        if cmd == "human-monitor-command":
            return self._hmp(args.get("command-line", ""))
        return NotImplemented

    def _hmp(self, line):
        if line.startswith("gdbserver unix:"):
            path = line[len("gdbserver unix:"):].split(",")[0]
            self._close_gdb_listener()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen(1)
            self._socks.append(s)
            self._gdb_listener = s
            self._spawn(self._accept, s, self._serve_gdb)
            return "Waiting for gdb connection on device '%s'\r\n" % line[len("gdbserver "):]
        if line == "gdbserver none":
            self._close_gdb_listener()
            return "Disabled gdbserver\r\n"
        return ""

    def _close_gdb_listener(self):
        s, self._gdb_listener = self._gdb_listener, None
        if s:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _flood(self):
        """While a gdbstub client is connected, "flood" events every 10 ms, as many as QEMU
        sends when something pauses and resumes the guest that often."""
        n, conn = self.case.get("flood", 0), self._qmp_conn
        batch = b"".join(json.dumps({"event": "STOP" if i % 2 else "RESUME",
                                     "timestamp": {"seconds": 1, "microseconds": i}}).encode()
                         + b"\r\n" for i in range(n))
        while not self._stop.wait(0.01) and self._gdb_clients:
            try:
                with self._qmp_send:
                    conn.sendall(batch)
            except OSError:
                return

    # gdbstub ----------------------------------------------------------------------------------

    def _serve_gdb(self, conn):
        # A client connecting stops the guest, as QEMU's gdbstub does.
        self.running = False
        self._gdb_clients += 1
        if self.case.get("flood") and self._gdb_clients == 1:
            self._spawn(self._flood)
        try:
            self._gdb_stream(conn)
        finally:
            self._gdb_clients -= 1
            self._hang_up(conn)

    def _gdb_stream(self, conn):
        buf = b""
        try:
            while not self._stop.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                while buf:
                    c = buf[:1]
                    if c in (b"+", b"-"):
                        buf = buf[1:]
                    elif c == b"\x03":
                        buf = buf[1:]
                        self.running = False
                        if not self._gdb_packet(conn, "\x03", self._fault("\x03")):
                            return
                    elif c == b"$":
                        end = buf.find(b"#")
                        if end < 0 or len(buf) < end + 3:
                            break
                        payload, buf = buf[1:end].decode("latin-1"), buf[end + 3:]
                        fault = self._fault(payload)
                        if not fault or fault.get("ack", True):
                            conn.sendall(b"+")
                        if not self._gdb_packet(conn, payload, fault):
                            return
                    else:
                        buf = buf[1:]
        except OSError:
            return

    def _fault(self, payload):
        for f in self.case.get("gdb", []):
            if payload.startswith(f["on"]):
                key = f["on"]
                break
        else:
            return None
        self.counts[key] = self.counts.get(key, 0) + 1
        for f in self.case.get("gdb", []):
            if f["on"] == key and f.get("nth", 1) in (self.counts[key], 0):
                return f
        return None

    def _gdb_packet(self, conn, payload, fault):
        """Answer one packet (or the interrupt byte); False to hang up."""
        self._note("gdb", payload)
        if not fault:
            reply = self._gdb_default(payload)
            if reply is not None:
                conn.sendall(frame(reply))
            return True
        do, data = fault["do"], fault.get("data", "") * fault.get("repeat", 1)
        if do == "close":
            return False
        if do == "silent":
            return True
        if do == "raw":
            conn.sendall(data.encode("latin-1"))
        elif do == "reply":
            conn.sendall(frame(data))
        elif do in ("prepend", "prepend_packet"):
            conn.sendall(frame(data) if do == "prepend_packet" else data.encode("latin-1"))
            reply = self._gdb_default(payload)
            if reply is not None:
                conn.sendall(frame(reply))
        return not fault.get("then_close")

    def _gdb_default(self, p):
        if p == "\x03":
            return "T02thread:p01.01;" if self.multiprocess else "T02thread:01;"
        if p.startswith("qSupported"):
            return "PacketSize=1000;qXfer:features:read+"
        if p == "qfThreadInfo":
            form = "p01.%02x" if self.multiprocess else "%x"
            return "m" + ",".join(form % (i + 1) for i in range(self.vcpus))
        if p == "qsThreadInfo":
            return "l"
        if p.startswith("H"):
            return "OK"
        if p == "g":
            return g_reply()
        if p.startswith("p"):
            return "00" * 8
        if p.startswith("m"):
            length = int(p.split(",")[1], 16)
            return "00" * length
        if p == "c":
            self.running = True
            return None
        if p == "D" or p.startswith("D;"):
            # QEMU: in multiprocess mode 'D' needs the pid; otherwise any pid is taken as 1.
            if self.multiprocess and p != "D;1":
                return "E22"
            self.running = True
            return "OK"
        return ""


def main():
    case = json.load(open(sys.argv[1]))
    fake = FakeQemu(case, os.path.dirname(os.path.abspath(sys.argv[2])))
    fake.qmp_path = sys.argv[2]
    fake.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()
        for entry in fake.log:
            print(*entry)


if __name__ == "__main__":
    main()
