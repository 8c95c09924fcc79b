"""Helpers shared by bench/exit_path.py and bench/virtio_blk.py: KVM check,
running a VMM with a timeout, medians with min-max, and the CSV contract of
bench/run-all (rows bench,metric,vmm,qemu,ratio,unit,date,machine; ratio is
vmm's value over QEMU's, whatever the unit), and where image files live
(image_dir(), fs_of())."""
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "guest-tests"))
from harness import kvm_usable  # noqa: E402

CSV_HEADER = "bench,metric,vmm,qemu,ratio,unit,date,machine"
DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=4"
QBOOT = "/usr/share/qemu/qboot.rom"   # faster start than SeaBIOS; vdrv assigns BARs


def add_common_args(ap):
    """The options every bench script shares with bench/run-all."""
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--guest-dir", required=True)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--quick", action="store_true", help="a few seconds of guest work (CI)")
    ap.add_argument("--csv", help="append rows: " + CSV_HEADER)


def alternate(rounds):
    """(round, who) in the order A B, B A, A B, ...: drift in the machine's
    load hits vmm and QEMU alike."""
    for r in range(rounds):
        for who in (("vmm", "qemu") if r % 2 == 0 else ("qemu", "vmm")):
            yield r, who


def skip_reason():
    """Why a VMM-vs-QEMU benchmark cannot run here (exit 77), or None."""
    if not kvm_usable():
        return "no usable /dev/kvm (run through scripts/with-kvm)"
    if not shutil.which("qemu-system-x86_64"):
        return "no qemu-system-x86_64"
    return None


def qemu_pc_args():
    """QEMU's side of a ring-3 guest with PCI: KVM, qemu64, pc with qboot."""
    bios = ["-bios", QBOOT] if os.path.exists(QBOOT) else []
    return ["qemu-system-x86_64", "-enable-kvm", "-cpu", "qemu64", "-M", "pc",
            "-no-reboot", "-nic", "none"] + bios


def run_guest(name, cmd, timeout, done_marker):
    """Runs cmd; returns its console output when it exited with status 1
    (rt_pass through isa-debug-exit) and printed done_marker, else None."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        print("%s: timeout after %d s" % (name, timeout), file=sys.stderr)
        return None
    out = p.stdout.decode(errors="replace").replace("\r", "")
    if p.returncode != 1 or done_marker not in out:
        print(out, file=sys.stderr)
        print("%s: exit status %d, want 1 and %r" % (name, p.returncode, done_marker),
              file=sys.stderr)
        return None
    print("%s: %.1f s wall" % (name, time.monotonic() - t0), file=sys.stderr, flush=True)
    return out


def stats(values):
    """(median, min, max) of a non-empty list."""
    return statistics.median(values), min(values), max(values)


def nested_in_tcg():
    """Whether this runs in scripts/with-kvm's L1 under QEMU TCG (its CPU
    model is QEMU's qemu64), where every guest exit costs emulated time."""
    try:
        with open("/proc/cpuinfo") as f:
            return "QEMU Virtual CPU" in f.read()
    except OSError:
        return False


def machine():
    """Where the numbers come from (one CSV field, no commas): host name, CPUs,
    kernel, and whether KVM is nested in scripts/with-kvm's TCG L1."""
    tcg = nested_in_tcg()
    node = platform.node()
    if node in ("", "(none)"):   # scripts/with-kvm's L1 has no host name
        node = "l1"
    return ("%s %dcpu linux-%s %s" % (node, os.cpu_count() or 0, platform.release(),
                                      "nested-kvm-in-tcg-l1" if tcg else "kvm")).replace(",", ";")


def today():
    return time.strftime("%Y-%m-%d")


def csv_append(path, bench, rows):
    """rows: (metric, vmm, qemu, unit); appended with ratio vmm/qemu."""
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    date = today()
    where = machine()
    with open(path, "a") as f:
        if new:
            f.write(CSV_HEADER + "\n")
        for metric, v, q, unit in rows:
            ratio = v / q if q else float("nan")
            f.write("%s,%s,%.6g,%.6g,%.4f,%s,%s,%s\n" % (bench, metric, v, q, ratio, unit,
                                                      date, where))


def fs_of(path):
    """File system type of the mount holding path (longest mount point)."""
    path, best = os.path.realpath(path), ("", "?")
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                mnt, typ = line.split()[1:3]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best[0]):
                    best = (mnt, typ)
    except OSError:
        pass
    return best[1]


@contextlib.contextmanager
def image_dir(prefix="bench-"):
    """A new directory for the image files both VMMs use, removed afterwards.
    BENCH_TMPDIR when set. Under scripts/with-kvm (VMM_WITH_KVM_L1=1) /tmp
    and /var/tmp are the host root over virtio-9p, served by QEMU in the L1:
    every guest write of either VMM would measure 9p, so there a file system
    local to the L1 is used: a tmpfs mounted (as root) on a private directory
    under the L1's own /dev/shm or /dev (its devtmpfs), or that directory
    itself. Else /var/tmp (a disk file system, not RAM)."""
    base = os.environ.get("BENCH_TMPDIR")
    local = not base and os.environ.get("VMM_WITH_KVM_L1") == "1"
    if not base and local:
        base = next((d for d in ("/dev/shm", "/dev") if os.path.isdir(d) and
                     os.access(d, os.W_OK) and fs_of(d) not in ("9p", "v9fs")), None)
    tmp = tempfile.mkdtemp(prefix=prefix, dir=base or "/var/tmp")
    mounted = local and os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=0700", "tmpfs", tmp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    try:
        yield tmp
    finally:
        if mounted:
            subprocess.run(["umount", "-l", tmp], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


def direct_io_ok(path):
    """Whether path opens with O_DIRECT (cache=none); tmpfs before Linux
    6.6 refuses it with EINVAL."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECT))
        return True
    except OSError:
        return False
