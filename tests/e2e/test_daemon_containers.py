"""Containers through berthd with the real docker CLI: run -d, logs, wait,
inspect, ps with filters, stop (timeout, then SIGKILL), kill, start again,
restart, rename, rm (-f, and the conflict for a running one), name
conflicts, a missing image, and the default container's isolation probed
with ctprobe. Every container, mount and shim is gone afterwards.
"""
import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from test_daemon_images import BUSYBOX_TAR, DOCKER, Daemon

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(DOCKER is None, reason="no docker CLI")]


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


@pytest.fixture
def d(tmp_path):
    daemon = Daemon(tmp_path)
    daemon.docker("load", "-i", BUSYBOX_TAR)
    yield daemon
    ids = daemon.docker("ps", "-aq", check=False).stdout.split()
    if ids:
        daemon.docker("rm", "-f", *ids, check=False)
    alive = daemon.alive()
    # (the runtime's cache of compiled seccomp filters, "@seccomp", stays)
    leftover_runtime = [p for p in (daemon.run / "runtime").glob("*") if p.name != "@seccomp"]
    leftover_shims = list((daemon.run / "s").glob("*"))
    daemon.stop()
    assert alive, "berthd died during the test"
    assert mounts_under(tmp_path) == [], "mounts left behind"
    assert leftover_runtime == [] and leftover_shims == [], "runtime or shim state left behind"
    # The engine's cgroup parent ("berth"): the runtime removes each
    # container's cgroup, the parent stays; remove it when it is empty.
    for parent in Path("/sys/fs/cgroup").glob("*/berth"):
        try:
            parent.rmdir()
        except OSError:
            pass
    for parent in Path("/sys/fs/cgroup").glob("berth"):
        try:
            parent.rmdir()
        except OSError:
            pass
    assert not any((tmp_path / "data/containers").glob("*")), "container directories left behind"


def test_run_detached_logs_wait_rm(d):
    cid = d.docker("run", "-d", "--name", "job", "busybox", "sh", "-c",
                   "echo out; echo err >&2; exit 3").stdout.strip()
    assert len(cid) == 64
    assert d.docker("wait", "job").stdout.strip() == "3"
    r = d.docker("logs", "job")
    assert r.stdout == "out\n" and r.stderr == "err\n"
    state = json.loads(d.docker("inspect", "job").stdout)[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 3 and not state["Running"]
    assert d.docker("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.strip() == "job Exited (3)"
    assert d.docker("ps", "-q").stdout == ""
    d.docker("rm", "job")
    assert d.docker("ps", "-aq").stdout == ""


def test_stop_kill_start_restart_rename(d):
    d.docker("run", "-d", "--name", "svc", "busybox", "sleep", "300")
    assert d.docker("ps", "--format", "{{.Names}}").stdout.split() == ["svc"]
    # sleep as PID 1 ignores SIGTERM: stop waits -t, then kills.
    start = time.monotonic()
    d.docker("stop", "-t", "1", "svc")
    assert time.monotonic() - start >= 0.9
    assert json.loads(d.docker("inspect", "svc").stdout)[0]["State"]["ExitCode"] == 137
    d.docker("start", "svc")
    assert json.loads(d.docker("inspect", "svc").stdout)[0]["State"]["Running"]
    d.docker("kill", "--signal", "KILL", "svc")
    assert d.docker("wait", "svc").stdout.strip() == "137"
    d.docker("restart", "-t", "0", "svc")
    assert d.docker("ps", "--filter", "status=running", "--format", "{{.Names}}").stdout.split() == ["svc"]
    d.docker("rename", "svc", "svc2")
    assert d.docker("ps", "--filter", "name=svc2", "-q").stdout.strip() != ""
    r = d.docker("rm", "svc2", check=False)
    assert r.returncode == 1 and "cannot remove a running container" in r.stderr
    d.docker("rm", "-f", "svc2")
    assert d.docker("ps", "-aq").stdout == ""


def test_list_follows_every_change_of_a_stopped_container(d):
    # berthd keeps each listed container's text while its record is the
    # same: every change must show in the next list.
    fmt = "{{.Names}} {{.Status}}"
    d.docker("create", "--name", "keep", "busybox", "sh", "-c", "exit 3")
    for _ in range(2):
        assert d.docker("ps", "-a", "--format", fmt).stdout.split("\n")[0] == "keep Created"
    d.docker("rename", "keep", "kept")
    assert d.docker("ps", "-a", "--format", fmt).stdout.split("\n")[0] == "kept Created"
    d.docker("start", "kept")
    assert d.docker("wait", "kept").stdout.strip() == "3"
    for _ in range(2):
        assert d.docker("ps", "-a", "--format", fmt).stdout.split("\n")[0].startswith("kept Exited (3)")
    d.docker("rm", "kept")
    assert d.docker("ps", "-aq").stdout == ""


def test_list_names_the_network_mode(d):
    # The list's HostConfig.NetworkMode is the container's, as inspect has it.
    d.docker("create", "--name", "nonet", "--network", "none", "busybox", "true")
    d.docker("create", "--name", "plain", "busybox", "true")
    conn = http.client.HTTPConnection("localhost", timeout=10)
    conn.sock = socket.socket(socket.AF_UNIX)
    conn.sock.settimeout(10)
    conn.sock.connect(str(d.sock))
    try:
        conn.request("GET", "/v1.41/containers/json?all=1")
        listed = {c["Names"][0]: c["HostConfig"]["NetworkMode"] for c in json.loads(conn.getresponse().read())}
    finally:
        conn.close()
    assert listed == {"/nonet": "none", "/plain": "default"}
    for name in ("nonet", "plain"):
        assert d.docker("inspect", "-f", "{{.HostConfig.NetworkMode}}", name).stdout.strip() == listed["/" + name]
    d.docker("rm", "nonet", "plain")


def test_no_process_inherits_the_api_socket(d):
    # Neither a shim nor a container holds the daemon's listening socket
    # (or the serving threads' copy of it): either could accept API
    # connections as the daemon.
    inodes = {line.split()[6] for line in Path("/proc/net/unix").read_text().splitlines()[1:]
              if line.split()[-1] == str(d.sock)}
    assert inodes
    d.docker("ps")  # the serving threads are started
    cid = d.docker("run", "-d", "busybox", "sleep", "60").stdout.strip()
    pid = int(d.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    shim = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    for p in (pid, shim):
        links = {os.readlink(f"/proc/{p}/fd/{n}") for n in os.listdir(f"/proc/{p}/fd")}
        assert not {f"socket:[{i}]" for i in inodes} & links, (p, links)
    d.docker("rm", "-f", cid)


def test_conflicts_and_missing(d):
    d.docker("create", "--name", "one", "busybox", "true")
    r = d.docker("create", "--name", "one", "busybox", "true", check=False)
    assert r.returncode == 1 and 'The container name "/one" is already in use' in r.stderr
    r = d.docker("create", "--name", "bad/name", "busybox", check=False)
    assert r.returncode == 1 and "Invalid container name" in r.stderr
    r = d.docker("run", "-d", "nosuchimage", check=False)
    assert r.returncode == 125 and "Unable to find image 'nosuchimage:latest' locally" in r.stderr
    assert "pulling images is not available yet" in r.stderr
    r = d.docker("logs", "nosuch", check=False)
    assert r.returncode == 1 and "No such container: nosuch" in r.stderr


def test_default_container_isolation_matches_docker(d, tmp_path):
    """ctprobe in a default `docker run` container: nothing weaker than
    Docker's default container (compare.py), the comparison being a test."""
    probe = Path(os.environ.get("BERTH_FIXTURES", "")) / "ctprobe"
    if not probe.exists():
        from conftest import FIXTURES
        probe = FIXTURES / "ctprobe"
    ref = Path(__file__).resolve().parents[1] / "fixtures/probe"
    docker_default = ref / "docker-default.txt"
    compare = ref / "compare.py"
    if not docker_default.exists() or not compare.exists():
        pytest.skip("probe reference files are not in tests/fixtures/probe")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    # An image with the probe: busybox plus /ctprobe, through import.
    rootfs = tmp_path / "rootfs.tar"
    from conftest import FIXTURES
    subprocess.run(["tar", "-C", str(FIXTURES / "busybox-rootfs"), "-cf", str(rootfs), "."], check=True)
    subprocess.run(["tar", "-C", str(probe.parent), "-rf", str(rootfs), "--transform", "s,^,,", probe.name],
                   check=True)
    d.docker("import", rootfs, "probe:1")
    cid = d.docker("run", "-d", "probe:1", "/ctprobe").stdout.strip()
    assert d.docker("wait", cid).stdout.strip() == "0"
    out = tmp_path / "berth.txt"
    out.write_text(d.docker("logs", cid).stdout)
    r = subprocess.run(["/usr/bin/python3", str(compare), str(docker_default), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_wait_after_start_never_sleeps_through_a_quick_exit(d):
    # create, start, wait (not-running), delete on one connection, as
    # docker-py and the benchmark do: `true` exits while the wait is being
    # set up, and the wait must see that exit whoever counted it first.
    conn = http.client.HTTPConnection("localhost", timeout=10)
    conn.sock = socket.socket(socket.AF_UNIX)
    conn.sock.settimeout(10)
    conn.sock.connect(str(d.sock))

    def call(method, path, body=None):
        conn.request(method, "/v1.41" + path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        assert r.status < 300, (method, path, r.status, data)
        return json.loads(data) if data else None

    try:
        for _ in range(120):
            cid = call("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"],
                                                      "HostConfig": {"NetworkMode": "none"}})["Id"]
            call("POST", f"/containers/{cid}/start")
            assert call("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
            call("DELETE", f"/containers/{cid}")
    finally:
        conn.close()
