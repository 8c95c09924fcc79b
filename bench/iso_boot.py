#!/usr/bin/python3
"""ISO firmware-boot benchmark (issue 5): wall time from exec to the ISOLINUX
banner on the serial console, vmm against `qemu-system-x86_64 -M pc
-enable-kvm` with the same options (-m 128M -cdrom t.iso -boot order=d
-nic none; QEMU gets etc/sercon-port so its SeaBIOS prints on COM1 as vmm's
does), alternating the two round by round, medians with min-max and the ratio
vmm/QEMU (target <= 0.5). The ISO is the one tests/cdrom_boot.sh boots:
Debian's isolinux.bin and ldlinux.c32 made into an El Torito image by xorriso.
vmm attaches -cdrom as virtio-scsi (docs/cdrom.md), QEMU -M pc as IDE ATAPI:
the same command line, each VMM's own device.

usage: iso_boot.py --vmm PATH [--qemu PATH] [--rounds N] [--quick] [--csv FILE]

--quick: 1 round. --csv appends rows: bench,metric,vmm,qemu,ratio,unit,date,
machine (bench/run-all's contract). Exit 0, 1 when a run does not reach the
banner, 77 without /dev/kvm, QEMU, SeaBIOS, xorriso or isolinux. Needs KVM: run
it under scripts/with-kvm on hosts without one (there only the ratio counts).
"""
import argparse
import os
import select
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

ISOLINUX = "/usr/lib/ISOLINUX/isolinux.bin"
LDLINUX = "/usr/lib/syslinux/modules/bios/ldlinux.c32"
BIOS = "/usr/share/seabios/bios-256k.bin"
BANNER = b"ISOLINUX"
TIMEOUT = 600.0


def make_iso(tmp):
    cd = os.path.join(tmp, "cd")
    os.makedirs(os.path.join(cd, "isolinux"))
    for f in (ISOLINUX, LDLINUX):
        shutil.copy(f, os.path.join(cd, "isolinux"))
    with open(os.path.join(cd, "isolinux", "isolinux.cfg"), "w") as f:
        f.write("default x\nlabel x\n kernel /vmlinuz\n")
    with open(os.path.join(cd, "vmlinuz"), "w") as f:
        f.write("not a kernel\n")
    iso = os.path.join(tmp, "t.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", iso,
                    "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                    "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
                    "-R", cd], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return iso


def time_to_banner(name, cmd):
    """Seconds from exec to BANNER on the VM's stdout, or None; the VM is
    killed as soon as the banner is seen."""
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    out = b""
    t = None
    try:
        while time.monotonic() - t0 < TIMEOUT:
            r, _, _ = select.select([p.stdout], [], [], 1.0)
            if not r:
                continue
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                break
            out += data
            if BANNER in out:
                t = time.monotonic() - t0
                break
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    if t is None:
        print(out.decode(errors="replace"), file=sys.stderr)
        print("%s: no %r within %.0f s (exit status %s)" % (name, BANNER.decode(), TIMEOUT,
                                                          p.returncode), file=sys.stderr)
    else:
        print("%s: %.2f s" % (name, t), file=sys.stderr, flush=True)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--quick", action="store_true", help="1 round")
    ap.add_argument("--csv")
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)
    if not benchlib.kvm_usable():
        print("SKIP: no usable /dev/kvm (run through scripts/with-kvm)")
        return 77
    qemu = shutil.which(args.qemu)
    missing = [w for w, ok in (("qemu-system-x86_64", qemu), ("xorriso", shutil.which("xorriso")),
                               (ISOLINUX, os.path.exists(ISOLINUX)),
                               (LDLINUX, os.path.exists(LDLINUX)),
                               (BIOS, os.path.exists(BIOS))) if not ok]
    if missing:
        print("SKIP: missing %s" % ", ".join(missing))
        return 77
    with benchlib.image_dir("iso-boot-") as tmp:   # not 9p under with-kvm
        iso = make_iso(tmp)
        sercon = os.path.join(tmp, "sercon")
        with open(sercon, "wb") as f:
            f.write(b"\xf8\x03")   # etc/sercon-port = 0x3f8, little-endian
        common = ["-m", "128M", "-cdrom", iso, "-boot", "order=d", "-nic", "none"]
        cmds = {
            "vmm": [args.vmm] + common + ["-nographic"],
            "qemu": [qemu, "-M", "pc", "-enable-kvm"] + common +
                    ["-display", "none", "-serial", "stdio", "-monitor", "none",
                     "-fw_cfg", "name=etc/sercon-port,file=%s" % sercon],
        }
        res = {"vmm": [], "qemu": []}
        for r in range(rounds):
            # A B, then B A: drift in the machine's load hits both alike.
            for who in (("vmm", "qemu") if r % 2 == 0 else ("qemu", "vmm")):
                t = time_to_banner("%s round %d" % (who, r + 1), cmds[who])
                if t is None:
                    return 1
                res[who].append(t)
    v = benchlib.stats(res["vmm"])
    q = benchlib.stats(res["qemu"])
    print("ISO boot to the ISOLINUX banner, %d rounds (median, min-max), %s, %s"
          % (rounds, benchlib.today(), benchlib.machine()))
    print()
    print("| metric | vmm s | QEMU -M pc s | vmm/QEMU (target <= 0.5) |")
    print("| --- | ---: | ---: | ---: |")
    print("| launch to ISOLINUX banner | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.2f |"
          % (v + q + (v[0] / q[0],)))
    if args.csv:
        benchlib.csv_append(args.csv, "iso_boot", [("to_isolinux_banner", v[0], q[0], "s")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
