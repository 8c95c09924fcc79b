#!/usr/bin/python3
"""Start-up benchmarks (issue 8): launch latency, VMM memory overhead and its
growth per virtio device, and 50 VMs at once, vmm against
`qemu-system-x86_64 -accel kvm -M microvm` on the same trivial guest
(bench/guests/trivial.S: one byte to COM1, then isa-debug-exit), alternating
the two VMMs round by round and printing medians, min-max and vmm/QEMU ratios.

usage: startup.py --vmm PATH [--guest-dir DIR] [--qemu PATH] [--rounds N]
                  [--quick] [--csv FILE] [--many N] [--only launch,memory,many]

launch  exec -> exit of the exiting guest (trivial.elf), 128 MiB, wall clock.
memory  the spinning guest (trivial-spin.elf writes the byte and halts): once
        the byte is on stdout, the Rss of the process (smaps_rollup) minus the
        resident pages of the guest RAM mapping (/proc/PID/smaps: the guest
        pages that the guest and the loaders touched), and VmHWM; then the
        same with 1, 2 and 4 virtio-rng devices (vmm: virtio-rng-pci;
        microvm: virtio-rng-device on its virtio-mmio transports) for the
        growth per device (least squares).
many    N spinning VMs started at once: time until every guest has written
        its byte, and the sum of the processes' Rss then (smaps_rollup).

--csv appends rows: bench,metric,vmm,qemu,ratio,unit,date,machine.
Exit 0, 1 when a run fails (wrong exit status or no byte), 77 without
/dev/kvm. Needs KVM: run it under scripts/with-kvm on hosts without one.
"""
import argparse
import os
import re
import select
import shutil
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import kvm_usable, machine  # noqa: E402

DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=4"
EXIT_STATUS = 1           # the guest writes 0 to isa-debug-exit: (0 << 1) | 1
RAM_MIB = 128


def vmm_cmd(vmm, guest, ndev=0):
    cmd = [vmm, "-m", "%dM" % RAM_MIB, "-nographic", "-device", DEBUG_EXIT, "-kernel", guest]
    for _ in range(ndev):
        cmd += ["-device", "virtio-rng-pci"]
    return cmd


def qemu_cmd(qemu, guest, ndev=0):
    cmd = [qemu, "-accel", "kvm", "-M", "microvm,x-option-roms=off", "-nodefaults",
           "-no-user-config", "-display", "none", "-serial", "stdio", "-device", DEBUG_EXIT,
           "-m", "%dM" % RAM_MIB, "-kernel", guest]
    for _ in range(ndev):
        cmd += ["-device", "virtio-rng-device"]
    return cmd


def spawn(cmd, out):
    """Starts cmd with stdin from /dev/null and stdout+stderr to the fd out."""
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        fa = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, out, 1),
              (os.POSIX_SPAWN_DUP2, out, 2)]
        return os.posix_spawn(cmd[0], cmd, os.environ, file_actions=fa)
    finally:
        os.close(null)


class RunError(Exception):
    pass


def check_run(name, cmd, status, output):
    code = os.waitstatus_to_exitcode(status)
    if code != EXIT_STATUS or b"!" not in output:
        raise RunError("%s: exit %d (want %d), output %r\n  %s" %
                       (name, code, EXIT_STATUS, output[-300:], " ".join(cmd)))


def launch_once(name, cmd):
    """(exec -> exit wall clock, CPU time of the process) in ms. The CPU
    time (user + system, from wait4) is the process's own work and moves
    far less with the machine's load than the wall clock. (Not ru_maxrss: a
    child spawned from Python inherits Python's RSS high-water mark at
    exec; memory_once reads VmHWM.)"""
    with tempfile.TemporaryFile() as f:
        t0 = time.perf_counter()
        pid = spawn(cmd, f.fileno())
        _, status, ru = os.wait4(pid, 0)
        dt = time.perf_counter() - t0
        f.seek(0)
        check_run(name, cmd, status, f.read())
    return dt * 1000.0, (ru.ru_utime + ru.ru_stime) * 1000.0


def proc_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RunError("no %s in /proc/%d/status" % (field, pid))


def guest_ram_rss(pid):
    """Rss (KiB) of the anonymous mapping that holds the guest RAM: the
    smallest mapping at least RAM_MIB large (QEMU rounds its block up)."""
    best = None
    size = rss = 0
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                size = rss = 0
            elif line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
                if size >= RAM_MIB * 1024 and (best is None or size < best[0]):
                    best = (size, rss)
    if best is None:
        raise RunError("no guest RAM mapping in /proc/%d/smaps" % pid)
    return best[1]


def rollup_rss(pid):
    """Exact Rss (KiB) of the whole process from smaps_rollup. VmRSS and
    VmHWM come from per-thread counters that Linux before 6.2 folds in
    lazily (up to 64 pages per thread off), so they are only the peak."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Rss:"):
                return int(line.split()[1])
    raise RunError("no Rss in /proc/%d/smaps_rollup" % pid)


def memory_once(name, cmd, timeout=60.0):
    """(VmHWM, Rss, guest RAM Rss) in KiB once the spinning guest has
    written its byte, then the process is killed."""
    r, w = os.pipe()
    pid = spawn(cmd, w)
    os.close(w)
    buf = b""
    try:
        deadline = time.monotonic() + timeout
        while b"!" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                raise RunError("%s: no byte from the guest in %.0f s\n  %s" % (name, timeout, " ".join(cmd)))
            chunk = os.read(r, 4096)
            if not chunk:
                raise RunError("%s: exited before the byte: %r\n  %s" % (name, buf[-300:], " ".join(cmd)))
            buf += chunk
        time.sleep(0.05)   # let the VMM settle after the guest's last exit
        guest = guest_ram_rss(pid)
        hwm = proc_kib(pid, "VmHWM")
        return hwm, rollup_rss(pid), guest
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)


def many_once(name, cmd, n, timeout=900.0):
    """n spinning VMs started at once: seconds until every guest has written
    its byte, and the sum of the processes' Rss (KiB) at that point."""
    procs = {}
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            r, w = os.pipe()
            pid = spawn(cmd, w)
            os.close(w)
            procs[r] = [pid, b""]
        waiting = set(procs)
        deadline = time.monotonic() + timeout
        while waiting:
            left = deadline - time.monotonic()
            ready = select.select(list(waiting), [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                raise RunError("%s: %d of %d guests silent after %.0f s\n  %s" %
                               (name, len(waiting), n, timeout, " ".join(cmd)))
            for r in ready:
                chunk = os.read(r, 4096)
                if not chunk:
                    raise RunError("%s: a VM exited early: %r\n  %s" % (name, procs[r][1][-300:], " ".join(cmd)))
                procs[r][1] += chunk
                if b"!" in procs[r][1]:
                    waiting.discard(r)
        dt = time.perf_counter() - t0
        total = sum(rollup_rss(p[0]) for p in procs.values())
    finally:
        for r, (pid, _) in procs.items():
            os.kill(pid, signal.SIGKILL)
        for r, (pid, _) in procs.items():
            os.waitpid(pid, 0)
            os.close(r)
    return dt, total


def med(xs):
    return statistics.median(xs)


def fmt_range(xs, f="%.1f"):
    return (f + " [" + f + "-" + f + "]") % (med(xs), min(xs), max(xs))


def slope(xs, ys):
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


class Report:
    def __init__(self, csv_path):
        self.rows = []
        self.csv = csv_path
        self.date = time.strftime("%Y-%m-%d")
        self.machine = machine()

    def add(self, bench, metric, v, q, unit, vr, qr):
        ratio = v / q if q else float("nan")
        self.rows.append((bench, metric, v, q, ratio, unit, vr, qr))
        if self.csv:
            new = not os.path.exists(self.csv) or os.path.getsize(self.csv) == 0
            with open(self.csv, "a") as f:
                if new:
                    f.write("bench,metric,vmm,qemu,ratio,unit,date,machine\n")
                f.write("%s,%s,%.6g,%.6g,%.4f,%s,%s,%s\n" % (
                    bench, metric, v, q, ratio, unit, self.date, self.machine))

    def show(self):
        print("| bench | metric | vmm median [min-max] | QEMU microvm median [min-max] | vmm/QEMU | unit |")
        print("| --- | --- | ---: | ---: | ---: | --- |")
        for b, m, v, q, r, u, vr, qr in self.rows:
            print("| %s | %s | %s | %s | %.3f | %s |" % (b, m, vr, qr, r, u))
        sys.stdout.flush()


def bench_launch(a, rep):
    """vmm (default: seccomp sandbox on), vmm -sandbox off and QEMU in turn;
    the second row is what the sandbox costs at start (against the same
    QEMU runs, so the two vmm rows compare directly)."""
    vt, vo, qt = [], [], []            # (wall ms, CPU ms) per run
    vc, qc = vmm_cmd(a.vmm, a.exit_guest), qemu_cmd(a.qemu, a.exit_guest)
    voc = vc[:1] + ["-sandbox", "off"] + vc[1:]
    launch_once("vmm", vc)             # warm the page cache for both
    if not a.no_qemu:
        launch_once("qemu", qc)
    runs = [("vmm", vc, vt), ("vmm -sandbox off", voc, vo)]
    for i in range(a.rounds):
        # which vmm variant goes first alternates, so neither always follows QEMU
        for name, cmd, xs in (runs if i % 2 == 0 else runs[::-1]):
            xs.append(launch_once(name, cmd))
        if not a.no_qemu:
            qt.append(launch_once("qemu", qc))
    if a.no_qemu:
        qt = [(float("nan"), float("nan"))]
    for metric, k in (("exec-to-exit", 0), ("exec-to-exit-cpu", 1)):
        v, o, q = [x[k] for x in vt], [x[k] for x in vo], [x[k] for x in qt]
        rep.add("launch", metric, med(v), med(q), "ms", fmt_range(v), fmt_range(q))
        rep.add("launch", metric.replace("exit", "exit-sandbox-off"), med(o), med(q), "ms",
                fmt_range(o), fmt_range(q))


def bench_memory(a, rep):
    ndevs = [0, 4] if a.quick else [0, 1, 2, 4]
    res = {("vmm", n): [] for n in ndevs}
    res.update({("qemu", n): [] for n in ndevs})
    guest_kib = {"vmm": [], "qemu": []}
    peak = {"vmm": [], "qemu": []}
    for _ in range(a.mem_rounds):
        for n in ndevs:
            for name, cmd in (("vmm", vmm_cmd(a.vmm, a.spin_guest, n)),
                              ("qemu", qemu_cmd(a.qemu, a.spin_guest, n))):
                hwm, rss, guest = memory_once(name, cmd)
                res[(name, n)].append((rss - guest) / 1024.0)
                if n == 0:
                    guest_kib[name].append(guest)
                    peak[name].append(hwm / 1024.0)
    vp, qp = peak["vmm"], peak["qemu"]
    rep.add("memory", "peak-rss", med(vp), med(qp), "MiB", fmt_range(vp, "%.2f"), fmt_range(qp, "%.2f"))
    v0, q0 = res[("vmm", 0)], res[("qemu", 0)]
    rep.add("memory", "overhead-0dev", med(v0), med(q0), "MiB", fmt_range(v0, "%.2f"), fmt_range(q0, "%.2f"))
    vg, qg = guest_kib["vmm"], guest_kib["qemu"]
    rep.add("memory", "guest-ram-resident", med(vg), med(qg), "KiB", fmt_range(vg, "%.0f"), fmt_range(qg, "%.0f"))
    vs = slope(ndevs, [med(res[("vmm", n)]) * 1024 for n in ndevs])
    qs = slope(ndevs, [med(res[("qemu", n)]) * 1024 for n in ndevs])
    vpts = " ".join("%d:%.2f" % (n, med(res[("vmm", n)])) for n in ndevs)
    qpts = " ".join("%d:%.2f" % (n, med(res[("qemu", n)])) for n in ndevs)
    rep.add("memory", "per-virtio-device", vs, qs, "KiB", "%.0f (MiB at %s)" % (vs, vpts),
            "%.0f (MiB at %s)" % (qs, qpts))


def bench_many(a, rep):
    vt, qt, vm, qm = [], [], [], []
    for _ in range(a.many_rounds):
        dt, kib = many_once("vmm", vmm_cmd(a.vmm, a.spin_guest), a.many)
        vt.append(dt * 1000)
        vm.append(kib / 1024.0)
        dt, kib = many_once("qemu", qemu_cmd(a.qemu, a.spin_guest), a.many)
        qt.append(dt * 1000)
        qm.append(kib / 1024.0)
    rep.add("many", "%d-vms-time" % a.many, med(vt), med(qt), "ms", fmt_range(vt, "%.0f"), fmt_range(qt, "%.0f"))
    rep.add("many", "%d-vms-rss-sum" % a.many, med(vm), med(qm), "MiB", fmt_range(vm, "%.0f"), fmt_range(qm, "%.0f"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vmm", required=True)
    p.add_argument("--guest-dir", help="where trivial.elf and trivial-spin.elf are "
                   "(default: BUILD/bench/guests next to BUILD/vmm/vmm)")
    p.add_argument("--qemu", default=shutil.which("qemu-system-x86_64") or "qemu-system-x86_64")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--many", type=int, default=50)
    p.add_argument("--quick", action="store_true",
                   help="3 launch rounds, memory with 0 and 4 devices once, 5 VMs at once")
    p.add_argument("--csv")
    p.add_argument("--only", default="launch,memory,many")
    p.add_argument("--no-qemu", action="store_true",
                   help="launch: vmm with and without the sandbox only (QEMU column nan)")
    a = p.parse_args()
    a.vmm = os.path.abspath(a.vmm)
    gdir = a.guest_dir or os.path.join(os.path.dirname(os.path.dirname(a.vmm)), "bench", "guests")
    a.exit_guest = os.path.join(gdir, "trivial.elf")
    a.spin_guest = os.path.join(gdir, "trivial-spin.elf")
    a.mem_rounds = 3
    a.many_rounds = 1
    if a.quick:
        a.rounds, a.mem_rounds, a.many_rounds, a.many = 3, 1, 1, min(a.many, 5)
    for f in (a.vmm, a.exit_guest, a.spin_guest):
        if not os.path.exists(f):
            print("startup.py: %s missing (build the bench_guests target)" % f, file=sys.stderr)
            return 1
    if not kvm_usable():
        print("startup.py: no usable /dev/kvm (run under scripts/with-kvm): skipped", file=sys.stderr)
        return 77
    if not shutil.which(a.qemu):
        print("startup.py: %s not found: skipped" % a.qemu, file=sys.stderr)
        return 77
    rep = Report(a.csv)
    only = a.only.split(",")
    try:
        if "launch" in only:
            bench_launch(a, rep)
        if "memory" in only:
            bench_memory(a, rep)
        if "many" in only:
            bench_many(a, rep)
    except RunError as e:
        rep.show()
        print("startup.py: %s" % e, file=sys.stderr)
        return 1
    rep.show()
    return 0


if __name__ == "__main__":
    sys.exit(main())
