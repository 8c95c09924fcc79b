#!/usr/bin/env python3
"""virtio-blk benchmark: the same ring-3 guest (guest-tests/virtio/
virtio_blk_bench.c) on the same raw image under vmm and under QEMU, printed as
a Markdown table with vmm/QEMU ratios (label bench, never in CI).

usage: virtio_blk.py --vmm PATH --guest-dir DIR [--secs N] [--size MiB]
                     [--cache writeback|none] [--seqqd N] [--only NAME]

Both run with KVM (ctest wraps this script in scripts/with-kvm) and the same
options: -m 512M, -drive file=IMG,if=none,id=d0,format=raw,cache=C,
-device virtio-blk-pci,drive=d0 (QEMU: disable-legacy=on, -cpu qemu64,
-M pc). The image is written in full first so that reads hit allocated
blocks. Tests: 4 KiB random read/write at queue depth 1 and 32, 1 MiB
sequential read/write at --seqqd, each for --secs seconds of guest TSC time.
Exit 0, 1 when a run fails, 77 without /dev/kvm or QEMU.
"""
import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=4"
QBOOT = "/usr/share/qemu/qboot.rom"   # faster start than SeaBIOS; vdrv assigns BARs
LINE = re.compile(r"BENCH (\S+) ops=(\d+) usecs=(\d+) iops=(\d+) kbps=(\d+)")


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, 0xAE00) == 12
    except OSError:
        return False
    finally:
        os.close(fd)


def run(name, cmd, timeout):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        print("%s: timeout after %d s" % (name, timeout), file=sys.stderr)
        return None
    out = p.stdout.decode(errors="replace").replace("\r", "")
    if p.returncode != 1 or "BENCH done" not in out:
        print(out, file=sys.stderr)
        print("%s: exit status %d, want 1 and 'BENCH done'" % (name, p.returncode), file=sys.stderr)
        return None
    res = {m.group(1): {"iops": int(m.group(4)), "kbps": int(m.group(5))}
           for m in LINE.finditer(out)}
    print("%s: %.1f s wall" % (name, time.monotonic() - t0), file=sys.stderr)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--guest-dir", required=True)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--size", type=int, default=256, help="image size in MiB")
    ap.add_argument("--cache", default="writeback", choices=("writeback", "none"))
    ap.add_argument("--seqqd", type=int, default=4)
    ap.add_argument("--only")
    args = ap.parse_args()
    if not kvm_usable():
        print("SKIP: no usable /dev/kvm (run through scripts/with-kvm)")
        return 77
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: no qemu-system-x86_64")
        return 77
    kernel = os.path.join(args.guest_dir, "virtio_blk_bench.elf")
    append = "secs=%d seqqd=%d" % (args.secs, args.seqqd)
    if args.only:
        append += " only=" + args.only
    timeout = 120 + args.secs * 6 * 20
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMPDIR", "/var/tmp")) as tmp:
        img = os.path.join(tmp, "bench.raw")
        chunk = bytes((i * 131 + 7) & 0xFF for i in range(1 << 20))
        with open(img, "wb") as f:
            for _ in range(args.size):
                f.write(chunk)
            os.fsync(f.fileno())
        drive = "file=%s,if=none,id=d0,format=raw,cache=%s" % (img, args.cache)
        common = ["-m", "512M", "-nographic", "-device", DEBUG_EXIT, "-kernel", kernel,
                  "-append", append, "-drive", drive]
        vmm = run("vmm", [args.vmm] + common + ["-device", "virtio-blk-pci,drive=d0"], timeout)
        bios = ["-bios", QBOOT] if os.path.exists(QBOOT) else []
        qemu = run("qemu", ["qemu-system-x86_64", "-enable-kvm", "-cpu", "qemu64", "-M", "pc",
                            "-no-reboot", "-nic", "none"] + bios + common +
                   ["-device", "virtio-blk-pci,drive=d0,disable-legacy=on"], timeout)
    if vmm is None or qemu is None:
        return 1
    print("virtio-blk, %d MiB raw image, cache=%s, %d s per test, %s"
          % (args.size, args.cache, args.secs, time.strftime("%Y-%m-%d")))
    print()
    print("| test | vmm IOPS | vmm MB/s | QEMU IOPS | QEMU MB/s | vmm/QEMU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in qemu:
        v, q = vmm.get(name), qemu[name]
        if v is None:
            continue
        ratio = v["iops"] / q["iops"] if q["iops"] else float("nan")
        print("| %s | %d | %.1f | %d | %.1f | %.2f |" % (
            name, v["iops"], v["kbps"] / 1024, q["iops"], q["kbps"] / 1024, ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
