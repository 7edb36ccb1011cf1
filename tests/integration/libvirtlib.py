"""A real libvirtd for the tests, and transient libvirt domains running our test guests.

libvirtd and virtlogd are started (in the foreground, tracked by PID like QEMU) only when no
libvirtd answers on qemu:///system; those started here, and only those, are stopped when the run
ends.  Each domain is transient (virsh create): destroying it removes it; its QEMU is also
killed by PID at the end if it is somehow still there.
"""
import atexit
import glob
import os
import shutil
import subprocess
import time
import uuid

from guestlib import BUILD, tempdir, track_process

URI = "qemu:///system"
LIBVIRTD_SOCK = "/run/libvirt/libvirt-sock"
_qemu_pids = []


def virsh(*args, uri=URI, timeout=120, check=True):
    """Run virsh -c uri args...; returns its stdout (raises with stderr when check fails)."""
    p = subprocess.run(["virsh", "-c", uri] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode:
        raise RuntimeError("virsh %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def _answers():
    try:
        return subprocess.run(["virsh", "-c", URI, "version"], capture_output=True,
                              timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def ensure_libvirtd():
    """A libvirtd that answers on qemu:///system: the one running, or one we start.  Returns
    None, or why none can run here (the caller fails with it: no silent pass)."""
    if _answers():
        return None
    for tool in ("virsh", "libvirtd", "virtlogd"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            return ("%s is not installed: scripts/install-deps.sh installs libvirt-daemon-system "
                    "and libvirt-clients" % tool)
    if os.geteuid() != 0:
        return "starting libvirtd needs root"
    logdir = tempdir("uniprof-libvirtd-")
    for daemon, sock in (("virtlogd", "/run/libvirt/virtlogd-sock"), ("libvirtd", LIBVIRTD_SOCK)):
        if daemon == "virtlogd" and os.path.exists(sock) and _pid_of(daemon):
            continue
        exe = shutil.which(daemon) or "/usr/sbin/" + daemon
        proc = subprocess.Popen([exe], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(logdir, daemon + ".log"), "w"))
        # libvirtd stops its domains' monitors cleanly on SIGTERM; the domains are gone by then.
        track_process(proc, terminate_timeout=15)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(sock) and (daemon != "libvirtd" or _answers()):
                break
            time.sleep(0.2)
        else:
            return "%s did not start: %s" % (daemon, open(os.path.join(logdir, daemon + ".log")).read()[-500:])
    return None


def _pid_of(name):
    return subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 0


def _kill_left_qemus():
    for pid in _qemu_pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


atexit.register(_kill_left_qemus)


class Domain:
    """A transient libvirt domain booting one of our test guests (direct kernel boot, TCG)."""

    def __init__(self, arch="x86_64", smp=2, ready="uniprof-guest: ready", timeout=120):
        # QEMU runs as libvirt-qemu: the kernel and the serial log's directory must be reachable.
        self.dir = tempdir("uniprof-libvirt-")
        os.chmod(self.dir, 0o755)
        self.kernel = os.path.join(self.dir, "guest.elf")
        shutil.copy(os.path.join(BUILD, "guests", arch, "guest.elf"), self.kernel)
        os.chmod(self.kernel, 0o644)
        self.serial = os.path.join(self.dir, "serial.log")
        self.name = "uniprof-test-%s-%d" % (arch, os.getpid())
        self.uuid = str(uuid.uuid4())
        if arch == "x86_64":
            machine = "<type arch='x86_64' machine='pc'>hvm</type>"
            cpu, memory = "", 64
        else:
            machine = "<type arch='aarch64' machine='virt'>hvm</type>"
            cpu, memory = "<cpu mode='custom' match='exact'><model>cortex-a57</model></cpu>", 128
        xml = """<domain type='qemu'>
  <name>%s</name><uuid>%s</uuid>
  <memory unit='MiB'>%d</memory><vcpu>%d</vcpu>
  <os>%s<kernel>%s</kernel></os>%s
  <clock offset='utc'/><on_poweroff>destroy</on_poweroff><on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='%s'/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
""" % (self.name, self.uuid, memory, smp, machine, self.kernel, cpu, self.serial)
        path = os.path.join(self.dir, "domain.xml")
        with open(path, "w") as f:
            f.write(xml)
        virsh("create", path, timeout=300)
        try:
            self.id = int(virsh("domid", self.name).strip())
            pidfile = "/run/libvirt/qemu/%s.pid" % self.name
            if os.path.exists(pidfile):
                self.pid = int(open(pidfile).read().strip())
                _qemu_pids.append(self.pid)
            self._wait_for(ready, timeout)
        except BaseException:
            self.destroy()
            raise

    def _wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.serial) and text in open(self.serial, errors="replace").read():
                return
            time.sleep(0.1)
        raise RuntimeError("libvirt guest did not print %r within %d s" % (text, timeout))

    def state(self):
        return virsh("domstate", self.name).strip()

    def hmp(self, line):
        return virsh("qemu-monitor-command", self.name, "--hmp", line)

    def monitor_socket(self):
        """libvirt's QMP socket of the domain (its directory name shortens long names)."""
        found = glob.glob("/var/lib/libvirt/qemu/domain-%d-*/monitor.sock" % self.id)
        if len(found) != 1:
            raise RuntimeError("no single monitor socket for domain %d: %s" % (self.id, found))
        return found[0]

    def destroy(self):
        virsh("destroy", self.name, check=False)
