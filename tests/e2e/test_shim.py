"""berth-shim end to end: the shim creates a container through the runtime
under test, logs its output in json-file format, records its exit, serves
the control socket (start, state, kill, resize, wait, attach, exec, delete),
and lives on when whoever started it dies.

BERTH_SHIM is the shim binary (default build/dev/cmd/berth-shim/berth-shim).
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import pytest

from conftest import PATH_ENV, REPO, cgroup_dirs, pid_alive, wait_for

SHIM = os.environ.get("BERTH_SHIM") or str(REPO / "build/dev/cmd/berth-shim/berth-shim")
RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z$")


class Shim:
    def __init__(self, rt, b, tmp, flags=(), log_opts=(), argv_prefix=None):
        self.rt, self.bundle = rt, b
        self.state = tmp / f"shim-{b.cid[-6:]}"
        self.log = tmp / f"{b.cid[-6:]}-json.log"
        self.argv = [SHIM, "--id", b.cid, "--bundle", str(b.path), "--runtime", rt.path,
                     "--runtime-root", rt.root, "--state-dir", str(self.state),
                     "--log-path", str(self.log), *log_opts, *flags]
        rt.ids.add(b.cid)
        self.pid = None

    def launch(self):
        r = subprocess.run(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        self.adopt(int(r.stdout))
        return self

    def adopt(self, pid):
        self.pid = pid
        self.rt.track_pid(pid)
        self.rt.track_pid(self.request("state")["pid"])

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(str(self.state / "shim.sock"))
        return s

    def request(self, op, ok=True, **kw):
        with self.connect() as s:
            s.sendall((json.dumps({"op": op, **kw}) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        if ok is not None:
            assert reply["ok"] is ok, reply
        return reply

    def attach(self, **kw):
        """Returns (reply, stream socket) for an attach."""
        with self.connect() as s:
            s.sendall((json.dumps({"op": "attach", **kw}) + "\n").encode())
            msg, fds, _, _ = socket.recv_fds(s, 4096, 1)
        reply = json.loads(msg)
        assert reply["ok"], reply
        stream = socket.socket(fileno=fds[0])
        stream.settimeout(30)
        return reply, stream

    def wait(self, **kw):
        return self.request("wait", **kw)["exit"]

    def exit_json(self):
        # The shim records the exit after it has answered the waiters; any
        # later request is served after that (one loop).
        self.request("state")
        return json.loads((self.state / "exit.json").read_text())

    def log_entries(self):
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def delete(self, force=False):
        self.request("delete", force=force)
        wait_for(lambda: not pid_alive(self.pid), 10, "shim to exit after delete")

    def close(self):
        if self.pid and pid_alive(self.pid) and (self.state / "shim.sock").exists():
            try:
                self.request("delete", ok=None, force=True)
            except OSError:
                pass
            wait_for(lambda: not pid_alive(self.pid), 10, "shim to exit")


@pytest.fixture
def shim(rt, bundle, tmp_path):
    if not os.access(SHIM, os.X_OK):
        pytest.skip(f"shim binary {SHIM} not built")
    made = []

    def make(args, flags=(), log_opts=(), configure=None, launch=True):
        b = bundle(list(args))
        if configure:
            configure(b)
        b.write()
        s = Shim(rt, b, tmp_path, flags, log_opts)
        made.append(s)
        return s.launch() if launch else s

    yield make
    for s in made:
        s.close()


def read_frames(stream, until):
    """Docker-multiplexed frames from an attach stream: {1: b"...", 2: b"..."}."""
    out = {1: b"", 2: b""}
    buf = b""
    deadline = time.monotonic() + 10
    while not until(out) and time.monotonic() < deadline:
        chunk = stream.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            kind, size = struct.unpack(">BxxxI", buf[:8])
            if len(buf) < 8 + size:
                break
            out[kind] += buf[8:8 + size]
            buf = buf[8 + size:]
    return out


def test_output_is_logged_in_json_file_format_and_exit_recorded(shim, rt):
    s = shim(["sh", "-c", "echo out1; echo err1 >&2; echo out2; printf partial; exit 3"])
    assert s.request("state")["status"] == "created"
    s.request("start")
    ex = s.wait()
    assert ex["exit_code"] == 3 and ex["signal"] == 0 and ex["oom_killed"] is False
    assert s.exit_json() == ex
    assert RFC3339NANO.match(ex["exited_at"]), ex
    entries = s.log_entries()
    for e in entries:
        assert set(e) == {"log", "stream", "time"} and RFC3339NANO.match(e["time"]), e
    got = [(e["stream"], e["log"]) for e in entries]
    assert [g for g in got if g[0] == "stdout"] == [("stdout", "out1\n"), ("stdout", "out2\n"),
                                                    ("stdout", "partial")]
    assert [g for g in got if g[0] == "stderr"] == [("stderr", "err1\n")]
    st = s.request("state")
    assert st["status"] == "stopped" and st["exit"]["exit_code"] == 3
    s.delete()
    assert rt("state", s.bundle.cid).returncode != 0
    assert not (s.state / "shim.sock").exists()
    assert cgroup_dirs(s.bundle.cgroups_path) == []


def test_kill_through_control_socket_reports_137(shim):
    s = shim(["sleep", "100"])
    s.request("start")
    assert s.request("state")["status"] == "running"
    s.request("kill", signal=9)
    ex = s.wait()
    assert (ex["exit_code"], ex["signal"]) == (137, 9)
    assert s.exit_json()["exit_code"] == 137
    s.delete()


def test_delete_of_running_container_needs_force(shim, rt):
    s = shim(["sleep", "100"])
    s.request("start")
    r = s.request("delete", ok=False)
    assert r["code"] == "FailedPrecondition"
    init = s.request("state")["pid"]
    s.delete(force=True)
    wait_for(lambda: not pid_alive(init), 10, "container init to go")
    assert rt("state", s.bundle.cid).returncode != 0


def test_tty_container_through_console_socket(shim):
    def tty(b):
        b.process["terminal"] = True
    s = shim(["sh", "-c", "readlink /proc/self/fd/0; stty size; echo done"], flags=["--tty"],
             configure=tty)
    s.request("resize", height=40, width=100)
    s.request("start")
    assert s.wait()["exit_code"] == 0
    text = "".join(e["log"] for e in s.log_entries())
    assert "/dev/pts/" in text and "40 100" in text and "done" in text, text
    assert all(e["stream"] == "stdout" for e in s.log_entries())
    s.delete()


def test_tty_mismatch_is_refused_and_leaves_no_container(shim, rt):
    s = shim(["true"], flags=["--tty"], launch=False)
    r = subprocess.run(s.argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "terminal" in r.stderr, r.stderr
    assert rt("state", s.bundle.cid).returncode != 0


def test_create_failure_is_reported_to_the_starter(shim, rt):
    s = shim(["/no/such/binary"], launch=False)
    s.bundle.config["root"]["path"] = "missing-rootfs"
    s.bundle.write()
    r = subprocess.run(s.argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "create failed" in r.stderr, r.stderr
    assert rt("state", s.bundle.cid).returncode != 0


def test_attach_gets_output_and_feeds_stdin(shim):
    s = shim(["cat"], flags=["--stdin-once"])
    reply, stream = s.attach()
    assert reply["tty"] is False and reply["stdin"] is True
    s.request("start")
    stream.sendall(b"hello shim\n")
    out = read_frames(stream, lambda o: b"hello shim\n" in o[1])
    assert out[1] == b"hello shim\n"
    # Half-close: with --stdin-once cat sees EOF and exits 0; the stream ends.
    stream.shutdown(socket.SHUT_WR)
    assert s.wait()["exit_code"] == 0
    assert stream.recv(10) == b""
    stream.close()
    assert [e["log"] for e in s.log_entries()] == ["hello shim\n"]
    s.delete()


def test_attach_separates_stdout_and_stderr(shim):
    s = shim(["sh", "-c", "read x; echo to-out; echo to-err >&2"], flags=["--stdin"])
    _, stream = s.attach()
    s.request("start")
    stream.sendall(b"go\n")
    out = read_frames(stream, lambda o: o[1] and o[2])
    assert out == {1: b"to-out\n", 2: b"to-err\n"}
    assert s.wait()["exit_code"] == 0
    stream.close()
    s.delete()


def test_start_flag_runs_at_once_and_keeps_early_output_for_the_first_attach(shim):
    # --start: the runtime's `run --detach` at setup; the container may have
    # written (and even exited) before anyone attached.
    s = shim(["sh", "-c", "echo early; echo early-err >&2; exit 5"], flags=["--start"])
    deadline = time.monotonic() + 10
    while "exit" not in s.request("state") and time.monotonic() < deadline:
        time.sleep(0.02)
    st = s.request("state")
    assert st["status"] == "stopped" and st["exit"]["exit_code"] == 5
    _, stream = s.attach()
    out = read_frames(stream, lambda o: o[1] and o[2])
    assert out == {1: b"early\n", 2: b"early-err\n"}
    assert stream.recv(10) == b""  # exited: the stream ends after the output
    stream.close()
    assert s.request("start")["pid"] > 0
    # What was kept went to that first attach; a later one gets nothing old.
    _, late = s.attach()
    assert late.recv(10) == b""
    late.close()
    assert sorted((e["stream"], e["log"]) for e in s.log_entries()) == [("stderr", "early-err\n"),
                                                                       ("stdout", "early\n")]
    s.delete()


def test_start_flag_leaves_later_output_to_attaches_made_before_start(shim):
    s = shim(["sh", "-c", "echo first; read x; echo second"], flags=["--start", "--stdin"])
    _, stream = s.attach()
    s.request("start")
    stream.sendall(b"go\n")
    out = read_frames(stream, lambda o: b"second" in o[1])
    assert out[1] == b"first\nsecond\n"
    assert s.wait()["exit_code"] == 0
    stream.close()
    s.delete()


def test_shim_survives_kill_9_of_its_starter(shim, rt, tmp_path):
    s = shim(["sleep", "100"], launch=False)
    pidfile = tmp_path / "shim.out"
    cmd = " ".join(f"'{a}'" for a in s.argv) + f" > {pidfile} && exec sleep 100"
    starter = subprocess.Popen(["sh", "-c", cmd], start_new_session=True)
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 30, "shim ready")
    s.adopt(int(pidfile.read_text()))
    os.killpg(starter.pid, signal.SIGKILL)
    starter.wait()
    time.sleep(0.2)
    assert pid_alive(s.pid)
    with open(f"/proc/{s.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    assert int(fields[2]) == s.pid and int(fields[3]) == s.pid, "own process group and session"
    s.request("start")
    assert s.request("state")["status"] == "running"
    # sleep as PID 1 of its namespace ignores SIGTERM, which has no handler.
    s.request("kill", signal=9)
    assert s.wait()["exit_code"] == 137
    s.delete()


def test_shim_closes_inherited_descriptors(shim, tmp_path):
    s = shim(["sleep", "100"], launch=False)
    leaked = os.open(tmp_path / "leak", os.O_CREAT | os.O_RDWR)
    try:
        r = subprocess.run(s.argv, capture_output=True, text=True, timeout=30, pass_fds=[leaked])
    finally:
        os.close(leaked)
    assert r.returncode == 0, r.stderr
    s.adopt(int(r.stdout))
    targets = {os.readlink(f"/proc/{s.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{s.pid}/fd")}
    assert str(tmp_path / "leak") not in targets, targets
    s.delete(force=True)


def test_wait_blocks_until_exit(shim):
    s = shim(["sleep", "1"])
    s.request("start")
    t0 = time.monotonic()
    assert s.wait()["exit_code"] == 0
    assert time.monotonic() - t0 > 0.5
    s.delete()


def test_exec_output_exit_and_wait_exec(shim):
    s = shim(["sleep", "100"])
    s.request("start")
    proc = {"args": ["sh", "-c", "echo from-exec; echo exec-err >&2; exit 5"], "cwd": "/",
            "env": [PATH_ENV], "user": {"uid": 0, "gid": 0}}
    r = s.request("exec", exec_id="e1", process=proc)
    assert r["pid"] > 0
    ex = s.request("wait_exec", exec_id="e1")["exit"]
    assert ex["exit_code"] == 5
    # Output from before the attach is kept for the first attach.
    _, stream = s.attach(exec_id="e1")
    out = read_frames(stream, lambda o: False)
    assert out == {1: b"from-exec\n", 2: b"exec-err\n"}
    stream.close()
    assert s.request("state")["execs"]["e1"]["exit"]["exit_code"] == 5
    assert s.request("exec", ok=False, exec_id="e1", process=proc)["code"] == "AlreadyExists"
    assert s.request("exec", ok=False, exec_id="../x", process=proc)["code"] == "InvalidArgument"
    assert all("from-exec" not in e["log"] for e in s.log_entries())
    s.request("kill", signal=9)
    s.wait()
    s.delete()


def test_exec_with_stdin_and_kill(shim):
    s = shim(["sleep", "100"])
    s.request("start")
    proc = {"args": ["cat"], "cwd": "/", "env": [PATH_ENV], "user": {"uid": 0, "gid": 0}}
    s.request("exec", exec_id="cat", process=proc, stdin=True)
    _, stream = s.attach(exec_id="cat")
    stream.sendall(b"ping\n")
    assert read_frames(stream, lambda o: o[1] == b"ping\n")[1] == b"ping\n"
    stream.shutdown(socket.SHUT_WR)
    assert s.request("wait_exec", exec_id="cat")["exit"]["exit_code"] == 0
    stream.close()
    s.request("exec", exec_id="sleeper", process={**proc, "args": ["sleep", "100"]})
    s.request("kill", exec_id="sleeper", signal=9)
    assert s.request("wait_exec", exec_id="sleeper")["exit"]["exit_code"] == 137
    s.request("kill", signal=9)
    s.wait()
    s.delete()


def test_exec_with_tty_and_attach_raw(shim):
    s = shim(["sleep", "100"])
    s.request("start")
    proc = {"args": ["sh", "-c", "readlink /proc/self/fd/0; echo tty-exec"], "cwd": "/",
            "env": [PATH_ENV], "user": {"uid": 0, "gid": 0}}
    s.request("exec", exec_id="t", process=proc, tty=True)
    assert s.request("wait_exec", exec_id="t")["exit"]["exit_code"] == 0
    reply, stream = s.attach(exec_id="t")
    assert reply["tty"] is True
    data = b""
    while True:
        chunk = stream.recv(4096)
        if not chunk:
            break
        data += chunk
    stream.close()
    assert b"/dev/pts/" in data and b"tty-exec\r\n" in data, data
    s.request("kill", signal=9)
    s.wait()
    s.delete()


def test_log_rotation(shim, tmp_path):
    s = shim(["sh", "-c", "i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done"],
             log_opts=["--log-max-size", "1k", "--log-max-file", "3"])
    s.request("start")
    assert s.wait()["exit_code"] == 0
    files = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(s.log.name))
    assert files == [s.log.name, s.log.name + ".1", s.log.name + ".2"], files
    for name in files:
        assert (tmp_path / name).stat().st_size <= 1024
    assert s.log_entries()[-1]["log"] == "line-99\n"
    s.delete()


def test_oom_kill_is_recorded(shim):
    v1 = "/sys/fs/cgroup/memory/memory.oom_control"
    if not (os.path.exists("/sys/fs/cgroup/cgroup.controllers") or
            (os.path.exists(v1) and "oom_kill " in open(v1).read())):
        pytest.skip("no cgroup v2 memory.events and no oom_kill counter in v1 memory.oom_control")

    def limit(b):
        b.linux["resources"]["memory"] = {"limit": 16 << 20, "swap": 16 << 20}
    # dd allocates its whole 256 MiB block and fills it.
    s = shim(["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"], configure=limit)
    s.request("start")
    ex = s.wait()
    assert ex["oom_killed"] is True and ex["exit_code"] == 137, ex
    assert s.exit_json()["oom_killed"] is True
    s.delete()


def test_bad_requests_get_errors_and_the_shim_stays(shim):
    s = shim(["sleep", "100"])
    assert s.request("bogus", ok=False)["code"] == "InvalidArgument"
    assert s.request("wait_exec", ok=False, exec_id="nope")["code"] == "NotFound"
    assert s.request("resize", ok=False, height=1, width=1)["code"] == "FailedPrecondition"
    assert s.request("kill", ok=False, signal=999)["code"] == "InvalidArgument"
    with s.connect() as c:
        c.sendall(b"not json\n[1]\n")
        lines = b""
        while lines.count(b"\n") < 2:
            lines += c.recv(4096)
    assert all(json.loads(x)["ok"] is False for x in lines.splitlines())
    s.request("start")
    assert s.request("start", ok=False)["code"] == "Conflict"
    s.request("kill", signal=9)
    s.wait()
    s.delete()
