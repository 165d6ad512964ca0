"""OCI hooks: each gets the state JSON on stdin; a failing or hanging
create-time hook fails the create and leaves nothing behind."""
import json
import time

import pytest

from conftest import cgroup_dirs, describe, wait_exit


def recorder(out_dir, name):
    """A host hook that saves its stdin (the state) and its argv."""
    return {"path": "/bin/sh",
            "args": ["sh", "-c", f'cat > {out_dir}/{name}.json; echo "$@" > {out_dir}/{name}.args', "hook", name],
            "env": ["HOOK_NAME=" + name]}


def test_hooks_get_state_on_stdin(rt, bundle, tmp_path):
    out = tmp_path / "hooks"
    out.mkdir()
    b = bundle(["sh", "-c", "sleep 0.3"])
    b.config["hooks"] = {k: [recorder(out, k)] for k in ("prestart", "createRuntime", "poststart", "poststop")}
    # createContainer/startContainer run inside the container's mount namespace
    b.config["hooks"]["startContainer"] = [
        {"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/startContainer.json"]}]
    b.write()
    rt.create(b)
    pid = int((b.path / "init.pid").read_text())
    for name in ("prestart", "createRuntime"):
        st = json.loads((out / f"{name}.json").read_text())
        assert st["id"] == b.cid, st
        assert st["pid"] == pid, st
        assert st["status"] == "created" or st["status"] == "creating", st
        assert (out / f"{name}.args").read_text().split() == [name]
    if rt.flavor != "runc":   # runc 1.1 runs poststart during create (fixed in 1.2)
        assert not (out / "poststart.json").exists(), "poststart runs after start, not at create"
    rt.ok("start", b.cid)
    st = json.loads((out / "poststart.json").read_text())
    assert st["id"] == b.cid and st["pid"] == pid
    inside = json.loads((b.rootfs / "tmp/startContainer.json").read_text())
    assert inside["id"] == b.cid
    wait_exit(pid)
    rt.wait_status(b.cid, "stopped")
    assert not (out / "poststop.json").exists()
    rt.ok("delete", b.cid)
    st = json.loads((out / "poststop.json").read_text())
    assert st["id"] == b.cid
    assert st["status"] == "stopped", st


def test_failing_prestart_hook_fails_create(rt, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-said-no >&2; exit 3"]}]}
    b.write()
    r = rt.create(b, check=False)
    assert r.returncode != 0, describe(r)
    assert rt("state", b.cid).returncode != 0, "a failed create leaves no container"
    assert not cgroup_dirs(b.cgroups_path)


def test_failing_create_runtime_hook_fails_run(rt, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    b.write()
    r = rt.run(b)
    assert r.returncode != 0, describe(r)
    assert rt("state", b.cid).returncode != 0


def test_hook_timeout(rt, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    b.write()
    t0 = time.monotonic()
    r = rt.create(b, check=False)
    elapsed = time.monotonic() - t0
    assert r.returncode != 0, describe(r)
    assert elapsed < 15, f"the hook timeout was not applied ({elapsed:.1f}s)"
    assert "timeout" in r.stderr.lower() or "timed out" in r.stderr.lower() or "killed" in r.stderr.lower(), \
        describe(r)
    assert rt("state", b.cid).returncode != 0


def test_hook_missing_binary_fails(rt, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": "/no/such/hook"}]}
    b.write()
    r = rt.run(b)
    assert r.returncode != 0, describe(r)
    assert "/no/such/hook" in r.stderr or "no such file" in r.stderr.lower(), describe(r)


def test_failing_poststop_does_not_fail_delete(rt, bundle):
    b = bundle(["true"])
    b.config["hooks"] = {"poststop": [{"path": "/bin/false"}]}
    b.write()
    rt.create(b)
    rt.ok("delete", "--force", b.cid)
    assert rt("state", b.cid).returncode != 0


def test_hook_env(rt, bundle, tmp_path):
    out = tmp_path / "env.txt"
    b = bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", f"env > {out}"],
                                       "env": ["ONLY_THIS=1"]}]}
    b.write()
    r = rt.run(b)
    assert r.returncode == 0, describe(r)
    env = out.read_text()
    assert "ONLY_THIS=1" in env
