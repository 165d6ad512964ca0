"""process.terminal with --console-socket: the runtime sends the pty master
over a Unix socket with SCM_RIGHTS (what containerd's shim and conmon do)."""
import json
import os
import select
import socket
import threading
import time

from conftest import PATH_ENV, describe, wait_exit


class ConsoleReceiver:
    """A Unix socket that accepts one connection and takes one fd from it."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.fd = None
        self.error = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            self.sock.settimeout(30)
            conn, _ = self.sock.accept()
            with conn:
                _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
                self.fd = fds[0] if fds else None
        except Exception as e:  # reported by master()
            self.error = e

    def master(self, timeout=30):
        self.thread.join(timeout)
        assert self.fd is not None, f"no pty master received: {self.error}"
        return self.fd

    def close(self):
        self.sock.close()
        if self.fd is not None:
            os.close(self.fd)


def read_until(fd, needle, timeout=10):
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:        # EIO: the slave side is closed
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_console_socket_receives_pty_master(rt, bundle, tmp_path):
    b = bundle(["sh", "-c", "tty; stty size; echo ready; read line; echo got:$line"])
    b.process["terminal"] = True
    b.process["consoleSize"] = {"height": 33, "width": 111}
    b.write()
    rx = ConsoleReceiver(tmp_path / "console.sock")
    try:
        rt.create(b, console_socket=rx.path)
        master = rx.master()
        rt.ok("start", b.cid)
        out = read_until(master, b"ready")
        text = out.decode(errors="replace")
        assert "/dev/pts/0" in text or "/dev/console" in text, text
        assert "33 111" in text, f"consoleSize applied: {text!r}"
        os.write(master, b"hello\n")
        out = read_until(master, b"got:hello")
        assert b"got:hello" in out, out
        pid = int((b.path / "init.pid").read_text())
        assert wait_exit(pid) == 0
    finally:
        rx.close()


def test_terminal_without_console_socket_fails(rt, bundle):
    b = bundle(["true"])
    b.process["terminal"] = True
    b.write()
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert "console" in r.stderr.lower() or "terminal" in r.stderr.lower(), describe(r)


def test_exec_with_terminal(rt, bundle, tmp_path):
    b = bundle(["sleep", "60"]).write()
    rt.run_detached(b)
    rx = ConsoleReceiver(tmp_path / "exec-console.sock")
    proc = {"terminal": True, "user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "tty; echo exec-ready"],
            "env": [PATH_ENV, "TERM=xterm"], "cwd": "/"}
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps(proc))
    try:
        with open(tmp_path / "exec.out", "wb") as out:
            r = rt("exec", "--process", pf, "--detach", "--console-socket", rx.path,
                   "--pid-file", tmp_path / "exec.pid", b.cid, stdout=out, stderr=out)
        assert r.returncode == 0, (tmp_path / "exec.out").read_text()
        rt.track_pid(int((tmp_path / "exec.pid").read_text()))
        out = read_until(rx.master(), b"exec-ready").decode(errors="replace")
        assert "/dev/pts/" in out and "exec-ready" in out, out
    finally:
        rx.close()


def test_devpts_gives_ptys_inside(rt, bundle):
    b = bundle(["sh", "-c", "ls -l /dev/ptmx; ls /dev/pts"]).write()
    r = rt.run(b)
    assert r.returncode == 0, describe(r)
    assert "ptmx" in r.stdout
