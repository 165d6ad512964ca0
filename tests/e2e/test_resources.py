"""Cgroup resources: limits at create, update on a running container,
events --stats, and cleanup of the cgroup on delete."""
import json

import pytest

from conftest import cgroup_dirs, cgroup_file, describe, known_difference, wait_exit, wait_for

MiB = 1024 * 1024


def test_memory_limit_applied(rt, bundle):
    b = bundle(["sleep", "60"])
    b.linux["resources"]["memory"] = {"limit": 64 * MiB}
    b.write()
    rt.run_detached(b)
    f = cgroup_file(b.cgroups_path, "memory/memory.limit_in_bytes", "memory.max")
    assert int(f.read_text()) == 64 * MiB


def test_update_memory_from_stdin(rt, bundle):
    b = bundle(["sleep", "60"])
    b.linux["resources"]["memory"] = {"limit": 64 * MiB}
    b.write()
    rt.run_detached(b)
    rt.ok("update", "--resources", "-", b.cid, input=json.dumps({"memory": {"limit": 96 * MiB}}))
    f = cgroup_file(b.cgroups_path, "memory/memory.limit_in_bytes", "memory.max")
    assert int(f.read_text()) == 96 * MiB
    rt.ok("update", "--resources=-", b.cid, input=json.dumps({"memory": {"limit": 80 * MiB}}))
    assert int(f.read_text()) == 80 * MiB


def test_update_memory_flag(rt, bundle):
    b = bundle(["sleep", "60"]).write()
    rt.run_detached(b)
    rt.ok("update", "--memory", str(50 * MiB), b.cid)
    f = cgroup_file(b.cgroups_path, "memory/memory.limit_in_bytes", "memory.max")
    assert int(f.read_text()) == 50 * MiB


def test_update_pids_and_cpu(rt, bundle):
    b = bundle(["sleep", "60"]).write()
    rt.run_detached(b)
    rt.ok("update", "--resources", "-", b.cid,
          input=json.dumps({"pids": {"limit": 42}, "cpu": {"quota": 50000, "period": 100000}}))
    assert cgroup_file(b.cgroups_path, "pids/pids.max", "pids.max").read_text().strip() == "42"
    try:
        quota = cgroup_file(b.cgroups_path, "cpu/cpu.cfs_quota_us", "cpu.max").read_text().split()[0]
    except AssertionError:
        pytest.skip("no cpu controller")
    assert quota == "50000"


def test_update_bad_json_fails(rt, bundle):
    b = bundle(["sleep", "60"]).write()
    rt.run_detached(b)
    r = rt.fails("update", "--resources", "-", b.cid, input="{not json")
    assert r.stderr.strip()
    assert rt.state(b.cid)["status"] == "running"


def test_pids_limit_enforced(rt, bundle):
    b = bundle(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait; echo done"])
    b.linux["resources"]["pids"] = {"limit": 4}
    b.write()
    r = rt.run(b, timeout=60)
    assert "fork" in r.stderr.lower() or "resource" in r.stderr.lower() or "can't" in r.stderr.lower(), describe(r)


def test_oom_kill(rt, bundle):
    b = bundle(["sh", "-c", "x=a; while true; do x=$x$x$x$x; done"])
    b.linux["resources"]["memory"] = {"limit": 16 * MiB, "swap": 16 * MiB}
    b.write()
    r = rt.run(b, timeout=60)
    assert r.returncode == 137, describe(r)


def test_events_stats(rt, bundle):
    known_difference(rt, "crun", "crun 1.8 has no events command")
    b = bundle(["sleep", "60"])
    b.linux["resources"]["memory"] = {"limit": 64 * MiB}
    b.linux["resources"]["pids"] = {"limit": 100}
    b.write()
    rt.run_detached(b)
    r = rt.ok("events", "--stats", b.cid)
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, r.stdout
    ev = json.loads(lines[0])
    assert ev["type"] == "stats"
    assert ev["id"] == b.cid
    mem = ev["data"]["memory"]
    assert mem["usage"]["usage"] > 0
    assert mem["usage"]["limit"] == 64 * MiB
    assert ev["data"]["pids"]["current"] >= 1
    assert ev["data"]["pids"]["limit"] == 100


def test_cgroup_removed_on_delete(rt, bundle):
    b = bundle(["sleep", "60"]).write()
    pid = rt.run_detached(b)
    assert cgroup_dirs(b.cgroups_path), "the container has a cgroup"
    procs = cgroup_file(b.cgroups_path, "pids/cgroup.procs", "cgroup.procs").read_text().split()
    assert str(pid) in procs
    rt.ok("kill", b.cid, "KILL")
    wait_exit(pid)
    rt.wait_status(b.cid, "stopped")
    rt.ok("delete", b.cid)
    wait_for(lambda: not cgroup_dirs(b.cgroups_path), 5, "cgroup removal")


def test_relative_cgroups_path(rt, bundle):
    """A cgroupsPath without a leading slash is relative to the runtime's
    own cgroup; it must still be created and removed."""
    b = bundle(["sh", "-c", "cat /proc/self/cgroup"])
    b.linux["cgroupsPath"] = f"berth-e2e/{b.cid}"
    b.write()
    r = rt.run(b)
    assert r.returncode == 0, describe(r)
    assert b.cid in r.stdout


def test_cpuset_and_shares(rt, bundle):
    b = bundle(["sleep", "60"])
    b.linux["resources"]["cpu"] = {"shares": 512, "cpus": "0"}
    b.write()
    rt.run_detached(b)
    try:
        shares = cgroup_file(b.cgroups_path, "cpu/cpu.shares", "cpu.weight").read_text().strip()
    except AssertionError:
        pytest.skip("no cpu controller")
    assert shares in ("512", "20")   # v2 converts shares to weight
    cpus = cgroup_file(b.cgroups_path, "cpuset/cpuset.cpus", "cpuset.cpus").read_text().strip()
    assert cpus == "0"
