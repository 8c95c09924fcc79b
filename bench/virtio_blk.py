#!/usr/bin/env python3
"""virtio-blk benchmark (issue 3): the same ring-3 guest
(guest-tests/virtio/virtio_blk_bench.c) on the same raw image under vmm and
under QEMU, alternately (A B, B A, ...) for --rounds rounds, printed as a
Markdown table of IOPS (median, min-max) with the ratio of the medians
vmm/QEMU (label bench, never in CI). Targets: >= 1.2 at depth 1, >= 1.0 at
depth 32 on 4 KiB random I/O.

usage: virtio_blk.py --vmm PATH --guest-dir DIR [--rounds N] [--secs N]
                     [--size MiB] [--cache writeback|none] [--seqqd N]
                     [--only NAME] [--quick] [--csv FILE]

Both run with KVM (ctest wraps this script in scripts/with-kvm) and the same
options: -cpu qemu64, -m 512M, -drive file=IMG,if=none,id=d0,format=raw,cache=C,
-device virtio-blk-pci,drive=d0 (QEMU: disable-legacy=on, -M pc with
qboot). The image is written in full first so that reads hit
allocated blocks. Fair by construction: one image file, one cache mode on
both command lines (writeback: page cache, no O_DIRECT and no flush per
write on either side; QEMU's default aio=threads against vmm's io_uring),
and the header line names the file system that holds the image
(benchlib.image_dir(): BENCH_TMPDIR, else /var/tmp; under scripts/with-kvm
a tmpfs local to the L1, not the host root over 9p, whose QEMU 9p server
would be what the write rows measure). cache=none needs O_DIRECT, which
tmpfs before Linux 6.6 refuses: there the run says so and uses writeback
on both sides. Tests: 4 KiB random read/write at queue depth 1 and 32,
1 MiB sequential read/write at --seqqd, each for --secs seconds of guest TSC
time. --quick: 1 round, 1 s per test, 64 MiB, the four 4 KiB tests.
Exit 0, 1 when a run fails, 77 without /dev/kvm or QEMU.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

LINE = re.compile(r"BENCH (\S+) ops=(\d+) usecs=(\d+) iops=(\d+) kbps=(\d+)")
QUICK_TESTS = ("randread-4k-qd1", "randwrite-4k-qd1", "randread-4k-qd32", "randwrite-4k-qd32")


def main():
    ap = argparse.ArgumentParser()
    benchlib.add_common_args(ap)
    ap.add_argument("--secs", type=int)
    ap.add_argument("--size", type=int, help="image size in MiB")
    ap.add_argument("--cache", default="writeback", choices=("writeback", "none"))
    ap.add_argument("--seqqd", type=int, default=4)
    ap.add_argument("--only")
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    secs = args.secs or (1 if args.quick else 3)
    size = args.size or (64 if args.quick else 256)
    why = benchlib.skip_reason()
    if why:
        print("SKIP: " + why)
        return 77
    kernel = os.path.join(args.guest_dir, "virtio_blk_bench.elf")
    append = "secs=%d seqqd=%d" % (secs, args.seqqd)
    if args.only:
        append += " only=" + args.only
    elif args.quick:
        append += " only=" + ",".join(QUICK_TESTS)
    timeout = 120 + secs * 6 * 20
    res = {"vmm": [], "qemu": []}
    cache, note = args.cache, ""
    with benchlib.image_dir("virtio-blk-") as tmp:
        img = os.path.join(tmp, "bench.raw")
        chunk = bytes((i * 131 + 7) & 0xFF for i in range(1 << 20))
        with open(img, "wb") as f:
            for _ in range(size):
                f.write(chunk)
            os.fsync(f.fileno())
        fs = benchlib.fs_of(tmp)
        if cache == "none" and not benchlib.direct_io_ok(img):
            cache, note = "writeback", " (cache=none asked, but %s refuses O_DIRECT)" % fs
            print("note: no O_DIRECT on %s: cache=writeback instead" % fs, file=sys.stderr)
        drive = "file=%s,if=none,id=d0,format=raw,cache=%s" % (img, cache)
        common = ["-m", "512M", "-nographic", "-device", benchlib.DEBUG_EXIT, "-kernel", kernel,
                  "-append", append, "-drive", drive]
        cmds = {
            "vmm": [args.vmm, "-cpu", "qemu64"] + common + ["-device", "virtio-blk-pci,drive=d0"],
            "qemu": benchlib.qemu_pc_args() + common +
                    ["-device", "virtio-blk-pci,drive=d0,disable-legacy=on"],
        }
        for r, who in benchlib.alternate(rounds):
            out = benchlib.run_guest("%s round %d" % (who, r + 1), cmds[who], timeout,
                                     "BENCH done")
            if out is None:
                return 1
            got = {m.group(1): int(m.group(4)) for m in LINE.finditer(out)}
            print("%s round %d: %s" % (who, r + 1, " ".join(
                "%s=%d" % kv for kv in got.items())), file=sys.stderr, flush=True)
            res[who].append(got)
    print("virtio-blk, %d MiB raw image on %s, cache=%s on both%s, %d s per test, %d rounds "
          "(median, min-max), %s, %s" % (size, fs, cache, note, secs, rounds, benchlib.today(),
                                         benchlib.machine()))
    print()
    print("| test | vmm IOPS | QEMU IOPS | vmm/QEMU |")
    print("| --- | ---: | ---: | ---: |")
    rows = []
    for name in res["qemu"][0]:
        if any(name not in x for x in res["vmm"] + res["qemu"]):
            continue
        v = benchlib.stats([x[name] for x in res["vmm"]])
        q = benchlib.stats([x[name] for x in res["qemu"]])
        ratio = v[0] / q[0] if q[0] else float("nan")
        print("| %s | %d (%d-%d) | %d (%d-%d) | %.2f |" % ((name,) + v + q + (ratio,)))
        rows.append((name + "_iops", v[0], q[0], "IOPS"))
    if args.csv:
        benchlib.csv_append(args.csv, "virtio_blk", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
