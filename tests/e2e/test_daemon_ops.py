"""Container operations through berthd with the real docker CLI and
docker-py: top, stats, pause/unpause (and stop, kill, rm -f of a paused
container), diff, export, commit (and running the committed image), prune
and resize. Every container, mount, shim and cgroup is gone afterwards
(the `d` fixture of test_daemon_containers checks it).
"""
import io
import json
import os
import tarfile
import time

import pytest

from test_daemon_containers import d  # noqa: F401 (the fixture)
from test_daemon_images import DOCKER

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(DOCKER is None, reason="no docker CLI")]


def state(d, name):
    return json.loads(d.docker("inspect", name).stdout)[0]["State"]


def client(d):
    docker = pytest.importorskip("docker")
    return docker.DockerClient(base_url=f"unix://{d.sock}", version="auto")


def until(fn, what, timeout=30):
    """Poll for a condition the test needs before it can go on (not a timing check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def test_top(d):
    d.docker("run", "-d", "--name", "top1", "busybox", "sh", "-c", "sleep 301 & sleep 302; echo done")
    until(lambda: "sleep 302" in d.docker("top", "top1").stdout, "the container's processes")
    out = d.docker("top", "top1").stdout.splitlines()
    assert out[0].split()[:2] == ["UID", "PID"] and out[0].split()[-1] == "CMD"
    assert sorted(line.split()[-1] for line in out[1:] if line.split()[-2] == "sleep") == ["301", "302"]
    assert len(out) == 4, out  # sh, two sleeps; nothing of the host
    out = d.docker("top", "top1", "-o", "pid,comm").stdout.splitlines()
    assert out[0].split() == ["PID", "COMMAND"]
    assert sorted(line.split()[1] for line in out[1:]) == ["sh", "sleep", "sleep"]
    r = d.docker("top", "top1", "-o", "comm", check=False)
    assert r.returncode == 1 and "Couldn't find PID field in ps output" in r.stderr
    top = client(d).containers.get("top1").top(ps_args="-o pid,args")
    assert top["Titles"] == ["PID", "COMMAND"]
    assert sorted(p[1] for p in top["Processes"]) == ["sh -c sleep 301 & sleep 302; echo done", "sleep 301", "sleep 302"]
    d.docker("kill", "top1")
    d.docker("wait", "top1")
    r = d.docker("top", "top1", check=False)
    assert r.returncode == 1 and "is not running" in r.stderr


def test_pause_unpause_and_ending_a_paused_container(d):
    d.docker("run", "-d", "--name", "pz", "busybox", "sleep", "300")
    d.docker("pause", "pz")
    st = state(d, "pz")
    assert st["Status"] == "paused" and st["Paused"] and st["Running"]
    assert d.docker("ps", "--format", "{{.Status}}").stdout.strip().endswith("(Paused)")
    r = d.docker("pause", "pz", check=False)
    assert r.returncode == 1 and "is already paused" in r.stderr
    # top still lists a frozen container's processes.
    assert "sleep 300" in d.docker("top", "pz").stdout
    d.docker("unpause", "pz")
    st = state(d, "pz")
    assert st["Status"] == "running" and not st["Paused"]
    r = d.docker("unpause", "pz", check=False)
    assert r.returncode == 1 and "is not paused" in r.stderr

    # kill (SIGKILL) of a paused container ends it.
    d.docker("pause", "pz")
    d.docker("kill", "pz")
    assert d.docker("wait", "pz").stdout.strip() == "137"
    assert state(d, "pz")["Status"] == "exited"
    r = d.docker("pause", "pz", check=False)
    assert r.returncode == 1 and "is not running" in r.stderr

    # stop of a paused container: a shell that exits on SIGTERM ends with it.
    # The signal is sent, then the container thawed so that it can take it.
    d.docker("run", "-d", "--name", "sv", "busybox", "sh", "-c",
             "trap 'exit 7' TERM; echo ready; while :; do sleep 1; done")
    deadline = time.monotonic() + 30
    while d.docker("logs", "sv").stdout != "ready\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    d.docker("pause", "sv")
    d.docker("stop", "-t", "30", "sv")
    st = state(d, "sv")
    assert st["Status"] == "exited" and st["ExitCode"] == 7

    # rm -f of a paused container.
    d.docker("start", "pz")
    d.docker("pause", "pz")
    d.docker("rm", "-f", "pz")
    assert "pz" not in d.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()

    c = client(d).containers.run("busybox", ["sleep", "300"], detach=True, name="py")
    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    c.reload()
    assert c.status == "running"


def test_stats(d):
    d.docker("run", "-d", "--name", "st", "busybox", "sh", "-c", "while :; do :; done")
    rows = d.docker("stats", "--no-stream", "--format", "{{json .}}", "st").stdout.strip().splitlines()
    assert len(rows) == 1
    row = json.loads(rows[0])
    assert row["Name"] == "st" and row["PIDs"] == "1"
    assert row["CPUPerc"].endswith("%") and float(row["CPUPerc"][:-1]) > 0
    used, limit = row["MemUsage"].split(" / ")
    assert used[0].isdigit() and limit[0].isdigit() and not limit.startswith("0B")

    c = client(d).containers.get("st")
    s = c.stats(stream=False)
    assert s["name"] == "/st" and s["id"] == c.id
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] > s["precpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert s["cpu_stats"]["system_cpu_usage"] > s["precpu_stats"]["system_cpu_usage"] > 0
    assert s["cpu_stats"]["online_cpus"] >= 1
    assert s["memory_stats"]["usage"] > 0 and s["memory_stats"]["limit"] > 0
    assert s["pids_stats"]["current"] == 1
    api = client(d).api  # the one-shot parameter, which older docker-py lacks
    one = api._result(api._get(api._url("/containers/{0}/stats", c.id),
                               params={"stream": "0", "one-shot": "1"}), True)
    assert one["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert one["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    stream = c.stats(stream=True, decode=True)
    first, second = next(stream), next(stream)
    assert second["preread"] == first["read"]
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
    stream.close()

    # A stream ends when the container stops; a stopped one gets zeros.
    stream = c.stats(stream=True, decode=True)
    next(stream)
    d.docker("kill", "st")
    rest = list(stream)
    assert rest == [] or rest[-1]["cpu_stats"]["cpu_usage"]["total_usage"] == 0
    s = c.stats(stream=False)
    assert s["read"] == "0001-01-01T00:00:00Z" and s["memory_stats"] == {}
    row = json.loads(d.docker("stats", "--no-stream", "--format", "{{json .}}", "st").stdout)
    assert row["CPUPerc"] == "0.00%"
    assert d.alive()


def test_diff_export_commit(d, tmp_path):
    d.docker("run", "-d", "--name", "wk", "busybox", "sh", "-c",
             "echo hello > /new.txt && echo x >> /etc/passwd && rm /bin/ls && mkdir -p /data/sub"
             " && touch /data/sub/f && sleep 300")
    until(lambda: "A /data/sub/f" in d.docker("diff", "wk").stdout, "the container's changes")
    diff = d.docker("diff", "wk").stdout.splitlines()
    for want in ("A /new.txt", "C /etc", "C /etc/passwd", "D /bin/ls", "A /data", "A /data/sub",
                 "A /data/sub/f", "C /bin"):
        assert want in diff, diff
    changes = {c["Path"]: c["Kind"] for c in client(d).containers.get("wk").diff()}
    assert changes["/new.txt"] == 1 and changes["/etc/passwd"] == 0 and changes["/bin/ls"] == 2

    out = tmp_path / "w.tar"
    d.docker("export", "-o", out, "wk")
    with tarfile.open(out) as t:
        names = set(n.lstrip("./") for n in t.getnames())
        assert "new.txt" in names and "bin/sh" in names and "bin/ls" not in names
        assert t.extractfile(t.getmember([m for m in t.getnames() if m.lstrip("./") == "new.txt"][0])).read() \
            == b"hello\n"
    data = b"".join(client(d).containers.get("wk").export())
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert any(n.lstrip("./") == "new.txt" for n in t.getnames())

    image_id = d.docker("commit", "-m", "my change", "-a", "me", "-c", 'CMD ["cat", "/new.txt"]',
                        "-c", "ENV FOO=bar", "wk", "committed:v1").stdout.strip()
    assert image_id.startswith("sha256:")
    assert state(d, "wk")["Status"] == "running"  # paused for the commit, then thawed
    info = json.loads(d.docker("image", "inspect", "committed:v1").stdout)[0]
    assert info["Id"] == image_id
    assert info["Config"]["Cmd"] == ["cat", "/new.txt"] and "FOO=bar" in info["Config"]["Env"]
    assert info["Author"] == "me"
    base = json.loads(d.docker("image", "inspect", "busybox").stdout)[0]
    assert len(info["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    hist = d.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "committed:v1").stdout
    assert hist.splitlines()[0] == "sh -c echo hello > /new.txt && echo x >> /etc/passwd && rm /bin/ls && " \
        "mkdir -p /data/sub && touch /data/sub/f && sleep 300|my change"

    d.docker("run", "-d", "--name", "r1", "committed:v1")
    assert d.docker("wait", "r1").stdout.strip() == "0"
    assert d.docker("logs", "r1").stdout == "hello\n"
    d.docker("run", "-d", "--name", "r2", "committed:v1", "sh", "-c",
             "test ! -e /bin/ls && tail -1 /etc/passwd && test -f /data/sub/f && echo $FOO")
    assert d.docker("wait", "r2").stdout.strip() == "0"
    assert d.docker("logs", "r2").stdout == "x\nbar\n"

    # Without pausing; docker-py with a Config in the body.
    d.docker("commit", "--pause=false", "wk", "nopause")
    assert state(d, "wk")["Status"] == "running"
    img = client(d).containers.get("wk").commit(repository="py", tag="2", conf={"Labels": {"k": "v"}})
    assert img.tags == ["py:2"] and img.labels == {"k": "v"}
    r = d.docker("commit", "nosuch", "x", check=False)
    assert r.returncode == 1 and "No such container" in r.stderr


def test_prune(d):
    d.docker("run", "-d", "--name", "done1", "--label", "team=a", "busybox", "true")
    d.docker("run", "-d", "--name", "done2", "busybox", "true")
    d.docker("create", "--name", "fresh", "busybox", "true")
    d.docker("run", "-d", "--name", "up", "busybox", "sleep", "300")
    d.docker("wait", "done1")
    d.docker("wait", "done2")
    r = d.docker("container", "prune", "-f", "--filter", "label=team=a")
    assert "Deleted Containers:" in r.stdout and "Total reclaimed space:" in r.stdout
    names = d.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert sorted(names) == ["done2", "fresh", "up"]
    r = d.docker("container", "prune", "-f", "--filter", "until=1h")
    assert d.docker("ps", "-aq").stdout.count("\n") == 3  # all newer than an hour
    res = client(d).containers.prune()
    assert len(res["ContainersDeleted"]) == 2
    assert d.docker("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["up"]
    r = d.docker("container", "prune", "-f", "--filter", "nosuch=1", check=False)
    assert r.returncode == 1 and "invalid filter" in r.stderr


def test_resize(d):
    api = client(d).api
    d.docker("run", "-d", "-t", "--name", "tty", "busybox", "sleep", "300")
    api.resize("tty", height=40, width=100)
    d.docker("run", "-d", "--name", "notty", "busybox", "sleep", "300")
    api.resize("notty", height=40, width=100)  # accepted and ignored, as Docker does
    d.docker("kill", "notty")
    d.docker("wait", "notty")
    docker = pytest.importorskip("docker")
    with pytest.raises(docker.errors.APIError) as e:
        api.resize("notty", height=40, width=100)
    assert e.value.status_code == 409
