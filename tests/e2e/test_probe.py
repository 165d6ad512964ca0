"""The ctprobe isolation probe (tests/fixtures/probe/ctprobe.c) inside a
container whose config is the one Docker generated for its default
container (tests/fixtures/oci/docker-default-config.json): its report must show
exactly the capabilities, seccomp mode, namespaces and masked paths that the
config asks for, and nothing weaker than what Docker's container showed
(tests/fixtures/probe/docker-default.txt, compared by probe/compare.py)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import CGROUP_PARENT, REPO, describe, known_difference

FIXTURES_SRC = REPO / "tests/fixtures"
CAP_NUMBERS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
               "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
               "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
               "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17,
               "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21,
               "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25,
               "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29,
               "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31}


def parse(text):
    out = {}
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def docker_like_bundle(bundle, fixtures_dir):
    b = bundle(["/ctprobe"])
    cfg = json.loads((FIXTURES_SRC / "oci" / "docker-default-config.json").read_text())
    cfg["root"] = {"path": "rootfs", "readonly": False}
    cfg["process"]["args"] = ["/ctprobe"]
    cfg["process"]["terminal"] = False
    cfg["hostname"] = "probe"
    # the daemon's bind mounts of resolv.conf/hosts/hostname name its data root
    cfg["mounts"] = [m for m in cfg["mounts"] if not m["source"].startswith("<")]
    cfg["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/{b.cid}"
    cfg.pop("hooks", None)
    b.config = cfg
    shutil.copy2(fixtures_dir / "ctprobe", b.rootfs / "ctprobe")
    return b.write()


def host_ns(name):
    return os.readlink(f"/proc/self/ns/{name}")


def test_probe_matches_config(rt, bundle, fixtures_dir, tmp_path):
    b = docker_like_bundle(bundle, fixtures_dir)
    r = rt.run(b, timeout=120)
    assert r.returncode == 0, describe(r)
    (tmp_path / "probe.txt").write_text(r.stdout)
    p = parse(r.stdout)
    proc = b.config["process"]

    # capabilities: exactly the sets asked for, nothing inheritable/ambient
    for key, field in (("bounding", "CapBnd"), ("effective", "CapEff"), ("permitted", "CapPrm")):
        want = sum(1 << CAP_NUMBERS[c] for c in proc["capabilities"][key])
        assert int(p[f"status.{field}"], 16) == want, f"{field}: {p[f'status.{field}']} != {want:016x}"
    assert int(p["status.CapInh"], 16) == 0
    assert int(p["status.CapAmb"], 16) == 0
    assert p["status.NoNewPrivs"] == ("1" if proc.get("noNewPrivileges") else "0")
    assert p["status.Seccomp"] == "2", "seccomp filter mode"

    # namespaces: new ones for the types in the config, the host's for others
    asked = {n["type"] for n in b.config["linux"]["namespaces"]}
    names = {"cgroup": "cgroup", "ipc": "ipc", "mnt": "mount", "net": "network", "pid": "pid",
             "user": "user", "uts": "uts"}
    for ns, typ in names.items():
        inside = p[f"ns.{ns}"]
        if typ in asked:
            assert inside != host_ns(ns), f"{ns}: expected a new namespace"
        else:
            assert inside == host_ns(ns), f"{ns}: expected the host's namespace"

    # masked and read-only paths
    for path in b.config["linux"]["maskedPaths"]:
        for key in (f"read.{path}", f"dir.{path}"):
            if key in p:
                assert p[key] in ("ENOENT", "0_bytes", "0_entries"), f"{key}={p[key]} (masked)"
    assert p["openw./proc/sys/kernel/core_pattern"] in ("EROFS", "EACCES", "EPERM")
    assert p["openw./proc/sysrq-trigger"] in ("EROFS", "EACCES", "EPERM", "ENOENT")
    assert p["fd.leaked_count"] == "0"
    assert "pid.self=1 ppid=0" in r.stdout.splitlines(), "the probe is pid 1 of a new pid namespace"
    assert p["uts.nodename"] == "probe"
    assert p["sysctl.net/ipv4/ip_unprivileged_port_start"] == "0"


def test_probe_not_weaker_than_docker(rt, bundle, fixtures_dir, tmp_path):
    known_difference(rt, "crun", "crun adds a /dev/core symlink Docker's runc does not")
    b = docker_like_bundle(bundle, fixtures_dir)
    r = rt.run(b, timeout=120)
    assert r.returncode == 0, describe(r)
    mine = tmp_path / "probe.txt"
    mine.write_text(r.stdout)
    cmp = subprocess.run([sys.executable, str(FIXTURES_SRC / "probe/compare.py"),
                          str(FIXTURES_SRC / "probe/docker-default.txt"), str(mine)],
                         capture_output=True, text=True)
    assert cmp.returncode == 0, cmp.stdout + cmp.stderr
