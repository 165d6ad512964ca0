"""Bad input gets a non-zero exit, a message naming the field, and leaves
nothing behind: no state entry, no cgroup directory, no process, no mount
(the rt fixture checks the last three at teardown)."""
import json
import os

import pytest

from conftest import cgroup_dirs, describe, known_difference


def assert_refused(rt, b, *words):
    r = rt.run(b)
    assert r.returncode != 0, describe(r)
    msg = r.stderr.lower()
    assert any(w.lower() in msg for w in words), f"message should name one of {words}:\n{describe(r)}"
    assert rt("state", b.cid).returncode != 0, "no container may be left"
    assert not cgroup_dirs(b.cgroups_path), "no cgroup may be left"
    assert not (os.path.isdir(rt.root) and b.cid in os.listdir(rt.root)), "no state entry may be left"
    return r


def test_missing_config(rt, bundle):
    b = bundle(["true"])
    assert_refused(rt, b, "config.json")


def test_config_not_json(rt, bundle):
    b = bundle(["true"]).write(raw="{ this is not json")
    assert_refused(rt, b, "config.json", "json", "parse", "invalid")


def test_missing_process_args(rt, bundle):
    known_difference(rt, "crun", "its message does not name the field")
    b = bundle(["true"])
    del b.process["args"]
    b.write()
    assert_refused(rt, b, "args")


def test_empty_process_args(rt, bundle):
    known_difference(rt, "crun", "its message does not name the field")
    b = bundle([]).write()
    assert_refused(rt, b, "args")


def test_wrong_type_uid(rt, bundle):
    known_difference(rt, "crun", "crun 1.8 accepts a string uid")
    b = bundle(["true"])
    b.process["user"]["uid"] = "zero"
    b.write()
    assert_refused(rt, b, "uid")


def test_wrong_type_args(rt, bundle):
    known_difference(rt, "crun", "its message does not name the field")
    b = bundle(["true"])
    b.process["args"] = "true"
    b.write()
    assert_refused(rt, b, "args")


def test_unknown_major_oci_version(rt, bundle):
    if rt.flavor in ("runc", "crun"):
        pytest.skip(f"{rt.flavor} accepts any ociVersion")
    b = bundle(["true"])
    b.config["ociVersion"] = "2.0.0"
    b.write()
    assert_refused(rt, b, "ociVersion", "2.0.0")


def test_missing_root_path(rt, bundle):
    b = bundle(["true"])
    b.config["root"]["path"] = "no-such-dir"
    b.write()
    assert_refused(rt, b, "no-such-dir", "root")


def test_missing_cwd_in_rootfs_is_created_or_refused(rt, bundle):
    b = bundle(["pwd"])
    b.process["cwd"] = "/does/not/exist"
    b.write()
    r = rt.run(b)
    # runc creates a missing cwd; a runtime may instead refuse naming it
    assert r.returncode == 0 and r.stdout.strip() == "/does/not/exist" or "cwd" in r.stderr.lower() \
        or "/does/not/exist" in r.stderr, describe(r)


def test_relative_cwd_refused(rt, bundle):
    if rt.flavor == "crun":
        pytest.skip("crun accepts a relative cwd")
    b = bundle(["true"])
    b.process["cwd"] = "tmp"
    b.write()
    assert_refused(rt, b, "cwd")


def test_unknown_namespace_type(rt, bundle):
    b = bundle(["true"])
    b.linux["namespaces"].append({"type": "bogus"})
    b.write()
    assert_refused(rt, b, "bogus", "namespace")


def test_unknown_capability(rt, bundle):
    b = bundle(["true"])
    b.process["capabilities"]["effective"].append("CAP_NOT_A_CAP")
    b.write()
    r = rt.run(b)
    # runc warns and ignores unknown capabilities; a stricter runtime refuses
    if r.returncode != 0:
        assert "CAP_NOT_A_CAP" in r.stderr, describe(r)


def test_unknown_rlimit(rt, bundle):
    b = bundle(["true"])
    b.process["rlimits"].append({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1})
    b.write()
    assert_refused(rt, b, "RLIMIT_BOGUS", "rlimit")


def test_memory_limit_kernel_refuses(rt, bundle):
    """A limit below what the container already uses cannot be set."""
    b = bundle(["true"])
    b.linux["resources"]["memory"] = {"limit": 4096}
    b.write()
    assert_refused(rt, b, "memory", "limit")


def test_memory_swap_below_limit(rt, bundle):
    known_difference(rt, "crun", "crun 1.8 leaves the cgroup behind on this error")
    b = bundle(["true"])
    b.linux["resources"]["memory"] = {"limit": 64 << 20, "swap": 32 << 20}
    b.write()
    assert_refused(rt, b, "swap", "memory")


def test_invalid_mount_type(rt, bundle):
    b = bundle(["true"])
    b.config["mounts"].append({"destination": "/mnt", "type": "nosuchfs", "source": "none"})
    b.write()
    assert_refused(rt, b, "nosuchfs", "/mnt", "mount")


def test_relative_mount_destination(rt, bundle):
    """Deprecated but allowed by the runtime-spec: taken relative to "/"."""
    b = bundle(["sh", "-c", "grep -q ' /mnt tmpfs ' /proc/mounts"])
    b.config["mounts"].append({"destination": "mnt", "type": "tmpfs", "source": "tmpfs"})
    b.write()
    r = rt.run(b)
    assert r.returncode == 0, describe(r)


def test_bad_container_id(rt, bundle):
    b = bundle(["true"]).write()
    for bad in ("../escape", "a/b", ""):
        r = rt("run", "--bundle", b.path, bad)
        assert r.returncode != 0, describe(r)
    assert not os.path.exists(os.path.join(rt.root, "..", "escape"))


def test_missing_container_id(rt, bundle):
    b = bundle(["true"]).write()
    r = rt("create", "--bundle", b.path)
    assert r.returncode != 0 and r.stderr.strip(), describe(r)


def test_unknown_command_and_flag(rt):
    r = rt.fails("frobnicate")
    assert "frobnicate" in r.stderr, describe(r)
    r = rt.fails("state", "--no-such-flag", "x")
    assert "no-such-flag" in r.stderr, describe(r)


def test_create_with_missing_bundle(rt, tmp_path):
    r = rt.fails("create", "--bundle", tmp_path / "nope", "x1")
    assert "nope" in r.stderr or "no such file" in r.stderr.lower(), describe(r)
    assert rt("state", "x1").returncode != 0


def test_hostname_without_uts_namespace(rt, bundle):
    b = bundle(["true"])
    b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != "uts"]
    b.write()
    assert_refused(rt, b, "hostname", "uts")


def test_update_unknown_container(rt):
    r = rt.fails("update", "--resources", "-", "ghost", input=json.dumps({"memory": {"limit": 1 << 26}}))
    assert "ghost" in r.stderr or "not exist" in r.stderr, describe(r)
