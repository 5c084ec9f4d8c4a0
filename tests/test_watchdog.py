"""The watchdog that stops a job when one of its processes dies, with
stand-in processes (no JAX): each scenario is a race that a real job can
lose either way, played in a fixed order."""

import socket
import subprocess
import sys
import time

from tests.helpers import ROOT

# A stand-in for one process of a job: it starts its watchdog, waits
# `AT` seconds, then does ACTION: `die` (exits without a goodbye),
# `leave` (says goodbye, as the exit of a failed process does, then hangs,
# as JAX's shutdown can when a peer is gone), `wait` (trains forever) or
# `die_unheard` (dies while its watchdog, stopped since second 1, cannot
# hear anything: the watchdog resumes just after).
PROCESS = """
import os, signal, subprocess, sys, time
from s2s_zoo import watchdog
me, count, address, action, at = sys.argv[1:]
dog = watchdog.Watchdog(int(me), int(count), address, timeout=20)
if action == "die_unheard":
    time.sleep(1)
    os.kill(dog.child.pid, signal.SIGSTOP)
    time.sleep(float(at) - 1)
    subprocess.Popen(["sh", "-c", f"sleep 0.3; kill -CONT {dog.child.pid}"])
    os._exit(3)
time.sleep(float(at))
if action == "die":
    os._exit(3)
if action == "leave":
    dog.close()
time.sleep(120)
"""


def _address():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def _job(*plans):
    address = _address()
    return [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, str(me), str(len(plans)), address]
            + [action, str(at)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me, (action, at) in enumerate(plans)
    ]


def _ends(process, within):
    start = time.monotonic()
    _, err = process.communicate(timeout=within)
    return process.returncode, err, time.monotonic() - start


def test_a_dead_worker_stops_a_process_that_waits_for_it():
    chief, worker = _job(("wait", 0), ("die", 2))
    assert _ends(worker, 30)[0] == 3
    code, err, _ = _ends(chief, 30)
    assert code == -9
    assert (
        "s2s_zoo: error: process 1 of 2 died (it ended without leaving the "
        "job); this is process 0; stopping this process.\n"
    ) in err


def test_a_dead_chief_stops_the_workers():
    chief, one, two = _job(("die", 2), ("wait", 0), ("wait", 0))
    assert _ends(chief, 30)[0] == 3
    for me, process in ((1, one), (2, two)):
        code, err, _ = _ends(process, 30)
        assert code == -9
        assert (
            "process 0 of 3 died (it ended without leaving the job); "
            f"this is process {me}"
        ) in err


def test_a_worker_death_reaches_the_others_through_the_chief():
    chief, one, two = _job(("wait", 0), ("wait", 0), ("die", 2))
    assert _ends(two, 30)[0] == 3
    assert "process 2 of 3 died" in _ends(chief, 30)[1]
    code, err, _ = _ends(one, 30)
    assert code == -9
    assert (
        "process 0 of 3 was stopped because another process of the job "
        "died; this is process 1"
    ) in err


def test_a_process_leaving_after_an_error_is_stopped_when_a_peer_dies():
    # What a failed collective does: the survivor raises, says goodbye on
    # its way out, and its shutdown then waits for the dead peer. The
    # death is named, and the wait ends now rather than after GRACE.
    chief, worker = _job(("leave", 1), ("die", 3))
    assert _ends(worker, 30)[0] == 3
    code, err, elapsed = _ends(chief, 30)
    assert code == -9
    assert "s2s_zoo: error: process 1 of 2 died" in err
    assert elapsed < 20


def test_a_process_killed_by_a_dead_peer_names_it():
    # The peer dies first and this process a moment later, before its
    # watchdog has heard (a failed collective can abort it that fast): its
    # log still names the peer, and the peer's log does not blame it.
    chief, worker = _job(("die_unheard", 2.5), ("die", 2))
    worker_code, worker_err, _ = _ends(worker, 30)
    code, err, _ = _ends(chief, 30)
    assert (worker_code, code) == (3, 3)
    # "..., which ended too." when the watchdog reads its parent's death
    # first, "...; stopping this process." when it reads the peer's.
    assert (
        "s2s_zoo: error: process 1 of 2 died (it ended without leaving the "
        "job); this is process 0"
    ) in err
    assert "s2s_zoo: error" not in worker_err


def test_a_job_that_finishes_prints_nothing():
    chief, worker = _job(("leave", 1), ("leave", 1))
    # Stand-ins hang after their goodbye; a real process exits, so end
    # them the way that exit looks to the watchdog.
    time.sleep(3)
    for process in (chief, worker):
        process.kill()
    for process in (chief, worker):
        assert "s2s_zoo: error" not in _ends(process, 30)[1]
