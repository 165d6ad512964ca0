"""End-to-end harness: drives a runc-compatible runtime binary as root.

Environment:
  BERTH_RUNTIME   the binary under test (default: build/dev/cmd/berth-runtime/
                  berth-runtime). /usr/sbin/runc and /usr/bin/crun work too;
                  that is how the tests themselves are validated.
  BERTH_FIXTURES  the output of scripts/make-busybox (default build/fixtures).
  BERTH_E2E_HIDE_UNIFIED=1|0  force (or forbid) the private mount namespace
                  without /sys/fs/cgroup/unified; by default it is used only
                  for crun, which refuses hybrid cgroup hosts (crun 1.8).

Fixtures:
  rt          a Runtime bound to a private --root state directory; every
              container it saw is deleted with --force at teardown, leftover
              processes are killed by PID, and the test fails (as an error)
              if a state entry, a cgroup directory or a mount is left behind.
  bundle      a factory: bundle(args=[...]) -> Bundle with a fresh copy of the
              busybox rootfs and a config dict (runc-spec-like defaults) that
              the test adjusts before bundle.write().
  fixtures_dir, runtime_path.

A test asserts what a user sees: exit codes, stdout, the state JSON.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
import weakref
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = os.environ.get("BERTH_RUNTIME") or str(REPO / "build/dev/cmd/berth-runtime/berth-runtime")
FIXTURES = Path(os.environ.get("BERTH_FIXTURES") or REPO / "build/fixtures")
CGROUP_PARENT = "berth-e2e"
CGROUP_ROOT = Path("/sys/fs/cgroup")

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
PR_SET_CHILD_SUBREAPER = 36


# ---------------------------------------------------------------- host facts
def runtime_flavor(path=RUNTIME):
    name = os.path.basename(path)
    for flavor in ("runc", "crun"):
        if name.startswith(flavor):
            return flavor
    return "berth"


def is_mountpoint(path):
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def cgroup_hierarchies():
    """Mounted cgroup hierarchies: [(mountpoint, 'v1'|'v2')]."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fstype = post.split()[0]
            mp = pre.split()[4]
            if fstype == "cgroup":
                out.append((mp, "v1"))
            elif fstype == "cgroup2":
                out.append((mp, "v2"))
    return out


def is_hybrid():
    kinds = {k for _, k in cgroup_hierarchies()}
    return kinds == {"v1", "v2"}


def is_pure_v2():
    return is_mountpoint("/sys/fs/cgroup") and all(k == "v2" for _, k in cgroup_hierarchies())


def hide_unified_hierarchy():
    """Move this (single-threaded) pytest process into a private mount
    namespace where /sys/fs/cgroup/unified is unmounted, so that the host
    looks like pure cgroup v1. crun 1.8 refuses hybrid hosts outright; the
    runtime-tools and bench figures were taken this way. Every runtime
    started from here on inherits the namespace; the host is untouched."""
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["umount", "-l", "/sys/fs/cgroup/unified"], check=True)


def proc_stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state first),
    or None once the process is gone: a read racing its exit fails with
    ESRCH even after the open succeeded."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    fields = proc_stat_fields(pid)
    return bool(fields) and fields[0] != "Z"


class Reaper:
    """Collects exited container processes, as a shim would. pytest is a
    child subreaper, so container inits and detached exec processes are
    reparented to it; unreaped, a dead exec process keeps its pid-namespace
    init stuck in zap_pid_ns_processes and `delete --force` then hangs.
    Children that belong to a live subprocess.Popen are left to it (every
    Popen is registered under the lock before any of its children can be
    mistaken for a container process)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.status = {}
        self.popens = weakref.WeakSet()
        self._stop = threading.Event()
        self._thread = None

    def zombie_children(self):
        me = str(os.getpid())
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            fields = proc_stat_fields(entry)
            if fields and fields[0] == "Z" and fields[1] == me:
                out.append(int(entry))
        return out

    def collect(self):
        with self.lock:
            busy = {p.pid for p in list(self.popens) if p.returncode is None}
            for pid in self.zombie_children():
                if pid in busy:
                    continue
                try:
                    got, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    continue
                if got == pid:
                    self.status[pid] = status

    def start(self):
        def loop():
            while not self._stop.wait(0.05):
                self.collect()
        self._thread = threading.Thread(target=loop, name="reaper", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join()


REAPER = Reaper()


class _TrackedPopen(subprocess.Popen):
    def __init__(self, *args, **kwargs):
        with REAPER.lock:
            super().__init__(*args, **kwargs)
            REAPER.popens.add(self)


subprocess.Popen = _TrackedPopen


def exit_code(status):
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def wait_exit(pid, timeout=10.0):
    """Wait for a container process that was reparented to us and return its
    exit code the way a shell reports it (128+signal when killed); None if it
    was not our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        REAPER.collect()
        if pid in REAPER.status:
            return exit_code(REAPER.status.pop(pid))
        if not os.path.exists(f"/proc/{pid}"):
            return None
        time.sleep(0.02)
    raise TimeoutError(f"pid {pid} still running after {timeout}s")


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cgroup_dirs(cgroups_path):
    """Existing directories for cgroupsPath in every mounted hierarchy."""
    rel = cgroups_path.lstrip("/")
    return [Path(mp) / rel for mp, _ in cgroup_hierarchies() if (Path(mp) / rel).is_dir()]


def cgroup_file(cgroups_path, v1_ctrl_file, v2_file):
    """Path of a control file of the container's cgroup, v1 or v2."""
    rel = cgroups_path.lstrip("/")
    ctrl, _, fname = v1_ctrl_file.partition("/")
    v1 = CGROUP_ROOT / ctrl / rel / fname
    if v1.exists():
        return v1
    v2 = CGROUP_ROOT / rel / v2_file
    if v2.exists():
        return v2
    raise AssertionError(f"no cgroup file {v1} or {v2}")


# ---------------------------------------------------------------- the runtime
class Runtime:
    """The binary under test with a private --root."""

    def __init__(self, path, root, tmp):
        self.path = path
        self.root = str(root)
        self.tmp = Path(tmp)
        self.flavor = runtime_flavor(path)
        self.ids = set()       # containers to delete at teardown
        self.pids = {}         # pid -> starttime, processes to kill at teardown

    def cmd(self, *args, global_args=()):
        return [self.path, "--root", self.root, *global_args, *map(str, args)]

    def __call__(self, *args, input=None, timeout=60, global_args=(), stdin=None, **kw):
        """Run a subcommand with its output captured (text)."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        if input is None and stdin is None:
            stdin = subprocess.DEVNULL
        return subprocess.run(self.cmd(*args, global_args=global_args), input=input, stdin=stdin,
                              timeout=timeout, text=True, **kw)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, describe(r)
        return r

    def fails(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode != 0, "expected failure:\n" + describe(r)
        return r

    # -- lifecycle helpers; stdio of created containers goes to files because
    #    the container inherits it and would hold a pipe open.
    def create(self, bundle, cid=None, extra=(), check=True, console_socket=None):
        cid = cid or bundle.cid
        self.ids.add(cid)
        pid_file = bundle.path / "init.pid"
        args = ["create", "--bundle", bundle.path, "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        with open(bundle.path / "stdout", "ab") as out, open(bundle.path / "stderr", "ab") as err:
            r = subprocess.run(self.cmd(*args, *extra, cid), stdin=subprocess.DEVNULL,
                               stdout=out, stderr=err, timeout=60)
        r.stdout = ""
        r.stderr = (bundle.path / "stderr").read_text(errors="replace")
        if check:
            assert r.returncode == 0, describe(r)
            self.track_pid(int(pid_file.read_text()))
        return r

    def run_detached(self, bundle, cid=None, extra=()):
        cid = cid or bundle.cid
        self.ids.add(cid)
        pid_file = bundle.path / "init.pid"
        with open(bundle.path / "stdout", "ab") as out, open(bundle.path / "stderr", "ab") as err:
            r = subprocess.run(self.cmd("run", "-d", "--bundle", bundle.path, "--pid-file", pid_file,
                                        *extra, cid),
                               stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60)
        r.stderr = (bundle.path / "stderr").read_text(errors="replace")
        r.stdout = ""
        assert r.returncode == 0, describe(r)
        pid = int(pid_file.read_text())
        self.track_pid(pid)
        return pid

    def run(self, bundle, cid=None, extra=(), timeout=60, **kw):
        """Foreground run; returns CompletedProcess with the container's output."""
        cid = cid or bundle.cid
        self.ids.add(cid)
        return self("run", "--bundle", bundle.path, *extra, cid, timeout=timeout, **kw)

    def state(self, cid):
        r = self.ok("state", cid)
        return json.loads(r.stdout)

    def status(self, cid):
        r = self("state", cid)
        return json.loads(r.stdout)["status"] if r.returncode == 0 else None

    def wait_status(self, cid, status, timeout=10):
        return wait_for(lambda: self.status(cid) == status, timeout, f"{cid} to be {status}")

    def track_pid(self, pid):
        fields = proc_stat_fields(pid)
        self.pids[pid] = fields[19] if fields and len(fields) > 19 else None

    def same_process(self, pid):
        fields = proc_stat_fields(pid)
        return bool(fields) and len(fields) > 19 and fields[19] == self.pids.get(pid)


def known_difference(rt, flavor, reason):
    """Skip for a reference runtime that is known to differ from the runc
    contract; never for berth."""
    if rt.flavor == flavor:
        pytest.skip(f"{flavor} differs: {reason}")


def describe(r):
    cmd = r.args if isinstance(r.args, str) else " ".join(map(str, r.args))
    return f"$ {cmd}\nexit {r.returncode}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"


# ---------------------------------------------------------------- bundles
def base_config(cid, args=("sh",)):
    """What `runc spec` writes, with no terminal, the Docker default
    capabilities, and a cgroupsPath under berth-e2e/ so leaks can be found."""
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": [PATH_ENV, "TERM=xterm", "HOME=/root"],
            "cwd": "/",
            "capabilities": {k: list(DEFAULT_CAPS) for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "e2e",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "cgroupsPath": f"/{CGROUP_PARENT}/{cid}",
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


class Bundle:
    def __init__(self, path, cid, args):
        self.path = Path(path)
        self.cid = cid
        self.rootfs = self.path / "rootfs"
        self.config = base_config(cid, args)

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    @property
    def cgroups_path(self):
        return self.config["linux"].get("cgroupsPath", f"/{self.cid}")

    def write(self, raw=None):
        """Write config.json (the dict, or raw text for bad-input tests)."""
        text = raw if raw is not None else json.dumps(self.config, indent=1)
        (self.path / "config.json").write_text(text)
        return self

    def stdout(self):
        p = self.path / "stdout"
        return p.read_text(errors="replace") if p.exists() else ""


# ---------------------------------------------------------------- fixtures
def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def runtime_path():
    if os.geteuid() != 0:
        pytest.skip("end-to-end tests need root")
    if not os.access(RUNTIME, os.X_OK):
        pytest.skip(f"runtime binary {RUNTIME} not built")
    return RUNTIME


@pytest.fixture(scope="session")
def fixtures_dir():
    rootfs = FIXTURES / "busybox-rootfs"
    if not (rootfs / "bin/busybox").exists():
        subprocess.run([str(REPO / "scripts/make-busybox"), str(FIXTURES)], check=True,
                       stdout=subprocess.DEVNULL)
    return FIXTURES


@pytest.fixture(scope="session", autouse=True)
def _session_host(runtime_path):
    """Become a child subreaper (like a shim): container inits are reparented
    to us, so their exit status can be collected with waitpid. For crun on a
    hybrid host, hide the v2 hierarchy (see hide_unified_hierarchy)."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    REAPER.start()
    hide = os.environ.get("BERTH_E2E_HIDE_UNIFIED")
    if hide == "1" or (hide is None and runtime_flavor(runtime_path) == "crun" and is_hybrid()):
        hide_unified_hierarchy()
    yield
    REAPER.stop()
    REAPER.collect()
    # The parent at each hierarchy's root, and the one a relative
    # cgroupsPath made under our own cgroup (test_relative_cgroups_path).
    own = {line.rstrip("\n").split(":", 2)[2] for line in open("/proc/self/cgroup")}
    for mp, _ in cgroup_hierarchies():
        for base in {"/"} | own:
            parent = Path(mp + base.rstrip("/")) / CGROUP_PARENT
            if parent.is_dir():
                try:
                    parent.rmdir()
                except OSError:
                    pass


@pytest.fixture
def rt(runtime_path, tmp_path):
    root = tmp_path / "state"
    runtime = Runtime(runtime_path, root, tmp_path)
    yield runtime
    problems = cleanup(runtime, tmp_path)
    if problems:
        pytest.fail("left behind after the test:\n  " + "\n  ".join(problems))


def describe_pid(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read()
        return (f"{cmd!r} name={fields['Name'].strip()} state={fields['State'].strip()} "
                f"ppid={fields['PPid'].strip()} wchan={wchan}")
    except OSError:
        return "gone"


def cleanup(runtime, tmp_path):
    """Delete every container, kill what is left, and report what leaked."""
    ids = set(runtime.ids)
    if os.path.isdir(runtime.root):
        r = runtime("list", "--format", "json")
        if r.returncode == 0 and r.stdout.strip() not in ("", "null"):
            try:
                ids |= {c["id"] for c in json.loads(r.stdout)}
            except (ValueError, KeyError, TypeError):
                pass
    problems = []
    for cid in sorted(ids):
        try:
            r = runtime("delete", "--force", cid, timeout=30)
        except subprocess.TimeoutExpired:
            problems.append(f"delete --force {cid} hung for 30s")
            continue
        if r.returncode != 0 and runtime("state", cid).returncode == 0:
            problems.append(f"delete --force {cid} failed: {r.stderr.strip()}")
    # A pid namespace's init lingers in zap_pid_ns_processes until its
    # reparented children (detached exec processes, now ours as subreaper)
    # are reaped: reap them and give the kernel a moment.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(runtime.same_process(p) and pid_alive(p) for p in runtime.pids):
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.05)
    for pid in list(runtime.pids):
        if runtime.same_process(pid) and pid_alive(pid):
            problems.append(f"process {pid} still running after delete --force: {describe_pid(pid)}")
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while runtime.same_process(pid) and time.monotonic() < deadline:
            REAPER.collect()
            time.sleep(0.02)
        REAPER.status.pop(pid, None)
    if os.path.isdir(runtime.root):
        left = [e for e in os.listdir(runtime.root) if e in ids]
        if left:
            problems.append(f"state entries in {runtime.root}: {left}")
    for cid in ids:
        for d in cgroup_dirs(f"/{CGROUP_PARENT}/{cid}"):
            problems.append(f"cgroup directory {d}")
            for sub in sorted(d.rglob("*"), reverse=True):
                if sub.is_dir():
                    try:
                        sub.rmdir()
                    except OSError:
                        pass
            try:
                d.rmdir()
            except OSError:
                pass
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    for mp in mounts:
        if mp.startswith(str(tmp_path)):
            problems.append(f"mount {mp}")
    for mp in sorted((m for m in mounts if m.startswith(str(tmp_path))), reverse=True):
        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
    return problems


@pytest.fixture
def bundle(fixtures_dir, tmp_path, request):
    """bundle(args=[...], name=None) -> Bundle (config not yet written)."""
    counter = [0]

    def make(args=("sh",), name=None, rootfs=True):
        counter[0] += 1
        test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name.replace("test_", ""))[:24].strip("-")
        cid = name or f"e2e-{test}-{uuid.uuid4().hex[:6]}"
        path = tmp_path / f"bundle{counter[0]}"
        path.mkdir()
        if rootfs:
            subprocess.run(["cp", "-a", str(fixtures_dir / "busybox-rootfs"), str(path / "rootfs")],
                           check=True)
        return Bundle(path, cid, args)

    return make
