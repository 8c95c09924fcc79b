"""A small QMP client for the tests (QEMU docs/interop/qmp-spec.rst): JSON
over an AF_UNIX stream socket, standard library only. Events that arrive
while waiting for an answer are kept in .events for wait_event()."""
import json
import os
import socket
import sys
import time

# The /dev/kvm probe is guest-tests/harness.py's (one for every test script).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "guest-tests"))
from harness import kvm_usable  # noqa: E402,F401  (re-exported to test_qmp_*.py)


class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path, timeout=30.0, negotiate=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        self.greeting = self.recv()
        if not isinstance(self.greeting, dict) or "QMP" not in self.greeting:
            raise QMPError("no greeting: %r" % (self.greeting,))
        if negotiate:
            r = self.cmd("qmp_capabilities")
            if r != {"return": {}}:
                raise QMPError("qmp_capabilities: %r" % (r,))

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=None):
        """The next message (answer or event), parsed; None at EOF."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:    # closed with our input unread
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line.decode("utf-8"))

    def answer(self, timeout=None):
        """The next non-event message (events are kept)."""
        while True:
            m = self.recv(timeout)
            if m is None or "event" not in m:
                return m
            self.events.append(m)

    def cmd(self, name, args=None, id=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        if id is not None:
            req["id"] = id
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.answer()

    def ok(self, name, args=None):
        r = self.cmd(name, args)
        if r is None or "return" not in r:
            raise QMPError("%s: %r" % (name, r))
        return r["return"]

    def wait_event(self, name, timeout=60.0):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            left = deadline - time.time()
            if left <= 0:
                raise QMPError("no %s event within %.0f s (have %r)" % (name, timeout, self.events))
            try:
                m = self.recv(left)
            except socket.timeout:
                continue
            if m is None:
                raise QMPError("connection closed waiting for %s (have %r)" % (name, self.events))
            if "event" in m:
                self.events.append(m)


def wait_for_socket(path, proc=None, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.close()
                return True
            except OSError:
                pass
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def socket_dir(prefix="qmp-"):
    """A new directory where AF_UNIX sockets can be bound. The temporary
    directory first; scripts/with-kvm's /tmp is the host's over 9p, where
    bind() fails (ENXIO), so then a local tmpfs (/dev/shm, /run, /dev)."""
    import tempfile
    for base in (None, "/dev/shm", "/run", "/dev"):
        try:
            d = tempfile.mkdtemp(prefix=prefix, dir=base)
        except OSError:
            continue
        probe = os.path.join(d, "probe.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(probe)
            os.unlink(probe)
            return d
        except OSError:
            os.rmdir(d)
        finally:
            s.close()
    raise QMPError("no directory allows AF_UNIX sockets")
