"""containerd drives Berth's runtime: `ctr run --runc-binary berth-runtime`.

The test starts Debian's containerd 1.6 on a private socket, root and state
directory (CRI and every plugin that wants the network disabled, overlayfs
snapshotter), imports the busybox image that scripts/make-busybox writes, and
runs containers through containerd-shim-runc-v2, which calls our runtime
exactly as it calls runc: exit codes, a detached container with `exec`, `ps`,
pause/resume, a memory limit, kill, delete, and a terminal session (`ctr run
-t` inside a pseudo-terminal that the test types into).

Which runtime: BERTH_RUNTIME, as for the other end-to-end tests (default
build/dev/cmd/berth-runtime/berth-runtime; /usr/sbin/runc and /usr/bin/crun
are how this test was validated). BERTH_CONTAINERD_RUNTIMES, a comma-separated
list of `berth`, `runc`, `crun` or paths, runs the module once for each. The
image comes from BERTH_FIXTURES (default build/fixtures).

containerd runs in a private mount namespace (`unshare -m`), so the overlay
mounts of snapshots and task root filesystems never appear on the host and go
away with their last process. crun 1.8 refuses the hybrid cgroup layout, so
for crun /sys/fs/cgroup/unified is detached inside that namespace
(BERTH_E2E_HIDE_UNIFIED=1 forces it for every runtime, =0 forbids it).

Everything the test makes is removed at the end: tasks, containers, images,
the cgroups containerd asked for, the shims (by PID), containerd (by PID) and
the temporary directory.
"""

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
NAMESPACE = "berthtest"
KNOWN = {"runc": "/usr/sbin/runc", "crun": "/usr/bin/crun"}
MEMORY_LIMIT = 64 * 1024 * 1024


def berth_runtime_path():
    return os.environ.get("BERTH_RUNTIME") or str(REPO / "build/dev/cmd/berth-runtime/berth-runtime")


def selected_runtimes():
    names = os.environ.get("BERTH_CONTAINERD_RUNTIMES")
    if not names:
        return [berth_runtime_path()]
    return [n.strip() for n in names.split(",") if n.strip()]


def resolve_runtime(name):
    if name == "berth":
        return berth_runtime_path()
    return KNOWN.get(name, name)


def flavor(path):
    base = os.path.basename(path)
    return next((f for f in ("runc", "crun") if base.startswith(f)), "berth")


def hide_unified(path):
    want = os.environ.get("BERTH_E2E_HIDE_UNIFIED")
    if want is not None:
        return want == "1"
    return flavor(path) == "crun" and os.path.ismount("/sys/fs/cgroup/unified")


def fixtures():
    return Path(os.environ.get("BERTH_FIXTURES") or REPO / "build" / "fixtures")


def require_host():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in (CONTAINERD, CTR, "/usr/bin/containerd-shim-runc-v2", "/usr/bin/unshare"):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"{tool} is not installed")


class Containerd:
    """One private containerd and the `ctr` client bound to it."""

    def __init__(self, runtime_name, runtime_path, detach_unified):
        self.runtime_name = runtime_name
        self.runtime = runtime_path
        self.detach_unified = detach_unified
        self.tmp = Path(tempfile.mkdtemp(prefix="berth-ctd-"))
        self.sock = str(self.tmp / "containerd.sock")
        self.runc_root = str(self.tmp / "runc-root")
        self.log_path = self.tmp / "containerd.log"
        self.proc = None
        self.image = None
        self.counter = 0

    # -- daemon ------------------------------------------------------------

    def write_config(self):
        t = self.tmp
        cfg = f"""version = 2
root = "{t}/root"
state = "{t}/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[debug]
  address = ""
  level = "debug"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{t}/opt"
"""
        path = t / "config.toml"
        path.write_text(cfg)
        return path

    def start(self):
        config = self.write_config()
        # `unshare -m` execs the shell, which execs containerd: one PID to kill.
        # Mounts are made private first so that the umount never reaches the host.
        script = ""
        if self.detach_unified:
            script += "umount -l /sys/fs/cgroup/unified 2>/dev/null; "
        script += f'exec {CONTAINERD} -c "$1"'
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", str(config)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if os.path.exists(self.sock) and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"containerd did not answer on {self.sock} within 30 s:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- client ------------------------------------------------------------

    def ctr(self, *args, check=True, timeout=60, input=None):
        cmd = [CTR, "-a", self.sock, "-n", NAMESPACE, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} -> {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}\n"
                f"containerd log:\n{self.log_tail()}")
        return r

    def run_args(self):
        return ["--runc-binary", self.runtime, "--runc-root", self.runc_root]

    def new_id(self, what):
        self.counter += 1
        return f"{what}-{os.getpid()}-{self.counter}"

    def import_image(self, tarball):
        self.ctr("images", "import", str(tarball), timeout=120)
        names = self.ctr("images", "ls", "-q").stdout.split()
        assert names, "ctr images import left no image"
        self.image = next((n for n in names if "busybox" in n), names[0])

    def task_status(self, cid):
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == cid:
                return int(fields[1]), fields[2]
        return None, None

    # -- teardown ----------------------------------------------------------

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            for tid in self.ctr("task", "ls", "-q", check=False).stdout.split():
                self.ctr("task", "kill", "-s", "SIGKILL", tid, check=False)
                self.ctr("task", "delete", "-f", tid, check=False)
            for cid in self.ctr("containers", "ls", "-q", check=False).stdout.split():
                self.ctr("containers", "delete", cid, check=False)
            for img in self.ctr("images", "ls", "-q", check=False).stdout.split():
                self.ctr("images", "rm", "--sync", img, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        kill_shims(self.sock)
        remove_cgroups(f"/{NAMESPACE}")
        unmount_under(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)


def kill_shims(sock):
    """SIGKILL every containerd-shim started for our socket, by PID."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and sock.encode() in argv:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass


def remove_cgroups(rel):
    """rmdir the namespace's (empty) cgroup in every hierarchy; busy ones stay."""
    base = Path("/sys/fs/cgroup")
    candidates = [base / rel.lstrip("/")]
    if base.is_dir():
        candidates += [d / rel.lstrip("/") for d in base.iterdir() if d.is_dir()]
    for c in candidates:
        if c.is_dir():
            for child in sorted(c.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                if child.is_dir():
                    try:
                        child.rmdir()
                    except OSError:
                        pass
            try:
                c.rmdir()
            except OSError:
                pass


def unmount_under(root):
    root = str(root)
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == root or mp.startswith(root + "/"):
                mounts.append(mp)
    for mp in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


# -- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="module", params=selected_runtimes(), ids=lambda p: flavor(resolve_runtime(p)))
def ctd(request):
    require_host()
    path = resolve_runtime(request.param)
    if not os.access(path, os.X_OK):
        pytest.skip(f"runtime {path} not built")
    tarball = fixtures() / "busybox.tar"
    if not tarball.exists():
        pytest.skip(f"{tarball} missing: run scripts/make-busybox")
    c = Containerd(flavor(path), path, hide_unified(path))
    try:
        c.start()
        c.import_image(tarball)
        yield c
    finally:
        c.cleanup()


@pytest.fixture
def detached(ctd):
    """A running container whose PID 1 sleeps, with a memory limit."""
    cid = ctd.new_id("detached")
    ctd.ctr("run", "-d", *ctd.run_args(), "--memory-limit", str(MEMORY_LIMIT), ctd.image, cid,
            "sleep", "100000")
    try:
        yield cid
    finally:
        ctd.ctr("task", "kill", "-s", "SIGKILL", cid, check=False)
        ctd.ctr("task", "delete", "-f", cid, check=False)
        ctd.ctr("containers", "delete", cid, check=False)


def wait_status(ctd, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        _, status = ctd.task_status(cid)
        if status == want:
            return
        time.sleep(0.1)
    raise AssertionError(f"task {cid}: status {status}, want {want}")


# -- tests ------------------------------------------------------------------


def test_exit_codes_and_output(ctd):
    r = ctd.ctr("run", "--rm", *ctd.run_args(), ctd.image, ctd.new_id("exit"), "sh", "-c", "exit 3",
                check=False)
    assert r.returncode == 3, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    r = ctd.ctr("run", "--rm", *ctd.run_args(), ctd.image, ctd.new_id("echo"), "echo", "hello", "berth")
    assert r.stdout.strip() == "hello berth"
    r = ctd.ctr("run", "--rm", *ctd.run_args(), ctd.image, ctd.new_id("true"), "true", check=False)
    assert r.returncode == 0, r.stderr


def test_detached_exec_and_ps(ctd, detached):
    pid, status = ctd.task_status(detached)
    assert status == "RUNNING" and pid and pid > 0
    r = ctd.ctr("task", "exec", "--exec-id", "x", detached, "sh", "-c", "echo exec-ok; exit 5", check=False)
    assert r.returncode == 5, f"stdout: {r.stdout}\nstderr: {r.stderr}"
    assert r.stdout.strip() == "exec-ok"
    # The exec'd process sees the container's PID namespace: sleep is PID 1.
    r = ctd.ctr("task", "exec", "--exec-id", "y", detached, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert r.stdout.strip() == "sleep 100000"
    r = ctd.ctr("task", "ps", detached)
    pids = [int(line.split()[0]) for line in r.stdout.splitlines()[1:] if line.strip()]
    assert pid in pids, r.stdout


def test_pause_resume(ctd, detached):
    ctd.ctr("task", "pause", detached)
    wait_status(ctd, detached, "PAUSED")
    ctd.ctr("task", "resume", detached)
    wait_status(ctd, detached, "RUNNING")
    r = ctd.ctr("task", "exec", "--exec-id", "after-resume", detached, "true", check=False)
    assert r.returncode == 0, r.stderr


def memory_limit_of(pid):
    """The memory limit of the cgroup that `pid` is in, from the host's view."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return int(Path(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes").read_text())
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, controllers, path = line.split(":", 2)
        if hid == "0" and not controllers:
            f = Path(f"/sys/fs/cgroup{path}/memory.max")
            if f.exists():
                return int(f.read_text())
    raise AssertionError(f"no memory cgroup for pid {pid}")


def test_memory_limit(ctd, detached):
    pid, _ = ctd.task_status(detached)
    assert memory_limit_of(pid) == MEMORY_LIMIT


def test_kill_and_delete(ctd, detached):
    pid, _ = ctd.task_status(detached)
    # sleep is PID 1 of its namespace, which ignores SIGTERM without a handler.
    ctd.ctr("task", "kill", "-s", "SIGKILL", detached)
    wait_status(ctd, detached, "STOPPED")
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    ctd.ctr("task", "delete", detached)
    assert detached not in ctd.ctr("task", "ls", "-q").stdout.split()
    ctd.ctr("containers", "delete", detached)
    assert detached not in ctd.ctr("containers", "ls", "-q").stdout.split()
    # The runtime removed its state; nothing of it is left under its root.
    state = Path(ctd.runc_root) / NAMESPACE / detached
    assert not state.exists(), f"{state} left behind: {list(state.iterdir())}"


def read_until(fd, pattern, buf, timeout=15):
    deadline = time.monotonic() + timeout
    while not re.search(pattern, buf[0]):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"terminal: no {pattern!r} within {timeout}s; got {buf[0]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            data = b""
        if not data:
            raise AssertionError(f"terminal closed before {pattern!r}; got {buf[0]!r}")
        buf[0] += data.decode(errors="replace")


def test_terminal_session(ctd):
    cid = ctd.new_id("tty")
    argv = [CTR, "-a", ctd.sock, "-n", NAMESPACE, "run", "-t", "--rm", *ctd.run_args(), ctd.image, cid, "sh"]
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(CTR, argv)
        finally:
            os._exit(127)
    buf = [""]
    try:
        read_until(fd, r"# $|# \x1b|#\s*$", buf)
        os.write(fd, b"echo h''i\r")
        # `h''i` as typed is echoed back; only the shell's output reads "hi".
        read_until(fd, r"\nhi\r*\n", buf)
        os.write(fd, b"exit 7\r")
        deadline = time.monotonic() + 15
        while True:
            try:
                data = os.read(fd, 4096) if select.select([fd], [], [], 0.2)[0] else b"."
            except OSError:
                data = b""
            if data and data != b".":
                buf[0] += data.decode(errors="replace")
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"ctr run -t did not exit; terminal: {buf[0]!r}")
        pid = 0
        assert os.waitstatus_to_exitcode(status) == 7, f"terminal: {buf[0]!r}"
    finally:
        os.close(fd)
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        ctd.ctr("task", "kill", "-s", "SIGKILL", cid, check=False)
        ctd.ctr("task", "delete", "-f", cid, check=False)
        ctd.ctr("containers", "delete", cid, check=False)
