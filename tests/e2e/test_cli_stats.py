"""berth stats, events, system (info, events, df, prune), container prune and
image prune against a private berthd, side by side with the docker CLI
against the same daemon: the same headers and columns, the same --format
results, the same questions and exit codes. The live stats table is read
through a pipe (docker's cursor-home / erase-line redraw) and must follow
containers that start and die while it runs. GET /system/df is checked
field by field. Every container is removed and the daemon stopped
afterwards (the `d` fixture of test_daemon_containers).
"""
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import tarfile
import time

import pytest

from conftest import FIXTURES
from test_cli import BERTH, berth, both, same
from test_daemon_containers import d  # noqa: F401 (the fixture)
from test_daemon_images import DOCKER

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(DOCKER is None, reason="no docker CLI to compare with")]

STATS_HEADER = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
# One row of the default stats table, as docker draws it.
STATS_ROW = re.compile(r"^[0-9a-f]{12}\s+(\S+)\s+\d+\.\d\d%\s+[\d.]+[KMGT]?i?B / [\d.]+[KMGT]?i?B\s+\d+\.\d\d%"
                       r"\s+[\d.]+[kMGT]?B / [\d.]+[kMGT]?B\s+[\d.]+[kMGT]?B / [\d.]+[kMGT]?B\s+\d+$")
EVENT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (\w+) (\S+) (\S*)( \(.*\))?$")


def api(daemon, method, path):
    """One request to berthd: (status, decoded JSON body)."""
    conn = http.client.HTTPConnection("localhost", timeout=30)
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(daemon.sock))
    conn.sock = sock
    try:
        conn.request(method, "/v1.41" + path)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def berth_env(daemon):
    e = dict(os.environ, BERTH_HOST=f"unix://{daemon.sock}", BERTH_NO_AUTOSTART="1")
    e.pop("DOCKER_HOST", None)
    return e


def docker_env(daemon):
    return dict(os.environ, DOCKER_HOST=f"unix://{daemon.sock}", DOCKER_CONFIG=str(daemon.tmp / "cfg"))


class Streaming:
    """A long-running command (stats, events) whose output is read as it comes."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.out = b""

    def read_for(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.proc.stdout], [], [], max(0.0, end - time.monotonic()))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                self.out += chunk
        return self.out

    def wait_for(self, pattern, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.out):
                return True
            self.read_for(0.2)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def last_frame(out):
    """The last whole frame of a live stats table, its escapes removed."""
    frames = out.decode().split("\x1b[H")
    whole = [f for f in frames if f.endswith("\x1b[J")]
    assert whole, f"no complete frame in {out!r}"
    # docker 28.2 puts a space before each erase-line; the screen shows the same.
    return [line.rstrip() for line in whole[-1].replace("\x1b[J", "").split("\x1b[K\n") if line.strip()]


def columns(line):
    return re.split(r"\s{2,}", line.strip())


# ------------------------------------------------------------------- stats
def test_stats_no_stream_like_docker(d):  # noqa: F811
    d.docker("run", "-d", "--name", "svc", "-m", "64m", "busybox", "sleep", "300")
    d.docker("run", "-d", "--name", "two", "busybox", "sh", "-c", "while true; do sleep 1; done")
    d.docker("run", "--name", "ex", "busybox", "true")
    b, k = both(d, "stats", "--no-stream")
    assert b.returncode == k.returncode == 0, (b.stderr, k.stderr)
    for out in (b.stdout, k.stdout):
        lines = out.splitlines()
        assert columns(lines[0]) == STATS_HEADER
        assert sorted(STATS_ROW.match(line).group(1) for line in lines[1:]) == ["svc", "two"], out
    # The memory limit of -m 64m, and one process in each container.
    for r in both(d, "stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}|{{.MemPerc}}", "svc"):
        usage, pids, pct = r.stdout.strip().split("|")
        assert usage.endswith(" / 64MiB") and pids == "1" and re.fullmatch(r"\d+\.\d\d%", pct), r.stdout
    for args in (["stats", "--no-stream", "--format", "{{.Name}} {{.ID}} {{.Container}} {{.PIDs}}", "svc", "two"],
                 ["stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}", "svc"],
                 ["stats", "--no-stream", "--format", "table {{.Name}}\\t{{.PIDs}}", "svc"],
                 ["stats", "--no-stream", "--format", "table", "ex"],
                 ["stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.NetIO}} {{.PIDs}}", "ex"],
                 ["container", "stats", "--no-stream", "--format", "{{.Name}}", "svc"]):
        same(d, *args)
    # -a adds the exited one; the rows come in the daemon's order.
    b, k = both(d, "stats", "--no-stream", "-a", "--format", "{{.Name}}")
    assert sorted(b.stdout.split()) == sorted(k.stdout.split()) == ["ex", "svc", "two"]
    # {{json .}}: docker's keys, the same names and IDs.
    bj, kj = (json.loads(r.stdout) for r in both(d, "stats", "--no-stream", "--format", "{{json .}}", "svc"))
    assert sorted(bj) == sorted(kj) == ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name",
                                        "NetIO", "PIDs"]
    for key in ("Container", "ID", "Name", "PIDs", "NetIO"):
        assert bj[key] == kj[key], key
    assert bj["MemUsage"].split(" / ")[1] == kj["MemUsage"].split(" / ")[1] == "64MiB"
    # The arithmetic: MEM % is usage over limit; a spinning container shows CPU, a sleeping one little.
    mem, pct = berth(d, "stats", "--no-stream", "--format", "{{.MemUsage}}|{{.MemPerc}}", "svc").stdout.strip().split("|")
    units = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
    used, limit = (float(m.group(1)) * units[m.group(2)]
                   for m in (re.fullmatch(r"([\d.]+)(\w+)", x) for x in mem.split(" / ")))
    assert abs(used / limit * 100 - float(pct[:-1])) < 0.1, (mem, pct)
    d.docker("run", "-d", "--name", "spin", "busybox", "sh", "-c", "while :; do :; done")
    try:
        cpu = dict(line.split() for line in berth(d, "stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}}",
                                                   "spin", "svc").stdout.splitlines())
        assert float(cpu["spin"][:-1]) > 10 and float(cpu["svc"][:-1]) < 5, cpu
    finally:
        d.docker("rm", "-f", "spin")
    # A container that is not there: docker's message and exit 1, no table.
    b, k = both(d, "stats", "--no-stream", "nosuch")
    assert (b.returncode, b.stdout) == (k.returncode, k.stdout) == (1, "")
    assert b.stderr == k.stderr and "No such container: nosuch" in b.stderr


def test_stats_live_table_follows_containers(d):  # noqa: F811
    d.docker("run", "-d", "--name", "first", "busybox", "sleep", "300")
    s = Streaming([BERTH, "stats"], berth_env(d))
    try:
        assert s.wait_for(rb"first"), s.out
        s.read_for(1.5)
        # Redrawn in place: cursor home, erase each line's tail, erase below.
        assert s.out.count(b"\x1b[H") >= 2 and b"\x1b[K\n" in s.out and b"\x1b[J" in s.out
        frame = last_frame(s.out)
        assert columns(frame[0]) == STATS_HEADER
        assert [STATS_ROW.match(line).group(1) for line in frame[1:]] == ["first"], frame
        # A container started meanwhile joins the table; one that dies leaves it.
        d.docker("run", "-d", "--name", "second", "busybox", "sleep", "300")
        assert s.wait_for(rb"second"), s.out
        s.read_for(1.2)
        assert sorted(STATS_ROW.match(line).group(1) for line in last_frame(s.out)[1:]) == ["first", "second"]
        d.docker("stop", "-t", "0", "first")
        mark = len(s.out)
        s.read_for(2)
        assert [STATS_ROW.match(line).group(1) for line in last_frame(s.out[mark:])[1:]] == ["second"]
    finally:
        s.stop()
    # docker draws the same table for the same containers.
    k = Streaming([DOCKER, "stats", "--format", "table {{.Name}}\t{{.PIDs}}"], docker_env(d))
    b = Streaming([BERTH, "stats", "--format", "table {{.Name}}\t{{.PIDs}}"], berth_env(d))
    try:
        k.read_for(2.5)
        b.read_for(0.5)
        assert last_frame(b.out) == last_frame(k.out) == ["NAME      PIDS", "second    1"]
    finally:
        k.stop()
        b.stop()


# ------------------------------------------------------------------ events
def test_events_like_docker(d):  # noqa: F811
    since = f"{time.time() - 1:.3f}"
    d.docker("run", "--name", "ev1", "-l", "tier=web", "busybox", "true")
    d.docker("tag", "busybox", "evtag:1")
    d.docker("rm", "ev1")
    time.sleep(1.1)
    until = f"{time.time():.3f}"
    window = ["--since", since, "--until", until]
    r = same(d, "events", *window)
    lines = r.stdout.splitlines()
    parsed = [EVENT_LINE.match(line) for line in lines]
    assert all(parsed), lines
    actions = [(m.group(2), m.group(3)) for m in parsed]
    for want in [("container", "create"), ("container", "start"), ("container", "die"), ("image", "tag"),
                 ("container", "destroy")]:
        assert want in actions, actions
    start = next(line for line in lines if " container start " in line)
    assert start.endswith(" (image=busybox, name=ev1, tier=web)"), start
    for args in (["--format", "{{json .}}"], ["--format", "json"],
                 ["--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Status}} {{.ID}} {{.From}}"],
                 ["--format", "{{.Time}} {{.TimeNano}} {{.Scope}} {{json .Actor.Attributes}}"],
                 ["--filter", "event=start", "--filter", "type=container"],
                 ["--filter", "container=ev1", "--format", "{{.Action}}"],
                 ["--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}}"],
                 ["--filter", "label=tier=web", "--format", "{{.Action}} {{.Actor.Attributes.tier}}"]):
        same(d, "events", *window, *args)
    same(d, "system", "events", *window, "--format", "{{.Action}}")
    # A relative --since reaches the same history.
    b, k = both(d, "events", "--since", "10m", "--until", until, "--filter", "container=ev1")
    assert (b.returncode, b.stdout) == (k.returncode, k.stdout) and b.stdout.count("\n") >= 4
    # Refusals: a filter the daemon does not know, a template that does not parse.
    b, k = both(d, "events", *window, "--filter", "foo=bar")
    assert (b.returncode, b.stdout, b.stderr) == (k.returncode, k.stdout, k.stderr) and b.returncode == 1
    b, k = both(d, "events", "--format", "{{.Type")
    assert b.returncode == k.returncode == 64 and b.stderr.startswith("Error parsing format: ")
    b, k = both(d, "events", "--since", "yesterday-ish", "--until", until)
    assert b.returncode == k.returncode == 1 and "yesterday-ish" in b.stderr


def test_events_live(d):  # noqa: F811
    s = Streaming([BERTH, "events", "--filter", "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}"],
                  berth_env(d))
    try:
        time.sleep(0.5)
        d.docker("run", "--name", "live1", "busybox", "true")
        assert s.wait_for(rb"start live1\n"), s.out
        assert s.wait_for(rb"die live1\n"), s.out
        assert s.out.decode().splitlines()[0] == "create live1"
    finally:
        s.stop()


# ------------------------------------------------------------------- prune
def import_untagged(d, tmp_path, name):
    """A dangling image: busybox's files imported without a tag."""
    rootfs = tmp_path / f"{name}.tar"
    with tarfile.open(rootfs, "w") as t:
        t.add(FIXTURES / "busybox-rootfs", arcname=".")
        info = tarfile.TarInfo(f"./{name}")  # different content, a different image
        t.addfile(info)
    return d.docker("import", rootfs).stdout.strip()


def test_container_prune_like_docker(d):  # noqa: F811
    d.docker("run", "-d", "--name", "up", "busybox", "sleep", "300")
    d.docker("run", "--name", "gone1", "-l", "tier=a", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /f")
    d.docker("run", "--name", "gone2", "busybox", "true")
    # No confirmation: docker's question, exit 0, nothing removed.
    for args in (["container", "prune"], ["container", "prune", "--filter", "label=tier=a"]):
        r = same(d, *args, input="n\n")
        assert r.stdout == "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    same(d, "container", "prune", input="")
    assert len(d.docker("ps", "-aq").stdout.split()) == 3
    gone1 = d.docker("inspect", "-f", "{{.Id}}", "gone1").stdout.strip()
    gone2 = d.docker("inspect", "-f", "{{.Id}}", "gone2").stdout.strip()
    # A filter: only the labelled one goes; its 100 kB are reclaimed.
    r = berth(d, "container", "prune", "-f", "--filter", "label=tier=a")
    assert re.fullmatch(f"Deleted Containers:\n{gone1}\n\nTotal reclaimed space: 10\\d(\\.\\d+)?kB\n", r.stdout), r.stdout
    # "y" to the question; docker prints the same shape.
    r = berth(d, "container", "prune", input="y\n")
    assert r.stdout == ("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
                        f"Deleted Containers:\n{gone2}\n\nTotal reclaimed space: 0B\n")
    same(d, "container", "prune", "-f")  # nothing left: "Total reclaimed space: 0B"
    assert d.docker("ps", "-a", "--format", "{{.Names}}").stdout == "up\n"
    b, k = both(d, "container", "prune", "-f", "--filter", "bogus=1")
    assert (b.returncode, b.stderr) == (k.returncode, k.stderr) and b.returncode == 1


def test_image_prune_like_docker(d, tmp_path):  # noqa: F811
    d.docker("run", "--name", "user", "busybox", "true")
    for args in (["image", "prune"], ["image", "prune", "-a"]):
        same(d, *args, input="n\n")
    assert same(d, "image", "prune", "-f").stdout == "Total reclaimed space: 0B\n"
    dangling = import_untagged(d, tmp_path, "one")
    r = berth(d, "image", "prune", "-f")
    assert re.fullmatch(f"Deleted Images:\ndeleted: {dangling}\n\nTotal reclaimed space: \\d[\\d.]*[kM]?B\n",
                        r.stdout), r.stdout
    assert dangling.removeprefix("sha256:")[:12] not in d.docker("images", "-aq").stdout
    # -a removes a tagged image no container uses, and keeps busybox, which one does.
    d.docker("import", import_tar(tmp_path), "unused:1")
    r = berth(d, "image", "prune", "-a", "-f")
    assert r.stdout.startswith("Deleted Images:\nuntagged: unused:1\ndeleted: sha256:"), r.stdout
    assert d.docker("images", "--format", "{{.Repository}}").stdout == "busybox\n"


def import_tar(tmp_path):
    rootfs = tmp_path / "unused.tar"
    with tarfile.open(rootfs, "w") as t:
        t.add(FIXTURES / "busybox-rootfs", arcname=".")
    return rootfs


def test_system_prune(d, tmp_path):  # noqa: F811
    for args in (["system", "prune"], ["system", "prune", "-a"], ["system", "prune", "--volumes"],
                 ["system", "prune", "--filter", "label=b=2", "--filter", "label=a=1", "--filter", "until=10m"]):
        r = same(d, *args, input="n\n")
        assert r.stdout.startswith("WARNING! This will remove:\n  - all stopped containers\n")
    d.docker("run", "-d", "--name", "up", "busybox", "sleep", "300")
    d.docker("run", "--name", "ex", "busybox", "true")
    ex = d.docker("inspect", "-f", "{{.Id}}", "ex").stdout.strip()
    dangling = import_untagged(d, tmp_path, "two")
    r = berth(d, "system", "prune", "-f")
    assert re.fullmatch(f"Deleted Containers:\n{ex}\n\nDeleted Images:\ndeleted: {dangling}\n\n"
                        "Total reclaimed space: \\d[\\d.]*[kM]?B\n", r.stdout), r.stdout
    assert d.docker("ps", "-a", "--format", "{{.Names}}").stdout == "up\n"
    r = berth(d, "system", "prune", "-f", "--volumes", "--filter", "until=1h", check=False)
    assert (r.returncode, r.stderr) == (1, 'ERROR: The "until" filter is not supported with "--volumes"\n')


# ---------------------------------------------------------------- system
def test_system_df_like_docker(d):  # noqa: F811
    d.docker("run", "-d", "--name", "up", "busybox", "sleep", "300")
    d.docker("run", "--name", "wrote", "busybox", "sh", "-c", "head -c 200000 /dev/zero > /f")
    d.docker("create", "--name", "made", "busybox", "true")
    # The API: what docker's CLI reads.
    status, du = api(d, "GET", "/system/df")
    assert status == 200
    assert sorted(du) == ["BuildCache", "BuilderSize", "Containers", "Images", "LayersSize", "Volumes"]
    assert du["Volumes"] == [] and du["BuildCache"] == []
    [img] = du["Images"]
    assert img["RepoTags"] == ["busybox:latest"] and img["Containers"] == 3 and img["SharedSize"] == 0
    assert du["LayersSize"] == img["Size"] > 0
    sizes = {c["Names"][0]: c for c in du["Containers"]}
    assert sorted(sizes) == ["/made", "/up", "/wrote"]
    assert 200000 <= sizes["/wrote"]["SizeRw"] < 210000
    assert sizes["/made"]["SizeRw"] == 0 and sizes["/made"]["SizeRootFs"] == img["Size"]
    # The CLI: the same table, formats and -v sections as docker's.
    r = same(d, "system", "df")
    assert [columns(line) for line in r.stdout.splitlines()][0] == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert columns(r.stdout.splitlines()[2])[:3] == ["Containers", "3", "1"]
    for args in (["--format", "{{json .}}"], ["--format", "json"], ["--format", "table {{.Type}}\\t{{.Reclaimable}}"],
                 ["--format", "{{.Type}}: {{.TotalCount}} {{.Size}}"]):
        same(d, "system", "df", *args)
    age = re.compile(r"(\d+|About an?|Less than a) \S+( \S+)? ago")
    b, k = both(d, "system", "df", "-v")
    assert b.returncode == k.returncode == 0
    # An age read a moment later may be another length ("Less than a second
    # ago", then "1 second ago"), and the column's padding with it: compare
    # the cells, not the widths.
    def cells(out):
        return [re.split(r" {2,}", line.strip()) for line in age.sub("AGE", out).splitlines()]
    assert cells(b.stdout) == cells(k.stdout)


def test_system_info_alias(d):  # noqa: F811
    same(d, "system", "info", "--format", "{{.Images}} {{.OSType}} {{.Driver}}")
    assert berth(d, "system", "info", "--format", "{{.Images}}").stdout == berth(d, "info", "--format",
                                                                               "{{.Images}}").stdout
    # docker's system group has info, events, df and prune; version is not one of them.
    groups = berth(d, "system", "--help").stdout
    assert all(f"\n  {c} " in groups for c in ("info", "events", "df", "prune")) and "version" not in groups


def test_commands_without_arguments(d):  # noqa: F811
    # cobra's NoArgs: docker's message (its own name aside) and exit 1.
    for args in (["events", "extra"], ["system", "events", "x"], ["system", "df", "x", "y"],
                 ["system", "prune", "-f", "x"], ["container", "prune", "x"], ["image", "prune", "-a", "x"]):
        b, k = both(d, *args)
        assert (b.returncode, b.stdout) == (k.returncode, k.stdout) == (1, ""), args
        assert b.stderr.replace("berth", "docker") == k.stderr, (b.stderr, k.stderr)
