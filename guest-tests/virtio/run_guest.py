#!/usr/bin/env python3
"""Runs a virtio test guest under vmm (or QEMU with --qemu) and checks it.

usage: run_guest.py VMM GUEST {rng|blk} [--qemu]

rng: -device virtio-rng-pci; expects "virtio-rng: OK".
blk: a fresh 1 MiB raw image as -drive file=IMG,if=virtio,format=raw;
     expects "virtio-blk: OK", then checks the image's bytes: sectors 0..7 and
     the last sector hold the guest's pattern, everything else stays zero.
Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, or no QEMU with --qemu).
"""
import os
import shutil
import subprocess
import sys
import tempfile

SECTOR = 512
IMG_SECTORS = 2048
TIMEOUT = 300


def pattern(s, j):
    return (s * 31 + j * 7 + 0x5A) & 0xFF


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    vmm, guest, kind = sys.argv[1:4]
    use_qemu = "--qemu" in sys.argv[4:]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: no /dev/kvm")
        return 77
    if use_qemu:
        vmm = shutil.which("qemu-system-x86_64")
        if not vmm:
            print("SKIP: no qemu-system-x86_64")
            return 77
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [vmm, "-kernel", guest, "-m", "64M", "-nographic",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
        if use_qemu:
            cmd += ["-enable-kvm", "-cpu", "qemu64", "-display", "none", "-no-reboot"]
        img = os.path.join(tmp, "disk.img")
        if kind == "rng":
            cmd += ["-device", "virtio-rng-pci" + (",disable-legacy=on" if use_qemu else "")]
            want = "virtio-rng: OK"
        elif kind == "blk":
            with open(img, "wb") as f:
                f.truncate(IMG_SECTORS * SECTOR)
            if use_qemu:
                # QEMU's if=virtio is transitional (device id 0x1001); ask for modern-only.
                cmd += ["-drive", "file=%s,if=none,id=d0,format=raw" % img,
                        "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"]
            else:
                cmd += ["-drive", "file=%s,if=virtio,format=raw" % img]
            want = "virtio-blk: OK"
        else:
            print("unknown guest kind", kind)
            return 2
        print("+", " ".join(cmd), flush=True)
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=TIMEOUT)
        except subprocess.TimeoutExpired as e:
            print((e.stdout or b"").decode(errors="replace"))
            print("FAIL: timeout after %d s" % TIMEOUT)
            return 1
        out = p.stdout.decode(errors="replace")
        print(out)
        # isa-debug-exit: status (code << 1) | 1; code 0 is success.
        if p.returncode != 1 or want not in out:
            print("FAIL: exit status %d (guest code %d), want 1 and %r"
                  % (p.returncode, p.returncode >> 1, want))
            return 1
        if kind == "blk":
            data = open(img, "rb").read()
            if len(data) != IMG_SECTORS * SECTOR:
                print("FAIL: image size changed to %d" % len(data))
                return 1
            written = list(range(8)) + [IMG_SECTORS - 1]
            for s in range(IMG_SECTORS):
                sec = data[s * SECTOR:(s + 1) * SECTOR]
                exp = bytes(pattern(s, j) for j in range(SECTOR)) if s in written else bytes(SECTOR)
                if sec != exp:
                    print("FAIL: image sector %d differs from the guest's writes" % s)
                    return 1
            print("image bytes OK")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
