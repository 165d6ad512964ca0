"""berth, our command line, against a private berthd, side by side with the
docker CLI against the same daemon: the same tables and headers, the same
--format results, the same exit codes. Also an interactive `run -it` and
`exec -it` through a pseudo-terminal (typing, window size, exit codes,
detach keys). Every container is removed and the daemon stopped afterwards
(the `d` fixture of test_daemon_containers).
"""
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import REPO, describe
from test_daemon_containers import d  # noqa: F401 (the fixture)
from test_daemon_images import BUSYBOX_TAR, DOCKER

BERTH = os.environ.get("BERTH_CLI") or str(REPO / "build/dev/cmd/berth/berth")

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(DOCKER is None, reason="no docker CLI to compare with")]


def berth(daemon, *args, check=True, input=None, timeout=60, env=None):
    e = dict(os.environ, BERTH_HOST=f"unix://{daemon.sock}", BERTH_NO_AUTOSTART="1")
    e.pop("DOCKER_HOST", None)
    if env:
        e.update(env)
    r = subprocess.run([BERTH, *map(str, args)], capture_output=True, env=e, input=input,
                       timeout=timeout, text=input is None or isinstance(input, str))
    if check and r.returncode != 0:
        pytest.fail(describe(r))
    return r


def both(daemon, *args, input=None):
    """The same command through berth and docker: (berth result, docker result)."""
    return (berth(daemon, *args, check=False, input=input),
            daemon.docker(*args, check=False, input=input))


def same(daemon, *args, input=None):
    b, k = both(daemon, *args, input=input)
    assert (b.returncode, b.stdout) == (k.returncode, k.stdout), f"berth: {describe(b)}\ndocker: {describe(k)}"
    return b


def first_line(text):
    return text.split("\n")[0]


@pytest.fixture
def three(d):  # noqa: F811
    """A running, an exited and a created container."""
    d.docker("run", "-d", "--name", "svc", "-l", "tier=web", "-e", "X=1", "busybox", "sleep", "300")
    d.docker("run", "--name", "ex", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    d.docker("create", "--name", "cr", "busybox", "true")
    return d


def test_version_and_info(d):  # noqa: F811
    r = berth(d, "version")
    assert "Server: Berth" in r.stdout and "API version:      1.41 (minimum version 1.24)" in r.stdout
    same(d, "version", "--format", "{{.Server.Version}} {{.Server.Os}} {{.Server.Arch}}")
    same(d, "version", "--format", "{{json .Server.Platform}} {{.Client.Os}}")
    same(d, "info", "--format", "{{.Images}} {{.OSType}} {{.DockerRootDir}} {{.Plugins.Network}}")
    assert "Images: 1" in berth(d, "info").stdout


def test_ps_like_docker(three):
    d = three
    b, k = both(d, "ps", "-a")
    assert b.returncode == k.returncode == 0
    assert first_line(b.stdout) == first_line(k.stdout)
    assert len(b.stdout.splitlines()) == len(k.stdout.splitlines()) == 4
    # -l is the last created in any state (berthd applies a limit to the
    # running ones only when `all` is not set, which the docker CLI leaves out).
    assert berth(d, "ps", "-l", "--format", "{{.Names}}").stdout == "cr\n"
    assert berth(d, "ps", "-n", "2", "--format", "{{.Names}}").stdout == "cr\nex\n"
    # "table" and blanks alone is the default table.
    t = berth(d, "ps", "-a", "--format", "table  ")
    assert first_line(t.stdout) == first_line(b.stdout) and len(t.stdout.splitlines()) == 4
    for args in (["ps", "-q"], ["ps", "-aq"], ["ps", "-a", "--no-trunc", "-q"],
                 ["ps", "-a", "--format", "{{.ID}} {{.Image}} {{.Command}} {{.Status}} {{.Names}} {{.State}}"],
                 ["ps", "-a", "--format", "table {{.ID}}\\t{{.Names}}\\t{{.Labels}}"],
                 ["ps", "-a", "--format", "{{.Names}}: {{.Label \"tier\"}}"],
                 ["ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"],
                 ["ps", "-a", "--filter", "label=tier=web", "-q"],
                 ["ps", "-a", "--filter", "name=cr", "--filter", "status=created", "--format", "{{.Names}}"],
                 ["container", "ls", "-a", "--format", "{{.Names}}"]):
        same(d, *args)
    # {{json .}}: the same fields with the same values (ages aside).
    bj = [json.loads(line) for line in berth(d, "ps", "-a", "--format", "{{json .}}").stdout.splitlines()]
    kj = [json.loads(line) for line in d.docker("ps", "-a", "--format", "{{json .}}").stdout.splitlines()]
    assert [sorted(x) for x in bj] == [sorted(x) for x in kj]
    for x, y in zip(bj, kj):
        for key in ("ID", "Image", "Command", "Names", "Labels", "State", "Status", "Ports", "Mounts"):
            assert x[key] == y[key], key
    # The default table: same header, same rows once the age column is out.
    age = re.compile(r"(\d+|About an?|Less than a) \S+( \S+)? ago")
    assert age.sub("AGE", b.stdout).split() == age.sub("AGE", k.stdout).split()


def test_images_history_like_docker(d):  # noqa: F811
    same(d, "images")
    for args in (["images", "-q"], ["images", "-a", "--no-trunc", "-q"], ["image", "ls", "-q"],
                 ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"],
                 ["images", "--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.Size}}"],
                 ["images", "busybox", "-q"], ["images", "nosuch", "-q"],
                 ["history", "busybox"], ["history", "--no-trunc", "busybox"], ["history", "-q", "busybox"],
                 ["history", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", "busybox"]):
        same(d, *args)
    bj = json.loads(berth(d, "images", "--format", "{{json .}}").stdout)
    kj = json.loads(d.docker("images", "--format", "{{json .}}").stdout)
    for key in ("ID", "Repository", "Tag", "Size", "CreatedSince"):
        assert bj[key] == kj[key], key


def test_inspect_like_docker(three):
    d = three
    fmt = ('{{.State.Status}} {{.Name}} {{json .Config.Cmd}} {{range .Config.Env}}{{.}},{{end}} '
           '{{.State.ExitCode}} {{len .Id}} {{.Path}} {{with .State}}{{.Running}}{{end}}')
    same(d, "inspect", "-f", fmt, "svc", "ex", "cr")
    same(d, "inspect", "-f", '{{index .Config.Labels "tier"}} {{json .Config.Labels}}', "svc")
    same(d, "inspect", "--format", "{{if .State.Running}}up{{else}}down{{end}}", "svc", "ex")
    same(d, "container", "inspect", "-f", "{{.Config.Image}}", "svc")
    same(d, "image", "inspect", "-f", "{{.Id}} {{json .RepoTags}} {{.Config.Cmd}}", "busybox")
    assert json.loads(berth(d, "inspect", "svc", "busybox").stdout) == \
        json.loads(d.docker("inspect", "svc", "busybox").stdout)
    b, k = both(d, "inspect", "nosuch")
    assert (b.returncode, b.stdout, b.stderr) == (k.returncode, k.stdout, k.stderr) == (1, "[]\n", k.stderr)
    b, k = both(d, "inspect", "-f", "{{.Name}}", "svc", "nosuch")
    assert (b.returncode, b.stdout) == (k.returncode, k.stdout) and "No such object: nosuch" in b.stderr
    b = berth(d, "inspect", "-f", "{{.Nope.Deeper}}", "svc", check=False)
    assert b.returncode != 0 and "template" in b.stderr


def test_run_output_and_exit_codes(d):  # noqa: F811
    # berthd can answer docker's wait?condition=removed before it has the
    # exit code (the docker CLI then exits 0): the comparisons run without
    # --rm, and berth's --rm is checked on its own.
    r = berth(d, "run", "--rm", "busybox", "sh", "-c", "echo bye; exit 3", check=False)
    assert (r.returncode, r.stdout) == (3, "bye\n")
    assert berth(d, "ps", "-aq").stdout == ""
    same(d, "run", "busybox", "echo", "hello")
    b, k = both(d, "run", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (b.returncode, b.stdout, b.stderr) == (k.returncode, k.stdout, k.stderr) == (3, "out\n", "err\n")
    same(d, "run", "-i", "busybox", "sh", "-c", "cat; echo done", input="from stdin\n")
    same(d, "run", "-e", "A=1", "-w", "/tmp", "-u", "1:2", "--hostname", "hh", "busybox",
         "sh", "-c", "echo $A $(pwd) $(id -u):$(id -g) $(hostname)")
    same(d, "run", "--entrypoint", "echo", "busybox", "via", "entrypoint")
    same(d, "run", "--read-only", "busybox", "touch", "/x")
    same(d, "run", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net | sort")
    same(d, "run", "--init", "busybox", "sh", "-c", "cat /proc/1/comm")
    same(d, "run", "--tmpfs", "/scratch", "busybox", "sh", "-c", "grep -c /scratch /proc/mounts")
    # Exit codes: 127 not found, 125 daemon errors, usage errors 125.
    b = berth(d, "run", "--rm", "--name", "nocmd", "busybox", "nosuchcommand", check=False)
    assert b.returncode == 127 and "executable file not found" in b.stderr
    assert berth(d, "ps", "-aq", "--filter", "name=nocmd").stdout == ""
    b, k = both(d, "run", "busybox", "nosuchcommand")
    assert b.returncode == k.returncode == 127
    b, k = both(d, "run", "--rm", "nosuchimage")
    assert b.returncode == k.returncode == 125
    assert "Unable to find image 'nosuchimage:latest' locally" in b.stderr
    b, k = both(d, "run")
    assert b.returncode == k.returncode == 1 and "requires at least 1 argument" in b.stderr
    # (berth checks the policy itself; the docker CLI leaves it to the daemon)
    b = berth(d, "run", "--restart", "sometimes", "busybox", check=False)
    assert b.returncode == 125 and "invalid restart policy" in b.stderr
    cid = berth(d, "run", "-d", "--rm", "busybox", "true").stdout.strip()
    assert re.fullmatch("[0-9a-f]{64}", cid)
    assert berth(d, "wait", cid, check=False).returncode in (0, 1)  # gone already, or 0
    for _ in range(100):
        if cid[:12] not in berth(d, "ps", "-aq").stdout:
            break
        time.sleep(0.05)
    else:
        pytest.fail("run -d --rm left its container")


def test_create_body_like_docker(d):  # noqa: F811
    flags = ["-e", "A=1", "-l", "k=v", "-u", "5", "-w", "/srv", "--hostname", "h1", "-m", "64m",
             "--cpus", "1.5", "--pids-limit", "50", "--restart", "on-failure:2", "--read-only",
             "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--security-opt", "no-new-privileges",
             "--tmpfs", "/run:size=1m", "--ulimit", "nofile=100:200", "--init", "--network", "none",
             "--health-cmd", "true", "--health-interval", "5s", "--health-retries", "2",
             "--stop-signal", "SIGINT", "--entrypoint", "sh", "busybox", "-c", "sleep 1"]
    berth(d, "create", "--name", "viaberth", *flags)
    d.docker("create", "--name", "viadocker", *flags)
    b = json.loads(berth(d, "inspect", "viaberth").stdout)[0]
    k = json.loads(d.docker("inspect", "viadocker").stdout)[0]
    for key in ("Env", "Labels", "User", "WorkingDir", "Hostname", "Entrypoint", "Cmd", "Healthcheck",
                "StopSignal", "Tty", "OpenStdin", "AttachStdout"):
        assert b["Config"].get(key) == k["Config"].get(key), key
    for key in ("Memory", "NanoCpus", "PidsLimit", "RestartPolicy", "ReadonlyRootfs", "CapAdd", "CapDrop",
                "SecurityOpt", "Tmpfs", "Ulimits", "Init", "NetworkMode", "AutoRemove", "Privileged"):
        assert b["HostConfig"].get(key) == k["HostConfig"].get(key), key


def test_lifecycle_like_docker(d):  # noqa: F811
    for cli, name in ((lambda *a, **kw: berth(d, *a, **kw), "b1"), (d.docker, "k1")):
        assert cli("run", "-d", "--name", name, "busybox", "sleep", "300").returncode == 0
        assert cli("pause", name).stdout == f"{name}\n"
        assert cli("inspect", "-f", "{{.State.Status}}", name).stdout == "paused\n"
        assert cli("unpause", name).stdout == f"{name}\n"
        assert cli("stop", "-t", "0", name).stdout == f"{name}\n"
        assert cli("wait", name).stdout == "137\n"
        assert cli("start", name).stdout == f"{name}\n"
        assert cli("restart", "-t", "0", name).stdout == f"{name}\n"
        assert cli("kill", "-s", "KILL", name).stdout == f"{name}\n"
        assert cli("rename", name, name + "x").stdout == ""
        assert cli("rm", name + "x").stdout == f"{name}x\n"
    berth(d, "run", "-d", "--name", "busy", "busybox", "sleep", "300")
    assert first_line(berth(d, "top", "busy").stdout) == first_line(d.docker("top", "busy").stdout)
    assert "sleep 300" in berth(d, "top", "busy").stdout
    for args in (["rm", "busy"], ["rm", "nosuch"], ["stop", "nosuch"], ["kill", "nosuch"], ["wait", "nosuch"],
                 ["pause", "nosuch"], ["rename", "nosuch", "x"], ["logs", "nosuch"], ["top", "nosuch"]):
        b, k = both(d, *args)
        assert (b.returncode, b.stderr) == (k.returncode, k.stderr), args
    assert berth(d, "rm", "-f", "busy").stdout == "busy\n"
    berth(d, "create", "--name", "att", "busybox", "sh", "-c", "echo attached; exit 5")
    r = berth(d, "start", "-a", "att", check=False)
    assert (r.returncode, r.stdout) == (5, "attached\n")
    r = berth(d, "start", "-ai", "att", check=False, input="")
    assert (r.returncode, r.stdout) == (5, "attached\n")


def test_logs_like_docker(d):  # noqa: F811
    d.docker("run", "--name", "talk", "busybox", "sh", "-c", "echo one; echo two >&2; echo three")
    b, k = both(d, "logs", "talk")
    assert (b.stdout, b.stderr) == (k.stdout, k.stderr) == ("one\nthree\n", "two\n")
    same(d, "logs", "--tail", "1", "talk")
    same(d, "logs", "-n", "0", "talk")
    same(d, "logs", "--since", "1h", "talk")
    same(d, "logs", "--until", "2000-01-01T00:00:00Z", "talk")
    stamped = berth(d, "logs", "-t", "talk").stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (one|three)$", s) for s in stamped)
    d.docker("run", "-d", "--name", "follow", "busybox", "sh", "-c", "echo a; sleep 1; echo b")
    assert berth(d, "logs", "-f", "follow").stdout == "a\nb\n"


def test_signals_are_proxied(d):  # noqa: F811
    """run without a TTY: SIGTERM to berth reaches the container (docker's
    --sig-proxy), whose trap decides the exit code."""
    env = dict(os.environ, BERTH_HOST=f"unix://{d.sock}", BERTH_NO_AUTOSTART="1")
    p = subprocess.Popen([BERTH, "run", "--name", "trap", "busybox", "sh", "-c",
                          "trap 'echo got TERM; exit 42' TERM; echo ready; while true; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(15)
    out, err = p.communicate(timeout=30)
    assert (p.returncode, out) == (42, "got TERM\n"), err


def test_exec_like_docker(d):  # noqa: F811
    d.docker("run", "-d", "--name", "box", "-e", "X=1", "busybox", "sleep", "300")
    b, k = both(d, "exec", "box", "sh", "-c", "echo $X; echo e >&2; exit 4")
    assert (b.returncode, b.stdout, b.stderr) == (k.returncode, k.stdout, k.stderr) == (4, "1\n", "e\n")
    same(d, "exec", "-e", "Y=2", "-w", "/tmp", "-u", "7", "box", "sh", "-c", "echo $Y $(pwd) $(id -u)")
    same(d, "exec", "-i", "box", "sh", "-c", "cat | wc -l", input="a\nb\nc\n")
    b, k = both(d, "exec", "box", "nosuchcommand")
    # The reason comes on the exec's stream (stdout), as from Docker.
    assert b.returncode == k.returncode == 127 and "executable file not found" in b.stdout + b.stderr
    b, k = both(d, "exec", "nosuch", "true")
    assert (b.returncode, b.stderr) == (k.returncode, k.stderr)
    assert berth(d, "exec", "-d", "box", "touch", "/tmp/detached").stdout == ""
    for _ in range(50):
        if berth(d, "exec", "box", "test", "-e", "/tmp/detached", check=False).returncode == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail("exec -d did not run")


def test_tag_rmi_save_load(d, tmp_path):  # noqa: F811
    assert berth(d, "tag", "busybox", "mine:1").stdout == ""
    # (the docker CLI prints an image's tags in Go map order: compare sorted)
    b, k = both(d, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "mine")
    assert sorted(b.stdout.splitlines()) == sorted(k.stdout.splitlines()) and "mine:1" in b.stdout
    d.docker("tag", "busybox", "theirs:1")
    b, k = berth(d, "rmi", "mine:1"), d.docker("rmi", "theirs:1")
    assert b.stdout.replace("mine", "theirs") == k.stdout == "Untagged: theirs:1\n"
    b, k = both(d, "rmi", "nosuch:1")
    assert (b.returncode, b.stderr) == (k.returncode, k.stderr)
    out = tmp_path / "bb.tar"
    assert berth(d, "save", "-o", out, "busybox").stdout == ""
    assert out.stat().st_size > 1_000_000
    berth(d, "image", "rm", "busybox")
    assert berth(d, "images", "-q").stdout == ""
    assert berth(d, "load", "-i", out).stdout == "Loaded image: busybox:latest\n"
    with open(BUSYBOX_TAR, "rb") as f:
        r = subprocess.run([BERTH, "load"], stdin=f, capture_output=True, text=True,
                           env=dict(os.environ, BERTH_HOST=f"unix://{d.sock}"))
    assert r.returncode == 0 and "Loaded image: busybox:latest" in r.stdout
    saved = subprocess.run([BERTH, "save", "busybox"], capture_output=True,
                           env=dict(os.environ, BERTH_HOST=f"unix://{d.sock}"))
    assert saved.returncode == 0 and len(saved.stdout) > 1_000_000


def help_section(text, title):
    """The lines of one section ("Options", "Commands", ...) of a help text."""
    lines = text.split("\n")
    start = lines.index(f"{title}:") + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


FLAG = re.compile(r"^  (-\w, |    )(--[\w-]+)( \w+)?( +)\S")


def test_help_in_dockers_layout(d):  # noqa: F811
    for cmd in (["ps"], ["wait"], ["images"], ["container", "ls"], ["system", "df"], ["logs"]):
        b, k = both(d, *cmd, "--help")
        assert b.returncode == k.returncode == 0, cmd
        # "Usage:  docker ps [OPTIONS]", a blank line, the description.
        assert b.stdout.split("\n")[0] == k.stdout.split("\n")[0].replace("docker", "berth"), cmd
        assert b.stdout.split("\n")[1] == "" and b.stdout.split("\n")[2], cmd
        if "Options:" not in k.stdout:
            assert "Options:" not in b.stdout, cmd
            continue
        # The same flags in the same order (by long name), short forms and
        # long-only indentation as pflag prints them.
        mine = [FLAG.match(line) for line in help_section(b.stdout, "Options")]
        assert all(mine), b.stdout
        theirs = [m for m in map(FLAG.match, help_section(k.stdout, "Options")) if m]
        assert [m.group(1, 2) for m in mine] == [m.group(1, 2) for m in theirs], cmd
        # The descriptions start three spaces after the longest flag.
        widest = max(len(m.group(1) + m.group(2) + (m.group(3) or "")) for m in mine)
        assert {len(m.group(1) + m.group(2) + (m.group(3) or "") + m.group(4)) for m in mine} == {widest + 3}, cmd
    # A management group lists its commands as cobra does.
    b, k = both(d, "container", "--help")
    assert b.stdout.startswith("Usage:  berth container COMMAND\n\nManage containers\n\nCommands:\n")
    docker_commands = {line.split()[0] for line in help_section(k.stdout, "Commands")}
    for line in help_section(b.stdout, "Commands"):
        assert re.match(r"^  [a-z]+ +\S", line) and line.index(line.split()[1]) == 14, line
        assert line.split()[0] in docker_commands, line
    assert b.stdout.endswith("\nRun 'berth container COMMAND --help' for more information on a command.\n")
    # The root: docker's sections, global options and closing line.
    top = berth(d, "--help").stdout
    assert top.startswith("Usage:  berth [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n")
    for title in ("Common Commands", "Management Commands", "Commands", "Global Options"):
        assert help_section(top, title), title
    assert [line.split()[0] for line in help_section(top, "Common Commands")][:3] == ["run", "exec", "ps"]
    assert any(line.startswith("  -H, --host string") for line in help_section(top, "Global Options"))
    assert top.endswith("\nRun 'berth COMMAND --help' for more information on a command.\n")


def test_help_usage_and_daemon_address(d, tmp_path):  # noqa: F811
    for cmd in ("run", "create", "start", "attach", "stop", "restart", "kill", "rm", "ps", "images", "inspect", "logs",
                "exec", "wait", "rename", "pause", "unpause", "top", "tag", "rmi", "load", "save", "history",
                "version", "info"):
        r = berth(d, cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, cmd
    assert berth(d, "container", "run", "--help").returncode == 0
    assert berth(d, "--help").returncode == 0
    r = berth(d, "ps", "--bogus", check=False)
    assert r.returncode == 125 and "bogus" in r.stderr
    r = berth(d, "pull", "busybox", check=False)
    assert r.returncode == 125 and "not available yet" in r.stderr
    b, k = both(d, "frobnicate")
    assert b.returncode == k.returncode == 1
    b, k = both(d, "rm")
    assert b.returncode == k.returncode == 1
    # -H wins over BERTH_HOST; DOCKER_HOST is used when BERTH_HOST is unset.
    missing = tmp_path / "none.sock"
    r = berth(d, "-H", f"unix://{d.sock}", "ps", "-q", env={"BERTH_HOST": f"unix://{missing}"})
    assert r.returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "BERTH_HOST"}
    r = subprocess.run([BERTH, "ps", "-q"], capture_output=True, text=True,
                       env=dict(env, DOCKER_HOST=f"unix://{d.sock}", BERTH_NO_AUTOSTART="1"))
    assert r.returncode == 0, describe(r)
    r = berth(d, "ps", env={"BERTH_HOST": f"unix://{missing}"}, check=False)
    assert r.returncode == 125 and "Is berthd running?" in r.stderr and str(missing) in r.stderr
    r = berth(d, "ps", env={"BERTH_HOST": "tcp://127.0.0.1:2375"}, check=False)
    assert r.returncode == 125 and "unix" in r.stderr


class Pty:
    """berth in a pseudo-terminal of a given size, as its controlling terminal
    (so that a size change sends it SIGWINCH). A Popen, so that the session's
    reaper leaves its exit status to us."""

    def __init__(self, daemon, *args, rows=30, cols=100):
        self.fd, slave = pty.openpty()
        self.resize(rows, cols)
        env = dict(os.environ, BERTH_HOST=f"unix://{daemon.sock}", BERTH_NO_AUTOSTART="1")
        self.proc = subprocess.Popen([BERTH, *args], stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.seen = b""

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def expect(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.seen)
            if m:
                self.seen = self.seen[m.end():]
                return m
            r, _, _ = select.select([self.fd], [], [], 0.2)
            if r:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    break
        pytest.fail(f"no {pattern!r} in {self.seen!r}")

    def send(self, data):
        os.write(self.fd, data)

    def exit_code(self, timeout=20):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"berth did not exit; it printed {self.seen!r}")
        os.close(self.fd)
        return self.proc.returncode


def test_interactive_run_exec_detach(d):  # noqa: F811
    p = Pty(d, "run", "-it", "--name", "shell", "busybox", "sh", rows=30, cols=100)
    p.expect(rb"/ # ")
    p.send(b"stty size; echo $((6*7))\r")
    p.expect(rb"30 100\r\n42\r\n")
    # A new window size reaches the container (SIGWINCH → resize).
    p.resize(40, 120)
    time.sleep(0.2)
    p.send(b"stty size\r")
    p.expect(rb"40 120\r\n")
    # The terminal is raw: ^C goes to the container's shell, not to berth.
    p.send(b"sleep 100\r")
    time.sleep(0.3)
    p.send(b"\x03")
    p.expect(rb"/ # ")
    # Detach: the container keeps running.
    p.send(b"\x10\x11")
    p.expect(rb"read escape sequence")
    assert p.exit_code() == 0
    assert berth(d, "inspect", "-f", "{{.State.Running}}", "shell").stdout == "true\n"
    # attach again: the shell is still there (and redraws its prompt).
    a = Pty(d, "attach", "shell", rows=30, cols=100)
    time.sleep(0.3)
    a.send(b"echo again-$((1+1))\r")
    a.expect(rb"again-2")
    a.send(b"\x10\x11")
    a.expect(rb"read escape sequence")
    assert a.exit_code() == 0
    # exec -it into it, exit with a code.
    e = Pty(d, "exec", "-it", "shell", "sh", rows=25, cols=90)
    e.expect(rb"/ # ")
    e.send(b"stty size\r")
    e.expect(rb"25 90\r\n")
    e.send(b"exit 9\r")
    assert e.exit_code() == 9
    # attach, then the shell exits: berth exits with its code.
    a = Pty(d, "attach", "shell")
    time.sleep(0.3)
    a.send(b"exit 4\r")
    assert a.exit_code() == 4
    b, k = both(d, "attach", "shell")
    assert (b.returncode, b.stderr) == (k.returncode, k.stderr) == \
        (1, "You cannot attach to a stopped container, start it first\n")
    berth(d, "rm", "-f", "shell")
    # A run -it whose shell exits with a code; --rm removes it.
    r = Pty(d, "run", "-it", "--rm", "busybox", "sh")
    r.expect(rb"/ # ")
    r.send(b"exit 3\r")
    code = r.exit_code()
    assert code == 3, r.seen
    assert berth(d, "ps", "-aq").stdout == ""
    # -t without a terminal on stdin: docker's message.
    b, k = both(d, "run", "-it", "--rm", "busybox", "true")
    assert (b.returncode, b.stderr) == (k.returncode, k.stderr) == (1, "the input device is not a TTY\n")


def test_usage_errors_like_docker(d):  # noqa: F811
    """A wrong flag or a wrong number of arguments: docker's message, the
    usage of that command, docker's exit code (125 for a flag, 1 for a count)."""
    for args in (["ps", "--bogus"], ["images", "--nope"], ["image", "ls", "-z"], ["events", "--nope"],
                 ["system", "df", "--x"], ["rm"], ["stop"], ["logs"], ["rename", "a"], ["container", "rm"],
                 ["image", "rm"], ["rename", "a", "b", "c"], ["wait"], ["kill"], ["tag", "a"], ["diff"],
                 ["export"], ["port"], ["inspect"], ["commit"], ["history"], ["start", "--bogus", "x"],
                 # Commands that hand the rest of the line to the container.
                 ["run"], ["create"], ["top"], ["run", "--bogus", "busybox"], ["create", "-z", "busybox"],
                 ["container", "run", "--nope", "busybox", "true"], ["top", "--x", "c"]):
        b, k = both(d, *args)
        assert b.returncode == k.returncode, (args, describe(b), describe(k))
        assert b.stderr == k.stderr.replace("docker", "berth"), (args, b.stderr, k.stderr)
    for group in ("container", "image", "system"):
        b, k = both(d, group, "bogus")
        assert (b.returncode, b.stderr) == (k.returncode, k.stderr.replace("docker", "berth")) == (1, b.stderr)
        b = berth(d, group)
        assert b.returncode == 0 and ("ls" in b.stdout or "df" in b.stdout)
