"""`berth completion bash`: the script generated from the command table,
sourced in a real bash, completing commands, management subcommands,
flags, and the names of the daemon's containers and images."""
import os
import shutil
import subprocess

import pytest

from test_cli import BERTH, berth
from test_daemon_containers import d  # noqa: F401 (the fixture)

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")


def complete(daemon, line):
    """The words bash offers for `line` (completing its last word)."""
    script = berth(daemon, "completion", "bash").stdout
    words = line.split(" ")
    probe = (f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
             "_berth; printf '%s\\n' \"${COMPREPLY[@]}\"")
    env = dict(os.environ, BERTH_HOST=f"unix://{daemon.sock}", PATH=os.path.dirname(BERTH) + ":" + os.environ["PATH"])
    r = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(w for w in r.stdout.split("\n") if w)


def test_bash_completion(d):  # noqa: F811
    d.docker("create", "--name", "webapp", "busybox", "true")
    d.docker("create", "--name", "worker", "busybox", "true")
    assert berth(d, "completion", "zsh", check=False).returncode == 1
    script = berth(d, "completion", "bash").stdout
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0

    assert complete(d, f"{BERTH} ru") == ["run"]
    assert complete(d, f"{BERTH} im") == ["image", "images", "import"]
    assert complete(d, f"{BERTH} container l") == ["logs", "ls"]
    assert complete(d, f"{BERTH} system ") == ["df", "events", "info", "prune"]
    assert "--no-trunc" in complete(d, f"{BERTH} ps --no")
    assert complete(d, f"{BERTH} run --rm --na") == ["--name"]
    # Arguments: containers, images, and neither after a flag that takes a value.
    assert complete(d, f"{BERTH} rm w") == ["webapp", "worker"]
    assert complete(d, f"{BERTH} container stop -t 3 we") == ["webapp"]
    assert complete(d, f"{BERTH} -H unix://{d.sock} logs wo") == ["worker"]
    assert complete(d, f"{BERTH} run --name x bus") == ["busybox:latest"]
    assert complete(d, f"{BERTH} rmi b") == ["busybox:latest"]
    assert complete(d, f"{BERTH} inspect ") == ["busybox:latest", "webapp", "worker"]
    assert complete(d, f"{BERTH} run --name we") == []
