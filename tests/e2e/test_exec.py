"""exec: the short form, --process FILE, --detach with --pid-file, and the
things containerd's shim relies on."""
import json
import re

from conftest import PATH_ENV, describe, known_difference, pid_alive, wait_exit, wait_for


def running(rt, bundle, args=("sleep", "60")):
    b = bundle(list(args)).write()
    rt.run_detached(b)
    return b


def test_exec_short_form_output_and_exit_code(rt, bundle):
    b = running(rt, bundle)
    r = rt("exec", b.cid, "sh", "-c", "echo in-container; exit 5")
    assert r.returncode == 5, describe(r)
    assert r.stdout == "in-container\n"


def test_exec_joins_the_container_namespaces(rt, bundle):
    b = running(rt, bundle)
    b.config["hostname"] = "ignored"
    r = rt.ok("exec", b.cid, "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '")
    host, init = r.stdout.splitlines()
    assert host == "e2e"
    assert init.strip() == "sleep 60", "pid 1 of the container is visible: same pid namespace"


def test_exec_env_cwd_user(rt, bundle):
    known_difference(rt, "crun", "exec -e replaces the process environment (PATH lost)")
    b = running(rt, bundle)
    r = rt.ok("exec", "-e", "FOO=bar", "--cwd", "/tmp", "--user", "65534:65534", b.cid,
              "sh", "-c", "echo $FOO; pwd; id -u; id -g")
    assert r.stdout.splitlines() == ["bar", "/tmp", "65534", "65534"]


def test_exec_flag_equals_forms(rt, bundle):
    known_difference(rt, "crun", "exec -e replaces the process environment (PATH lost)")
    b = running(rt, bundle)
    r = rt.ok("exec", "--env=A=1", "--cwd=/etc", b.cid, "sh", "-c", "echo $A; pwd")
    assert r.stdout.splitlines() == ["1", "/etc"]


def test_exec_inherits_process_env(rt, bundle):
    b = running(rt, bundle)
    r = rt.ok("exec", b.cid, "sh", "-c", "echo $PATH")
    assert r.stdout.strip() == PATH_ENV.split("=", 1)[1]


def test_exec_stdin(rt, bundle):
    b = running(rt, bundle)
    r = rt("exec", b.cid, "cat", input="piped\n")
    assert r.returncode == 0 and r.stdout == "piped\n", describe(r)


def test_exec_process_file(rt, bundle, tmp_path):
    b = running(rt, bundle)
    proc = {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "echo $X; pwd; exit 4"],
            "env": [PATH_ENV, "X=from-file"], "cwd": "/root"}
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    r = rt("exec", "--process", pf, b.cid)
    assert r.returncode == 4, describe(r)
    assert r.stdout.splitlines() == ["from-file", "/root"]


def test_exec_detach_pid_file(rt, bundle, tmp_path):
    """What containerd's shim does: --process FILE --detach --pid-file F."""
    b = running(rt, bundle)
    proc = {"terminal": False, "user": {"uid": 0, "gid": 0},
            "args": ["sh", "-c", "echo detached > /tmp/marker; sleep 60"], "env": [PATH_ENV], "cwd": "/"}
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    pid_file = tmp_path / "exec.pid"
    with open(tmp_path / "exec.out", "wb") as out:
        r = rt("exec", "--process", pf, "--detach", "--pid-file", pid_file, b.cid, stdout=out, stderr=out)
    assert r.returncode == 0, describe(r) + (tmp_path / "exec.out").read_text()
    text = pid_file.read_text()
    assert re.fullmatch(r"[0-9]+", text), f"pid file must be bare digits: {text!r}"
    pid = int(text)
    rt.track_pid(pid)
    assert pid_alive(pid)
    wait_for(lambda: (b.rootfs / "tmp/marker").exists(), 5, "marker")
    assert pid in json.loads(rt.ok("ps", "--format", "json", b.cid).stdout)
    rt.ok("kill", "--all", b.cid, "KILL")
    assert wait_exit(pid) == 137


def test_exec_in_stopped_container_fails(rt, bundle):
    b = bundle(["true"]).write()
    pid = rt.run_detached(b)
    wait_exit(pid)
    rt.wait_status(b.cid, "stopped")
    r = rt.fails("exec", b.cid, "true")
    assert r.stderr.strip(), describe(r)


def test_exec_in_created_container(rt, bundle):
    """runc allows exec into a created (not started) container; the init
    stays blocked until start."""
    b = bundle(["sh", "-c", "echo init-ran"]).write()
    rt.create(b)
    r = rt("exec", b.cid, "sh", "-c", "echo exec-ran")
    assert r.returncode == 0 and r.stdout == "exec-ran\n", describe(r)
    assert b.stdout() == ""
    assert rt.state(b.cid)["status"] == "created"


def test_exec_missing_binary(rt, bundle):
    b = running(rt, bundle)
    r = rt.fails("exec", b.cid, "/bin/nope")
    assert "nope" in r.stderr or "no such file" in r.stderr.lower(), describe(r)
    assert rt.state(b.cid)["status"] == "running"


def test_exec_unknown_container(rt):
    r = rt.fails("exec", "does-not-exist", "true")
    assert "does-not-exist" in r.stderr or "not exist" in r.stderr, describe(r)


def test_exec_has_no_leaked_fds(rt, bundle):
    b = running(rt, bundle)
    r = rt.ok("exec", b.cid, "ls", "/proc/self/fd")
    fds = sorted(int(x) for x in r.stdout.split())
    assert fds == [0, 1, 2, 3], f"only stdio and ls's own directory fd expected: {fds}"


def test_exec_capabilities_follow_process(rt, bundle, tmp_path):
    b = running(rt, bundle)
    proc = {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["grep", "CapEff", "/proc/self/status"],
            "env": [PATH_ENV], "cwd": "/",
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}}
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps(proc))
    r = rt.ok("exec", "--process", pf, b.cid)
    assert r.stdout.split()[-1] == f"{1 << 5:016x}"
