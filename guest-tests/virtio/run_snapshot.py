#!/usr/bin/env python3
"""Snapshot mode (QEMU's -snapshot, -drive snapshot=on) with the virtio_blk
guest, which writes a pattern through virtio-blk and reads it back.

usage: run_snapshot.py (--vmm PATH | --qemu) --guest-dir DIR

With TMPDIR set to an empty directory of the test's own:
  1. qcow2 image, two VMs at once on it: one with -snapshot, one with
     -drive ...,snapshot=on (parallel test runs share a pristine image);
  2. raw image with -snapshot.
Each guest must pass (it read back its own writes within the run), the
image's sha256 must be what it was before, and TMPDIR must be empty after.
  3. control: the same raw run without -snapshot must change the image (to
     the guest's pattern, run_guest.py's check_image), so a snapshot mode
     that did nothing cannot pass.
Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, no qemu-img / QEMU).
"""
import argparse
import hashlib
import os
import signal
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
import run_guest as rg  # noqa: E402  (base_cmd, run, guest_passed, check_image)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def vm_cmd(args, img, fmt, drive_extra="", extra=()):
    return rg.base_cmd(args, "virtio_blk", "serial=" + rg.SERIAL) + list(extra) + [
        "-drive", "file=%s,if=none,id=d0,format=%s%s" % (img, fmt, drive_extra),
        "-device", rg.modern(args, "virtio-blk-pci,drive=d0,serial=" + rg.SERIAL)]


def guest_ok(status, out):
    return rg.guest_passed(status, out, "virtio-blk: OK") and 'GET_ID "%s" OK' % rg.SERIAL in out


def unchanged(img, before, ovl, what):
    after = sha256(img)
    left = os.listdir(ovl)
    if after != before:
        print("FAIL: %s: the image changed (sha256 %s, was %s)" % (what, after, before))
        return False
    if left:
        print("FAIL: %s: files left in TMPDIR: %s" % (what, left))
        return False
    print("%s: image unchanged (sha256 %s), TMPDIR empty" % (what, before[:16]))
    return True


def main():
    ap = argparse.ArgumentParser()
    rg.add_common_args(ap)
    args = ap.parse_args()
    skip = harness.preflight(need_qemu=args.qemu, need_qemu_img=True)
    if skip:
        return skip
    size = rg.IMG_SECTORS * rg.SECTOR
    with tempfile.TemporaryDirectory() as tmp:
        ovl = os.path.join(tmp, "overlays")
        os.mkdir(ovl)
        os.environ["TMPDIR"] = ovl          # the VMs' temporary overlays go here

        # 1. qcow2, two VMs at once: -snapshot and -drive snapshot=on.
        q = os.path.join(tmp, "disk.qcow2")
        harness.make_image(q, "qcow2", size)
        before = sha256(q)
        results = [None, None]
        cmds = [vm_cmd(args, q, "qcow2", extra=["-snapshot"]),
                vm_cmd(args, q, "qcow2", drive_extra=",snapshot=on")]

        def one(i):
            results[i] = rg.run(cmds[i])
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for (status, out), how in zip(results, ("-snapshot", "snapshot=on")):
            if not guest_ok(status, out):
                print("FAIL: qcow2 %s: the guest did not pass" % how)
                return 1
        if not unchanged(q, before, ovl, "qcow2, two VMs at once"):
            return 1
        if harness.image_bytes(q, "qcow2", tmp) != bytes(size):
            print("FAIL: the qcow2 image no longer reads as zeroes")
            return 1

        # 2. raw with -snapshot.
        r = os.path.join(tmp, "disk.raw")
        harness.make_image(r, "raw", size)
        before = sha256(r)
        status, out = rg.run(vm_cmd(args, r, "raw", extra=["-snapshot"]))
        if not guest_ok(status, out) or not unchanged(r, before, ovl, "raw -snapshot"):
            return 1

        # 3. Control: without -snapshot the same run writes the image.
        status, out = rg.run(vm_cmd(args, r, "raw"))
        if not guest_ok(status, out):
            return 1
        if sha256(r) == before:
            print("FAIL: control run without -snapshot left the image unchanged")
            return 1
        with open(r, "rb") as f:
            if not rg.check_image(f.read()):
                return 1
        print("control without -snapshot: the image holds the guest's writes")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    rc = main()
    print("PASS" if rc == 0 else "SKIP" if rc == harness.SKIP else "FAIL")
    sys.exit(rc)
