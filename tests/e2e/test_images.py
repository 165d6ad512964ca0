"""Images end to end: the image store through berth-image-tool, with the
archives other implementations write and read (skopeo, umoci), containers
started from a loaded image, diff/changes/export, and bad input.

Environment: BERTH_IMAGE_TOOL (default build/dev/tests/berth-image-tool).
"""
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO, base_config, describe

TOOL = os.environ.get("BERTH_IMAGE_TOOL") or str(REPO / "build/dev/tests/berth-image-tool")
BUSYBOX_TAR = FIXTURES / "busybox.tar"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def have(tool):
    return shutil.which(tool) is not None


class Store:
    """One image store (--root) in the test's temp dir; unmounts at the end."""

    def __init__(self, root):
        self.root = Path(root)
        self.mounts = []

    def __call__(self, *args, check=True, timeout=120, **kw):
        r = subprocess.run([TOOL, "--root", str(self.root), *map(str, args)],
                           capture_output=True, text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            pytest.fail(describe(r))
        return r

    def fails(self, *args, **kw):
        r = self(*args, check=False, **kw)
        assert r.returncode != 0, describe(r)
        return r

    def images(self):
        out = []
        for line in self("images").stdout.splitlines():
            img_id, size, layers, names = line.split()
            out.append({"id": img_id, "size": int(size), "layers": int(layers),
                        "names": [] if names == "<none>" else names.split(",")})
        return out

    def inspect(self, name):
        return json.loads(self("inspect", name).stdout)

    def blobs(self):
        d = self.root / "content/blobs/sha256"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def layer_dirs(self):
        d = self.root / "layers"
        return sorted(p.name for p in d.iterdir() if len(p.name) == 64) if d.exists() else []

    def leftovers(self):
        """Files that no finished operation should leave behind."""
        out = []
        for sub in ("content/ingest", "layers/tmp"):
            d = self.root / sub
            if d.exists():
                out += [f"{sub}/{p.name}" for p in d.iterdir()]
        return out

    def mount(self, name, target, *flags):
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        base = target.parent / (target.name + ".rw")
        self("mount", *flags, name, target, base / "upper", base / "work")
        self.mounts.append(target)
        return target, base / "upper"

    def unmount_all(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", str(m)], check=False)
        self.mounts = []


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "store")
    yield s
    s.unmount_all()


@pytest.fixture
def busybox(store):
    r = store("load", "-i", BUSYBOX_TAR)
    assert r.stdout.strip() == "Loaded image: busybox:latest"
    return store


def skopeo(*args):
    r = subprocess.run(["skopeo", "--insecure-policy", *map(str, args)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, describe(r)
    return r


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def fixture_ids():
    """The busybox fixture's config digest (image ID) and manifest digest."""
    with tarfile.open(BUSYBOX_TAR) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        index = json.load(t.extractfile("index.json"))
    config = manifest[0]["Config"].split("/")[-1]
    return "sha256:" + config, index["manifests"][0]["digest"]


# ------------------------------------------------------------ load and save
def test_load_busybox_fixture(busybox):
    image_id, manifest_digest = fixture_ids()
    [img] = busybox.images()
    assert img["id"] == image_id
    assert img["names"] == ["busybox:latest"]
    info = busybox.inspect("busybox")
    assert info["ManifestDigest"] == manifest_digest
    assert info["Config"]["config"]["Cmd"] == ["sh"]
    # The same image by full ID, short ID and digest reference.
    for name in (image_id, image_id[7:19], f"busybox@{manifest_digest}"):
        assert busybox.inspect(name)["Id"] == image_id
    assert busybox.leftovers() == []


def test_load_twice_is_idempotent(busybox):
    blobs = busybox.blobs()
    layers = busybox.layer_dirs()
    busybox("load", "-i", BUSYBOX_TAR)
    assert busybox.blobs() == blobs and busybox.layer_dirs() == layers
    assert len(busybox.images()) == 1


def test_save_reproduces_the_loaded_bytes(busybox, tmp_path):
    """save after load gives the same blobs (same digests) and the same
    manifest, and the same archive on every save."""
    out1, out2 = tmp_path / "a.tar", tmp_path / "b.tar"
    busybox("save", "-o", out1, "busybox")
    busybox("save", "-o", out2, "busybox:latest")
    assert out1.read_bytes() == out2.read_bytes()
    with tarfile.open(BUSYBOX_TAR) as orig, tarfile.open(out1) as saved:
        orig_blobs = {m.name: orig.extractfile(m).read() for m in orig if m.name.startswith("blobs/sha256/") and m.isfile()}
        saved_blobs = {m.name: saved.extractfile(m).read() for m in saved if m.name.startswith("blobs/sha256/") and m.isfile()}
        assert saved_blobs == orig_blobs
        manifest = json.load(saved.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == ["busybox:latest"]
    fresh = Store(tmp_path / "fresh")
    fresh("load", "-i", out1)
    assert fresh.images()[0]["id"] == busybox.images()[0]["id"]


@pytest.mark.skipif(not have("skopeo"), reason="skopeo not installed")
def test_skopeo_reads_berth_archives(busybox, tmp_path):
    image_id, manifest_digest = fixture_ids()
    saved = tmp_path / "saved.tar"
    busybox("save", "-o", saved, "busybox")
    info = json.loads(skopeo("inspect", "--raw", f"docker-archive:{saved}").stdout)
    assert info["config"]["digest"] == image_id
    # docker-archive → a directory copy verifies every blob it reads.
    skopeo("copy", f"docker-archive:{saved}", f"dir:{tmp_path / 'dir'}")
    # The same tar is an OCI layout too, as Docker 25's is.
    raw = skopeo("inspect", "--raw", f"oci-archive:{saved}:latest").stdout
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == manifest_digest
    layout = tmp_path / "layout"
    busybox("save", "--oci-dir", layout, "busybox")
    raw = skopeo("inspect", "--raw", f"oci:{layout}:latest").stdout
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == manifest_digest
    skopeo("copy", f"oci:{layout}:latest", f"dir:{tmp_path / 'dir2'}")


@pytest.mark.skipif(not have("umoci"), reason="umoci not installed")
def test_umoci_unpacks_berth_layout(busybox, tmp_path):
    layout = tmp_path / "layout"
    busybox("save", "--oci-dir", layout, "busybox")
    bundle = tmp_path / "bundle"
    r = subprocess.run(["umoci", "unpack", "--image", f"{layout}:latest", str(bundle)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, describe(r)
    rootfs = bundle / "rootfs"
    assert (rootfs / "bin/busybox").stat().st_size == (FIXTURES / "busybox-rootfs/bin/busybox").stat().st_size
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    assert json.loads((bundle / "config.json").read_text())["process"]["args"] == ["sh"]


@pytest.mark.skipif(not have("skopeo"), reason="skopeo not installed")
@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive", "oci"])
def test_berth_loads_skopeo_output(store, tmp_path, transport):
    image_id, _ = fixture_ids()
    dest = tmp_path / ("copy.tar" if transport != "oci" else "copy")
    skopeo("copy", f"docker-archive:{BUSYBOX_TAR}", f"{transport}:{dest}:example.com/team/bb:v1")
    if transport == "oci":
        r = store("load", "--oci-dir", dest)
    else:
        r = store("load", "-i", dest)
    assert "example.com/team/bb:v1" in r.stdout or transport == "oci", r.stdout
    [img] = store.images()
    if transport == "docker-archive":
        # The legacy layout skopeo writes (symlinked layer.tar) keeps the ID.
        assert img["id"] == image_id
        assert img["names"] == ["example.com/team/bb:v1"]
    target, _ = store.mount(img["id"], tmp_path / "mnt")
    assert (target / "bin/busybox").exists()


def test_load_compressed_archive(store, tmp_path):
    gz = tmp_path / "busybox.tar.gz"
    subprocess.run(f"gzip -c {BUSYBOX_TAR} > {gz}", shell=True, check=True)
    store("load", "-i", gz)
    assert store.images()[0]["names"] == ["busybox:latest"]


# ----------------------------------------------------------- containers
def test_container_runs_from_loaded_image(busybox, tmp_path):
    """The overlay root of a loaded image runs under berth-runtime."""
    runtime = os.environ.get("BERTH_RUNTIME") or str(REPO / "build/dev/cmd/berth-runtime/berth-runtime")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    rootfs, upper = busybox.mount("busybox", bundle / "rootfs")
    spec = base_config("img-e2e", ["sh", "-c", "echo from-image > /created; head -1 /etc/passwd"])
    (bundle / "config.json").write_text(json.dumps(spec))
    r = subprocess.run([runtime, "--root", str(tmp_path / "state"), "run", "--bundle", str(bundle),
                        "img-e2e"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, describe(r)
    assert r.stdout.startswith("root:x:0:0"), r.stdout
    # The write went to the container's upper layer, not to the image.
    assert (upper / "created").read_text() == "from-image\n"
    assert not any((busybox.root / "layers" / d / "diff/created").exists() for d in busybox.layer_dirs())


def test_diff_changes_and_export(busybox, tmp_path):
    rootfs, upper = busybox.mount("busybox", tmp_path / "c1")
    (rootfs / "etc/motd").write_text("hello\n")          # added
    (rootfs / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")  # changed
    (rootfs / "bin/vi").unlink()                          # deleted
    (rootfs / "newdir/sub").mkdir(parents=True)
    lowers = [busybox.root / "layers" / d / "diff" for d in busybox.layer_dirs()]
    changes = busybox("changes", upper, *lowers).stdout.splitlines()
    assert "A /etc/motd" in changes
    assert "C /etc/passwd" in changes
    assert "D /bin/vi" in changes
    assert "C /etc" in changes and "C /bin" in changes
    assert "A /newdir" in changes and "A /newdir/sub" in changes

    d1, d2 = tmp_path / "d1.tar", tmp_path / "d2.tar"
    busybox("diff", upper, "-o", d1)
    busybox("diff", upper, "-o", d2)
    assert d1.read_bytes() == d2.read_bytes()
    with tarfile.open(d1) as t:
        names = t.getnames()
    assert "bin/.wh.vi" in names and "etc/motd" in names and "etc/passwd" in names

    export = tmp_path / "export.tar"
    busybox("export", rootfs, "-o", export)
    with tarfile.open(export) as t:
        names = set(t.getnames())
        assert t.extractfile("etc/motd").read() == b"hello\n"
    assert "bin/busybox" in names and "bin/vi" not in names


def test_import_rootfs_with_changes(store, tmp_path):
    rootfs_tar = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-C", str(FIXTURES / "busybox-rootfs"), "-cf", str(rootfs_tar), "."], check=True)
    r = store("import", rootfs_tar, "-c", 'CMD ["/bin/sh", "-c", "echo hi"]', "-c", "ENV A=1 B=two",
              "-c", "WORKDIR /srv", "-c", "EXPOSE 8080", "-c", "LABEL team=berth", "-m", "from a tar",
              "mine:v1")
    image_id = r.stdout.strip()
    info = store.inspect("mine:v1")
    assert info["Id"] == image_id
    cfg = info["Config"]
    assert cfg["config"]["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert cfg["config"]["Env"] == ["A=1", "B=two"]
    assert cfg["config"]["WorkingDir"] == "/srv"
    assert cfg["config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert cfg["config"]["Labels"] == {"team": "berth"}
    assert cfg["history"][0]["comment"] == "from a tar"
    # The layer is the tar itself: its digest is the diff ID.
    assert cfg["rootfs"]["diff_ids"] == [sha256_file(rootfs_tar)]
    target, _ = store.mount("mine:v1", tmp_path / "m")
    assert (target / "bin/busybox").exists()
    r = store.fails("import", rootfs_tar, "-c", "RUN echo no")
    assert "RUN is not a valid change command" in r.stderr


def test_many_layers_mount_both_ways(store, tmp_path):
    """An image of 130 layers: the lowerdir+ API and the short-name fallback
    both stack them all."""
    n = 130
    archive = tmp_path / "many.tar"
    layers, diff_ids = [], []
    for i in range(n):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name, data in ((f"f{i}", f"{i}\n".encode()), ("common", f"layer {i}\n".encode())):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
        layers.append(buf.getvalue())
        diff_ids.append("sha256:" + hashlib.sha256(buf.getvalue()).hexdigest())
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    with tarfile.open(archive, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        add("config.json", config)
        for i, l in enumerate(layers):
            add(f"l{i}/layer.tar", l)
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["many:layers"],
                                          "Layers": [f"l{i}/layer.tar" for i in range(n)]}]).encode())
    store("load", "-i", archive)
    for flags in ((), ("--legacy",)):
        target, _ = store.mount("many:layers", tmp_path / f"m{len(flags)}", *flags)
        assert (target / "common").read_text() == f"layer {n - 1}\n"
        assert all((target / f"f{i}").exists() for i in range(n))


# ------------------------------------------------------------ bad input
def make_archive(path, entries, manifest=None):
    with tarfile.open(path, "w") as t:
        for name, data in entries.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        if manifest is not None:
            data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
            ti = tarfile.TarInfo("manifest.json")
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def good_parts():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("hello")
        ti.size = 3
        t.addfile(ti, io.BytesIO(b"hi\n"))
    layer = buf.getvalue()
    diff = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
    return layer, config


def bad_archives(tmp_path):
    layer, config = good_parts()
    good_manifest = [{"Config": "c.json", "RepoTags": ["bad:x"], "Layers": ["l/layer.tar"]}]
    cases = {}

    p = tmp_path / "truncated.tar"
    make_archive(p, {"c.json": config, "l/layer.tar": layer}, good_manifest)
    data = p.read_bytes()
    p.write_bytes(data[:1024 + 300])  # inside the layer's data
    cases["truncated"] = (p, "truncated")

    p = tmp_path / "missing.tar"
    make_archive(p, {"c.json": config}, good_manifest)
    cases["missing blob"] = (p, "l/layer.tar")

    p = tmp_path / "mismatch.tar"
    wrong = "0" * 64
    make_archive(p, {f"blobs/sha256/{wrong}": layer, "c.json": config},
                 [{"Config": "c.json", "RepoTags": ["bad:x"], "Layers": [f"blobs/sha256/{wrong}"]}])
    cases["digest mismatch"] = (p, "digest mismatch")

    p = tmp_path / "bigconfig.tar"
    big = json.dumps({"architecture": "amd64", "os": "linux", "pad": "x" * (21 << 20),
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    make_archive(p, {"c.json": big}, [{"Config": "c.json", "RepoTags": ["bad:x"], "Layers": []}])
    cases["config over 20 MiB"] = (p, "more than the 20971520 allowed")

    p = tmp_path / "bigmanifest.tar"
    make_archive(p, {"c.json": config, "l/layer.tar": layer},
                 json.dumps(good_manifest).encode() + b" " * (5 << 20))
    cases["manifest over 4 MiB"] = (p, "more than the 4194304 allowed")

    p = tmp_path / "wrongdiff.tar"
    other = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}}).encode()
    make_archive(p, {"c.json": other, "l/layer.tar": layer}, good_manifest)
    cases["diff ID mismatch"] = (p, "diff ID")

    p = tmp_path / "garbage.tar"
    p.write_bytes(os.urandom(5000))
    cases["garbage"] = (p, "load image archive")

    p = tmp_path / "nomanifest.tar"
    make_archive(p, {"c.json": config})
    cases["no manifest"] = (p, "neither manifest.json nor index.json")
    return cases


def test_bad_archives_leave_nothing(busybox, tmp_path):
    before_blobs, before_layers = busybox.blobs(), busybox.layer_dirs()
    for what, (path, message) in bad_archives(tmp_path).items():
        r = busybox.fails("load", "-i", path)
        assert message.lower() in r.stderr.lower(), f"{what}: {r.stderr}"
        assert "Loaded image" not in r.stdout
        assert [i["names"] for i in busybox.images()] == [["busybox:latest"]], what
        assert busybox.blobs() == before_blobs, what
        assert busybox.layer_dirs() == before_layers, what
        assert busybox.leftovers() == [], what


def test_kill_during_load_leaves_old_or_new_state(tmp_path):
    """kill -9 at several moments of a load: reopening the store shows the
    image complete or absent, and no orphan blob, layer or ingest file."""
    src = tmp_path / "big.tar"
    # A few MiB of layers so that the load takes long enough to interrupt.
    payload = tmp_path / "payload"
    payload.mkdir()
    for i in range(40):
        (payload / f"f{i}").write_bytes(os.urandom(256 << 10))
    subprocess.run(["tar", "-C", str(payload), "-cf", str(tmp_path / "rootfs.tar"), "."], check=True)
    seed = Store(tmp_path / "seed")
    seed("import", tmp_path / "rootfs.tar", "big:one")
    seed("save", "-o", src, "big:one")
    for delay in (0.005, 0.02, 0.05, 0.1, 0.2):
        s = Store(tmp_path / f"crash{delay}")
        p = subprocess.Popen([TOOL, "--root", str(s.root), "load", "-i", str(src)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        images = s.images()  # reopening reconciles
        if images:
            assert images[0]["names"] == ["big:one"]
            target, _ = s.mount("big:one", tmp_path / f"m{delay}")
            assert len(list(target.iterdir())) == 40
            s.unmount_all()
        else:
            assert s.blobs() == [] and s.layer_dirs() == []
        assert s.leftovers() == []
