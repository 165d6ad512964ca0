"""Healthchecks through berthd with the real docker CLI: --health-cmd runs
inside the container every --health-interval; State.Health in inspect goes
starting → unhealthy (after --health-retries failures) → healthy (on the
next success), with the probes' output in its Log; a probe that runs past
--health-timeout is killed and logged as such; each status change is a
`health_status: ...` event; no healthcheck (or --no-healthcheck) means no
State.Health.

Waits poll `docker inspect` up to a generous deadline: they assert where
the state gets to, never how fast.
"""
import json
import time

import pytest

from test_daemon_containers import d, pytestmark  # noqa: F401  (fixture, markers)

DEADLINE_S = 90


def health(d, name):
    return json.loads(d.docker("inspect", "-f", "{{json .State.Health}}", name).stdout)


def wait_health(d, name, status):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        h = health(d, name)
        if h and h["Status"] == status:
            return h
        if time.monotonic() > deadline:
            pytest.fail(f"{name} never became {status}: {h}")
        time.sleep(0.2)


def test_unhealthy_then_healthy_with_log_and_events(d):
    since = str(int(time.time()) - 1)
    # /tmp/ok appears when the container gets SIGUSR1 (the trap runs
    # between the short sleeps).
    d.docker("run", "-d", "--name", "hc", "--health-cmd", "echo probing; test -f /tmp/ok",
             "--health-interval", "1s", "--health-retries", "2", "busybox",
             "sh", "-c", 'trap "touch /tmp/ok" USR1; while :; do sleep 0.1; done')
    assert health(d, "hc")["Status"] in ("starting", "unhealthy")

    h = wait_health(d, "hc", "unhealthy")
    assert h["FailingStreak"] >= 2
    assert 2 <= len(h["Log"]) <= 5
    for entry in h["Log"]:
        assert entry["ExitCode"] == 1 and entry["Output"] == "probing\n"
        assert entry["Start"] <= entry["End"]

    d.docker("kill", "--signal", "USR1", "hc")
    h = wait_health(d, "hc", "healthy")
    assert h["FailingStreak"] == 0
    assert h["Log"][-1]["ExitCode"] == 0 and h["Log"][-1]["Output"] == "probing\n"
    assert len(h["Log"]) <= 5
    assert d.docker("inspect", "-f", "{{.State.Health.Status}}", "hc").stdout.strip() == "healthy"
    # `docker ps` shows it in the status column.
    assert "(healthy)" in d.docker("ps", "--filter", "name=hc", "--format", "{{.Status}}").stdout

    until = str(int(time.time()) + 1)
    events = d.docker("events", "--since", since, "--until", until, "--filter", "container=hc",
                      "--filter", "event=health_status", "--format", "{{.Action}}").stdout
    assert events.splitlines() == ["health_status: unhealthy", "health_status: healthy"]

    d.docker("rm", "-f", "hc")


def test_timeout_is_killed_and_logged(d):
    d.docker("run", "-d", "--name", "slow", "--health-cmd", "sleep 300",
             "--health-interval", "1s", "--health-timeout", "1s", "--health-retries", "1",
             "busybox", "sleep", "300")
    h = wait_health(d, "slow", "unhealthy")
    last = h["Log"][-1]
    assert last["ExitCode"] == -1
    assert last["Output"] == "Health check exceeded timeout (1s)"
    d.docker("rm", "-f", "slow")


def test_stderr_and_exit_code_are_recorded(d):
    d.docker("run", "-d", "--name", "loud", "--health-cmd", "echo out; echo err >&2; exit 3",
             "--health-interval", "1s", "--health-retries", "1", "busybox", "sleep", "300")
    h = wait_health(d, "loud", "unhealthy")
    assert h["Log"][0]["ExitCode"] == 3
    assert sorted(h["Log"][0]["Output"].splitlines()) == ["err", "out"]
    d.docker("rm", "-f", "loud")


def test_no_healthcheck_no_health(d):
    d.docker("run", "-d", "--name", "plain", "busybox", "sleep", "300")
    d.docker("run", "-d", "--name", "off", "--no-healthcheck", "busybox", "sleep", "300")
    assert health(d, "plain") is None
    assert health(d, "off") is None
    d.docker("rm", "-f", "plain", "off")


def test_stop_ends_the_checks(d):
    """A stopped container is not probed; starting it again starts over."""
    d.docker("run", "-d", "--name", "cyc", "--health-cmd", "true", "--health-interval", "1s",
             "busybox", "sleep", "300")
    wait_health(d, "cyc", "healthy")
    d.docker("stop", "-t", "0", "cyc")
    d.docker("start", "cyc")
    wait_health(d, "cyc", "healthy")
    d.docker("rm", "-f", "cyc")
