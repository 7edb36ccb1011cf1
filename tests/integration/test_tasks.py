"""Which task was running (--tasks) on Debian's own Linux kernel (tests/guests/linux), KASLR on:
`current` read per vCPU through the per-CPU current_task, task_struct's pid, tgid and comm at
offsets from the kernel's BTF read out of guest memory.  Three vCPUs: dd pinned to CPU 0 (in
the kernel), a busybox sh loop pinned to CPU 1 (user mode), CPU 2 idle (swapper/2).  The
console says each workload's pid.  Also: user-mode samples as [user] with and without --tasks,
--tasks=pid, raw recordings, pprof labels, --dump, and a kernel without BTF symbols refused."""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import unittest

from guestlib import BUILD, ROOT, Guest, debian_vmlinux, parse_folded, run_uniprof, tempdir
from test_pprof import parse_traces

SMP = 3


def by_vcpu(stacks):
    """{vcpuN: [(frames below the vcpu frame, count)]} from --per-vcpu folded stacks."""
    out = {}
    for frames, n in stacks:
        out.setdefault(frames[0], []).append((frames[1:], n))
    return out


def share(stacks, pred):
    total = sum(n for _, n in stacks)
    return sum(n for f, n in stacks if pred(f)) / total if total else 0.0


class LinuxTasks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = subprocess.run([os.path.join(ROOT, "tests", "guests", "linux", "prepare.sh")],
                             capture_output=True, text=True, timeout=900)
        if out.returncode:
            raise RuntimeError("prepare.sh failed: " + out.stderr[-2000:])
        paths = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        cls.system_map, cls.version = paths["system_map"], paths["version"]
        cls.guest = Guest("qemu-system-x86_64", [
            "-smp", str(SMP), "-m", "512M", "-kernel", paths["kernel"], "-initrd", paths["initrd"],
            "-no-reboot", "-append",
            "console=ttyS0 loglevel=4 panic=-1 tsc=reliable uniprof.work=dd,loop"], timeout=180)
        console = cls.guest.console()
        cls.pids = {m.group(1): int(m.group(2))
                    for m in re.finditer(r"work (\w+) cpu \d+ pid (\d+)", console)}
        cls.tmp = tempdir("uniprof-tasks-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def profile(self, name, *extra, seconds=4):
        out = os.path.join(self.tmp, name)
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.system_map, "-F", "200",
                                  "-t", str(seconds), "-o", out] + list(extra))
        self.assertEqual(rc, 0, err)
        return out, err

    def check_tasks(self, vcpus, dd, sh):
        """vcpu0 runs dd, vcpu1 sh, vcpu2 idle (each pinned): the root frame below vcpuN says
        so.  dd keeps its CPU busy in the kernel: >= 99%.  The other two CPUs also run the odd
        kernel thread (a kworker: 2 of 100 idle samples once; 1.9% of sh's vCPU once), never
        the other workloads."""
        for v, want, floor, never in (("vcpu0", dd, 0.99, (sh,)), ("vcpu1", sh, 0.95, (dd,)),
                                      ("vcpu2", "swapper/2", 0.9, (dd, sh))):
            right = share(vcpus[v], lambda f: f[0] == want)
            others = sorted(((f[0], n) for f, n in vcpus[v] if f[0] != want), key=lambda x: -x[1])
            print("    %s: %.1f%% of %d samples in %s; others %s" %
                  (v, 100 * right, sum(n for _, n in vcpus[v]), want, others[:4]))
            self.assertGreaterEqual(right, floor, (v, others[:5]))
            self.assertFalse([o for o in others if o[0] in never], (v, others[:5]))

    def test_tasks_comm(self):
        out, err = self.profile("tasks.folded", "--tasks", "--per-vcpu", "-v")
        self.assertRegex(err, r"tasks: current from current_task, task_struct pid \+0x[0-9a-f]+, "
                         r"tgid \+0x[0-9a-f]+, comm \+0x[0-9a-f]+ from the kernel's BTF in guest "
                         r"memory \(\d+ bytes\)")
        m = re.search(r"pid \+(0x[0-9a-f]+), tgid \+(0x[0-9a-f]+), comm \+(0x[0-9a-f]+)", err)
        # The captured, reduced BTF of tests/unit/data/tasks gives the same offsets.
        rec = os.path.join(ROOT, "tests", "unit", "data", "tasks", "linux-%s.rec" % self.version)
        if os.path.exists(rec):
            want = re.search(r"layout pid (0x\w+) tgid (0x\w+) comm (0x\w+)", open(rec).read())
            self.assertEqual(m.groups(), want.groups())
        vcpus = by_vcpu(parse_folded(open(out).read()))
        self.check_tasks(vcpus, "dd", "sh")
        # dd's samples are in the kernel, named (its leaf; the code read from the guest may
        # add the frameless leaf's caller above it); sh's are mostly [user] (with its pc: -v),
        # right under its task.
        self.assertGreaterEqual(share(vcpus["vcpu0"], lambda f: f[-1].startswith("clear_user")), 0.5)
        users = share(vcpus["vcpu1"], lambda f: len(f) == 2 and f[0] == "sh" and
                      re.match(r"^\[user\] 0x[0-9a-f]+$", f[1]))
        print("    vcpu1: %.1f%% [user]" % (100 * users))
        self.assertGreaterEqual(users, 0.8)
        self.assertRegex(err, r"\d+ stacks in user mode \(\[user\]\), \d+ with their task \(0 unknown\)")
        self.assertEqual(self.guest.status(), "running")

    def test_tasks_pid(self):
        out, _ = self.profile("pid.folded", "--tasks=pid", "--per-vcpu")
        vcpus = by_vcpu(parse_folded(open(out).read()))
        self.check_tasks(vcpus, "dd/%d" % self.pids["dd"], "sh/%d" % self.pids["loop"])

    def test_user_without_tasks(self):
        out, _ = self.profile("user.folded", "--per-vcpu")
        vcpus = by_vcpu(parse_folded(open(out).read()))
        # No task frame; a user pc is [user], never a kernel symbol's name for a user address.
        self.assertGreaterEqual(share(vcpus["vcpu1"], lambda f: f == ["[user]"]), 0.8)
        self.assertEqual(share(vcpus["vcpu0"], lambda f: f[0] == "dd"), 0.0)
        out, _ = self.profile("user-v.folded", "--per-vcpu", "-v", seconds=2)
        vcpus = by_vcpu(parse_folded(open(out).read()))
        self.assertGreaterEqual(share(vcpus["vcpu1"],
                                      lambda f: re.match(r"^\[user\] 0x[0-9a-f]+$", f[0])), 0.8)

    def test_record_report_pprof(self):
        rec, _ = self.profile("tasks.uniprof", "--tasks")
        out = os.path.join(self.tmp, "report.folded")
        rc, _, err = run_uniprof(["report", rec, "-k", self.system_map, "--tasks=pid",
                                  "--per-vcpu", "-o", out])
        self.assertEqual(rc, 0, err)
        self.check_tasks(by_vcpu(parse_folded(open(out).read())), "dd/%d" % self.pids["dd"],
                         "sh/%d" % self.pids["loop"])
        go = shutil.which("go")
        self.assertIsNotNone(go, "go is missing (golang-go, scripts/install-deps.sh)")
        pb = os.path.join(self.tmp, "tasks.pb.gz")
        rc, _, err = run_uniprof(["report", rec, "-k", self.system_map, "--tasks", "-o", pb])
        self.assertEqual(rc, 0, err)
        home = os.path.join(self.tmp, "home")
        os.makedirs(home, exist_ok=True)
        p = subprocess.run([go, "tool", "pprof", "-traces", pb], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, HOME=home, PPROF_TMPDIR=home,
                                                 GOCACHE=os.path.join(home, "gocache")))
        self.assertEqual(p.returncode, 0, p.stderr)
        traces = parse_traces(p.stdout)
        dd = [t for t in traces if t[0].get("thread") == "dd"]
        self.assertTrue(dd)
        for labels, _, frames, _ in dd:
            # The root frame is the task; the labels carry the ids (pprof's numeric labels).
            self.assertEqual(frames[-1], "dd")
            self.assertEqual(labels.get("pid"), str(self.pids["dd"]), labels)
            self.assertEqual(labels.get("tid"), str(self.pids["dd"]), labels)

    def test_dump(self):
        rc, out, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.system_map, "--dump",
                                    "--tasks=pid"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"vCPU 0: task dd/%d \(pid %d, tgid %d\)" %
                         ((self.pids["dd"],) * 3))
        self.assertRegex(out, r"vCPU 1: task sh/%d \(pid %d, tgid %d\)" %
                         ((self.pids["loop"],) * 3))
        self.assertRegex(out, r"vCPU 2: task swapper/2 \(pid 0, tgid 0\)")

    def map_without(self, name, pattern):
        path = os.path.join(self.tmp, name)
        with open(self.system_map) as src, open(path, "w") as dst:
            dst.writelines(l for l in src if not re.search(pattern, l))
        return path

    def test_btf_found_without_its_symbols(self):
        # A kallsyms without data symbols (arm64's Debian kernel has no KALLSYMS_ALL) lacks
        # __start_BTF: the BTF is looked for after _etext, and found where it is.
        bare = self.map_without("no-btf.map", r" __st(art|op)_BTF$")
        start = int(next(l for l in open(self.system_map) if l.endswith(" __start_BTF\n"))
                    .split()[0], 16)
        etext = int(next(l for l in open(self.system_map) if l.endswith(" _etext\n"))
                    .split()[0], 16)
        out = os.path.join(self.tmp, "scan.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", bare, "-n", "300",
                                  "--tasks", "--per-vcpu", "-v", "-o", out])
        self.assertEqual(rc, 0, err)
        m = re.search(r"the kernel's BTF found in guest memory at 0x[0-9a-f]+, (\d+) bytes after "
                      r"_etext \((\d+) bytes", err)
        self.assertIsNotNone(m, err)
        self.assertEqual(int(m.group(1)), start - etext)
        self.check_tasks(by_vcpu(parse_folded(open(out).read())), "dd", "sh")

    def test_layout_from_a_vmlinux(self):
        # A vmlinux given with -k carries .BTF: the layout comes from it, the symbols from the
        # System.map.
        vmlinux = debian_vmlinux(self.system_map, self.tmp)
        out = os.path.join(self.tmp, "vmlinux.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.system_map, "-k",
                                  vmlinux, "-n", "200", "--tasks", "--per-vcpu", "-v", "-o", out])
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"tasks: current from current_task, task_struct pid \+0x[0-9a-f]+, "
                         r"tgid \+0x[0-9a-f]+, comm \+0x[0-9a-f]+ from the \.BTF of " + re.escape(vmlinux))
        self.check_tasks(by_vcpu(parse_folded(open(out).read())), "dd", "sh")

    def test_no_btf_refused(self):
        bare = self.map_without("no-btf-etext.map", r" (__st(art|op)_BTF|_etext)$")
        rc, out, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", bare, "-n", "5",
                                    "--tasks"])
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("has neither __start_BTF nor _etext", err)
        self.assertIn("give a vmlinux", err)
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "--tasks", "-n", "5"])
        self.assertEqual(rc, 2)
        self.assertIn("--tasks reads the kernel's current task with its symbols", err)
        self.assertEqual(self.guest.status(), "running")


def arm64_linux():
    """Debian's arm64 kernel (cached by tests/xen-arm64/fetch.sh) with tests/guests/linux's
    init.sh in an arm64 busybox initramfs, and the kernel's kallsyms from one nokaslr boot
    (cached next to the initramfs, keyed by the kernel's sha256): (kernel, initrd, kallsyms)."""
    cache = subprocess.run([os.path.join(ROOT, "tests", "xen-arm64", "fetch.sh")],
                           capture_output=True, text=True, timeout=900)
    if cache.returncode:
        raise RuntimeError("tests/xen-arm64/fetch.sh failed: " + cache.stderr[-2000:])
    root = os.path.join(cache.stdout.strip().splitlines()[-1], "root")
    kernels = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    if not kernels:
        raise RuntimeError("no arm64 kernel in %s/boot" % root)
    kernel = kernels[-1]
    out = os.path.join(BUILD, "guests", "linux-arm64-tasks")
    work = tempdir("uniprof-arm64-initrd-")
    tree = os.path.join(work, "root")
    for d in ("usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp"):
        os.makedirs(os.path.join(tree, d))
    os.symlink("usr/bin", os.path.join(tree, "bin"))
    os.symlink("usr/sbin", os.path.join(tree, "sbin"))
    shutil.copy(os.path.join(root, "bin", "busybox"), os.path.join(tree, "usr", "bin"))
    # The applets of the same busybox version built for the host (the x86_64 Xen cache's).
    host_busybox = subprocess.run([os.path.join(ROOT, "tests", "xen", "fetch.sh")],
                                  capture_output=True, text=True, timeout=900)
    if host_busybox.returncode:
        raise RuntimeError("tests/xen/fetch.sh failed: " + host_busybox.stderr[-2000:])
    applets = subprocess.run([os.path.join(host_busybox.stdout.strip().splitlines()[-1], "root",
                                           "bin", "busybox"), "--list"],
                             capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if not os.path.exists(os.path.join(tree, "usr", "bin", a)):
            os.symlink("busybox", os.path.join(tree, "usr", "bin", a))
    shutil.copy(os.path.join(ROOT, "tests", "guests", "linux", "init.sh"), os.path.join(tree, "init"))
    os.chmod(os.path.join(tree, "init"), 0o755)
    os.makedirs(out, exist_ok=True)
    initrd = os.path.join(out, "initramfs.cpio.gz")
    subprocess.run("cd %s && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6 > %s"
                   % (tree, initrd), shell=True, check=True)
    sha = hashlib.sha256(open(kernel, "rb").read()).hexdigest()
    kallsyms = os.path.join(out, "kallsyms-" + sha[:16])
    if not os.path.exists(kallsyms):
        log = os.path.join(work, "console.log")
        subprocess.run(["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-m", "512M",
                        "-accel", "tcg", "-display", "none", "-nodefaults", "-no-user-config",
                        "-no-reboot", "-kernel", kernel, "-initrd", initrd, "-append",
                        "console=ttyAMA0 loglevel=4 panic=-1 nokaslr uniprof.mode=kallsyms",
                        "-serial", "file:" + log], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, timeout=300, check=True)
        text = open(log, errors="replace").read()
        m = re.search(r"uniprof-guest: kallsyms lines (\d+) md5 ([0-9a-f]+)", text)
        body = re.search(r"=== BEGIN kallsyms ===\r?\n(.*?)=== END kallsyms ===", text, re.S)
        if not m or not body or hashlib.md5(body.group(1).encode()).hexdigest() != m.group(2):
            raise RuntimeError("the arm64 kallsyms dump arrived damaged")
        with open(kallsyms + ".tmp", "w") as f:
            f.write(body.group(1))
        os.rename(kallsyms + ".tmp", kallsyms)
    return kernel, initrd, kallsyms


class Arm64LinuxTasks(unittest.TestCase):
    """Debian 12's arm64 kernel under TCG (cortex-a57, KASLR on), kallsyms alone (no data
    symbols: no __start_BTF, so the BTF is found after _etext); current is SP_EL0 in EL1.  The
    slide is given (--slide, from the console's _stext): finding it is another matter."""

    @classmethod
    def setUpClass(cls):
        cls.kernel, cls.initrd, cls.kallsyms = arm64_linux()
        cls.guest = Guest("qemu-system-aarch64", [
            "-M", "virt", "-cpu", "cortex-a57", "-smp", str(SMP), "-m", "512M",
            "-kernel", cls.kernel, "-initrd", cls.initrd, "-no-reboot", "-append",
            "console=ttyAMA0 loglevel=4 panic=-1 uniprof.work=dd,loop"], timeout=180)
        console = cls.guest.console()
        stext = int(re.search(r"_stext 0x([0-9a-f]+)", console).group(1), 16)
        link = int(next(l for l in open(cls.kallsyms) if l.rstrip().endswith(" _stext"))
                   .split()[0], 16)
        cls.slide = stext - link
        cls.pids = {m.group(1): int(m.group(2))
                    for m in re.finditer(r"work (\w+) cpu \d+ pid (\d+)", console)}
        cls.tmp = tempdir("uniprof-tasks-arm64-")

    @classmethod
    def tearDownClass(cls):
        cls.guest.stop()

    def test_tasks(self):
        out = os.path.join(self.tmp, "arm64.folded")
        rc, _, err = run_uniprof(["--qmp", self.guest.qmp_path, "-k", self.kallsyms, "--slide",
                                  hex(self.slide), "-F", "100", "-t", "4", "--tasks=pid",
                                  "--per-vcpu", "-v", "-o", out], timeout=300)
        self.assertEqual(rc, 0, err)
        print("\n    slide 0x%x; %s" % (self.slide, re.search(r"tasks: .*", err).group(0)))
        self.assertRegex(err, r"tasks: current from sp_el0, .* from the kernel's BTF found in "
                         r"guest memory at 0x[0-9a-f]+, \d+ bytes after _etext")
        vcpus = by_vcpu(parse_folded(open(out).read()))
        dd = "dd/%d" % self.pids["dd"]
        # vcpu0: dd, in the kernel: its task known from SP_EL0.  Not in EL0 ([user]) nor in
        # the KPTI trampoline (a fixmap address, hex), where SP_EL0 is the user's stack pointer.
        right = share(vcpus["vcpu0"], lambda f: f[0] == dd)
        known = [(f, n) for f, n in vcpus["vcpu0"] if not f[0].startswith(("[user]", "0x"))]
        print("    vcpu0: %.1f%% of %d samples in %s, %.1f%% of those with a task" %
              (100 * right, sum(n for _, n in vcpus["vcpu0"]), dd,
               100 * share(known, lambda f: f[0] == dd)))
        self.assertGreaterEqual(right, 0.9, sorted(vcpus["vcpu0"], key=lambda s: -s[1])[:5])
        self.assertGreaterEqual(share(known, lambda f: f[0] == dd), 0.99)
        # vcpu1: the sh loop, mostly in EL0: [user], its task unknown there (SP_EL0 is the
        # user's stack pointer), or stopped in the KPTI trampoline on its way in (hex, task
        # unknown for the same reason); whatever has a task is sh's.
        sh = "sh/%d" % self.pids["loop"]
        user = share(vcpus["vcpu1"], lambda f: re.match(r"^\[user\] 0x[0-9a-f]+$", f[0]))
        tramp = share(vcpus["vcpu1"], lambda f: f[0].startswith("0x"))
        known = [(f, n) for f, n in vcpus["vcpu1"] if not f[0].startswith(("[user]", "0x"))]
        print("    vcpu1: %.1f%% [user], %.1f%% in the trampoline, %.1f%% in the kernel, %.1f%% "
              "of those as %s" % (100 * user, 100 * tramp, 100 * (1 - user - tramp),
                                  100 * share(known, lambda f: f[0] == sh), sh))
        self.assertGreaterEqual(user, 0.3)
        # A few dozen kernel samples at most, and CPU 1 runs the odd kernel thread too.
        self.assertGreaterEqual(share(known, lambda f: f[0] == sh), 0.8, known)
        idle = share(vcpus["vcpu2"], lambda f: f[0] == "swapper/2")
        print("    vcpu2: %.1f%% swapper/2" % (100 * idle))
        self.assertGreaterEqual(idle, 0.9)
        self.assertEqual(self.guest.status(), "running")


if __name__ == "__main__":
    unittest.main()
