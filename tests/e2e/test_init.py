"""berth-init, the PID 1 of `docker run --init`, run directly: as a plain
process (a child subreaper then) and as PID 1 of a new pid namespace
(`unshare -pf --mount-proc`). Exit codes pass through, a child killed by
signal N gives 128+N, signals sent to berth-init reach the child, orphans
are reaped.

Environment: BERTH_INIT (default build/dev/cmd/berth-init/berth-init).
"""
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INIT = os.environ.get("BERTH_INIT") or str(REPO / "build/dev/cmd/berth-init/berth-init")
UNSHARE = shutil.which("unshare")

# Generous: only a broken init ever waits this long.
DEADLINE_S = 60


class Init:
    """berth-init -- sh -c SCRIPT, with stdout as a pipe read line by line."""

    def __init__(self, script, *init_args, prefix=()):
        self.p = subprocess.Popen([*prefix, INIT, *init_args, "--", "sh", "-c", script],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def readline(self):
        return self.p.stdout.readline().strip()

    def finish(self):
        out, err = self.p.communicate(timeout=DEADLINE_S)
        return self.p.returncode, out, err

    def cleanup(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


@pytest.fixture
def run_init():
    started = []

    def start(script, *init_args, prefix=()):
        i = Init(script, *init_args, prefix=prefix)
        started.append(i)
        return i

    yield start
    for i in started:
        i.cleanup()


def test_exit_code_passes_through(run_init):
    assert run_init("exit 0").finish()[0] == 0
    assert run_init("exit 3").finish()[0] == 3
    rc, out, _ = run_init("echo hello; exit 250").finish()
    assert rc == 250 and out == "hello\n"


def test_arguments_reach_the_child():
    r = subprocess.run([INIT, "--", "printf", "%s|", "a b", "", "c"], capture_output=True,
                       text=True, timeout=DEADLINE_S)
    assert r.returncode == 0 and r.stdout == "a b||c|"
    # Without "--" the first non-option argument starts the command.
    r = subprocess.run([INIT, "sh", "-c", "exit 5"], timeout=DEADLINE_S)
    assert r.returncode == 5


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV])
def test_killed_by_signal_is_128_plus(run_init, sig):
    assert run_init(f"kill -{sig.name[3:]} $$").finish()[0] == 128 + sig


def test_usage_and_exec_errors():
    r = subprocess.run([INIT, "--", "/nonexistent/cmd"], capture_output=True, text=True,
                       timeout=DEADLINE_S)
    assert r.returncode == 127 and "/nonexistent/cmd" in r.stderr
    r = subprocess.run([INIT, "--", "/"], capture_output=True, text=True, timeout=DEADLINE_S)
    assert r.returncode == 126
    r = subprocess.run([INIT], capture_output=True, text=True, timeout=DEADLINE_S)
    assert r.returncode == 2 and "no command" in r.stderr
    r = subprocess.run([INIT, "--version"], capture_output=True, text=True, timeout=DEADLINE_S)
    assert r.returncode == 0 and r.stdout.startswith("berth-init version ")


# The child traps the signal, says so and exits 42; `sleep` in short steps
# because sh runs a trap only between commands.
TRAP = 'trap "echo got {name}; exit 42" {name}; echo ready; while :; do sleep 0.05; done'


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                                 signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH])
def test_signals_are_forwarded(run_init, sig):
    name = sig.name[3:]
    i = run_init(TRAP.format(name=name))
    assert i.readline() == "ready"
    i.p.send_signal(sig)
    rc, out, _ = i.finish()
    assert rc == 42 and out == f"got {name}\n"


def test_untrapped_sigterm_ends_child(run_init):
    i = run_init("echo ready; while :; do sleep 0.05; done")
    assert i.readline() == "ready"
    i.p.send_signal(signal.SIGTERM)
    assert i.finish()[0] == 128 + signal.SIGTERM


def test_group_forwarding(run_init):
    """-g: the signal goes to the child's process group, so a grandchild
    that shares it gets it too."""
    i = run_init('sh -c \'trap "echo grandchild got TERM; exit 0" TERM; echo ready; '
                 'while :; do sleep 0.05; done\' & '
                 'trap "wait; echo child got TERM; exit 7" TERM; wait', "-g")
    assert i.readline() == "ready"
    i.p.send_signal(signal.SIGTERM)
    rc, out, _ = i.finish()
    assert rc == 7
    assert sorted(out.splitlines()) == ["child got TERM", "grandchild got TERM"]


def test_child_has_its_own_process_group(run_init):
    i = run_init("awk '{print $5}' /proc/$$/stat; echo $$")
    rc, out, _ = i.finish()
    pgid, pid = out.split()
    assert rc == 0 and pgid == pid


# The child orphans a grandchild (its parent shell exits at once), checks
# that it was reparented to berth-init ($PPID of the child), lets it finish
# and waits until its /proc entry is gone: only a reaped process leaves
# /proc, a zombie stays. Exit 0 = reaped, 1 = not reparented, 2 = zombie
# remained until the deadline.
ORPHAN = f"""
rm -f "$ORPHAN_FIFO"; mkfifo "$ORPHAN_FIFO"
sh -c 'read x < "$ORPHAN_FIFO" & echo $! > "$ORPHAN_PID"'
orphan=$(cat "$ORPHAN_PID")
ppid=$(awk '/^PPid:/ {{print $2}}' /proc/$orphan/status)
[ "$ppid" = "$PPID" ] || {{ echo "orphan's parent is $ppid, not $PPID"; exit 1; }}
echo go > "$ORPHAN_FIFO"
n=0
while [ -e /proc/$orphan ]; do
  n=$((n + 1)); [ $n -lt {DEADLINE_S * 20} ] || {{ grep State /proc/$orphan/status; exit 2; }}
  sleep 0.05
done
exit 0
"""


def orphan_env(tmp_path):
    return {**os.environ, "ORPHAN_FIFO": str(tmp_path / "fifo"),
            "ORPHAN_PID": str(tmp_path / "pid")}


def test_orphans_reaped_as_subreaper(tmp_path):
    r = subprocess.run([INIT, "--", "sh", "-c", ORPHAN], env=orphan_env(tmp_path),
                       capture_output=True, text=True, timeout=DEADLINE_S * 2)
    assert r.returncode == 0, r.stdout + r.stderr


needs_pidns = pytest.mark.skipif(os.geteuid() != 0 or UNSHARE is None,
                                 reason="needs root and unshare(1)")


@needs_pidns
def test_orphans_reaped_as_pid1(tmp_path):
    script = 'echo "pid $$ ppid $PPID"; ' + ORPHAN
    r = subprocess.run([UNSHARE, "-pf", "--mount-proc", INIT, "--", "sh", "-c", script],
                       env=orphan_env(tmp_path), capture_output=True, text=True,
                       timeout=DEADLINE_S * 2)
    assert r.returncode == 0, r.stdout + r.stderr
    # berth-init was PID 1, the child PID 2 (its first child).
    assert r.stdout.splitlines()[0] == "pid 2 ppid 1"


@needs_pidns
def test_no_zombies_as_pid1(tmp_path):
    """Many orphans that end at different moments; after they are gone the
    namespace holds only berth-init and the child, none of them a zombie."""
    script = """
for i in 1 2 3 4 5 6 7 8; do sh -c "sleep 0.0$i &" ; done
n=0
while :; do
  procs=$(ls -d /proc/[0-9]* | wc -l)
  zombies=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$3 == "Z"' | wc -l)
  [ "$zombies" = 0 ] && [ "$procs" -le 4 ] && break
  n=$((n + 1)); [ $n -lt 1200 ] || { echo "procs $procs zombies $zombies"; exit 2; }
  sleep 0.05
done
exit 0
"""
    r = subprocess.run([UNSHARE, "-pf", "--mount-proc", INIT, "--", "sh", "-c", script],
                       capture_output=True, text=True, timeout=DEADLINE_S * 2)
    assert r.returncode == 0, r.stdout + r.stderr


@needs_pidns
def test_sigterm_reaches_child_as_pid1(tmp_path):
    """As PID 1 berth-init has no default signal actions; a SIGTERM from
    outside the namespace must still reach the child."""
    i = Init(TRAP.format(name="TERM"), prefix=(UNSHARE, "-pf", "--mount-proc", "--kill-child"))
    try:
        assert i.readline() == "ready"
        # unshare -f forks: berth-init is unshare's child.
        kids = Path(f"/proc/{i.p.pid}/task/{i.p.pid}/children").read_text().split()
        assert len(kids) == 1
        os.kill(int(kids[0]), signal.SIGTERM)
        rc, out, _ = i.finish()
        assert rc == 42 and out == "got TERM\n"
    finally:
        i.cleanup()
