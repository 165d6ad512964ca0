"""berthd serving images through the Docker Engine API, driven by the real
docker CLI and docker-py: version/info, load, save, import, inspect,
history, tag, rmi, prune, and bad requests that must get 4xx while the
daemon stays up.

Environment: BERTHD (default build/dev/cmd/berthd/berthd); the docker CLI
is /usr/local/bin/docker or the first `docker` on PATH.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, describe

BERTHD = os.environ.get("BERTHD") or str(REPO / "build/dev/cmd/berthd/berthd")
DOCKER = shutil.which("docker", path="/usr/local/bin:" + os.environ.get("PATH", ""))
BUSYBOX_TAR = FIXTURES / "busybox.tar"

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


class Daemon:
    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        # The exec root holds Unix sockets, whose paths must stay short:
        # a directory of its own in /tmp rather than deep under pytest's.
        self.run = Path(tempfile.mkdtemp(prefix="bd-", dir="/tmp"))
        self.sock = self.run / "berth.sock"
        self.proc = subprocess.Popen(
            [BERTHD, "--data-root", str(self.tmp / "data"), "--exec-root", str(self.run),
             "--log-file", str(self.tmp / "berthd.log"), "--debug"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"berthd did not start: {self.proc.stderr.read().decode()}")
            time.sleep(0.02)

    def docker(self, *args, check=True, input=None, timeout=60):
        if DOCKER is None:
            pytest.skip("no docker CLI on this machine")
        env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}", DOCKER_CONFIG=str(self.tmp / "cfg"))
        r = subprocess.run([DOCKER, *map(str, args)], capture_output=True, env=env, input=input,
                           timeout=timeout, text=input is None or isinstance(input, str))
        if check and r.returncode != 0:
            pytest.fail(describe(r))
        return r

    def raw(self, request: bytes, timeout=10):
        """Send raw bytes; return the status code of the first answer (or None)."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(str(self.sock))
        s.sendall(request)
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        if not data.startswith(b"HTTP/1.1 "):
            return None
        return int(data.split(b" ")[1])

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.sock_gone = not self.sock.exists()
        shutil.rmtree(self.run, ignore_errors=True)


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path)
    yield d
    assert d.alive(), "berthd died during the test"
    d.stop()
    assert d.sock_gone, "berthd left its socket behind"


@pytest.fixture
def loaded(daemon):
    r = daemon.docker("load", "-i", BUSYBOX_TAR)
    assert r.stdout.strip() == "Loaded image: busybox:latest"
    return daemon


def fixture_image_id():
    with tarfile.open(BUSYBOX_TAR) as t:
        manifest = json.load(t.extractfile("manifest.json"))
    return "sha256:" + manifest[0]["Config"].split("/")[-1]


def test_version_and_info(daemon):
    out = json.loads(daemon.docker("version", "--format", "{{json .Server}}").stdout)
    assert out["ApiVersion"] == "1.41" and out["MinAPIVersion"] == "1.24"
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").stdout)
    assert info["Images"] == 0 and info["OSType"] == "linux"
    assert info["DockerRootDir"] == str(daemon.tmp / "data")
    # The socket is not world-writable.
    assert (daemon.sock.stat().st_mode & 0o777) == 0o660


def test_load_images_inspect_history(loaded):
    image_id = fixture_image_id()
    lines = loaded.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.split("\n")
    assert lines[0] == f"busybox:latest {image_id[7:19]}"
    assert loaded.docker("images", "-q", "--no-trunc").stdout.strip() == image_id
    info = json.loads(loaded.docker("image", "inspect", "busybox").stdout)[0]
    assert info["Id"] == image_id
    assert info["RepoTags"] == ["busybox:latest"]
    assert info["Config"]["Cmd"] == ["sh"]
    assert info["RootFS"]["Type"] == "layers" and len(info["RootFS"]["Layers"]) == 1
    hist = loaded.docker("history", "--no-trunc", "--format", "{{.ID}} {{.CreatedBy}}", "busybox").stdout
    assert hist.startswith(image_id)
    assert "make-busybox" in hist
    r = loaded.docker("image", "inspect", "nosuch:image", check=False)
    assert r.returncode == 1 and "No such image: nosuch:image" in r.stderr


def test_tag_and_rmi_rules(loaded):
    loaded.docker("tag", "busybox", "example.com/team/bb:v1")
    names = loaded.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(names) == ["busybox:latest", "example.com/team/bb:v1"]
    # By ID with two tags: a conflict unless forced.
    r = loaded.docker("rmi", fixture_image_id()[7:19], check=False)
    assert r.returncode == 1 and "must be forced" in r.stderr
    # By one of its tags: only that tag goes.
    r = loaded.docker("rmi", "example.com/team/bb:v1")
    assert r.stdout.strip() == "Untagged: example.com/team/bb:v1"
    r = loaded.docker("rmi", "busybox")
    assert "Untagged: busybox:latest" in r.stdout and f"Deleted: {fixture_image_id()}" in r.stdout
    assert loaded.docker("images", "-q").stdout.strip() == ""
    blobs = loaded.tmp / "data/content/blobs/sha256"
    assert list(blobs.iterdir()) == []


def test_save_load_round_trip(loaded, tmp_path):
    saved = tmp_path / "saved.tar"
    loaded.docker("save", "-o", saved, "busybox")
    with tarfile.open(BUSYBOX_TAR) as orig, tarfile.open(saved) as out:
        want = {m.name: orig.extractfile(m).read() for m in orig if m.isfile() and m.name.startswith("blobs/")}
        got = {m.name: out.extractfile(m).read() for m in out if m.isfile() and m.name.startswith("blobs/")}
    assert got == want
    # And through stdout, into a second daemon.
    other = Daemon(tmp_path / "other")
    try:
        data = loaded.docker("save", "busybox", input=b"").stdout
        r = other.docker("load", input=data)
        assert b"Loaded image: busybox:latest" in r.stdout
        assert other.docker("images", "-q", "--no-trunc").stdout.strip() == fixture_image_id()
    finally:
        other.stop()
    if shutil.which("skopeo"):
        r = subprocess.run(["skopeo", "inspect", "--raw", f"docker-archive:{saved}"], capture_output=True,
                           text=True)
        assert r.returncode == 0, describe(r)


def test_import_with_changes(daemon, tmp_path):
    rootfs = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-C", str(FIXTURES / "busybox-rootfs"), "-cf", str(rootfs), "."], check=True)
    r = daemon.docker("import", "-c", "ENV A=1", "-c", 'CMD ["sh"]', "-m", "imported", rootfs, "imp:v1")
    image_id = r.stdout.strip()
    info = json.loads(daemon.docker("image", "inspect", "imp:v1").stdout)[0]
    assert info["Id"] == image_id
    assert info["Config"]["Env"] == ["A=1"] and info["Config"]["Cmd"] == ["sh"]
    digest = "sha256:" + hashlib.sha256(rootfs.read_bytes()).hexdigest()
    assert info["RootFS"]["Layers"] == [digest]


def test_pull_says_what_is_missing(loaded):
    r = loaded.docker("pull", "alpine", check=False)
    assert r.returncode == 1 and "pulling images is not available yet" in r.stderr
    r = loaded.docker("push", "busybox", check=False)
    assert r.returncode == 1 and "not available yet" in r.stderr


def test_bad_input_is_4xx_and_changes_nothing(loaded, tmp_path):
    before = loaded.docker("images", "-q", "--no-trunc").stdout
    blobs = sorted(p.name for p in (loaded.tmp / "data/content/blobs/sha256").iterdir())
    cases = [
        b"GET /v1.41/images/..%2f..%2fetc/json HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1.41/images/%2e%2e/json HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v9.99/images/json HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1.12/images/json HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /nosuch HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /v1.41/images/busybox/tag?repo=UPPER HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        b"POST /images/load HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{bad]",
        b"GET /images/json?filters=notjson HTTP/1.1\r\nHost: x\r\n\r\n",
        b"DELETE /images/nosuch:tag HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /images/get?names=nosuch HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /images/json HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (100 << 10) + b"\r\n\r\n",
        b"NONSENSE\r\n\r\n",
        b"GET /images/%zz/json HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for i in range(1000):
        req = cases[i % len(cases)]
        status = loaded.raw(req)
        assert status is not None and 400 <= status < 500, (req[:80], status)
    assert loaded.alive()
    assert loaded.docker("images", "-q", "--no-trunc").stdout == before
    assert sorted(p.name for p in (loaded.tmp / "data/content/blobs/sha256").iterdir()) == blobs


def test_docker_py(loaded):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=f"unix://{loaded.sock}", version="auto")
    assert client.version()["ApiVersion"] == "1.41"
    [img] = client.images.list()
    assert img.id == fixture_image_id() and img.tags == ["busybox:latest"]
    img.tag("pyrepo/bb", "x")
    assert sorted(client.images.get("busybox").tags) == ["busybox:latest", "pyrepo/bb:x"]
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nosuch")
    client.close()


def test_events_for_image_changes(daemon):
    start = int(time.time())
    daemon.docker("load", "-i", BUSYBOX_TAR)
    daemon.docker("tag", "busybox", "ev/bb:1")
    daemon.docker("rmi", "ev/bb:1")
    until = int(time.time()) + 1
    out = daemon.docker("events", "--since", start, "--until", until, "--format",
                        "{{.Type}} {{.Action}} {{index .Actor.Attributes \"name\"}}").stdout.splitlines()
    assert out == ["image load <no value>", "image tag ev/bb:1", "image untag ev/bb:1"] or \
        out == ["image load ", "image tag ev/bb:1", "image untag ev/bb:1"], out
    only_tags = daemon.docker("events", "--since", start, "--until", until, "--filter", "event=tag",
                              "--format", "{{.Action}}").stdout.split()
    assert only_tags == ["tag"]


def test_socket_is_not_a_backdoor_to_root(tmp_path):
    """A caller other than root who can reach the socket (here: through its
    group) is refused --privileged, host namespaces, added capabilities and
    host binds, with 403 naming the rule; root is not."""
    # pytest's tmp_path is private to root; the socket must be reachable.
    run = Path(tempfile.mkdtemp(prefix="berthd-policy-", dir="/tmp"))
    os.chmod(run, 0o755)
    sock = run / "berth.sock"
    proc = subprocess.Popen([BERTHD, "--data-root", str(tmp_path / "data"), "--exec-root",
                             str(run), "--group", "nogroup"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        st = sock.stat()
        assert st.st_mode & 0o777 == 0o660 and st.st_gid == 65534

        def create(host_config, as_nobody=True):
            body = json.dumps({"Image": "busybox", "HostConfig": host_config})
            cmd = ["curl", "-s", "-w", "\\n%{http_code}", "--unix-socket", str(sock),
                   "-H", "Content-Type: application/json", "-d", body, "http://x/v1.41/containers/create"]
            if as_nobody:
                cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            body, _, status = r.stdout.rpartition("\n")
            return int(status), body

        for hc, rule in (({"Privileged": True}, "allow_privileged"),
                         ({"NetworkMode": "host"}, "allow_host_namespaces"),
                         ({"CapAdd": ["SYS_ADMIN"]}, "allowed_capabilities"),
                         ({"Binds": ["/:/host"]}, "allowed_bind_paths"),
                         ({"Devices": [{"PathOnHost": "/dev/mem"}]}, "allow_devices")):
            status, body = create(hc)
            assert status == 403 and f"policy rule {rule}" in body, (hc, status, body)
        # Within the policy (and for root), the request goes on to the engine,
        # which has no busybox image in this daemon.
        status, body = create({"CapAdd": ["NET_BIND_SERVICE"]})
        assert status == 404 and "No such image: busybox:latest" in body
        status, body = create({"Privileged": True}, as_nobody=False)
        assert status == 404 and "No such image" in body
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(run, ignore_errors=True)
