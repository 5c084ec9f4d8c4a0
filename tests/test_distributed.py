"""Data-parallel training: several processes and devices give the weights
of one process reading the same global batches; a dead worker stops the
job; the translation task runs as a 2-process job and resumes.

Every job runs in fresh Python processes (a JAX process joins one job, and
device counts are fixed at start-up), on this machine's CPU.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.helpers import ROOT

pytest.importorskip("jax")

# Weights after 4 Adam steps: one XLA program over the global batch, so
# only the order of float additions differs.
TOLERANCE = 1e-6


def _free_port():
    # The job uses the port and the next one (the watchdog's).
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as t:
            try:
                t.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two free adjacent ports")


# The session's XLA flags (tests/conftest.py: faster compiles) without
# any device count: a job states its own.
XLA_FLAGS = " ".join(
    flag
    for flag in os.environ.get("XLA_FLAGS", "").split()
    if "device_count" not in flag
)


def _env(backend="jax", xla_flags="", **extra):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["XLA_FLAGS"] = f"{XLA_FLAGS} {xla_flags}".strip()
    env.update(extra)
    return env


def _job(mode, count, index, port, out, env, **popen):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.distributed.job",
            mode,
            str(count),
            str(index),
            str(port),
            str(out),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _finish(process, timeout=400):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def _weights(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k[4:]))]


def _largest_difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "weights.npz"
    _finish(_job("train", 1, 0, 0, out, _env()))
    return _weights(out)


def test_two_processes_match_one(one_process, tmp_path):
    # Global batches of 7 over 2 processes: 4 rows each, one of padding.
    port, out = _free_port(), tmp_path / "weights.npz"
    jobs = [_job("train", 2, i, port, out, _env()) for i in (0, 1)]
    outputs = [_finish(job) for job in jobs]
    assert "DataParallel over 2 devices in 2 process(es)" in outputs[0]
    two = _weights(out)
    assert _largest_difference(one_process, _weights(out)) < TOLERANCE
    # And training moved the weights far more than that.
    assert _largest_difference(one_process, [0 * w for w in two]) > 1e-2


def test_two_host_devices_in_one_process_match_one(one_process, tmp_path):
    out = tmp_path / "weights.npz"
    env = _env(xla_flags="--xla_force_host_platform_device_count=2")
    text = _finish(_job("devices", 1, 0, 0, out, env))
    assert "DataParallel over 2 devices in 1 process(es)" in text
    assert _largest_difference(one_process, _weights(out)) < TOLERANCE


def test_a_dead_worker_stops_the_job_with_an_error(tmp_path):
    port = _free_port()
    start = time.monotonic()
    jobs = [_job("die", 2, i, port, tmp_path / "w.npz", _env()) for i in (0, 1)]
    _, err = jobs[0].communicate(timeout=300)
    elapsed = time.monotonic() - start
    jobs[1].communicate(timeout=60)
    assert jobs[1].returncode == 3  # the worker's own exit
    assert jobs[0].returncode != 0
    assert "s2s_zoo: error: process 1 of 2 died" in err
    # Start-up (two imports of TensorFlow and JAX) plus the watchdog.
    assert elapsed < 240


def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
    runs, initial = {}, {}
    for devices in (1, 2):
        out = tmp_path / f"mirrored{devices}.npz"
        text = _finish(_job("mirrored", 1, 0, devices, out, _env("tensorflow")))
        runs[devices] = _weights(out)
        initial[devices] = _weights(tmp_path / f"mirrored{devices}_initial.npz")
    assert "MirroredStrategy over 2 devices" in text
    assert all(np.all(np.isfinite(w)) for w in runs[2])
    # Both start from the same weights.
    assert _largest_difference(initial[1], initial[2]) == 0.0
    # How far training moved the weights: Adam's step moves a weight by
    # about the learning rate (its update m / sqrt(v) is near 1 in size
    # while the gradient's sign holds), so 4 steps at 1e-2 move the most
    # moved weight by up to 4e-2. Each run must have trained that far.
    learning_rate, steps = 1e-2, 4
    moved = _largest_difference(initial[1], runs[1])
    assert 0.5 * steps * learning_rate < moved <= 1.1 * steps * learning_rate
    assert _largest_difference(initial[2], runs[2]) > 0.5 * moved
    # Not equal: Keras clips each replica's gradients before summing them
    # (keras/src/optimizers/base_optimizer.py), so `global_clipnorm` sees
    # half batches and the steps differ (measured: a quarter of `moved`).
    # Two runs that merely both trained could differ by up to twice
    # `moved`, and a two-replica run that did not train by `moved` itself:
    # the same training stays well under half of it.
    assert _largest_difference(runs[1], runs[2]) < 0.5 * moved


def _translate(port, index, output_dir, epochs, resume=False):
    # 300 pairs of the bundled data: a test split of a dozen sentences.
    data = output_dir.parent / "pairs.tsv"
    if not data.exists():
        bundled = os.path.join(ROOT, "s2s_zoo", "datasets", "tatoeba")
        with open(os.path.join(bundled, "cmn.txt"), encoding="utf-8") as f:
            data.write_text("".join(f.readlines()[:300]), encoding="utf-8")
    command = [
        # The installed `s2s-zoo` entry point, as a user starts a job.
        *(shutil.which("s2s-zoo") or "s2s-zoo", "train", "translation"),
        *("--backend", "jax", "--distribute", "data_parallel"),
        *("--num-processes", "2", "--process-id", str(index)),
        *("--coordinator-address", f"127.0.0.1:{port}"),
        *("--data", str(data), "--preset", "tiny"),
        *("--batch-size", "64", "--beam-width", "1", "--select-on", "loss"),
        *("--epochs", str(epochs), "--max-minutes", "0"),
        # Few batch shapes and float32: JAX compiles each new shape, and
        # bfloat16 programs compile slower on a CPU (95 s a job, now 36).
        *("--max-length", "4", "--bucket-width", "4"),
        *("--precision", "float32"),
        *("--output-dir", str(output_dir), "--no-export"),
    ] + (["--resume"] if resume else [])
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _history(output_dir):
    with open(output_dir / "history.csv") as f:
        rows = [line.split(",") for line in f.read().strip().splitlines()]
    # A row per epoch (an epoch logged twice, trained again after a kill:
    # its last row counts), the column names first.
    return rows[0], {int(row[0]): row for row in rows[1:]}


def _finished_epochs(output_dir):
    path = output_dir / "backup" / "training_metadata.json"
    try:
        return int(json.loads(path.read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def test_translation_task_as_a_two_process_job_killed_mid_run_resumes(tmp_path):
    # The reference: the same 3-epoch job, never interrupted.
    port = _free_port()
    uninterrupted = tmp_path / "uninterrupted"
    for job in [_translate(port, i, uninterrupted, 3) for i in (0, 1)]:
        _finish(job, timeout=600)
    # The same job, both processes killed (SIGKILL, as a lost machine
    # would be) once epoch 1 is checkpointed, then resumed.
    output_dir = tmp_path / "run"
    port = _free_port()
    jobs = [_translate(port, i, output_dir, 3) for i in (0, 1)]
    deadline = time.monotonic() + 600
    while _finished_epochs(output_dir) < 1:
        assert all(job.poll() is None for job in jobs), "a process ended"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for job in jobs:
        job.kill()
        job.communicate()
    # Killed mid-run: not every epoch was trained, nothing was scored.
    assert _finished_epochs(output_dir) < 3
    assert not (output_dir / "metrics.json").exists()
    port = _free_port()
    jobs = [_translate(port, i, output_dir, 3, resume=True) for i in (0, 1)]
    logs = []
    for job in jobs:
        out, err = job.communicate(timeout=600)
        assert job.returncode == 0, err[-3000:]
        logs.append(out + err)
    assert "resuming after epoch" in logs[0], logs[0][-3000:]
    names, resumed = _history(output_dir)
    _, reference = _history(uninterrupted)
    assert sorted(resumed) == [0, 1, 2]
    # Every epoch's figures are the uninterrupted job's: the same weights,
    # data order and dropout after the resume (the loss is logged to 6+
    # digits; only float summation order may differ).
    loss = names.index("loss")
    for epoch in (0, 1, 2):
        assert float(resumed[epoch][loss]) == pytest.approx(
            float(reference[epoch][loss]), rel=1e-5
        ), epoch
    metrics = json.loads((output_dir / "metrics.json").read_text())
    expected = json.loads((uninterrupted / "metrics.json").read_text())
    assert metrics["training"]["epochs_completed"] == 3
    assert metrics["results"]["bleu"] == pytest.approx(
        expected["results"]["bleu"], abs=1e-6
    )
    # Only process 0 wrote the run: no worker files beside its own.
    assert not [p for p in os.listdir(output_dir) if "worker" in p]
