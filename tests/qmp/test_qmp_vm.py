#!/usr/bin/env python3
"""vmm driven over QMP with the qmp_counter test guest (guest-tests/qmp_counter.c).

  test_qmp_vm.py --vmm PATH --kernel qmp_counter.elf CASE

CASE is one of:
  control   greeting, negotiation, queries, stop/cont (the count printed on
            serial does not move while paused), system_reset, system_powerdown
            reaching the guest's PM1 poll (S5: exit 0, socket removed)
  hostile   huge message, invalid UTF-8, nesting bomb, mid-message
            disconnects and 20 clients at once while the guest keeps counting;
            then quit (answer, SHUTDOWN host-qmp-quit, exit 0)
  noshut    -no-shutdown: guest power-off leaves status "shutdown", cont is
            refused, system_reset boots it again, quit ends it
  paused    -S: status "prelaunch", no guest output until cont; a
            system_reset in prelaunch or while paused emits RESET and keeps
            the state (QEMU's behaviour), cont then boots the fresh board
  cdrom     (--kernel cdrom_media.elf) the guest reads the -cdrom and locks
            it; eject without force is refused with QEMU's message and the
            guest gets an eject request (it unlocks); eject opens the tray
            (DEVICE_TRAY_MOVED, query-block), the guest sees NOT READY;
            blockdev-change-medium to a missing file fails, to a second
            image succeeds: the guest sees UNIT ATTENTION once, the new
            capacity and the new bytes; the guest's own tray open and
            close are DEVICE_TRAY_MOVED events
  signals   SIGTERM presses the power button (guest powers off: exit 0);
            a guest ignoring it is stopped after -shutdown-timeout; -pidfile
            is locked while running and removed; -mon/-chardev spelling
Exits 77 when /dev/kvm is not usable."""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_client import QMP, QMPError, wait_for_socket, kvm_usable, socket_dir  # noqa: E402

failures = []
ALL_VMS = []
SOCK_DIR = None


def check(cond, what):
    if cond:
        print("ok: " + what)
    else:
        print("FAIL: " + what)
        failures.append(what)


class VM:
    def __init__(self, args, tmp, guest_args="", extra=(), qmp_opt=None):
        self.tmp = tmp
        ALL_VMS.append(self)
        self.sock = os.path.join(SOCK_DIR, "qmp.sock")
        self.serial = os.path.join(tmp, "serial.txt")
        if os.path.exists(self.serial):
            os.unlink(self.serial)
        qmp = qmp_opt or ["-qmp", "unix:%s,server=on,wait=off" % self.sock]
        self.cmd = [args.vmm, "-m", "32M", "-kernel", args.kernel, "-display", "none",
                    "-serial", "file:" + self.serial, "-name", "qmptest"] + qmp + list(extra)
        if guest_args:
            self.cmd += ["-append", guest_args]
        self.stderr = open(os.path.join(tmp, "stderr.txt"), "w+")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        if not wait_for_socket(self.sock, self.proc):
            raise QMPError("vmm did not open %s: %s" % (self.sock, self.err()))

    def err(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def out(self):
        try:
            with open(self.serial, "rb") as f:
                return f.read().decode("latin-1")
        except OSError:
            return ""

    def counts(self):
        return [int(x) for x in re.findall(r"^count (\d+)$", self.out(), re.M)]

    def wait_serial(self, regex, timeout=60.0, times=1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(re.findall(regex, self.out(), re.M)) >= times:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return len(re.findall(regex, self.out(), re.M)) >= times

    def wait_exit(self, timeout=60.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def case_control(args, tmp):
    vm = VM(args, tmp)
    q = QMP(vm.sock, negotiate=False)
    g = q.greeting["QMP"]
    check(g["capabilities"] == [] and "qemu" in g["version"], "greeting %r" % g)
    r = q.cmd("query-status")
    check(r["error"]["class"] == "CommandNotFound", "commands refused before qmp_capabilities")
    check(q.cmd("qmp_capabilities", id=7) == {"return": {}, "id": 7}, "qmp_capabilities with id")
    st = q.ok("query-status")
    check(st["status"] == "running" and st["running"] is True, "query-status running: %r" % st)
    check(q.ok("query-name") == {"name": "qmptest"}, "query-name")
    cpus = q.ok("query-cpus-fast")
    check(len(cpus) == 1 and cpus[0]["cpu-index"] == 0 and cpus[0]["thread-id"] > 0,
          "query-cpus-fast %r" % cpus)
    check(q.ok("query-block") == [], "query-block without disks")
    names = {c["name"] for c in q.ok("query-commands")}
    check({"stop", "cont", "quit", "system_powerdown", "system_reset"} <= names, "query-commands")

    check(vm.wait_serial(r"^count 3$"), "guest counts on serial")
    q.ok("stop")
    q.wait_event("STOP", 10)
    check(q.ok("query-status")["status"] == "paused", "query-status paused")
    time.sleep(0.3)                                  # output already in flight lands
    before = vm.counts()
    time.sleep(2.0)
    after = vm.counts()
    check(before == after and before, "count frozen while paused (%s -> %s)"
          % (before[-1:] , after[-1:]))
    q.ok("cont")
    q.wait_event("RESUME", 10)
    check(q.ok("query-status")["running"] is True, "running after cont")
    last = after[-1] if after else 0
    check(vm.wait_serial(r"^count %d$" % (last + 3)), "count advances after cont")

    q.ok("system_reset")
    ev = q.wait_event("RESET", 30)
    check(ev["data"] == {"guest": False, "reason": "host-qmp-system-reset"}, "RESET event %r" % ev)
    check("seconds" in ev["timestamp"] and "microseconds" in ev["timestamp"], "event timestamp")
    # (not anchored: the old guest may have been stopped mid-line)
    check(vm.wait_serial(r"qmp_counter start$", times=2), "guest booted again after system_reset")
    check(q.ok("query-status")["status"] == "running", "running after reset")

    q.ok("system_powerdown")
    q.wait_event("POWERDOWN", 10)
    ev = q.wait_event("SHUTDOWN", 60)
    check(ev["data"] == {"guest": True, "reason": "guest-shutdown"}, "SHUTDOWN from guest S5 %r" % ev)
    check(vm.wait_serial(r"^power button$"), "guest saw PWRBTN_STS")
    rc = vm.wait_exit(30)
    check(rc == 0, "exit status 0 after guest power-off (got %r)" % rc)
    check(not os.path.exists(vm.sock), "QMP socket removed")
    return vm


def quiet_for(vm, regex, times, seconds):
    """True when regex has fewer than times matches on serial for seconds."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if len(re.findall(regex, vm.out(), re.M)) >= times:
            return False
        time.sleep(0.1)
    return True


def case_paused(args, tmp):
    vm = VM(args, tmp, extra=["-S"])
    q = QMP(vm.sock)
    st = q.ok("query-status")
    check(st["status"] == "prelaunch" and st["running"] is False, "-S: prelaunch %r" % st)
    check(quiet_for(vm, r"qmp_counter start$", 1, 3.0), "-S: the guest prints nothing before cont")
    q.ok("stop")                                     # no-op in prelaunch, as QEMU
    check(q.ok("query-status")["status"] == "prelaunch", "stop keeps prelaunch")
    q.ok("system_reset")
    ev = q.wait_event("RESET", 30)
    check(ev["data"] == {"guest": False, "reason": "host-qmp-system-reset"}, "RESET in prelaunch %r" % ev)
    check(q.ok("query-status")["status"] == "prelaunch", "reset keeps prelaunch")
    check(quiet_for(vm, r"qmp_counter start$", 1, 2.0), "still no output after the reset")
    q.ok("cont")
    q.wait_event("RESUME", 10)
    check(q.ok("query-status")["status"] == "running", "running after cont")
    check(vm.wait_serial(r"^count 3$"), "the guest runs after cont")

    q.ok("stop")
    q.wait_event("STOP", 10)
    time.sleep(0.3)
    starts = len(re.findall(r"qmp_counter start$", vm.out(), re.M))
    q.ok("system_reset")
    ev = q.wait_event("RESET", 30)
    check(ev["data"] == {"guest": False, "reason": "host-qmp-system-reset"}, "RESET while paused %r" % ev)
    st = q.ok("query-status")
    check(st["status"] == "paused" and st["running"] is False, "reset while paused stays paused %r" % st)
    check(quiet_for(vm, r"qmp_counter start$", starts + 1, 3.0), "no guest output while paused after reset")
    q.ok("cont")
    q.wait_event("RESUME", 10)
    check(vm.wait_serial(r"qmp_counter start$", times=starts + 1), "cont boots the reset board")
    check(q.ok("query-status")["status"] == "running", "running after cont")
    q.ok("quit")
    check(vm.wait_exit(30) == 0, "quit: exit 0")
    return vm


def case_cdrom(args, tmp):
    one, two = os.path.join(tmp, "one.img"), os.path.join(tmp, "two.img")
    for path, text, blocks in ((one, b"MEDIUM-ONE------", 64), (two, b"MEDIUM-TWO++++++", 100)):
        with open(path, "wb") as f:
            f.write(text + bytes(blocks * 2048 - len(text)))
    extra = ["-cdrom", one, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if os.environ.get("VMM_TEST_SANDBOX"):      # e.g. "on": the image opens under seccomp
        extra += ["-sandbox", os.environ["VMM_TEST_SANDBOX"]]
    vm = VM(args, tmp, extra=extra)
    q = QMP(vm.sock)
    check(vm.wait_serial(r"^locked$", timeout=120), "guest read the CD and locked it")
    check(re.search(r"^read1 MEDIUM-ONE------$", vm.out(), re.M) is not None, "guest read the first medium")
    cd = q.ok("query-block")[0]
    ins = cd.get("inserted", {})
    check(cd["device"] == "virtio0" and cd["removable"] is True and cd["locked"] is True and
          cd["tray_open"] is False and ins.get("file") == one and ins.get("ro") is True and
          ins.get("image", {}).get("virtual-size") == 64 * 2048, "query-block: locked CD %r" % cd)

    r = q.cmd("eject", {"device": "ide1-cd0"})
    check(r.get("error", {}).get("desc") == "Device 'ide1-cd0' is locked and force was not "
          "specified, wait for tray to open and try again", "eject while locked refused: %r" % r)
    check(vm.wait_serial(r"^event 1 status 2$"), "guest got an eject request event")
    check(vm.wait_serial(r"^unlocked$"), "guest unlocked")
    check(q.ok("query-block")[0]["locked"] is False, "query-block: unlocked")
    r = q.cmd("eject", {"device": "nosuch"})
    check(r.get("error", {}).get("class") == "DeviceNotFound", "eject of an unknown device %r" % r)

    q.ok("eject", {"id": "virtio0"})
    ev = q.wait_event("DEVICE_TRAY_MOVED", 10)
    check(ev["data"] == {"device": "virtio0", "id": "virtio0", "tray-open": True}, "tray opened %r" % ev)
    cd = q.ok("query-block")[0]
    check(cd["tray_open"] is True and "inserted" not in cd, "query-block: ejected %r" % cd)
    check(vm.wait_serial(r"^event 3 status 1$"), "guest got a media removal event")
    check(vm.wait_serial(r"^tur 2/3a/2$"), "guest: NOT READY, medium not present, tray open")

    r = q.cmd("blockdev-change-medium", {"device": "virtio0", "filename": os.path.join(tmp, "missing.iso"),
                                         "format": "raw"})
    check(r.get("error", {}).get("desc", "").startswith("Could not open '"), "missing image refused %r" % r)
    check(q.ok("query-block")[0]["tray_open"] is True, "a failed change leaves the drive empty")
    q.ok("blockdev-change-medium", {"device": "virtio0", "filename": two, "format": "raw"})
    ev = q.wait_event("DEVICE_TRAY_MOVED", 10)
    check(ev["data"]["tray-open"] is False, "tray closed %r" % ev)
    cd = q.ok("query-block")[0]
    ins = cd.get("inserted", {})
    check(cd["tray_open"] is False and ins.get("file") == two and
          ins.get("image", {}).get("virtual-size") == 100 * 2048, "query-block: new medium %r" % cd)
    check(vm.wait_serial(r"^read2 MEDIUM-TWO\+{6}$", timeout=120), "guest read the new medium")
    out = vm.out()
    turs = re.findall(r"^tur .*$", out, re.M)      # media events may come between them
    check(turs[-3:] == ["tur 2/3a/2", "tur 6/28/0", "tur good"],
          "NOT READY, then UNIT ATTENTION 28 once, then ready: %r" % turs)
    check(re.search(r"^event 2 status 2$", out, re.M) is not None, "guest got a new media event")
    check(re.search(r"^capacity 99$", out, re.M) is not None, "guest sees the new capacity")
    ev = q.wait_event("DEVICE_TRAY_MOVED", 30)
    check(ev["data"] == {"device": "virtio0", "id": "virtio0", "tray-open": True}, "guest opened the tray %r" % ev)
    ev = q.wait_event("DEVICE_TRAY_MOVED", 30)
    check(ev["data"]["tray-open"] is False, "guest closed the tray %r" % ev)
    rc = vm.wait_exit(60)
    check(rc == 1, "guest passed (debug-exit status 1, got %r)" % rc)
    return vm


def case_hostile(args, tmp):
    vm = VM(args, tmp)
    q = QMP(vm.sock)
    check(vm.wait_serial(r"^count 2$"), "guest counts")

    # Huge message: an error, then the connection is dropped.
    h = QMP(vm.sock)
    try:
        h.send_raw(b'{"execute": "' + b"a" * (1 << 20) + b'"}')
    except OSError:
        pass
    r = h.answer(30)
    check(r is not None and "too long" in r["error"]["desc"], "1 MiB message refused: %r" % (r and r.get("error")))
    check(h.answer(30) is None, "and the connection closed")
    h.close()

    # Invalid UTF-8 inside a string, a NUL, garbage, wrong types.
    for raw in (b'{"execute": "query-\xff\xfestatus"}', b'{"execute": "query-status\\u0000"}',
                b"}}}garbage\n", b'{"execute": ["stop"]}', b'{"execute": "stop", "arguments": 5}'):
        q.send_raw(raw)
        r = q.answer(30)
        check(r is not None and r.get("error", {}).get("class") == "GenericError",
              "GenericError for %r: %r" % (raw[:40], r))
    r = q.cmd("query-statuses")
    check(r["error"]["class"] == "CommandNotFound", "CommandNotFound")

    # Nesting bomb, then an ordinary command on the same client.
    q.send_raw(b"[" * 100000 + b"]" * 100000)
    r = q.answer(30)
    check(r is not None and "nesting" in r["error"]["desc"], "nesting bomb answered: %r" % (r,))
    check(q.ok("query-status")["running"] is True, "same client works after the bomb")

    # Clients that disconnect mid-message or before negotiating.
    for raw in (b'{"execute": "quit"', b'{"execute": "system_reset", "argu', b"[[[[", b""):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(vm.sock)
        s.recv(4096)
        if raw:
            s.sendall(raw)
        s.close()

    # 20 clients at once.
    many = [QMP(vm.sock) for _ in range(20)]
    for i, c in enumerate(many):
        c.send_raw(json.dumps({"execute": "query-status", "id": i}).encode())
    ok = 0
    for i, c in enumerate(many):
        r = c.answer(30)
        ok += r is not None and r.get("id") == i and r["return"]["running"] is True
    check(ok == 20, "20 clients answered (%d)" % ok)
    # All of them see events.
    q.ok("stop")
    seen = 0
    for c in many:
        seen += c.wait_event("STOP", 10)["event"] == "STOP"
    check(seen == 20, "20 clients got STOP")
    q.ok("cont")
    for c in many:
        c.close()

    n = max(vm.counts() or [0])
    check(vm.wait_serial(r"^count %d$" % (n + 3)), "guest still counting after hostile input")
    check(vm.proc.poll() is None, "vmm still running")

    r = q.cmd("quit")
    check(r == {"return": {}}, "quit answered")
    ev = q.wait_event("SHUTDOWN", 10)
    check(ev["data"] == {"guest": False, "reason": "host-qmp-quit"}, "SHUTDOWN host-qmp-quit")
    rc = vm.wait_exit(30)
    check(rc == 0, "exit 0 after quit (%r)" % rc)
    check(not os.path.exists(vm.sock), "socket removed after quit")
    return vm


def case_noshut(args, tmp):
    vm = VM(args, tmp, extra=["-no-shutdown"])
    q = QMP(vm.sock)
    check(vm.wait_serial(r"^count 1$"), "guest counts")
    q.ok("system_powerdown")
    q.wait_event("SHUTDOWN", 60)
    time.sleep(0.5)
    check(vm.proc.poll() is None, "process stays after guest power-off")
    st = q.ok("query-status")
    check(st["status"] == "shutdown" and st["running"] is False, "status shutdown: %r" % st)
    r = q.cmd("cont")
    check(r.get("error", {}).get("desc") == "Resetting the Virtual Machine is required", "cont refused: %r" % r)
    q.ok("system_reset")
    q.wait_event("RESET", 30)
    check(vm.wait_serial(r"qmp_counter start$", times=2), "guest boots again after system_reset")
    check(q.ok("query-status")["status"] == "running", "running again")
    q.ok("quit")
    check(vm.wait_exit(30) == 0, "quit: exit 0")
    return vm


def case_signals(args, tmp):
    pidfile = os.path.join(SOCK_DIR, "vm.pid")      # local fs: 9p may lack locks
    # SIGTERM with a guest that powers off on the button.
    vm = VM(args, tmp, extra=["-pidfile", pidfile])
    with open(pidfile) as f:
        check(int(f.read()) == vm.proc.pid, "pidfile holds the pid")
    r = subprocess.run([args.vmm, "-m", "32M", "-kernel", args.kernel, "-display", "none",
                        "-serial", "null", "-pidfile", pidfile], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1 and "locked by another process (pid %d)" % vm.proc.pid in r.stderr,
          "second vmm on the pidfile refused: %d %r" % (r.returncode, r.stderr))
    q = QMP(vm.sock)
    check(vm.wait_serial(r"^count 1$"), "guest counts")
    vm.proc.send_signal(signal.SIGTERM)
    q.wait_event("POWERDOWN", 10)
    ev = q.wait_event("SHUTDOWN", 60)
    check(ev["data"]["reason"] == "guest-shutdown", "SIGTERM -> guest power-off %r" % ev)
    check(vm.wait_exit(30) == 0, "exit 0")
    check(not os.path.exists(pidfile), "pidfile removed")

    # A guest that ignores the button is stopped after -shutdown-timeout.
    vm = VM(args, tmp, guest_args="ignore_button", extra=["-shutdown-timeout", "2", "-pidfile", pidfile])
    q = QMP(vm.sock)
    check(vm.wait_serial(r"^count 1$"), "guest counts")
    t0 = time.time()
    vm.proc.send_signal(signal.SIGTERM)
    check(vm.wait_serial(r"^power button ignored$", 30), "guest saw the button")
    ev = q.wait_event("SHUTDOWN", 60)
    took = time.time() - t0
    check(ev["data"] == {"guest": False, "reason": "host-signal"}, "SHUTDOWN host-signal %r" % ev)
    check(vm.wait_exit(30) == 0 and took >= 1.5, "stopped after the timeout (%.1f s)" % took)
    check("did not power off within 2 s" in vm.err(), "timeout logged")
    check(not os.path.exists(pidfile) and not os.path.exists(vm.sock), "pidfile and socket removed")

    # SIGINT quits at once; -chardev/-mon spelling.
    sock = os.path.join(SOCK_DIR, "qmp.sock")
    vm = VM(args, tmp, qmp_opt=["-chardev", "socket,id=mon0,path=%s,server=on,wait=off" % sock,
                                "-mon", "chardev=mon0,mode=control"])
    q = QMP(vm.sock)
    check(q.ok("query-status")["running"] is True, "QMP over -chardev/-mon")
    vm.proc.send_signal(signal.SIGINT)
    ev = q.wait_event("SHUTDOWN", 30)
    check(ev["data"]["reason"] == "host-signal", "SIGINT: SHUTDOWN host-signal")
    check(vm.wait_exit(30) == 0, "SIGINT: exit 0")
    return vm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("case", choices=["control", "hostile", "noshut", "signals", "paused", "cdrom"])
    args = ap.parse_args()
    if not kvm_usable():
        print("SKIP: /dev/kvm is not usable")
        return 77
    tmp = tempfile.mkdtemp(prefix="qmp-test-")
    global SOCK_DIR
    SOCK_DIR = socket_dir()
    vm = None
    try:
        vm = {"control": case_control, "hostile": case_hostile,
              "noshut": case_noshut, "signals": case_signals,
              "paused": case_paused, "cdrom": case_cdrom}[args.case](args, tmp)
    except (QMPError, OSError, KeyError, TypeError, ValueError) as e:
        failures.append("exception: %r" % (e,))
        print("FAIL: exception %r" % (e,))
    finally:
        if failures and ALL_VMS:
            last = ALL_VMS[-1]
            lines = last.out().splitlines()
            summary, prev = [], None
            for i, ln in enumerate(lines):
                m = re.match(r"^count (\d+)$", ln)
                if not m:
                    summary.append("%d: %s" % (i, ln[:200]))
                elif prev is None or int(m.group(1)) != prev + 1:
                    summary.append("%d: %s (after %s)" % (i, ln, prev))
                prev = int(m.group(1)) if m else None
            print("--- serial: %d lines; non-count lines and count jumps ---" % len(lines))
            print("\n".join(summary[-60:]))
            print("--- stderr ---\n" + last.err()[-4000:])
        for v in ALL_VMS:
            v.kill()
        subprocess.run(["rm", "-rf", tmp, SOCK_DIR])
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
