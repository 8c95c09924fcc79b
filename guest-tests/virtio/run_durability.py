#!/usr/bin/env python3
"""Flush durability: SIGKILL the VMM right after an acknowledged FLUSH and
check that everything acknowledged is in the image.

usage: run_durability.py (--vmm PATH | --qemu) --guest-dir DIR
                         [--format raw|qcow2] [--kill-round N] [--rounds N]

The virtio_durability guest writes, per round r, BATCH new 4 KiB blocks (block
b at byte b * 64 KiB, b = 1, 2, ...), rewrites the super block at 0 with
generation r, flushes and prints "FLUSHED <n> <r>" (n = blocks so far). This
script reads the serial stream as it comes, sends SIGKILL to the VMM as soon
as it sees round >= --kill-round, then checks, over the image (qcow2: after
`qemu-img check`, which may report leaked clusters after a kill but no
corruption, and `qemu-img convert -O raw`):
  - every block 1..n of the last FLUSHED line printed is intact (n, r taken
    from the last line in the whole output: each was printed after its flush
    completed);
  - the super block is intact with a generation >= r;
  - later blocks are intact or zero (not yet written), and the gaps between
    blocks are zero (no misdirected writes).
Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import re
import signal
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402  (guest-tests/harness.py: launch, read, KVM probe)
from run_guest import add_common_args, base_cmd, modern  # noqa: E402  (the vmm/QEMU command lines)

BLOCK = 4096
STRIDE = 64 * 1024
BATCH = 4
TIMEOUT = 400
M32 = 0xFFFFFFFF


def block_bytes(b, g):
    words = [0x42525544, b, g, ~(b ^ g) & M32]
    words += [((b * 0x9E3779B1) ^ (g * 0x85EBCA6B) ^ (i * 0x27D4EB2F)) & M32
              for i in range(4, BLOCK // 4)]
    return struct.pack("<%dI" % (BLOCK // 4), *words)


def check(data, n, r, rounds):
    zero_gap = bytes(STRIDE - BLOCK)
    zero_blk = bytes(BLOCK)
    sb = data[0:BLOCK]
    magic, b, g, _ = struct.unpack_from("<4I", sb) if len(sb) == BLOCK else (0, 0, 0, 0)
    if magic != 0x42525544 or b != 0 or sb != block_bytes(0, g):
        print("FAIL: the super block is not intact")
        return False
    if g < r:
        print("FAIL: super block generation %d, but round %d was flushed" % (g, r))
        return False
    if data[BLOCK:STRIDE] != zero_gap:
        print("FAIL: bytes after the super block were written")
        return False
    for blk in range(1, rounds * BATCH + 1):
        off = blk * STRIDE
        got = data[off:off + BLOCK]
        if len(got) < BLOCK:
            got += bytes(BLOCK - len(got))
        if blk <= n:
            if got != block_bytes(blk, 0):
                print("FAIL: block %d was acknowledged by a flush (last FLUSHED %d %d) "
                      "but is %s" % (blk, n, r, "zero" if got == zero_blk else "different"))
                return False
        elif got not in (zero_blk, block_bytes(blk, 0)):
            print("FAIL: block %d (not yet acknowledged) holds garbage" % blk)
            return False
        gap = data[off + BLOCK:off + STRIDE]
        if gap and gap != zero_gap[:len(gap)]:
            print("FAIL: bytes after block %d were written" % blk)
            return False
    print("image OK: blocks 1..%d intact, super block generation %d >= %d" % (n, g, r))
    return True


def main():
    ap = argparse.ArgumentParser()
    add_common_args(ap)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--kill-round", type=int, default=12)
    args = ap.parse_args()
    skip = harness.preflight(need_qemu=args.qemu, need_qemu_img=args.format == "qcow2")
    if skip:
        return skip
    size = (args.rounds * BATCH + 2) * STRIDE
    with tempfile.TemporaryDirectory() as tmp:
        img = os.path.join(tmp, "disk." + args.format)
        harness.make_image(img, args.format, size)
        cmd = base_cmd(args, "virtio_durability", "rounds=%d batch=%d" % (args.rounds, BATCH)) + [
            "-drive", "file=%s,if=none,id=d0,format=%s" % (img, args.format),
            "-device", modern(args, "virtio-blk-pci,drive=d0")]
        flushed = re.compile(r"FLUSHED (\d+) (\d+)")
        state = {"killed_at": None}

        def on_line(vm, line):
            m = flushed.search(line)
            if m and state["killed_at"] is None and int(m.group(2)) >= args.kill_round:
                vm.proc.send_signal(signal.SIGKILL)
                state["killed_at"] = line
        vm = harness.Streamed(cmd, on_line)
        status = vm.wait(TIMEOUT)
        lines = vm.lines
        if status is None:
            print("\n".join(lines[-40:]))
            print("FAIL: timeout after %d s" % TIMEOUT)
            return 1
        out = "\n".join(lines)
        shown = [l for l in lines if not flushed.search(l)]
        print("\n".join(shown[-30:]))
        acks = [(int(m.group(1)), int(m.group(2))) for m in flushed.finditer(out)]
        print("%d FLUSHED lines; killed after %r; exit status %s"
              % (len(acks), state["killed_at"], status))
        if state["killed_at"] is None:
            if status != 1 or "durability: DONE" not in out:
                print("FAIL: the guest neither reached round %d nor finished (status %s)"
                      % (args.kill_round, status))
                print("\n".join(lines[-40:]))
                return 1
            print("note: the guest finished before the kill; checking the whole image")
        elif status != -signal.SIGKILL and status != 1:
            print("FAIL: exit status %s after SIGKILL" % status)
            return 1
        if not acks:
            print("FAIL: no FLUSHED line")
            return 1
        n, r = acks[-1]
        # qemu-img check: leaked clusters (3) are allowed after a kill.
        data = harness.image_bytes(img, args.format, tmp, check_ok=(0, 3))
        if data is None or not check(data, n, r, args.rounds):
            return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
