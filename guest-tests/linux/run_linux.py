#!/usr/bin/env python3
"""Boots the vmm test kernel (guest-tests/linux/build.sh) under vmm or QEMU and
checks its serial console. Linux boot protocol: Documentation/x86/boot.rst
(bzImage 64-bit entry), PVH: xen/include/public/arch-x86/hvm/start_info.h.

usage: run_linux.py VMM|qemu MODE [--timeout S] [--build-sh PATH]

MODE:
  early          vmlinux (PVH/ELF entry), -smp 1: banner, the command line vmm
                 passed (a random vmm.test= marker), the e820 map, ttyS0 console
  early_smp      as early with -smp 2, and "smpboot: Allowing 2 CPUs"
  early_bzimage  as early through bzImage (boot protocol, 64-bit entry)
  init           vmlinux + initramfs, -smp 2, a raw virtio disk and (when a tap
                 can be made) a virtio NIC: /init prints VMM-INIT-OK, sees
                 /dev/vda with the image's bytes, 2 CPUs, eth0; powers off.

The VM is killed as soon as every expected line was seen (early modes).
Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, no kernel artefacts, no QEMU).
"""
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MEM_MB = 256
# CPU features the CPL0 emulator of PVM hosts cannot run (shared/HOST-KVM.md);
# harmless elsewhere.
PVM_ARGS = ("noxsave clearcpuid=popcnt,smap,smep,bmi1,bmi2,avx,avx2,erms,fsrm,"
            "movbe,rdrand,rdseed,adx,abm,sha_ni,pclmulqdq,aes,fma,f16c,sse4_1,"
            "sse4_2,ssse3,avx512f")
DISK_MAGIC = b"VMM-DISK-MAGIC01"
DISK_SECTORS = 16384  # 8 MiB
E820_RE = re.compile(r"BIOS-e820: \[mem 0x([0-9a-f]{16})-0x([0-9a-f]{16})\] (.+)$")


def artefacts(build_sh):
    p = subprocess.run(["sh", build_sh, "--paths"], stdout=subprocess.PIPE,
                       universal_newlines=True)
    paths = dict(l.split("=", 1) for l in p.stdout.split() if "=" in l)
    return p.returncode == 0, paths


def can_tap():
    return os.geteuid() == 0 and os.path.exists("/dev/net/tun")


class Run:
    """A VM whose merged stdout/stderr is read line by line with timestamps."""

    def __init__(self, cmd):
        print("+", " ".join(cmd), flush=True)
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        self.lines = []
        self.buf = b""

    def elapsed(self):
        return time.monotonic() - self.t0

    def poll_lines(self, timeout):
        """Reads what is available within timeout; returns False at EOF."""
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return True
        data = os.read(self.p.stdout.fileno(), 65536)
        if not data:
            return False
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            text = line.decode(errors="replace").rstrip("\r")
            self.lines.append((self.elapsed(), text))
            print("[%7.2f] %s" % (self.elapsed(), text), flush=True)
        return True

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()
        if self.buf:
            self.lines.append((self.elapsed(), self.buf.decode(errors="replace")))
            print("[%7.2f] %s" % (self.elapsed(), self.lines[-1][1]), flush=True)

    def find(self, needle):
        for t, text in self.lines:
            if needle in text:
                return t, text
        return None


def check_e820(lines, use_qemu):
    """The map Linux printed against what boot/e820.c builds for MEM_MB (vmm) or
    what QEMU's firmware tables give (reference): same first range, low RAM from
    1 MiB to the end of guest RAM, no RAM beyond it."""
    entries = []
    for _, text in lines:
        m = E820_RE.search(text)
        if m:
            entries.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip()))
    errors = []
    if not entries:
        return ["no BIOS-e820 lines"]
    ram_end = MEM_MB << 20
    if entries[0] != (0, 0x9fbff, "usable"):
        errors.append("first e820 range %r, want 0-0x9fbff usable" % (entries[0],))
    low = [e for e in entries if e[0] == 0x100000 and e[2] == "usable"]
    if not low:
        errors.append("no usable range from 1 MiB")
    elif use_qemu:
        # QEMU keeps the ACPI tables at the top of low RAM (reserved).
        if not ram_end - (2 << 20) <= low[0][1] + 1 <= ram_end:
            errors.append("low RAM ends at %#x, want about %#x" % (low[0][1] + 1, ram_end))
    elif low[0][1] + 1 != ram_end:
        errors.append("low RAM ends at %#x, want %#x (-m %dM)" % (low[0][1] + 1, ram_end, MEM_MB))
    usable = [e for e in entries if e[2] == "usable"]
    total = sum(e[1] + 1 - e[0] for e in usable)
    if max(e[1] for e in usable) >= ram_end or total > ram_end:
        errors.append("usable RAM beyond the %d MiB of the VM (%d bytes in total)" % (MEM_MB, total))
    if not use_qemu:
        # ECAM reserved so that Linux trusts the MCFG (boot/e820.c).
        if (0xe0000000, 0xefffffff, "reserved") not in entries:
            errors.append("PCI ECAM 0xe0000000-0xefffffff not reserved")
    for a, b in zip(entries, entries[1:]):
        if b[0] <= a[1]:
            errors.append("e820 ranges overlap or are unsorted: %r %r" % (a, b))
    return errors


def boot(cmd, want, mode, timeout):
    """One boot: returns (run, seen, eof); seen maps each wanted line found to
    the time it appeared."""
    run = Run(cmd)
    seen = {}
    eof = False
    try:
        while run.elapsed() < timeout:
            if not run.poll_lines(1.0):
                eof = True
                break
            for w in want:
                if w not in seen:
                    hit = run.find(w)
                    if hit:
                        seen[w] = hit[0]
            if len(seen) == len(want):
                break
        if mode == "init" and len(seen) == len(want) and not eof:
            # poweroff -f: the VMM must exit by itself (ACPI S5).
            deadline = run.elapsed() + 120
            while run.elapsed() < deadline and run.poll_lines(1.0):
                pass
            try:
                run.p.wait(timeout=5)
                eof = True
            except subprocess.TimeoutExpired:
                eof = False
    finally:
        run.stop()
    return run, seen, eof


def l1_triple_fault(run, seen, want):
    """True for the one failure that scripts/with-kvm's L1 (QEMU TCG emulating
    nested SVM) causes now and then and a second boot does not repeat: the
    guest kernel's vCPU stops with a triple fault partway through an early
    boot that had gone well (seen once in CI; never with hardware KVM).
    Only under with-kvm's L1 (VMM_WITH_KVM_L1=1)."""
    return (os.environ.get("VMM_WITH_KVM_L1") == "1" and len(seen) < len(want)
            and "Linux version 6.1" in seen
            and any("SHUTDOWN (triple fault)" in t for _, t in run.lines))


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    vmm, mode = args[0], args[1]
    timeout = 840.0
    build_sh = os.path.join(HERE, "build.sh")
    if "--timeout" in args:
        timeout = float(args[args.index("--timeout") + 1])
    if "--build-sh" in args:
        build_sh = args[args.index("--build-sh") + 1]
    if mode not in ("early", "early_smp", "early_bzimage", "init"):
        print("unknown mode", mode)
        return 2
    use_qemu = vmm == "qemu"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: no /dev/kvm (run under scripts/with-kvm)")
        return 77
    if use_qemu:
        vmm = shutil.which("qemu-system-x86_64")
        if not vmm:
            print("SKIP: no qemu-system-x86_64")
            return 77
    ok, paths = artefacts(build_sh)
    if not ok:
        print("SKIP: kernel artefacts missing; run %s on the host first" % build_sh)
        return 77

    marker = "vmm.test=%08x" % random.getrandbits(32)
    smp = 2 if mode in ("early_smp", "init") else 1
    kernel = paths["BZIMAGE"] if mode == "early_bzimage" else paths["VMLINUX"]
    append = "console=ttyS0 earlyprintk=serial %s panic=-1 %s" % (PVM_ARGS, marker)
    if mode == "init":
        append += " rdinit=/init"
    cmd = [vmm, "-m", "%dM" % MEM_MB, "-smp", str(smp), "-kernel", kernel,
           "-append", append, "-nographic"]
    if use_qemu:
        cmd += ["-enable-kvm", "-cpu", "qemu64", "-no-reboot", "-monitor", "none"]

    want = ["Linux version 6.1", "Command line: ", marker, "BIOS-e820: ",
            "printk: console [ttyS0] enabled"]
    if smp == 2:
        want.append("smpboot: Allowing 2 CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        net = False
        if mode == "init":
            img = os.path.join(tmp, "disk.img")
            with open(img, "wb") as f:
                f.write(DISK_MAGIC)
                f.truncate(DISK_SECTORS * 512)
            cmd += ["-initrd", paths["INITRD"],
                    "-drive", "file=%s,format=raw,if=virtio" % img]
            net = can_tap()
            if net:
                tap = "vmmt%d" % (os.getpid() % 100000)
                cmd += ["-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
                        "-device", "virtio-net-pci,netdev=n0"]
            want += ["VMM-INIT-OK", "VMM-CPUS 2",
                     "VMM-VDA-PRESENT %d sectors" % DISK_SECTORS,
                     "VMM-VDA-DATA " + DISK_MAGIC.decode()]
            if net:
                want.append("VMM-ETH0-PRESENT")
            want.append("VMM-INIT-DONE")

        run, seen, eof = boot(cmd, want, mode, timeout)
        if l1_triple_fault(run, seen, want):
            print("triple fault under with-kvm's TCG L1 after %.1f s; last lines:" % run.elapsed())
            for _, text in run.lines[-8:]:
                print("  | " + text)
            print("booting once more (docs/testing.md: a known L1 flake; a second one fails)")
            run, seen, eof = boot(cmd, want, mode, max(60.0, timeout - run.elapsed()))

    errors = []
    for w in want:
        if w in seen:
            print("seen after %7.2f s: %s" % (seen[w], w))
        else:
            errors.append("not seen: %r" % w)
    cl = run.find("Command line: ")
    if cl and marker not in cl[1]:
        errors.append("command line lacks the marker: %r" % cl[1])
    errors += check_e820(run.lines, use_qemu)
    if mode == "init" and not eof:
        errors.append("the VM did not exit after poweroff -f")
    elif mode == "init" and run.p.returncode != 0:
        errors.append("exit status %d after poweroff, want 0" % run.p.returncode)
    if errors:
        print("exit status: %s; elapsed %.1f s (bound %.0f s); last lines:"
              % (run.p.returncode, run.elapsed(), timeout))
        for _, text in run.lines[-15:]:
            print("  | " + text)
        for e in errors:
            print("FAIL: " + e)
        return 1
    print("PASS (%s, %s, %.1f s)" % ("qemu" if use_qemu else "vmm", mode, run.elapsed()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
