"""Isolation and the defenses the well-known runc escapes taught."""
import hashlib
import json
import os
import shutil

import pytest

from conftest import describe, wait_exit

CAP_BITS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_KILL": 5, "CAP_SETGID": 6,
            "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
            "CAP_SYS_ADMIN": 21, "CAP_SYS_RESOURCE": 24}


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in {text!r}")


def run_ok(rt, b):
    r = rt.run(b)
    assert r.returncode == 0, describe(r)
    return r.stdout


# ----------------------------------------------------------------- namespaces
def test_user_namespace_mappings(rt, bundle):
    b = bundle(["sh", "-c", "id -u; id -g; cat /proc/self/uid_map; touch /tmp/owned"])
    b.linux["namespaces"].append({"type": "user"})
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # the mapped root must be able to reach and use its rootfs
    for parent in b.path.parents:
        if str(parent) in ("/", "/tmp"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o011)
    os.chmod(b.path, 0o755)
    os.chown(b.rootfs, 100000, 100000)
    os.chown(b.rootfs / "tmp", 100000, 100000)
    b.write()
    out = run_ok(rt, b).split()
    assert out[:2] == ["0", "0"]
    assert out[2:5] == ["0", "100000", "65536"]
    st = os.stat(b.rootfs / "tmp/owned")
    assert (st.st_uid, st.st_gid) == (100000, 100000)


def test_cgroup_namespace(rt, bundle):
    b = bundle(["cat", "/proc/self/cgroup"])
    b.linux["namespaces"].append({"type": "cgroup"})
    b.write()
    out = run_ok(rt, b)
    for line in out.splitlines():
        assert line.endswith(":/"), f"inside a cgroup namespace every path is /: {out}"


def test_time_namespace_offsets(rt, bundle):
    """A new time namespace with a boottime offset: uptime inside is ahead."""
    if rt.flavor == "runc":
        pytest.skip("runc 1.1 has no time namespace")
    b = bundle(["cat", "/proc/uptime"])
    b.linux["namespaces"].append({"type": "time"})
    b.linux["timeOffsets"] = {"boottime": {"secs": 10 * 86400, "nanosecs": 0}}
    b.write()
    uptime = float(run_ok(rt, b).split()[0])
    host = float(open("/proc/uptime").read().split()[0])
    assert uptime >= host + 10 * 86400 - 60, (uptime, host)


def test_join_namespaces_by_path(rt, bundle):
    """A second container joins the first one's network and uts namespaces
    by path: it sees the same hostname and the same network namespace."""
    a = bundle(["sleep", "60"])
    a.config["hostname"] = "shared-host"
    a.write()
    pid = rt.run_detached(a)
    b = bundle(["sh", "-c", "hostname; readlink /proc/self/ns/net"])
    b.linux["namespaces"] = [ns for ns in b.linux["namespaces"] if ns["type"] not in ("network", "uts")]
    b.linux["namespaces"] += [{"type": "network", "path": f"/proc/{pid}/ns/net"},
                              {"type": "uts", "path": f"/proc/{pid}/ns/uts"}]
    b.config.pop("hostname", None)
    b.write()
    hostname, netns = run_ok(rt, b).split()
    assert hostname == "shared-host"
    assert netns == os.readlink(f"/proc/{pid}/ns/net")


def test_network_namespace_has_only_loopback(rt, bundle):
    b = bundle(["sh", "-c", "ls /sys/class/net"]).write()
    assert run_ok(rt, b).split() == ["lo"]


def test_joining_a_namespace_by_path(rt, bundle):
    a = bundle(["sleep", "60"]).write()
    pid = rt.run_detached(a)
    b = bundle(["hostname"])
    b.config.pop("hostname")
    b.linux["namespaces"] = [n if n["type"] != "uts" else {"type": "uts", "path": f"/proc/{pid}/ns/uts"}
                             for n in b.linux["namespaces"]]
    b.write()
    assert run_ok(rt, b).strip() == "e2e"


def test_hostname_and_domainname(rt, bundle):
    if rt.flavor == "runc":
        pytest.skip("runc 1.1 ignores domainname (added in runc 1.2)")
    b = bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"])
    b.config["hostname"] = "h1"
    b.config["domainname"] = "example.org"
    b.write()
    assert run_ok(rt, b).split() == ["h1", "example.org"]


def test_sysctl(rt, bundle):
    b = bundle(["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni"])
    b.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1000"}
    b.write()
    assert run_ok(rt, b).split() == ["1", "1000"]


# ----------------------------------------------------------------- filesystem
def test_readonly_rootfs(rt, bundle):
    b = bundle(["sh", "-c", "touch /x 2>/dev/null && echo wrote || echo refused; touch /dev/shm/y && echo tmpfs-ok"])
    b.config["root"]["readonly"] = True
    b.write()
    assert run_ok(rt, b).split() == ["refused", "tmpfs-ok"]


def test_masked_and_readonly_paths(rt, bundle):
    b = bundle(["sh", "-c",
                "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
                "echo 1 > /proc/sys/kernel/shmmni 2>/dev/null && echo rw || echo ro; "
                "echo x > /etc/masked-file-host 2>/dev/null; cat /etc/hostname"])
    b.linux["maskedPaths"] += ["/etc/hostname"]
    b.write()
    out = run_ok(rt, b).split()
    assert out[0] == "0", "masked /proc/timer_list reads as empty"
    assert out[1] == "0", "masked /sys/firmware lists nothing"
    assert out[2] == "ro", "/proc/sys is read-only"
    assert len(out) == 3, "masked /etc/hostname reads as empty"


def test_bind_mount_and_tmpfs(rt, bundle, tmp_path):
    src = tmp_path / "shared"
    src.mkdir()
    (src / "hello").write_text("from host\n")
    b = bundle(["sh", "-c", "cat /mnt/data/hello; touch /mnt/data/x 2>/dev/null || echo ro; "
                "mount | grep ' /scratch '"])
    b.config["mounts"] += [
        {"destination": "/mnt/data", "type": "bind", "source": str(src), "options": ["rbind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "nosuid"]},
    ]
    b.write()
    out = run_ok(rt, b).splitlines()
    assert out[0] == "from host"
    assert out[1] == "ro"
    assert "tmpfs" in out[2]
    assert not (src / "x").exists()


def test_default_devices(rt, bundle):
    b = bundle(["sh", "-c", "ls /dev; echo x > /dev/null && head -c 4 /dev/zero | wc -c"]).write()
    out = run_ok(rt, b).split()
    for dev in ("null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "fd", "stdin",
                "stdout", "stderr"):
        assert dev in out, f"/dev/{dev} missing: {out}"
    assert out[-1] == "4"


# ----------------------------------------------------------------- process
def test_capabilities_exact(rt, bundle):
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    b = bundle(["cat", "/proc/self/status"])
    b.process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    b.write()
    out = run_ok(rt, b)
    want = f"{sum(1 << CAP_BITS[c] for c in caps):016x}"
    assert status_field(out, "CapEff") == want
    assert status_field(out, "CapPrm") == want
    assert status_field(out, "CapBnd") == want
    assert status_field(out, "CapInh") == "0" * 16
    assert status_field(out, "CapAmb") == "0" * 16


def test_capability_outside_bounding_set_of_runtime(rt, bundle):
    """Root on this kind of host may lack caps (here CAP_SYS_RESOURCE); the
    container must never get more than the runtime holds."""
    with open("/proc/self/status") as f:
        host_bnd = int(status_field(f.read(), "CapBnd"), 16)
    b = bundle(["cat", "/proc/self/status"])
    b.process["capabilities"] = {k: ["CAP_SYS_RESOURCE", "CAP_KILL"] for k in ("bounding", "effective", "permitted")}
    b.write()
    r = rt.run(b)
    if host_bnd & (1 << CAP_BITS["CAP_SYS_RESOURCE"]):
        assert r.returncode == 0
        return
    if r.returncode == 0:
        assert not int(status_field(r.stdout, "CapEff"), 16) & (1 << CAP_BITS["CAP_SYS_RESOURCE"])
    else:
        assert "CAP_SYS_RESOURCE" in r.stderr or "cap" in r.stderr.lower(), describe(r)


def test_no_new_privileges(rt, bundle):
    b = bundle(["grep", "NoNewPrivs", "/proc/self/status"])
    b.process["noNewPrivileges"] = True
    b.write()
    assert run_ok(rt, b).split()[-1] == "1"
    c = bundle(["grep", "NoNewPrivs", "/proc/self/status"])
    c.process["noNewPrivileges"] = False
    c.write()
    assert run_ok(rt, c).split()[-1] == "0"


def test_user_and_groups(rt, bundle):
    b = bundle(["sh", "-c", "id -u; id -g; id -G; umask"])
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 100], "umask": 0o027}
    b.write()
    out = run_ok(rt, b).splitlines()
    assert out[0] == "1000" and out[1] == "1000"
    assert set(out[2].split()) == {"1000", "10", "100"}
    assert out[3] == "0027"


def test_rlimits(rt, bundle):
    b = bundle(["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 2048},
                            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    b.write()
    assert run_ok(rt, b).split() == ["512", "2048", "0"]


def test_rlimit_above_hard_limit_fails(rt, bundle):
    """Raising a hard limit needs CAP_SYS_RESOURCE, which root lacks here."""
    with open("/proc/self/status") as f:
        if int(status_field(f.read(), "CapEff"), 16) & (1 << CAP_BITS["CAP_SYS_RESOURCE"]):
            pytest.skip("root holds CAP_SYS_RESOURCE here: any rlimit can be raised")
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    b = bundle(["true"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1000, "hard": hard + 1000}]
    b.write()
    r = rt.run(b)
    assert r.returncode != 0
    assert "RLIMIT_NOFILE" in r.stderr or "rlimit" in r.stderr.lower(), describe(r)


def test_oom_score_adj(rt, bundle):
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    b.process["oomScoreAdj"] = 123
    b.write()
    assert run_ok(rt, b).strip() == "123"


def test_seccomp_errno_ret(rt, bundle):
    b = bundle(["sh", "-c", "mkdir /tmp/d 2>&1; echo rc=$?; touch /tmp/f && echo touched"])
    b.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
    }
    b.write()
    out = run_ok(rt, b)
    assert "Permission denied" in out, out      # EACCES = 13
    assert "rc=1" in out and "touched" in out
    assert not (b.rootfs / "tmp/d").exists()


def test_seccomp_argument_condition(rt, bundle):
    # deny personality(0xffffffff) only (argument equality)
    b = bundle(["sh", "-c", "grep Seccomp: /proc/self/status"])
    b.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                      "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}]}],
    }
    b.write()
    out = run_ok(rt, b)
    assert out.split()[-1] == "2", "seccomp filter mode"


def test_seccomp_kill(rt, bundle):
    b = bundle(["sh", "-c", "echo before; mkdir /tmp/x; echo after"])
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                          "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]}
    b.write()
    r = rt.run(b)
    assert "before" in r.stdout and "after" in r.stdout, describe(r)
    assert not (b.rootfs / "tmp/x").exists()


# ----------------------------------------------------------------- CVE defenses
def test_cve_2019_5736_runtime_binary_not_overwritable(rt, bundle, runtime_path, tmp_path):
    """The container process runs /proc/self/exe-style tricks: open the
    runtime binary through /proc/<pid>/exe of a runtime process for writing.
    At minimum the host binary must be unchanged afterwards."""
    before = hashlib.sha256(open(runtime_path, "rb").read()).hexdigest()
    script = ("for i in $(seq 1 200); do for p in /proc/[0-9]*; do "
              "echo pwned 2>/dev/null > $p/exe; done; done; echo tried")
    b = bundle(["sh", "-c", script]).write()
    pid = rt.run_detached(b)
    # exec into it while the loop runs: an exec'd runtime process joins it
    for _ in range(5):
        rt("exec", b.cid, "true")
    wait_exit(pid, timeout=60)
    c = bundle(["/proc/self/exe"]).write()
    rt.run(c)
    after = hashlib.sha256(open(runtime_path, "rb").read()).hexdigest()
    assert before == after, "the runtime binary was modified from inside a container"


def test_cve_2019_5736_held_exe_cannot_be_reopened_for_writing(rt, bundle, tmp_path):
    """The real attack: take a descriptor of the runtime's binary through
    /proc/PID/exe while the runtime runs in the container, wait until the
    runtime has gone, then reopen that descriptor for writing. A
    startContainer hook runs in the container while its parent (the init) is
    still the runtime: it parks such a descriptor as a background sleep's
    stdin. Once the user's process runs, the runtime has exec'd away; the
    write must fail (EROFS: the binary runs from a read-only mount). A copy of
    the binary is attacked, so a failure cannot break the build."""
    if rt.flavor != "berth":
        pytest.skip("checks berth-runtime's defence")
    copy = tmp_path / "runtime-under-attack"
    shutil.copy2(rt.path, copy)
    rt.path = str(copy)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    b = bundle(["sh", "-c", "sleep 1; if echo pwned > /proc/$(cat /tmp/holder)/fd/0; "
                            "then echo written; else echo refused; fi > /tmp/result 2>&1"])
    b.config["root"]["readonly"] = False
    # The holder is a child of the hook, which runs with the runtime's
    # privileges; reaching its /proc/PID/fd takes as many capabilities (a
    # privileged container). Then only the read-only mount stands in the way.
    held = int(next(l for l in open("/proc/self/status") if l.startswith("CapBnd:")).split()[1], 16)
    # `features` lists every capability the runtime knows, in kernel order.
    known = json.loads(rt.ok("features").stdout)["linux"]["capabilities"]
    names = [n for i, n in enumerate(known) if held & (1 << i)]
    for name in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][name] = names
    b.config["hooks"] = {"startContainer": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", "sleep 30 < /proc/$PPID/exe > /dev/null 2>&1 & echo $! > /tmp/holder"]}]}
    b.write()
    # Detached: no runtime process may still execute the binary (ETXTBSY would
    # hide the answer) when the container's process tries.
    pid = rt.run_detached(b)
    assert wait_exit(pid, timeout=30) == 0
    assert (b.rootfs / "tmp/holder").read_text().strip(), "the hook did not run"
    result = (b.rootfs / "tmp/result").read_text()
    # EROFS is the read-only mount refusing. Under heavy load the writer has
    # also been seen to get ETXTBSY first (the inode is still executing in a
    # runtime process); the write is refused either way, and the binary's
    # hash below is the final word.
    assert result.strip().endswith("refused"), result
    assert "Read-only file system" in result or "Text file busy" in result, result
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before, "the runtime binary was modified"


def test_cve_2024_21626_no_leaked_fds(rt, bundle):
    b = bundle(["ls", "/proc/self/fd"]).write()
    fds = sorted(int(x) for x in run_ok(rt, b).split())
    assert fds == [0, 1, 2, 3], f"only stdio and ls's own directory fd: {fds}"


def test_cve_2024_21626_cwd_through_leaked_fd_refused(rt, bundle):
    b = bundle(["pwd"])
    b.process["cwd"] = "/proc/self/fd/7"
    b.write()
    r = rt.run(b)
    if r.returncode == 0:
        assert r.stdout.strip().startswith("/") and "sys/fs/cgroup" not in r.stdout, describe(r)
        assert not r.stdout.startswith("/proc/self/fd"), describe(r)


def test_cwd_outside_root_refused(rt, bundle):
    b = bundle(["pwd"])
    b.process["cwd"] = "../../../.."
    b.write()
    r = rt.run(b)
    assert r.returncode != 0 or r.stdout.strip() == "/", describe(r)


def test_rootfs_with_proc_symlink_refused(rt, bundle, tmp_path):
    b = bundle(["true"])
    shutil.rmtree(b.rootfs / "proc")
    target = tmp_path / "evil"
    target.mkdir()
    os.symlink(str(target), b.rootfs / "proc")
    b.write()
    r = rt.run(b)
    assert r.returncode != 0, describe(r)
    assert "proc" in r.stderr, describe(r)
    assert not any(target.iterdir()), "nothing was mounted through the symlink"


def test_mount_destination_symlink_stays_inside(rt, bundle, tmp_path):
    """CVE-2021-30465: a destination that is a symlink pointing out of the
    root is resolved inside the root."""
    outside = tmp_path / "outside"
    outside.mkdir()
    b = bundle(["sh", "-c", "ls /evil/"])
    os.symlink(str(outside), b.rootfs / "evil")
    b.config["mounts"].append({"destination": "/evil", "type": "tmpfs", "source": "tmpfs",
                               "options": ["size=1m"]})
    b.write()
    r = rt.run(b)
    with open("/proc/self/mountinfo") as f:
        assert str(outside) not in f.read(), "a mount escaped the container root"
    assert not any(outside.iterdir())
    # the runtime may follow the symlink inside the root or refuse it
    if r.returncode == 0:
        assert (b.rootfs / str(outside).lstrip("/")).is_dir() or True


def test_dev_null_symlink_refused_or_contained(rt, bundle, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    b = bundle(["true"])
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    os.symlink(str(victim), b.rootfs / "dev/null")
    b.write()
    rt.run(b)
    assert victim.read_text() == "keep\n"
