#!/usr/bin/env python3
"""Boots one test guest under vmm (or QEMU) and checks how it ended.

  harness.py --kernel G.elf [--vmm PATH | --qemu] [--compare] [--exit N]
             [--timeout S] [--expect REGEX]... [--accel kvm|tcg]
             [--kvm-supported-cpuid] -- [vmm args...]

Runs the VMM with the guest as -kernel plus -nographic and an isa-debug-exit
device (and -m 64M unless the arguments say otherwise), stdin from /dev/null,
bounded by --timeout. Passes when the exit status is --exit and every
--expect regex matches a line of the output (serial on stdout, plus stderr);
a regex starting with "stderr:" is searched in stderr only. With --compare the
same guest also runs under qemu-system-x86_64 -enable-kvm -cpu qemu64 -M microvm
(--qemu-machine; its multiboot loader, ACPI MADT, COM1 and ISA bus are what the
basic guests need, and it skips SeaBIOS, which is slow where guest ring 0 is
emulated), which
must give the same status and the same matched text for every regex. On failure it
prints the whole transcript. Exits 77 (skipped) when /dev/kvm is not usable or
QEMU is needed and missing. Only the Python standard library is used.
"""
import argparse
import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

SKIP = 77
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc")
DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=4"
# vmm -cpu models and what QEMU calls the nearest one.
QEMU_CPU = {"baseline": "qemu64", "qemu64": "qemu64", "kvm64": "kvm64", "host": "host"}


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, 0xAE00) == 12          # KVM_GET_API_VERSION
    except OSError:
        return False
    finally:
        os.close(fd)


def kvm_supported_cpuid():
    """KVM_GET_SUPPORTED_CPUID as {(function, index): (eax, ebx, ecx, edx)}."""
    nent = 256
    buf = bytearray(struct.pack("II", nent, 0) + bytes(40 * nent))
    fd = os.open("/dev/kvm", os.O_RDWR)
    try:
        fcntl.ioctl(fd, 0xC008AE05, buf, True)     # _IOWR(KVMIO, 0x05, struct kvm_cpuid2)
    finally:
        os.close(fd)
    n = struct.unpack_from("I", buf, 0)[0]
    out = {}
    for i in range(n):
        f, idx, _flags, a, b, c, d = struct.unpack_from("7I", buf, 8 + 40 * i)
        out[(f, idx)] = (a, b, c, d)
    return out


def with_supported_cpuid(args):
    """Adds kvm.<leaf>.<reg>=VALUE words to -append for the cpuid guest."""
    sup = kvm_supported_cpuid()
    words = []
    for leaf in (1, 7, 0x80000001):
        regs = sup.get((leaf, 0))
        if regs:
            words += [f"kvm.{leaf:x}.{n}=0x{v:x}" for n, v in zip("abcd", regs)]
    args = list(args)
    if "-append" in args:
        i = args.index("-append") + 1
        args[i] = args[i] + " " + " ".join(words)
    else:
        args += ["-append", " ".join(words)]
    return args


def has_opt(args, name):
    return any(a in (name, "-" + name) for a in args)


def vmm_cmd(vmm, kernel, args):
    cmd = [vmm]
    if not has_opt(args, "-m"):
        cmd += ["-m", "64M"]
    cmd += ["-nographic", "-device", DEBUG_EXIT, "-kernel", kernel]
    return cmd + args


def qemu_cmd(kernel, args, accel, machine):
    cmd = ["qemu-system-x86_64", "-accel", accel, "-M", machine, "-nographic",
           "-no-reboot", "-nic", "none", "-device", DEBUG_EXIT, "-kernel", kernel]
    if not has_opt(args, "-m"):
        cmd += ["-m", "64M"]
    if not has_opt(args, "-cpu"):
        cmd += ["-cpu", "qemu64"]
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-cpu", "--cpu") and i + 1 < len(args):
            out += ["-cpu", QEMU_CPU.get(args[i + 1], args[i + 1])]
            i += 2
            continue
        if a in ("-nographic", "-no-reboot"):
            i += 1
            continue
        if a == "-device" and i + 1 < len(args) and args[i + 1].startswith("isa-debug-exit"):
            i += 2
            continue
        out.append(a)
        i += 1
    return cmd + out


def run(cmd, timeout):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    return {
        "cmd": cmd, "status": None if timed_out else p.returncode,
        "stdout": ANSI.sub("", out.decode("utf-8", "replace")).replace("\r", ""),
        "stderr": err.decode("utf-8", "replace"),
        "seconds": time.monotonic() - t0,
    }


class Streamed:
    """Runs cmd with stderr merged into stdout and reads its output as it
    comes (a reader thread): every line is appended to .lines and passed to
    on_line(self, line), which may act on the running process (.proc), e.g.
    SIGKILL it at a given line. For tests that must react while the VMM runs
    (run_durability.py, run_guest.py net); run() is for the others."""

    def __init__(self, cmd, on_line=None):
        print("+", " ".join(cmd), flush=True)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = []
        self._thread = threading.Thread(target=self._read, args=(on_line,), daemon=True)
        self._thread.start()

    def _read(self, on_line):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").replace("\r", "").rstrip("\n")
            self.lines.append(line)
            if on_line:
                on_line(self, line)

    def wait(self, timeout):
        """The exit status, or None when it ran past timeout s (then killed)."""
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        self.kill()
        self._thread.join(10)
        return status

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def preflight(need_qemu=False, need_qemu_img=False):
    """None when this host can run the test, else SKIP after saying why: no
    usable /dev/kvm, or no QEMU / qemu-img when the test needs them."""
    if not kvm_usable():
        print("SKIP: no usable /dev/kvm")
        return SKIP
    for need, tool in ((need_qemu, "qemu-system-x86_64"), (need_qemu_img, "qemu-img")):
        if need and not shutil.which(tool):
            print("SKIP: no " + tool)
            return SKIP
    return None


def make_image(path, fmt, size):
    """A new empty disk image of size bytes: raw (sparse) or qcow2 (qemu-img)."""
    if fmt == "raw":
        with open(path, "wb") as f:
            f.truncate(size)
    else:
        subprocess.run(["qemu-img", "create", "-q", "-f", fmt, path, str(size)], check=True)


def image_bytes(path, fmt, tmp, check_ok=(0,)):
    """The guest-visible bytes of image path, or None (after a FAIL line).
    A qcow2 image is first checked with `qemu-img check`, whose exit status
    must be in check_ok (0 clean, 3 leaked clusters only), then converted to
    raw in directory tmp by qemu-img: QEMU's reading, not ours."""
    if fmt == "qcow2":
        c = subprocess.run(["qemu-img", "check", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        print(c.stdout.decode(errors="replace").strip())
        if c.returncode not in check_ok:
            print("FAIL: qemu-img check exit status %d (want %s)"
                  % (c.returncode, " or ".join(map(str, check_ok))))
            return None
        rawimg = os.path.join(tmp, "converted.raw")
        subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", path, rawimg],
                       check=True)
        path = rawimg
    with open(path, "rb") as f:
        return f.read()


def matches(res, regex):
    """The matched text of every line that matches regex, sorted."""
    if regex.startswith("stderr:"):
        text, regex = res["stderr"], regex[len("stderr:"):]
    else:
        text = res["stdout"] + "\n" + res["stderr"]
    r = re.compile(regex)
    found = (r.search(line) for line in text.splitlines())
    return sorted(m.group(0) for m in found if m)


def transcript(res, name):
    print(f"---- {name}: {' '.join(res['cmd'])}")
    status = "timeout" if res["status"] is None else res["status"]
    print(f"---- status {status} after {res['seconds']:.1f} s; serial/stdout:")
    print(res["stdout"].rstrip())
    print("---- stderr:")
    print(res["stderr"].rstrip())
    print("----")


def check(res, name, want_exit, expects):
    problems = []
    if res["status"] is None:
        problems.append("timed out")
    elif res["status"] != want_exit:
        problems.append(f"exit status {res['status']}, expected {want_exit}")
    for e in expects:
        if not matches(res, e):
            problems.append(f"no line matches {e!r}")
    for p in problems:
        print(f"harness: {name}: {p}")
    return not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--vmm")
    ap.add_argument("--qemu", action="store_true", help="run under QEMU instead of vmm")
    ap.add_argument("--compare", action="store_true", help="run under vmm and QEMU, compare")
    ap.add_argument("--accel", default="kvm", help="QEMU accelerator (tcg needs no /dev/kvm)")
    ap.add_argument("--qemu-machine", default="microvm",
                    help="QEMU -M (microvm: no SeaBIOS, so it starts in milliseconds; "
                         "pc for PCI devices)")
    ap.add_argument("--exit", type=int, default=1, help="expected exit status (rt_pass: 1)")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--kvm-supported-cpuid", action="store_true",
                    help="pass KVM_GET_SUPPORTED_CPUID leaves 1, 7, 0x80000001 in -append")
    ap.add_argument("--skip-on-pvm", action="store_true",
                    help="skip (77) on kvm_pvm hosts, whose CPUID the VMM cannot fully control")
    ap.add_argument("args", nargs="*")
    o = ap.parse_args()

    if not os.path.exists(o.kernel):
        print(f"harness: {o.kernel}: no such guest (build it first)")
        return 1
    need_qemu = o.qemu or o.compare
    if (not o.qemu or o.accel == "kvm") and not kvm_usable():
        print("harness: /dev/kvm is not usable here; skipped (scripts/with-kvm runs it)")
        return SKIP
    if need_qemu and not shutil.which("qemu-system-x86_64"):
        print("harness: qemu-system-x86_64 not installed; skipped")
        return SKIP
    if not o.qemu and not o.vmm:
        print("harness: --vmm PATH or --qemu is required")
        return 2

    if o.skip_on_pvm and os.path.exists("/sys/module/kvm_pvm"):
        print("harness: this host's KVM is kvm_pvm, where KVM_SET_CPUID2 cannot hide host "
              "CPU features (vmm/cpuid.c); skipped")
        return SKIP
    if o.kvm_supported_cpuid:
        o.args = with_supported_cpuid(o.args)
    runs = []
    if not o.qemu:
        runs.append(("vmm", run(vmm_cmd(o.vmm, o.kernel, o.args), o.timeout)))
    if need_qemu:
        runs.append(("qemu", run(qemu_cmd(o.kernel, o.args, o.accel, o.qemu_machine), o.timeout)))

    ok = True
    for name, res in runs:
        ok = check(res, name, o.exit, o.expect) and ok
    if o.compare and len(runs) == 2:
        a, b = runs[0][1], runs[1][1]
        if a["status"] != b["status"]:
            print(f"harness: vmm exit status {a['status']} != qemu {b['status']}")
            ok = False
        for e in o.expect:
            ma, mb = matches(a, e), matches(b, e)
            if ma != mb:
                print(f"harness: {e!r}: vmm lines {ma} != qemu lines {mb}")
                ok = False
    for name, res in runs:
        if not ok:
            transcript(res, name)
        else:
            print(f"harness: {name}: status {res['status']} in {res['seconds']:.1f} s")
            print(res["stdout"].rstrip())
    print("harness: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
