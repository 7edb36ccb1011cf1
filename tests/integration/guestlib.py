"""Boot our test guests under QEMU TCG and talk QMP to them, for the integration tests.

Every QEMU started here is killed by PID when the test ends (normally, by exception or by
signal), and only those: other QEMUs on the machine are left alone.
"""
import atexit
import bisect
import json
import math
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
UNIPROF = os.path.join(BUILD, "uniprof")

_live = []      # (process, seconds to wait after SIGTERM before SIGKILL, or None: SIGKILL)
_tempdirs = []


def tempdir(prefix):
    """A private directory, removed when the test run ends."""
    path = tempfile.mkdtemp(prefix=prefix)
    _tempdirs.append(path)
    return path


def _remove_tempdirs():
    for path in _tempdirs:
        shutil.rmtree(path, ignore_errors=True)


# atexit runs last-registered first: this one, registered first, runs after QEMU is killed.
atexit.register(_remove_tempdirs)


def track_process(proc, terminate_timeout=None):
    """Kill proc by PID when the run ends, or when kill_tracked is called: with SIGKILL, or,
    given terminate_timeout, SIGTERM first (for scripts that kill their own QEMU on TERM)."""
    _live.append((proc, terminate_timeout))


def untrack_process(proc):
    _live[:] = [entry for entry in _live if entry[0] is not proc]


def kill_tracked(*_):
    """Kill every process track_process was given that still runs, and forget them all."""
    for proc, terminate_timeout in list(_live):
        if proc.poll() is not None:
            continue
        if terminate_timeout is not None:
            proc.terminate()
            try:
                proc.wait(timeout=terminate_timeout)
                continue
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
        proc.wait()
    _live.clear()


atexit.register(kill_tracked)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, lambda s, f: (kill_tracked(), sys.exit(128 + s)))


class QMP:
    """A minimal synchronous QMP client.  keep_line_ends: strings come back with QEMU's own
    line ends (HMP's CR LF), not translated."""

    def __init__(self, path, timeout=10, keep_line_ends=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw", newline="" if keep_line_ends else None)
        greeting = json.loads(self.file.readline())
        assert "QMP" in greeting, greeting
        self.execute("qmp_capabilities")

    def execute(self, command, **args):
        msg = {"execute": command}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError("QMP %s: %s" % (command, reply["error"]))
            return reply["return"]

    def hmp(self, line):
        """Run an HMP command line; its output."""
        return self.execute("human-monitor-command", **{"command-line": line})

    def close(self):
        self.file.close()
        self.sock.close()


class Guest:
    """A QEMU process running one of our test guests, with a QMP socket and a serial log.

    args may be a callable taking the guest's private directory (for files like a copy of
    the firmware's variable store) and returning the machine arguments.  umask: QEMU's, for
    the sockets it creates (0: anyone may connect).
    """

    def __init__(self, system, args, ready="uniprof-guest: ready", timeout=60, extra=(),
                 umask=None):
        self.dir = tempdir("uniprof-test-")
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.serial = os.path.join(self.dir, "serial.log")
        if callable(args):
            args = args(self.dir)
        cmd = [system, "-accel", "tcg", "-display", "none", "-nodefaults", "-no-user-config",
               "-serial", "file:" + self.serial,
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path] + list(args) + list(extra)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "qemu.err"), "w"),
                                     preexec_fn=None if umask is None else lambda: os.umask(umask))
        track_process(self.proc)
        self.wait_for(ready, timeout)

    def wait_for(self, text, timeout):
        """Wait for text on the console; a RuntimeError when QEMU exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("QEMU exited: " + open(os.path.join(self.dir, "qemu.err")).read())
            if os.path.exists(self.serial) and text in self.console():
                return
            time.sleep(0.1)
        raise RuntimeError("guest did not print %r within %d s; serial: %r" %
                           (text, timeout, open(self.serial, errors="replace").read()[-500:]))

    def console(self):
        with open(self.serial, errors="replace") as f:
            return f.read()

    def status(self):
        q = QMP(self.qmp_path)
        try:
            return q.execute("query-status")["status"]
        finally:
            q.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        untrack_process(self.proc)


def x86_64_guest(smp=2, extra=(), umask=None, nofp=False, hostile=False):
    """Our x86_64 guest; nofp: the flavour built without frame pointers (with .eh_frame);
    hostile: the flavour that holds hostile frame pointers (tests/guests/x86_64/hostile.c)."""
    flavour = "x86_64-nofp" if nofp else "x86_64-hostile" if hostile else "x86_64"
    kernel = os.path.join(BUILD, "guests", flavour, "guest.elf")
    return Guest("qemu-system-x86_64", ["-smp", str(smp), "-m", "64M", "-kernel", kernel],
                 extra=extra, umask=umask), kernel


def arm64_guest(cpu="cortex-a57", smp=2, extra=(), nofp=False, hostile=False):
    """Our arm64 guest; nofp: the flavour built without frame pointers (with .eh_frame);
    hostile: the flavour that holds hostile frame pointers (tests/guests/arm64/hostile.c)."""
    flavour = "arm64-nofp" if nofp else "arm64-hostile" if hostile else "arm64"
    kernel = os.path.join(BUILD, "guests", flavour, "guest.elf")
    return Guest("qemu-system-aarch64", ["-M", "virt", "-cpu", cpu, "-smp", str(smp),
                                         "-m", "128M", "-kernel", kernel], extra=extra), kernel


def efi_x86_64_guest():
    """Our EFI application under OVMF (tests/guests/efi-x86_64); loaded where OVMF likes."""
    out = os.path.join(BUILD, "guests", "efi-x86_64")

    def machine(private):
        vars_copy = os.path.join(private, "OVMF_VARS.fd")
        shutil.copy("/usr/share/OVMF/OVMF_VARS.fd", vars_copy)
        return ["-M", "q35", "-m", "256M", "-smp", "1", "-net", "none",
                "-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd",
                "-drive", "if=pflash,format=raw,file=" + vars_copy,
                "-drive", "if=none,id=esp,format=raw,readonly=on,file=fat:" + os.path.join(out, "esp"),
                "-device", "virtio-blk-pci,drive=esp"]
    return Guest("qemu-system-x86_64", machine, timeout=120), os.path.join(out, "guest.elf")


def efi_arm64_guest():
    """Our AArch64 EFI application under QEMU_EFI (tests/guests/efi-arm64)."""
    out = os.path.join(BUILD, "guests", "efi-arm64")
    args = ["-M", "virt", "-cpu", "cortex-a57", "-m", "256M", "-smp", "1",
            "-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
            "-drive", "if=none,id=esp,format=raw,readonly=on,file=fat:" + os.path.join(out, "esp"),
            "-device", "virtio-blk-pci,drive=esp"]
    return Guest("qemu-system-aarch64", args, timeout=120), os.path.join(out, "guest.elf")


def prepare_linux(arch="x86_64", perf=False):
    """tests/guests/linux/prepare.sh --arch ARCH: its kernel=, initrd=, system_map= paths (and
    perf_initrd= with perf)."""
    out = subprocess.run([os.path.join(ROOT, "tests", "guests", "linux", "prepare.sh"),
                          "--arch", arch] + (["--perf"] if perf else []),
                         capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError("prepare.sh failed: " + out.stderr[-2000:])
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def debian_vmlinux(system_map, tmp):
    """The vmlinux ELF inside Debian's vmlinuz (next to system_map), written to tmp/vmlinux.
    It keeps its sections (.BTF, .orc_unwind...) but no symbols: one is added, so that the
    symbol loader takes the file."""
    import lzma
    data = open(os.path.join(os.path.dirname(system_map), "vmlinuz"), "rb").read()
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[data.find(b"\xfd7zXZ\0"):])
    if elf[:4] != b"\x7fELF":
        raise RuntimeError("no vmlinux ELF in the vmlinuz")
    bare, vmlinux = os.path.join(tmp, "vmlinux.bare"), os.path.join(tmp, "vmlinux")
    with open(bare, "wb") as f:
        f.write(elf)
    subprocess.run(["objcopy", "--add-symbol", "startup_64=.text:0,global,function", bare,
                    vmlinux], check=True)
    os.unlink(bare)
    return vmlinux


def linux_guest(work="dd", extra=()):
    """Debian's kernel with KASLR and a busybox workload (tests/guests/linux/prepare.sh)."""
    paths = prepare_linux()
    args = ["-smp", "1", "-m", "512M", "-kernel", paths["kernel"], "-initrd", paths["initrd"],
            "-no-reboot", "-append",
            "console=ttyS0 loglevel=4 panic=-1 tsc=reliable uniprof.work=" + work]
    return Guest("qemu-system-x86_64", args, timeout=180, extra=extra), paths["system_map"]


def sigkill_and_wait(guest, args, delay, timeout=15):
    """Start uniprof with args, SIGKILL it delay seconds later, and wait for the guest to run
    again (its guardian resumes it).  Returns the seconds from the kill to QMP's first
    "running", or None if it did not say so within timeout.  QMP serves one client at a time,
    so the first answer comes once the guardian, which holds uniprof's connection, is done."""
    p = subprocess.Popen([UNIPROF] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    track_process(p)
    time.sleep(delay)
    killed = time.monotonic()
    p.kill()
    p.wait()
    untrack_process(p)
    while time.monotonic() - killed < timeout:
        try:
            q = QMP(guest.qmp_path, timeout=max(0.1, timeout - (time.monotonic() - killed)))
            try:
                status = q.execute("query-status")["status"]
            finally:
                q.close()
        except (OSError, ValueError):
            status = None
        if status == "running":
            return time.monotonic() - killed
        time.sleep(0.005)
    return None


def linux_arm64_guest(work="dd", smp=1):
    """Debian's arm64 kernel with KASLR (QEMU virt gives the seed) and a busybox workload."""
    paths = prepare_linux("arm64")
    args = ["-M", "virt", "-cpu", "cortex-a57", "-smp", str(smp), "-m", "256M",
            "-kernel", paths["kernel"], "-initrd", paths["initrd"], "-no-reboot", "-append",
            "console=ttyAMA0 loglevel=4 panic=-1 uniprof.work=" + work]
    return Guest("qemu-system-aarch64", args, timeout=180), paths["system_map"]


def run_uniprof(args, timeout=120, command=None):
    """Run the built uniprof (or command, a list that runs it another way); returns
    (returncode, stdout, stderr)."""
    p = subprocess.run((command or [UNIPROF]) + list(args), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def check_refused(test, guest, symfile, out):
    """A 1 s profile of guest with symfile, whose slide nothing may confirm: the run says so,
    names no frame (a user-mode sample is "[user]", named by no file either), and leaves the
    guest running (test is the unittest.TestCase)."""
    rc, _, err = run_uniprof(["--qmp", guest.qmp_path, "-k", symfile, "-F", "100", "-t", "1",
                              "-o", out])
    test.assertEqual(rc, 0, err)
    test.assertIn("no slide confirmed", err)
    stacks = parse_folded(open(out).read())
    test.assertTrue(all(f.startswith("0x") or f == "[user]" for frames, _ in stacks
                        for f in frames))
    test.assertEqual(guest.status(), "running")


def parse_folded(text):
    """Folded lines to a list of (frames, count); fails on any malformed line."""
    stacks = []
    for line in text.splitlines():
        stack, sep, count = line.rpartition(" ")
        assert sep and count.isdigit() and stack and "  " not in line, "bad folded line %r" % line
        stacks.append((stack.split(";"), int(count)))
    return stacks


# ---- guest registers and symbols, shared by the tests, tests/tools, tests/recorded and bench ----

# Byte offsets in QEMU's x86_64 'g' reply (arch/x86_64/regs.c).
X86_64_G = {"rbp": 48, "rsp": 56, "rip": 128, "cs": 140}
X86_64_G_CR0 = 128 + 8 + 4 + 6 * 4 + 3 * 8


def x86_64_g_reg(g, name):
    """A register from an x86_64 'g' block: the 64-bit ones of X86_64_G, cs 32-bit."""
    if name == "cs":
        return struct.unpack_from("<I", g, X86_64_G["cs"])[0]
    return struct.unpack_from("<Q", g, X86_64_G[name])[0]


def nm_symbols(nm, path):
    """[(start, size, type, name)] from `nm -S -n`, in nm's order; size is 0 when nm gives
    none (assembly labels)."""
    out = subprocess.run([nm, "-S", "-n", path], capture_output=True, text=True,
                         check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            syms.append((int(f[0], 16), int(f[1], 16), f[2], f[3]))
        elif len(f) == 3:
            syms.append((int(f[0], 16), 0, f[1], f[2]))
    return syms


def symbol_address(path, name, nm="nm"):
    """The address of the symbol called name in path; KeyError when there is none."""
    for start, _, _, sym in nm_symbols(nm, path):
        if sym == name:
            return start
    raise KeyError("%s has no symbol %s" % (path, name))


class SymbolTable:
    """Sized symbols [(start, size, name)] looked up by bisection."""

    def __init__(self, syms):
        self.syms = sorted(syms)
        self.starts = [s[0] for s in self.syms]

    def lookup(self, addr):
        """The name of the symbol holding addr, or None."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and self.syms[i][0] <= addr < self.syms[i][0] + self.syms[i][1]:
            return self.syms[i][2]
        return None


def load_expected(path):
    """expected.txt: 'vcpuN WEIGHT root;...;leaf' lines -> {vcpu: [(weight, frames)]}."""
    chains = {}
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vcpu, weight, chain = line.split()
        chains.setdefault(vcpu, []).append((float(weight), chain.split(";")))
    return chains


def share_tolerance(want, n, floor=0.05, sigmas=4.0):
    """How far a measured share of n samples may stray from want: `floor`, or `sigmas` binomial
    standard deviations when that is wider (with few samples chance alone strays further; a
    fixed 5% failed about one run in 200 per check at ~700 samples, and a suite has ~20 checks)."""
    if n <= 0:
        return floor
    return max(floor, sigmas * math.sqrt(want * (1 - want) / n))


def check_profile(stacks, expected, min_complete=0.95, tolerance=None):
    """Check per-vCPU folded stacks against the expected chains and ratios.

    tolerance: allowed distance of each share from its expected value; None = share_tolerance.
    Returns a list of failure messages (empty when the profile is right) and a report dict.
    """
    failures, report = [], {}
    for vcpu, chains in expected.items():
        mine = [(frames[1:], n) for frames, n in stacks if frames[0] == vcpu]
        total = sum(n for _, n in mine)
        if total == 0:
            failures.append("%s: no samples" % vcpu)
            continue
        counts = [sum(n for frames, n in mine if frames == chain) for _, chain in chains]
        complete = sum(counts)
        report[vcpu] = {"samples": total, "complete": complete,
                        "shares": [c / complete if complete else 0 for c in counts]}
        if complete < min_complete * total:
            worst = sorted((n, ";".join(f)) for f, n in mine
                           if f not in [c for _, c in chains])[-3:]
            failures.append("%s: only %d of %d samples (%.1f%%) have a complete expected chain; "
                            "most common others: %s" % (vcpu, complete, total,
                                                        100.0 * complete / total, worst))
        weights = sum(w for w, _ in chains)
        for (w, chain), c in zip(chains, counts):
            share, want = (c / complete if complete else 0), w / weights
            tol = share_tolerance(want, complete) if tolerance is None else tolerance
            if abs(share - want) > tol:
                failures.append("%s: chain ending in %s has %.1f%% of complete samples, "
                                "expected %.1f%% +- %.1f" % (vcpu, chain[-1], 100 * share,
                                                             100 * want, 100 * tol))
    return failures, report


def parse_backtrace(text):
    """uniprof --dump output -> {"vcpuN": {"complete": bool, "why": str or None, "frames":
    [{"addr": int, "name": str, "offset": int or None, "inlined": bool, "file": str or None,
    "line": int or None}]}}, frames innermost first; fails on any malformed line or frame
    numbers out of order."""
    header = re.compile(r"vCPU (\d+): (complete|truncated \(([^)]*)\))(, sp 0x[0-9a-f]+, fp 0x[0-9a-f]+)?$")
    frame = re.compile(r"#(\d+) +0x([0-9a-f]{16}) in (\?\?|(\S+?)(\+0x([0-9a-f]+)| \[inlined\])?)"
                       r"( \((.+):(\d+)\))?$")
    dumps, cur = {}, None
    for line in text.splitlines():
        if not line:
            cur = None
            continue
        m = header.match(line)
        if m:
            cur = dumps.setdefault("vcpu" + m.group(1), {"complete": m.group(2) == "complete",
                                                         "why": m.group(3), "frames": []})
            continue
        m = frame.match(line)
        assert m and cur is not None, "bad backtrace line %r" % line
        assert int(m.group(1)) == len(cur["frames"]), "frame number out of order: %r" % line
        cur["frames"].append({
            "addr": int(m.group(2), 16), "name": m.group(4) or "??",
            "offset": int(m.group(6), 16) if m.group(6) else None,
            "inlined": m.group(5) == " [inlined]", "file": m.group(8),
            "line": int(m.group(9)) if m.group(9) else None})
    return dumps


def check_backtrace(dumps, expected):
    """Check a parsed --dump against the expected chains: every vCPU of expected is there, its
    walk complete, and its functions (inlined frames left out), root first, are the start of
    one of its expected chains, from the root down to at least the frame below it (the guest
    runs its loops: the pause may catch it anywhere along a chain).  Returns failure messages."""
    failures = []
    for vcpu, chains in expected.items():
        d = dumps.get(vcpu)
        if d is None:
            failures.append("%s: no backtrace" % vcpu)
            continue
        names = [f["name"] for f in reversed(d["frames"]) if not f["inlined"]]
        if not d["complete"]:
            failures.append("%s: walk truncated (%s): %s" % (vcpu, d["why"], ";".join(names)))
        if len(names) < 2 or not any(chain[:len(names)] == names for _, chain in chains):
            failures.append("%s: %s is not the start of an expected chain" %
                            (vcpu, ";".join(names)))
    return failures
