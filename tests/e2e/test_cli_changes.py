"""berth port, diff, export, import and commit side by side with the docker
CLI against one private berthd: the same output, the same files, the same
errors and exit codes. `port` with published ports is compared against a
small fake daemon (berthd has no bridge network yet, so its containers
publish nothing). Every container is removed and the daemon stopped
afterwards (the `d` fixture of test_daemon_containers).
"""
import http.server
import io
import json
import os
import pty
import re
import socketserver
import subprocess
import tarfile
import threading

import pytest

from conftest import describe, wait_for
from test_cli import BERTH, berth, both, same
from test_daemon_containers import d  # noqa: F401 (the fixture)
from test_daemon_images import DOCKER

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(DOCKER is None, reason="no docker CLI to compare with")]

SHA = re.compile(r"sha256:[0-9a-f]{64}\n")


def same_error(daemon, *args):
    """Both fail with the same exit code and message (docker's name for itself aside)."""
    b, k = both(daemon, *args)
    assert b.returncode == k.returncode != 0, f"berth: {describe(b)}\ndocker: {describe(k)}"
    assert b.stderr == re.sub(r"\bdocker\b", "berth", k.stderr), f"berth: {describe(b)}\ndocker: {describe(k)}"
    assert b.stdout == k.stdout == ""
    return b


def tar_listing(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return [(m.name, m.type, m.size, m.mode) for m in t.getmembers()]


def with_terminal_stdout(cmd, env):
    """Runs `cmd` with a pseudo-terminal as stdout: (exit code, stderr)."""
    master, slave = pty.openpty()
    try:
        r = subprocess.run(cmd, stdout=slave, stderr=subprocess.PIPE, env=env, text=True, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    return r.returncode, r.stderr


@pytest.fixture
def changed(d):  # noqa: F811
    """A running container that added, changed and deleted files."""
    d.docker("run", "-d", "--name", "wk", "busybox", "sh", "-c",
             "touch /x && rm /bin/ls && echo more >> /etc/passwd && mkdir -p /data/sub && "
             "echo hi > /data/sub/f && sleep 300")
    wait_for(lambda: "A /data/sub/f" in d.docker("diff", "wk").stdout, what="the container's changes")
    return d


def test_diff_like_docker(changed):
    d = changed
    b = same(d, "diff", "wk")
    lines = b.stdout.splitlines()
    for want in ("A /x", "D /bin/ls", "C /etc", "C /etc/passwd", "A /data", "A /data/sub", "A /data/sub/f"):
        assert want in lines, lines
    same(d, "container", "diff", "wk")
    d.docker("create", "--name", "fresh", "busybox", "true")
    same(d, "diff", "fresh")
    same_error(d, "diff", "nosuch")
    same_error(d, "diff")
    same_error(d, "diff", "wk", "fresh")
    same_error(d, "container", "diff")
    same_error(d, "diff", "")
    same_error(d, "diff", " ")
    same(d, "diff", " wk ")  # the docker client trims the name


def test_export_like_docker(changed, tmp_path):
    d = changed
    out = tmp_path / "out"  # (the daemon's data is in tmp_path itself)
    out.mkdir()
    mine, theirs = out / "mine.tar", out / "theirs.tar"
    assert berth(d, "export", "-o", mine, "wk").stdout == ""
    d.docker("export", "-o", theirs, "wk")
    listing = tar_listing(mine.read_bytes())
    assert listing == tar_listing(theirs.read_bytes())
    names = {n.lstrip("./") for n, *_ in listing}
    assert {"x", "data/sub/f", "bin/sh"} <= names and "bin/ls" not in names
    assert mine.stat().st_mode & 0o777 == theirs.stat().st_mode & 0o777 == 0o600
    # To stdout, and through `container export` with --output.
    assert tar_listing(berth(d, "export", "wk", input=b"").stdout) == listing
    berth(d, "container", "export", "--output", mine, "wk")
    assert tar_listing(mine.read_bytes()) == listing
    # Errors: no such container (no file made), a directory, a missing folder.
    for args in (["export", "-o", out / "none.tar", "nosuch"], ["export", "-o", out, "wk"],
                 ["export", "-o", out / "no/dir/x.tar", "wk"], ["export"], ["container", "export", "a", "b"],
                 ["export", "-o", out / "empty.tar", ""]):
        same_error(d, *args)
    assert sorted(p.name for p in out.iterdir()) == ["mine.tar", "theirs.tar"]  # no temporary files left
    # A terminal on stdout is refused before the daemon is asked.
    env = dict(os.environ, BERTH_HOST=f"unix://{d.sock}", DOCKER_HOST=f"unix://{d.sock}",
               DOCKER_CONFIG=str(d.tmp / "cfg"))
    b = with_terminal_stdout([BERTH, "export", "wk"], env)
    k = with_terminal_stdout([DOCKER, "export", "wk"], env)
    assert b == k == (1, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n")


def test_import_like_docker(changed, tmp_path):
    d = changed
    tar = tmp_path / "wk.tar"
    berth(d, "export", "-o", tar, "wk")
    b = berth(d, "import", "-m", "from wk", "-c", 'CMD ["cat", "/data/sub/f"]', "-c", "ENV A=1", tar, "imp:b")
    k = d.docker("import", "-m", "from wk", "-c", 'CMD ["cat", "/data/sub/f"]', "-c", "ENV A=1", tar, "imp:k")
    assert SHA.fullmatch(b.stdout) and SHA.fullmatch(k.stdout)
    fmt = "{{json .Config.Cmd}} {{json .Config.Env}} {{json .RootFS.Layers}} {{.Os}}"
    mine = berth(d, "image", "inspect", "-f", fmt, "imp:b").stdout
    assert mine == d.docker("image", "inspect", "-f", fmt, "imp:k").stdout
    assert mine.startswith('["cat","/data/sub/f"] ["A=1"] ["sha256:')
    assert berth(d, "history", "--format", "{{.Comment}}", "imp:b").stdout == "from wk\n"
    assert berth(d, "image", "inspect", "-f", "{{.Id}}", "imp:b").stdout == b.stdout
    # The imported image runs: the container's files are in it.
    r = berth(d, "run", "--rm", "imp:b")
    assert (r.returncode, r.stdout) == (0, "hi\n")
    # From stdin, through `image import`, without a name.
    r = berth(d, "image", "import", "-", "imp:stdin", input=tar.read_bytes())
    assert SHA.fullmatch(r.stdout.decode())
    assert berth(d, "run", "--rm", "imp:stdin", "cat", "/x").returncode == 0
    r = berth(d, "import", tar)
    assert SHA.fullmatch(r.stdout)
    assert r.stdout.strip() in berth(d, "images", "-q", "--no-trunc").stdout
    # Errors: a missing file, a URL (berthd fetches nothing), no argument,
    # a tar that is not one.
    same_error(d, "import", tmp_path / "nofile.tar")
    b = same_error(d, "import", "http://example.com/rootfs.tar", "web:1")
    assert "not supported" in b.stderr
    same_error(d, "import")
    same_error(d, "image", "import")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar archive\n" * 100)
    same_error(d, "import", junk, "junk:1")
    assert "junk" not in berth(d, "images", "--format", "{{.Repository}}").stdout


def test_commit_like_docker(changed):
    d = changed
    b = berth(d, "commit", "-a", "me", "-m", "my change", "-c", 'CMD ["echo", "hi"]', "-c", "ENV FOO=bar",
              "wk", "com:b")
    k = d.docker("commit", "-a", "me", "-m", "my change", "-c", 'CMD ["echo", "hi"]', "-c", "ENV FOO=bar",
                 "wk", "com:k")
    assert SHA.fullmatch(b.stdout) and SHA.fullmatch(k.stdout)
    fmt = "{{.Author}}|{{json .Config.Cmd}}|{{json .Config.Env}}|{{len .RootFS.Layers}}"
    mine = berth(d, "image", "inspect", "-f", fmt, "com:b").stdout
    assert mine == d.docker("image", "inspect", "-f", fmt, "com:k").stdout
    assert mine.startswith('me|["echo","hi"]|') and '"FOO=bar"]|' in mine
    assert berth(d, "history", "--format", "{{.Comment}}", "com:b").stdout.splitlines()[0] == "my change"
    assert berth(d, "image", "inspect", "-f", "{{.Id}}", "com:b").stdout == b.stdout
    assert berth(d, "inspect", "-f", "{{.State.Status}}", "wk").stdout == "running\n"  # paused, then thawed
    r = berth(d, "run", "--rm", "com:b")
    assert (r.returncode, r.stdout) == (0, "hi\n")
    r = berth(d, "run", "--rm", "com:b", "sh", "-c", "test ! -e /bin/ls && cat /data/sub/f && echo $FOO")
    assert (r.returncode, r.stdout) == (0, "hi\nbar\n")
    # No name: an untagged image; --pause=false; `container commit`; the tag
    # defaults to latest.
    r = berth(d, "commit", "--pause=false", "wk")
    assert SHA.fullmatch(r.stdout)
    assert berth(d, "inspect", "-f", "{{.State.Status}}", "wk").stdout == "running\n"
    assert SHA.fullmatch(berth(d, "container", "commit", "-p", "wk", "com").stdout)
    assert berth(d, "images", "--format", "{{.Tag}}", "com").stdout.split().count("latest") == 1
    # Errors as docker's.
    same_error(d, "commit", "nosuch", "x")
    same_error(d, "commit", "-c", "BOGUS x", "wk", "bad:1")
    same_error(d, "commit", "wk", "x@sha256:" + "a" * 64)
    same_error(d, "commit")
    same_error(d, "commit", "wk", "a", "b")
    same_error(d, "commit", "wk", "-m", "flags come first")
    same_error(d, "commit", " ", "x")
    same_error(d, "container", "commit")


def test_port_without_published_ports(d):  # noqa: F811
    d.docker("run", "-d", "--name", "box", "busybox", "sleep", "300")
    assert same(d, "port", "box").stdout == ""
    same(d, "container", "port", "box")
    b = same_error(d, "port", "box", "80")
    assert b.stderr == "Error: No public port '80' published for box\n"
    for args in (["port", "box", "80/udp"], ["port", "box", "http"], ["port", "box", "70000/tcp"],
                 ["port", "box", "/tcp"], ["port", "nosuch"], ["port", "nosuch", "80"], ["port"],
                 ["port", "box", "80", "81"], ["container", "port"], ["port", ""], ["port", " ", "80"]):
        same_error(d, *args)


class FakeDaemon(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def fake_daemon(path, containers):
    """Answers /_ping and GET /containers/{name}/json from `containers`."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def address_string(self):
            return "fake"

        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Api-Version", "1.41")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_HEAD(self):
            self.answer(200, {})

        def do_GET(self):
            m = re.fullmatch(r"(/v[\d.]+)?/containers/([^/]+)/json(\?.*)?", self.path)
            if self.path.endswith("/_ping"):
                self.answer(200, "OK")
            elif m and m.group(2) in containers:
                self.answer(200, containers[m.group(2)])
            elif m:
                self.answer(404, {"message": f"No such container: {m.group(2)}"})
            else:
                self.answer(404, {"message": "page not found"})

    server = FakeDaemon(str(path), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_port_with_published_ports_like_docker(tmp_path):
    ports = {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
             "443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8443"}],
             "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}],
             "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}],
             "9000/tcp": None, "9001/tcp": []}
    web = {"Id": "f" * 64, "Name": "/web", "State": {"Status": "running", "Running": True},
           "NetworkSettings": {"Ports": ports}}
    sock = tmp_path / "fake.sock"
    server = fake_daemon(sock, {"web": web})
    try:
        env = dict(os.environ, BERTH_HOST=f"unix://{sock}", DOCKER_HOST=f"unix://{sock}",
                   DOCKER_CONFIG=str(tmp_path / "cfg"), BERTH_NO_AUTOSTART="1")

        def run(cli, *args):
            return subprocess.run([cli, *args], capture_output=True, text=True, env=env, timeout=60)

        cases = [["port", "web"], ["port", "web", "80"], ["port", "web", "80/tcp"], ["port", "web", "53/udp"],
                 ["container", "port", "web", "443"], ["port", "web", "53"], ["port", "web", "9000"],
                 ["port", "web", "9001/tcp"], ["port", "web", "x/tcp"], ["port", "nosuch"]]
        for args in cases:
            b, k = run(BERTH, *args), run(DOCKER, *args)
            assert (b.returncode, b.stdout, b.stderr) == (k.returncode, k.stdout, k.stderr), \
                f"{args}\nberth: {describe(b)}\ndocker: {describe(k)}"
        assert run(BERTH, "port", "web").stdout == (
            "53/udp -> 0.0.0.0:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"
            "443/tcp -> 127.0.0.1:8443\n8080/tcp -> 0.0.0.0:32768\n")
        assert run(BERTH, "port", "web", "80").stdout == "0.0.0.0:8080\n[::]:8080\n"
    finally:
        server.shutdown()
        server.server_close()


def test_help(d):  # noqa: F811
    for cmd in (["port"], ["commit"], ["diff"], ["export"], ["import"], ["container", "port"],
                ["container", "commit"], ["container", "diff"], ["container", "export"], ["image", "import"]):
        r = berth(d, *cmd, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, cmd
    r = berth(d, "commit", "--bogus", "wk", check=False)
    assert r.returncode == 125 and "bogus" in r.stderr
