#!/usr/bin/env python3
"""Exit-path benchmark (issue 8): the ring-3 guest bench/guests/exit_path.c
under vmm and under QEMU, alternately, --rounds times each, printed as a
Markdown table of ns per exit (median, min-max) with the ratio vmm/QEMU
(at most 1.0 meets the target: vmm no slower than QEMU). Label bench.

usage: exit_path.py --vmm PATH --guest-dir DIR [--rounds N] [--n COUNT]
                    [--quick] [--csv FILE]

Phases, n each (default 1,000,000 and 3 rounds; --quick: 1 round of
100,000; where KVM is nested in scripts/with-kvm's TCG L1, whose exits cost
0.05-1 ms, 20,000 and 10,000 instead):
  pio   - outb to COM1's scratch register (0x3ff): a KVM_EXIT_IO handled by
          the VMM's 16550 model
  mmio  - 16-bit reads of num_queues in a virtio-rng-pci common-config BAR:
          a KVM_EXIT_MMIO handled by the VMM's virtio-pci transport
  cpuid - handled inside KVM, never reaches the VMM: the floor of an exit, the
          same for both VMMs (a check that the comparison is fair)
A second table gives each VMM's own share: the user-space CPU time of its
process during the pio and mmio phases (/proc/PID/stat when the guest ends
each phase) per exit, rows *_user_ns_per_exit; KVM's and the host kernel's
part (system time) is left out, and with it most of the machine's drift.
Both VMMs get -cpu qemu64, -m 128M, -device virtio-rng-pci and -device
isa-debug-exit; QEMU runs -enable-kvm -M pc with qboot. ctest wraps this script
in scripts/with-kvm; under its TCG L1 only the ratios mean anything.
Exit 0, 1 when a run fails, 77 without /dev/kvm or QEMU.
"""
import argparse
import os
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

PHASES = ("pio", "mmio", "cpuid")
HZ = re.compile(r"^EXIT tsc_hz=(\d+)$", re.M)
PHASE = re.compile(r"^EXIT (\w+) n=(\d+) ticks=(\d+)$", re.M)


def parse(out):
    """{phase: ns per exit} from one guest's console output."""
    m = HZ.search(out)
    hz = int(m.group(1)) if m else 0
    if hz <= 0:
        return None
    return {p: int(t) * 1e9 / hz / int(n) for p, n, t in PHASE.findall(out) if int(n) > 0}


def cpu_times(pid):
    """(user, system) CPU seconds of the whole process so far; user without
    the guest time that Linux also counts in utime (proc(5) fields 14, 15
    and 43), so it is the VMM's own user-space work."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()   # fields[0] is field 3
    tck = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) - int(fields[40])) / tck, int(fields[12]) / tck


def run_sampled(name, cmd, timeout):
    """Like benchlib.run_guest, and also the VMM process's user and system
    CPU time during each phase ({phase: (user s, system s)}), sampled when
    the guest prints the line that ends the phase before it. User time is
    the VMM's own work per exit (dispatch, device model, locks); system
    time is KVM and the host kernel, much the same for both VMMs."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    buf, cpu, last = b"", {}, None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
                print("%s: timeout after %d s" % (name, timeout), file=sys.stderr)
                p.kill()
                return None, None
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            start = len(buf)
            buf += chunk
            for line in buf[buf.rfind(b"\n", 0, start) + 1:].split(b"\n")[:-1]:
                line = line.replace(b"\r", b"")
                m = re.match(rb"^EXIT (\w+)", line)
                if not m:
                    continue
                now = cpu_times(p.pid) if m.group(1) != b"done" else None
                if m.group(1).decode() in PHASES and last is not None:
                    cpu[m.group(1).decode()] = (now[0] - last[0], now[1] - last[1])
                last = now
    finally:
        p.wait()
    out = buf.decode(errors="replace").replace("\r", "")
    if p.returncode != 1 or "EXIT done" not in out:
        print(out, file=sys.stderr)
        print("%s: exit status %d, want 1 and 'EXIT done'" % (name, p.returncode), file=sys.stderr)
        return None, None
    return out, cpu


def main():
    ap = argparse.ArgumentParser()
    benchlib.add_common_args(ap)
    ap.add_argument("--n", type=int, help="exits per phase")
    args = ap.parse_args()
    tcg = benchlib.nested_in_tcg()
    n = args.n or ((10000 if tcg else 100000) if args.quick else (20000 if tcg else 1000000))
    rounds = args.rounds or (1 if args.quick else 3)
    why = benchlib.skip_reason()
    if why:
        print("SKIP: " + why)
        return 77
    kernel = os.path.join(args.guest_dir, "exit_path.elf")
    common = ["-m", "128M", "-nographic", "-device", benchlib.DEBUG_EXIT,
              "-kernel", kernel, "-append", "n=%d" % n]
    cmds = {
        "vmm": [args.vmm, "-cpu", "qemu64"] + common + ["-device", "virtio-rng-pci"],
        "qemu": benchlib.qemu_pc_args() + common +
                ["-device", "virtio-rng-pci,disable-legacy=on"],
    }
    timeout = 300 + n * len(PHASES) // 1000   # up to 1 ms per exit
    res = {"vmm": [], "qemu": []}
    for r, who in benchlib.alternate(rounds):
        out, cpu = run_sampled("%s round %d" % (who, r + 1), cmds[who], timeout)
        got = parse(out) if out else None
        if not got or any(p not in got or p not in cpu for p in PHASES):
            print("%s: no result" % who, file=sys.stderr)
            return 1
        for p in PHASES:    # the VMM's user-space CPU ns per exit of the phase
            got[p + "_user"] = cpu[p][0] * 1e9 / n
        print("%s round %d: %s" % (who, r + 1, " ".join(
            "%s=%.0f (user %.0f)" % (p, got[p], got[p + "_user"]) for p in PHASES)),
            file=sys.stderr, flush=True)
        res[who].append(got)
    print("exit path, %d exits per phase, %d rounds (median, min-max), %s, %s"
          % (n, rounds, benchlib.today(),
             benchlib.machine()))
    print()
    # The machine's speed drifts between runs (nested TCG on a shared host):
    # each run's exits over its own in-kernel CPUID floor, measured seconds
    # apart, compare the VMMs with most of that drift divided out.
    print("| exit | vmm ns/exit | QEMU ns/exit | vmm/QEMU | vmm/QEMU, each run over its cpuid |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = []
    for p in PHASES:
        v = benchlib.stats([x[p] for x in res["vmm"]])
        q = benchlib.stats([x[p] for x in res["qemu"]])
        vn = benchlib.stats([x[p] / x["cpuid"] for x in res["vmm"]])[0]
        qn = benchlib.stats([x[p] / x["cpuid"] for x in res["qemu"]])[0]
        print("| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f | %.2f |"
              % ((p,) + v + q + (v[0] / q[0], vn / qn)))
        rows.append(("%s_ns_per_exit" % p, v[0], q[0], "ns"))
        if p != "cpuid":
            rows.append(("%s_over_cpuid" % p, vn, qn, "x"))
    # The VMMs' own share: user-space CPU of the process during each phase
    # (/proc/PID/stat, 1/USER_HZ resolution) over its exits; KVM and the
    # host kernel (system time) left out. cpuid never reaches either VMM:
    # its row is the floor (guest time that the kernel still counted as
    # user, as the nested L1 of scripts/with-kvm does).
    print()
    print("| exit | vmm user ns/exit | QEMU user ns/exit | vmm/QEMU |")
    print("| --- | ---: | ---: | ---: |")
    for p in PHASES:
        v = benchlib.stats([x[p + "_user"] for x in res["vmm"]])
        q = benchlib.stats([x[p + "_user"] for x in res["qemu"]])
        print("| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %s |"
              % ((p,) + v + q + ("%.2f" % (v[0] / q[0]) if q[0] else "-",)))
        rows.append(("%s_user_ns_per_exit" % p, v[0], q[0], "ns"))
    if args.csv:
        benchlib.csv_append(args.csv, "exit_path", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
