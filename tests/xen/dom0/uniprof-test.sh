#!/bin/sh
# dom0 test of `uniprof -d` (busybox sh), run as /test/run.sh by dom0's init.  Expects:
#   /usr/bin/uniprof                          the build under test
#   /guests/xen-pv.elf, /guests/xen-pv.syms   our Xen PV test guest and its `nm -n` symbols
#   /guests/linux/vmlinuz, /guests/linux/initrd.cpio.gz   a Linux PV domU (optional)
# Prints sections (=== BEGIN name === ... === END name ===) that tests/integration/test_xen.py
# checks on the host: folded profiles, uniprof's stderr and exit status, xl list.  With a file
# /test/bench it also times xenctx and uniprof per trace (bench/xen_trace_cost.sh).
#
# Sections: pv-id.folded pv-id.err pv-id.rc (by domain id, -F 200 -t 12 --per-vcpu -vv),
# pv-name.* (by name), dump-N.* (--dump, N = 1..3: NAME.folded holds the backtraces),
# xl-list-after, paused.*, bad-id.*, bad-name.*, lost.*, pvh.*, pvh-dump.*, linux.*, linux-orc.* and, when
# benchmarking, bench-*.
# pv-name.* (by name), xl-list-after, paused.*, bad-id.*, bad-name.*, lost.*, linux.*,
# pvh.* and pvh-nofp-{cfi,fp}.* (our x86_64 guest as a PVH domU, with and without frame
# pointers) and, when benchmarking, bench-*.

G=/guests
F=${UNIPROF_HZ:-200}
T=${UNIPROF_SECONDS:-12}

. /test/lib.sh

section xl-create-pv
create_pv_guest
end xl-create-pv
domid=$(xl domid uniprof-pv)
section domid
echo "$domid"
end domid

# By id, with the per-stage timings (-vv), then by name.
t0=$(uptime_ms)
run pv-id -d "$domid" -k "$G/xen-pv.elf" -F "$F" -t "$T" --per-vcpu -vv
t1=$(uptime_ms)
section pv-id.wall_ms
echo $((t1 - t0))
end pv-id.wall_ms
run pv-name -d uniprof-pv -k "$G/xen-pv.elf" -F "$F" -t "$T" --per-vcpu
# One pause, every vCPU's backtrace, a few times: the vCPUs are caught along their chains.
for i in 1 2 3; do
	run dump-$i --dump -d "$domid" -k "$G/xen-pv.elf" -v
done
section xl-list-after
xl list
end xl-list-after
section pv-state-after
xl_state uniprof-pv
end pv-state-after

# Killed at random moments (attaching, or sampling fast with the domain paused most of the
# time), KILLS times: the guardian unpauses.  Each kill's line gives the delay, the state,
# the time until `xl list` showed the domain not paused and how many 0.1 s polls that took
# (0: paused no more at the first look).  xl itself takes ~0.2-2 s a call here, so the time is
# the tool's, not the guardian's; the polls say whether the guardian was done by then.
section pv-kills
i=0
while [ $i -lt "${KILLS:-30}" ]; do
	delay=$(awk -v s="$i" 'BEGIN { srand(s * 7919 + 1); printf "%.3f", rand() * 1.5 }')
	uniprof -d uniprof-pv -F 5000 -o /dev/null 2>/dev/null &
	pid=$!
	sleep "$delay"
	t0=$(uptime_ms)
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	n=0
	state=$(xl_state uniprof-pv)
	while echo "$state" | grep -q p && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
		state=$(xl_state uniprof-pv)
	done
	echo "kill $i after ${delay} s: $state $(($(uptime_ms) - t0)) ms, $n polls"
	i=$((i + 1))
done
end pv-kills
section pv-state-after-kill
xl_state uniprof-pv
end pv-state-after-kill

# Refused: a domain someone else paused, one that does not exist, a name nobody has.
xl pause uniprof-pv
run paused -d uniprof-pv -t 1
xl unpause uniprof-pv
section pv-state-after-paused
xl_state uniprof-pv
end pv-state-after-paused
run bad-id -d 9999 -t 1
run bad-name -d nosuchname -t 1


if [ -f /test/bench ]; then
	bench_round shared "$domid" "$G/xen-pv.syms"
fi
if [ -f /test/bench ] && [ "$(xl info | awk '$1 == "nr_cpus" { print $3 }')" -gt 1 ]; then
	# dom0 alone on pCPU 0, the guest's vCPUs on pCPU 1: an unpause then does not hand dom0's
	# CPU to a guest vCPU before the call returns.
	xl vcpu-pin Domain-0 0 0
	xl vcpu-pin uniprof-pv all 1
	section bench-pinned-vcpus
	xl vcpu-list
	end bench-pinned-vcpus
	bench_round pinned "$domid" "$G/xen-pv.syms"
	xl vcpu-pin uniprof-pv all all
	xl vcpu-pin Domain-0 0 all
fi

# A PVH domU (HVM container, guest frames, CPU state from the HVM context): our x86_64 test
# guest, whose chains and ratios are those of tests/guests/x86_64/expected.txt.
if [ -f "$G/pvh.elf" ]; then
	cat >/tmp/uniprof-pvh.cfg <<CFG
name = "uniprof-pvh"
type = "pvh"
kernel = "$G/pvh.elf"
memory = 64
vcpus = 2
on_crash = "preserve"
CFG
	section xl-create-pvh
	xl create /tmp/uniprof-pvh.cfg 2>&1
	end xl-create-pvh
	sleep 5
	run pvh -d uniprof-pvh -k "$G/pvh.elf" -F "$F" -t "$T" --per-vcpu -v
	run pvh-dump dump -d uniprof-pvh -k "$G/pvh.elf"
	if [ -f /test/bench ]; then
		bench_round pvh "$(xl domid uniprof-pvh)" "$G/pvh.syms"
	fi
	section pvh-state-after
	xl_state uniprof-pvh
	end pvh-state-after
	xl destroy uniprof-pvh
fi

# The same guest built without frame pointers: complete stacks through its unwind tables, which
# need every general register of the HVM context; frame pointers give truncated ones, said so.
if [ -f "$G/pvh-nofp.elf" ]; then
	sed -e 's/uniprof-pvh/uniprof-pvh-nofp/' -e 's/pvh.elf/pvh-nofp.elf/' \
		/tmp/uniprof-pvh.cfg >/tmp/uniprof-pvh-nofp.cfg
	section xl-create-pvh-nofp
	xl create /tmp/uniprof-pvh-nofp.cfg 2>&1
	end xl-create-pvh-nofp
	sleep 5
	run pvh-nofp-cfi -d uniprof-pvh-nofp -k "$G/pvh-nofp.elf" -F "$F" -t "$T" --per-vcpu -v \
		--unwind cfi
	run pvh-nofp-fp -d uniprof-pvh-nofp -k "$G/pvh-nofp.elf" -F "$F" -t 3 --per-vcpu -v
	section pvh-nofp-state-after
	xl_state uniprof-pvh-nofp
	end pvh-nofp-state-after
	xl destroy uniprof-pvh-nofp
fi

# Destroyed while sampled: the profile so far is written, the exit status says so.
run_destroyed lost uniprof-pv -d uniprof-pv -k "$G/xen-pv.elf" -F "$F" -t 30 --per-vcpu
section xl-list-after-lost
xl list
end xl-list-after-lost

if [ -f "$G/linux/vmlinuz" ]; then
	section xl-create-linux
	create_linux_domu
	end xl-create-linux
	# Same vmlinuz as dom0 and PV kernels are not relocated: dom0's kallsyms names the domU.
	# uniprof reads all of it (linux_banner confirms the slide); the awk fallback below wants
	# the sorted text symbols.
	cat /proc/kallsyms >/tmp/kallsyms
	grep -v '\[' /tmp/kallsyms | awk '$2 == "t" || $2 == "T"' | sort >/tmp/linux.syms
	# Named by uniprof itself (it reads kallsyms); should its loader refuse the file, profile
	# without symbols (linux-raw) and name the kernel addresses here with awk (linux.named).
	run linux -d uniprof-linux -k /tmp/kallsyms -F "$F" -t 3 -v
	# The kernel's own ORC tables and the task each sample ran, as on KVM.
	run linux-orc -d uniprof-linux -k /tmp/kallsyms -F "$F" -t 3 -v --unwind orc --tasks
	if [ "$(cat /tmp/linux.rc)" != 0 ] || grep -q 'print as hex' /tmp/linux.err; then
		run linux-raw -d uniprof-linux -F "$F" -t 3 -v
		section linux.named
		awk 'NR == FNR { addr[NR] = $1; name[NR] = $3; n = NR; next }
		function lookup(a,   lo, hi, mid, x) {
			x = sprintf("%016s", a); gsub(/ /, "0", x)
			lo = 1; hi = n
			if (x < addr[1]) return a
			while (lo < hi) { mid = int((lo + hi + 1) / 2); if (addr[mid] <= x) lo = mid; else hi = mid - 1 }
			return name[lo]
		}
		{
			count = $NF; $NF = ""; sub(/ $/, "")
			k = split($0, f, ";"); out = ""
			for (i = 1; i <= k; i++) {
				s = f[i]
				if (s ~ /^0x[0-9a-f]+$/) { h = substr(s, 3); if (length(h) == 16 && substr(h, 1, 4) == "ffff") s = lookup(h) }
				out = out (i > 1 ? ";" : "") s
			}
			print out, count
		}' /tmp/linux.syms /tmp/linux-raw.folded
		end linux.named
	fi
	section xl-list-linux-after
	xl list
	end xl-list-linux-after
	section linux-state-after
	xl_state uniprof-linux
	end linux-state-after
	xl destroy uniprof-linux
fi
exit 0
