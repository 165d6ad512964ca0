"""Container lifecycle through the runc command line: run, create/start,
state, kill, delete, list, ps, pause/resume, spec, features, --version,
--log."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import describe, known_difference, pid_alive, wait_exit, wait_for


# ----------------------------------------------------------------- run
@pytest.mark.parametrize("code", [0, 3])
def test_run_exit_code(rt, bundle, code):
    b = bundle(["sh", "-c", f"echo hello; exit {code}"]).write()
    r = rt.run(b)
    assert r.returncode == code, describe(r)
    assert r.stdout == "hello\n"


def no_pidns(b):
    """A pid-namespace init ignores signals it has no handler for; tests of
    signal exit codes run the process in the host pid namespace."""
    b.linux["namespaces"] = [n for n in b.linux["namespaces"] if n["type"] != "pid"]
    return b


def test_run_killed_by_signal_reports_128_plus_signal(rt, bundle):
    b = no_pidns(bundle(["sh", "-c", "kill -TERM $$; sleep 5"])).write()
    r = rt.run(b)
    assert r.returncode == 128 + signal.SIGTERM, describe(r)


def test_run_env_cwd_hostname(rt, bundle):
    b = bundle(["sh", "-c", "echo $FOO; pwd; hostname"])
    b.process["env"].append("FOO=bar baz")
    b.process["cwd"] = "/tmp"
    b.config["hostname"] = "box1"
    b.write()
    r = rt.run(b)
    assert r.returncode == 0, describe(r)
    assert r.stdout.splitlines() == ["bar baz", "/tmp", "box1"]


def test_run_pid_one_and_stdin(rt, bundle):
    b = bundle(["sh", "-c", "echo pid=$$; cat"]).write()
    r = rt.run(b, input="from stdin\n")
    assert r.returncode == 0, describe(r)
    assert r.stdout == "pid=1\nfrom stdin\n"


def test_run_missing_binary_fails(rt, bundle):
    b = bundle(["/no/such/binary"]).write()
    r = rt.run(b)
    assert r.returncode != 0
    assert "/no/such/binary" in r.stderr or "no such file" in r.stderr.lower(), describe(r)


def test_run_detached_then_delete(rt, bundle):
    b = bundle(["sleep", "30"]).write()
    pid = rt.run_detached(b)
    assert rt.state(b.cid)["status"] == "running"
    assert pid_alive(pid)
    rt.ok("kill", b.cid, "KILL")
    assert wait_exit(pid) == 128 + signal.SIGKILL
    rt.wait_status(b.cid, "stopped")
    rt.ok("delete", b.cid)
    assert rt("state", b.cid).returncode != 0


# ----------------------------------------------------------------- create/start
def test_create_start_state_transitions(rt, bundle):
    b = bundle(["sh", "-c", "echo started; read x < /dev/null; sleep 2; exit 7"]).write()
    rt.create(b)
    pid_text = (b.path / "init.pid").read_text()
    assert re.fullmatch(r"[0-9]+", pid_text), f"pid file must be bare digits: {pid_text!r}"
    pid = int(pid_text)
    st = rt.state(b.cid)
    assert st["status"] == "created"
    assert st["id"] == b.cid
    assert st["pid"] == pid
    assert os.path.samefile(st["bundle"], b.path)
    assert "ociVersion" in st
    assert b.stdout() == "", "the process must not run before start"
    rt.ok("start", b.cid)
    assert rt.state(b.cid)["status"] in ("running", "stopped")
    assert wait_exit(pid) == 7
    rt.wait_status(b.cid, "stopped")
    assert b.stdout() == "started\n"
    rt.ok("delete", b.cid)
    assert rt("state", b.cid).returncode != 0


def test_start_twice_fails(rt, bundle):
    b = bundle(["sleep", "30"]).write()
    rt.create(b)
    rt.ok("start", b.cid)
    r = rt.fails("start", b.cid)
    assert r.stderr.strip(), "an error message is expected"


def test_delete_created_never_started(rt, bundle):
    """The runtime-spec: deleting a container that is not stopped is an error
    that changes nothing (crun behaves so; runc 1.1 deletes it); --force, or
    a kill first, removes it without the process ever running."""
    b = bundle(["sh", "-c", "echo should-not-run"]).write()
    rt.create(b)
    pid = int((b.path / "init.pid").read_text())
    if rt.flavor != "runc":
        rt.fails("delete", b.cid)
        assert rt.state(b.cid)["status"] == "created"
    rt.ok("delete", "--force", b.cid)
    assert rt("state", b.cid).returncode != 0
    wait_for(lambda: not pid_alive(pid), 5, "init to be gone")
    assert b.stdout() == ""


def test_delete_running_needs_force(rt, bundle):
    b = bundle(["sleep", "60"]).write()
    pid = rt.run_detached(b)
    r = rt.fails("delete", b.cid)
    assert rt.state(b.cid)["status"] == "running", describe(r)
    rt.ok("delete", "--force", b.cid)
    wait_for(lambda: not pid_alive(pid), 5, "init to be killed")
    assert rt("state", b.cid).returncode != 0


def test_delete_unknown_container(rt):
    r = rt.fails("delete", "no-such-container")
    known_difference(rt, "crun", "its message says 'No such file or directory'")
    assert "does not exist" in r.stderr or "not exist" in r.stderr or "not found" in r.stderr, describe(r)


def test_state_unknown_container(rt):
    r = rt.fails("state", "no-such-container")
    assert "no-such-container" in r.stderr or "not exist" in r.stderr, describe(r)


def test_duplicate_id_refused(rt, bundle):
    b = bundle(["sleep", "30"]).write()
    rt.create(b)
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert rt.state(b.cid)["status"] == "created", "the first container is untouched"


# ----------------------------------------------------------------- kill
@pytest.mark.parametrize("sig,expect", [("TERM", 143), ("SIGUSR1", 138), ("9", 137), ("KILL", 137)])
def test_kill_by_name_and_number(rt, bundle, sig, expect):
    b = no_pidns(bundle(["sleep", "60"])).write()
    pid = rt.run_detached(b)
    rt.ok("kill", b.cid, sig)
    assert wait_exit(pid) == expect
    rt.wait_status(b.cid, "stopped")


def test_kill_default_is_term(rt, bundle):
    b = no_pidns(bundle(["sleep", "60"])).write()
    pid = rt.run_detached(b)
    rt.ok("kill", b.cid)
    assert wait_exit(pid) == 128 + signal.SIGTERM


def test_kill_all(rt, bundle):
    b = no_pidns(bundle(["sh", "-c", "sleep 60 & sleep 60 & wait"])).write()
    pid = rt.run_detached(b)
    wait_for(lambda: len(json.loads(rt.ok("ps", "--format", "json", b.cid).stdout)) >= 3, 5, "children")
    pids = json.loads(rt.ok("ps", "--format", "json", b.cid).stdout)
    rt.ok("kill", "--all", b.cid, "9")
    assert wait_exit(pid) == 137
    wait_for(lambda: not any(pid_alive(p) for p in pids), 5, "all processes gone")


def test_kill_stopped_container_fails(rt, bundle):
    b = bundle(["true"]).write()
    pid = rt.run_detached(b)
    wait_exit(pid)
    rt.wait_status(b.cid, "stopped")
    r = rt.fails("kill", b.cid, "KILL")
    assert "not running" in r.stderr or "finished" in r.stderr or "no such process" in r.stderr.lower(), describe(r)


def test_kill_bad_signal(rt, bundle):
    known_difference(rt, "crun", "crun 1.8 accepts an unknown signal name")
    b = bundle(["sleep", "60"]).write()
    rt.run_detached(b)
    r = rt.fails("kill", b.cid, "NOTASIGNAL")
    assert rt.state(b.cid)["status"] == "running", describe(r)


# ----------------------------------------------------------------- list/ps
def test_list_json(rt, bundle):
    a = bundle(["sleep", "60"]).write()
    c = bundle(["sleep", "60"]).write()
    rt.run_detached(a)
    rt.create(c)
    listed = {x["id"]: x for x in json.loads(rt.ok("list", "--format=json").stdout)}
    assert listed[a.cid]["status"] == "running"
    assert listed[c.cid]["status"] == "created"
    assert listed[a.cid]["pid"] > 0
    assert os.path.samefile(listed[a.cid]["bundle"], a.path)
    assert set(listed) == {a.cid, c.cid}
    # the table form names the containers too
    table = rt.ok("list").stdout
    assert a.cid in table and c.cid in table


def test_list_empty_root(rt):
    r = rt.ok("list", "--format", "json")
    assert json.loads(r.stdout or "null") in ([], None), r.stdout


def test_ps_json(rt, bundle):
    b = bundle(["sh", "-c", "sleep 60 & wait"]).write()
    pid = rt.run_detached(b)
    pids = wait_for(lambda: (lambda p: p if len(p) == 2 else None)(
        json.loads(rt.ok("ps", "--format", "json", b.cid).stdout)), 5, "two processes")
    assert pid in pids
    assert all(isinstance(p, int) for p in pids)
    table = rt.ok("ps", b.cid).stdout
    assert "PID" in table and str(pid) in table


# ----------------------------------------------------------------- pause/resume
def test_pause_resume(rt, bundle):
    b = bundle(["sh", "-c", "while true; do date +%s%N > /tmp/tick; sleep 0.1; done"]).write()
    rt.run_detached(b)
    tick = b.rootfs / "tmp/tick"
    wait_for(tick.exists, 5, "first tick")
    rt.ok("pause", b.cid)
    assert rt.state(b.cid)["status"] == "paused"
    listed = {x["id"]: x for x in json.loads(rt.ok("list", "--format", "json").stdout)}
    assert listed[b.cid]["status"] == "paused"
    before = tick.read_text()
    time.sleep(0.5)
    assert tick.read_text() == before, "a paused container must not run"
    rt.ok("resume", b.cid)
    assert rt.state(b.cid)["status"] == "running"
    wait_for(lambda: tick.read_text() != before, 5, "ticks after resume")


def test_delete_force_paused(rt, bundle):
    b = bundle(["sleep", "60"]).write()
    pid = rt.run_detached(b)
    rt.ok("pause", b.cid)
    rt.ok("delete", "--force", b.cid)
    wait_for(lambda: not pid_alive(pid), 5, "paused init killed")


# ----------------------------------------------------------------- misc commands
def test_version(runtime_path, rt):
    r = rt.ok("--version")
    assert re.search(r"version\s+\S+", r.stdout), describe(r)
    assert re.search(r"spec:\s*1\.\d", r.stdout), describe(r)


def test_features_json(rt):
    known_difference(rt, "crun", "crun 1.8 has no features command")
    r = rt.ok("features")
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.0")
    assert f["ociVersionMax"].startswith("1.")
    assert "create" in f.get("hooks", []) or "prestart" in f.get("hooks", [])
    assert "bind" in f.get("mountOptions", []) or "rbind" in f.get("mountOptions", [])
    linux = f["linux"]
    assert set(linux["namespaces"]) >= {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"}
    assert "CAP_SYS_ADMIN" in linux["capabilities"]
    assert linux["seccomp"]["enabled"] is True


def test_spec_writes_usable_config(rt, bundle):
    b = bundle(["sh"])
    rt.ok("spec", cwd=b.path)
    cfg = json.loads((b.path / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"]["path"] == "rootfs"
    assert cfg["process"]["args"] == ["sh"]
    assert {n["type"] for n in cfg["linux"]["namespaces"]} >= {"pid", "mount"}
    # it refuses to overwrite an existing config
    r = rt("spec", cwd=b.path)
    assert r.returncode != 0 and "exist" in r.stderr, describe(r)
    # and the generated config runs
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", "echo spec-ok"]
    cfg["linux"]["cgroupsPath"] = b.cgroups_path
    b.config = cfg
    b.write()
    r = rt.run(b)
    assert r.returncode == 0 and r.stdout == "spec-ok\n", describe(r)


def test_spec_bundle_flag_and_rootless(rt, bundle):
    b = bundle(["sh"], rootfs=False)
    rt.ok("spec", "--bundle", b.path)
    assert json.loads((b.path / "config.json").read_text())["root"]["path"] == "rootfs"


def test_flag_value_and_flag_equals_value(rt, bundle):
    c = bundle(["sleep", "60"]).write()
    rt.ids.add(c.cid)
    with open(c.path / "stdout", "wb") as out:
        r = rt("create", f"--bundle={c.path}", f"--pid-file={c.path / 'init.pid'}", c.cid,
               stdout=out, stderr=out)
    assert r.returncode == 0, describe(r)
    assert rt.state(c.cid)["status"] == "created"
    # the global --root=value form
    r2 = subprocess.run([rt.path, f"--root={rt.root}", "state", c.cid], capture_output=True, text=True)
    assert r2.returncode == 0 and json.loads(r2.stdout)["id"] == c.cid, describe(r2)


def test_log_json_on_error(rt, tmp_path):
    log = tmp_path / "log.json"
    r = rt("state", "does-not-exist", global_args=("--log", str(log), "--log-format", "json"))
    assert r.returncode != 0
    assert r.stderr.strip(), "the error is also printed on stderr"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    errors = [x for x in lines if x.get("level") == "error"]
    assert errors, log.read_text()
    assert "msg" in errors[-1] and errors[-1]["msg"], errors
    assert "time" in errors[-1]


def test_log_equals_form(rt, tmp_path):
    log = tmp_path / "log2.json"
    r = rt("delete", "nope", global_args=(f"--log={log}", "--log-format=json"))
    assert r.returncode != 0
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error", entry
    assert "nope" in entry["msg"] or "exist" in entry["msg"], entry
