"""berth starts berthd itself when nothing listens on the default socket.

The test runs in a private mount namespace whose /run, /var/lib and
/var/log are the test's own directories, so the default socket
(/run/berth/berth.sock), data root and log are the test's, not the host's.
The daemon berth starts keeps that namespace alive; the test reaches it with
nsenter and stops it (by PID) at the end.
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import describe
from test_cli import BERTH
from test_daemon_images import BUSYBOX_TAR

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def daemons_in(mnt_ns):
    """PIDs of berthd processes in the mount namespace `mnt_ns`."""
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if os.readlink(p / "ns/mnt") != mnt_ns:
                continue
            argv0 = (p / "cmdline").read_bytes().split(b"\0")[0]
            if os.path.basename(argv0) == b"berthd" and (p / "stat").read_text().split(")")[1].split()[0] != "Z":
                found.append(int(p.name))
        except OSError:
            continue
    return found


def stop(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(200):
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def ns(tmp_path):
    """A shell held in a private mount namespace with the test's /run,
    /var/lib and /var/log; yields a function that runs a script in it."""
    for d in ("run", "lib", "log"):
        (tmp_path / d).mkdir()
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         f"mount --bind {tmp_path}/run /run && mount --bind {tmp_path}/lib /var/lib && "
         f"mount --bind {tmp_path}/log /var/log && echo ready && exec sleep 600"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "ready\n"
    mnt_ns = os.readlink(f"/proc/{holder.pid}/ns/mnt")
    env = {k: v for k, v in os.environ.items() if k not in ("BERTH_HOST", "DOCKER_HOST", "BERTH_NO_AUTOSTART")}

    def sh(script, check=True, extra_env=None):
        r = subprocess.run(["nsenter", "-t", str(holder.pid), "-m", "--", "sh", "-c", script],
                           capture_output=True, text=True, timeout=120, env=dict(env, **(extra_env or {})))
        if check and r.returncode != 0:
            pytest.fail(describe(r))
        return r
    sh.mnt_ns = mnt_ns
    yield sh
    for pid in daemons_in(mnt_ns):
        sh(f"{BERTH} rm -f $({BERTH} ps -aq) 2>/dev/null", check=False)
        stop(pid)
    holder.kill()
    holder.wait()
    # The daemon's own cgroup (see src/cli/autostart.cpp), empty once it is gone.
    for cg in (Path("/sys/fs/cgroup/berthd"), Path("/sys/fs/cgroup/unified/berthd"),
               Path("/sys/fs/cgroup/systemd/berthd")):
        if cg.exists():
            cg.rmdir()
    for parent in [*Path("/sys/fs/cgroup").glob("*/berth"), Path("/sys/fs/cgroup/berth")]:
        try:
            parent.rmdir()
        except OSError:
            pass


def test_first_run_starts_the_daemon(ns):
    # Not started: when told not to, or for any socket but the default one.
    for env, args in (({"BERTH_NO_AUTOSTART": "1"}, ""), ({}, "-H unix:///run/berth/other.sock"),
                      ({"BERTH_HOST": "unix:///run/other.sock"}, ""),
                      ({"DOCKER_HOST": "unix:///run/other.sock"}, "")):
        r = ns(f"{BERTH} {args} ps", check=False, extra_env=env)
        assert r.returncode == 125 and "Cannot connect to the berth daemon" in r.stderr, describe(r)
        assert daemons_in(ns.mnt_ns) == []

    # Two CLIs at once: one daemon, and both get their answer.
    r = ns(f"{BERTH} version --format '{{{{.Server.Os}}}}' > /run/a 2>/run/a.err & "
           f"{BERTH} version --format '{{{{.Server.Os}}}}' > /run/b 2>/run/b.err & wait; "
           "cat /run/a /run/b /run/a.err /run/b.err")
    assert r.stdout.startswith("linux\nlinux\n"), describe(r)
    assert r.stdout.count("starting it") == 1, describe(r)
    pids = daemons_in(ns.mnt_ns)
    assert len(pids) == 1
    pid = pids[0]

    # The README's quick start.
    r = ns(f"{BERTH} load -i {BUSYBOX_TAR} && {BERTH} run --rm busybox echo hello")
    assert r.stdout.endswith("hello\n") and "starting" not in r.stderr

    # Detached: not in our session, no terminal, stdio to the log, its own cgroup.
    assert os.getsid(pid) != os.getsid(0)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert stat[4] == "0", "berthd has a controlling terminal"
    fds = ns(f"readlink /proc/{pid}/fd/0 /proc/{pid}/fd/1 /proc/{pid}/fd/2").stdout.split()
    assert fds == ["/dev/null", "/var/log/berth/berthd.log", "/var/log/berth/berthd.log"]
    cgroup = Path(f"/proc/{pid}/cgroup").read_text()
    assert "0::/berthd\n" in cgroup, cgroup
    assert ns("cat /var/log/berth/berthd.log").stdout != ""

    # Gone again (a crash, a reboot): the next command starts a new one.
    stop(pid)
    r = ns(f"{BERTH} images -q")
    assert len(r.stdout.split()) == 1 and "starting it" in r.stderr
    assert len(daemons_in(ns.mnt_ns)) == 1


def test_daemon_command_runs_berthd_in_the_foreground(ns):
    r = ns(f"{BERTH} daemon --help")
    assert "--data-root" in r.stdout
    assert daemons_in(ns.mnt_ns) == []
