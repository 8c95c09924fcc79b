#!/usr/bin/env python3
"""20 daemonized vmm processes with the qmp_counter guest (idle: halted in
ring 0, no CPU use) at once: each -daemonize parent exits 0 once its VM runs,
each is queried over its QMP socket, all are shut down (quit, system_powerdown
is not needed: the guest does not poll), and afterwards no process, socket or
pidfile is left.

  test_qmp_many.py --vmm PATH --kernel qmp_counter.elf [--count 20]
Exits 77 when /dev/kvm is not usable."""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_client import QMP, QMPError, kvm_usable, socket_dir  # noqa: E402


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes; daemons are reparented anyway.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--count", type=int, default=20)
    args = ap.parse_args()
    if not kvm_usable():
        print("SKIP: /dev/kvm is not usable")
        return 77
    tmp = tempfile.mkdtemp(prefix="qmp-many-")
    sdir = socket_dir()
    n = args.count
    fails = []
    pids = []
    t0 = time.time()
    try:
        launches = []
        for i in range(n):
            d = os.path.join(tmp, "vm%d" % i)
            os.mkdir(d)
            cmd = [args.vmm, "-m", "32M", "-kernel", args.kernel, "-append", "idle",
                   "-daemonize", "-pidfile", "%s/vm%d.pid" % (sdir, i), "-name", "vm%d" % i,
                   "-serial", "file:" + d + "/serial.txt", "-D", d + "/log.txt",
                   "-qmp", "unix:%s/vm%d.sock,server=on,wait=off" % (sdir, i)]
            launches.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for i, p in enumerate(launches):
            out, err = p.communicate(timeout=300)
            if p.returncode != 0:
                fails.append("vm%d: -daemonize parent exit %d: %r" % (i, p.returncode, err))
        print("launched %d daemons in %.1f s" % (n, time.time() - t0))
        for i in range(n):
            d = os.path.join(tmp, "vm%d" % i)
            try:
                with open("%s/vm%d.pid" % (sdir, i)) as f:
                    pids.append(int(f.read()))
            except (OSError, ValueError) as e:
                fails.append("vm%d: pidfile: %r" % (i, e))
        # The parent only exits once the socket is listening: no waiting needed.
        clients = []
        for i in range(n):
            d = os.path.join(tmp, "vm%d" % i)
            try:
                q = QMP("%s/vm%d.sock" % (sdir, i), timeout=120)
                st = q.ok("query-status")
                name = q.ok("query-name")
                if st["status"] != "running" or name != {"name": "vm%d" % i}:
                    fails.append("vm%d: %r %r" % (i, st, name))
                clients.append(q)
            except (QMPError, OSError) as e:
                fails.append("vm%d: QMP: %r" % (i, e))
        print("queried %d VMs" % len(clients))
        for i, q in enumerate(clients):
            try:
                q.ok("quit")
            except (QMPError, OSError) as e:
                fails.append("quit %d: %r" % (i, e))
        deadline = time.time() + 120
        while time.time() < deadline and any(alive(p) for p in pids):
            time.sleep(0.1)
        for q in clients:
            q.close()
        left = [p for p in pids if alive(p)]
        if left:
            fails.append("processes left: %r" % left)
        for i in range(n):
            d = os.path.join(tmp, "vm%d" % i)
            for f in ("%s/vm%d.sock" % (sdir, i), "%s/vm%d.pid" % (sdir, i)):
                if os.path.exists(f):
                    fails.append("vm%d: %s left behind" % (i, f))
            with open(d + "/serial.txt", "rb") as f:
                if b"qmp_counter idle" not in f.read():
                    fails.append("vm%d: guest did not start" % i)
    finally:
        for p in pids:
            if alive(p):
                os.kill(p, 9)
        if fails:
            for i in range(min(n, 3)):
                try:
                    with open(os.path.join(tmp, "vm%d" % i, "log.txt")) as f:
                        print("--- vm%d log ---\n%s" % (i, f.read()[-2000:]))
                except OSError:
                    pass
        subprocess.run(["rm", "-rf", tmp, sdir])
    for f in fails:
        print("FAIL: " + f)
    print("%d VMs, %d failures, %.1f s" % (n, len(fails), time.time() - t0))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
