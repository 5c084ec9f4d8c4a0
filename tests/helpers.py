"""Test helpers shared by the test modules (keras.src.testing is private):
the repository root, the Config a command line gives, a fresh Python
process (a SavedModel served with TensorFlow alone), processes killed
mid-run, and the training doubles (a fake clock and machine, kills and
poisoned weights)."""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(command, task, flags):
    """The `Config` of `task` (a module) that `s2s-zoo COMMAND FLAGS...`
    gives."""
    from s2s_zoo import cli

    arguments = cli.parser().parse_args([command, *flags])
    return cli.config_from_args(task, arguments)


def run_python(code, *args, stdin=None, timeout=300, cwd=None, env=None):
    """Runs `python -c code args...` in a fresh process (TensorFlow's log
    quiet), fails the test with its error output if it fails, and returns
    the JSON its last line printed. `env`: variables to set besides.

    Serving tests use it to show that a SavedModel serves in a process
    that imports only `tensorflow` and `tensorflow_text`.
    """
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def gradient(loss_fn, x):
    """d loss_fn(x) / dx as a NumPy array, on whichever backend runs."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: loss_fn(v))(np.asarray(x)))
    if backend == "torch":
        import torch

        v = torch.tensor(np.asarray(x), requires_grad=True)
        loss_fn(v).backward()
        return v.grad.numpy()
    import tensorflow as tf

    v = tf.Variable(np.asarray(x))
    with tf.GradientTape() as tape:
        loss = loss_fn(v)
    return tape.gradient(loss, v).numpy()


def assert_config_round_trip(layer_or_model):
    """get_config -> from_config -> get_config gives equal JSON, also through
    serialize_keras_object / deserialize_keras_object."""
    cls = type(layer_or_model)
    config = layer_or_model.get_config()
    clone = cls.from_config(config)
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(
        config, sort_keys=True
    )
    serialized = keras.saving.serialize_keras_object(layer_or_model)
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is cls
    assert json.dumps(revived.get_config(), sort_keys=True) == json.dumps(
        config, sort_keys=True
    )
    return clone


def csv_rows(path):
    """Rows of a CSV file after its header; 0 while it does not exist."""
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return max(0, len(f.read().strip().splitlines()) - 1)


def kill_when(command, progress, at_least, timeout=240):
    """Starts `command`, waits until `progress()` reaches `at_least` (or the
    process ends, or `timeout` seconds pass), kills it with SIGKILL and
    returns `progress()`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + timeout
    while progress() < at_least and time.time() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return progress()


# CJK punctuation, Kana, Hangul and ideographs, full-width forms: the
# characters the site's font subset must hold (the same ranges as
# docs/vendor/fonts/build_subset.py and the unicode-range of extra.css).
CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def html_files(site):
    """Every built page of the site folder `site`, sorted."""
    return sorted(glob.glob(os.path.join(site, "**", "*.html"), recursive=True))


# === Training doubles ===


class Clock:
    """A fake clock: seconds that move only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeMachine(keras.callbacks.Callback):
    """A machine on which every training batch takes `seconds`.

    It runs before the task's callbacks: at a batch's start it notes the
    share of the budget spent (BudgetDecay reads the same clock next and
    sets the rate), at its end it notes the rate the batch ran at and moves
    the clock on.
    """

    def __init__(self, clock, seconds, budget_seconds):
        super().__init__()
        self.clock = clock
        self.seconds = seconds
        self.budget_seconds = budget_seconds
        self.start = clock()
        self.shares, self.rates = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.shares.append((self.clock() - self.start) / self.budget_seconds)

    def on_train_batch_end(self, batch, logs=None):
        rate = self.model.optimizer.learning_rate
        self.rates.append(float(keras.ops.convert_to_numpy(rate)))
        self.clock.now += self.seconds


class PoisonWeights(keras.callbacks.Callback):
    """Makes the weights NaN at the start of the given epoch's first batch."""

    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == self.at and batch == 0:
            weight = self.model.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, "float32"))


class KillBeforeEpoch(keras.callbacks.Callback):
    """Ends training abruptly as the given epoch starts (every earlier one
    finished and checkpointed), as a kill would: `on_train_end` never
    runs."""

    def __init__(self, epoch):
        super().__init__()
        self.at = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt
