"""Test helpers shared by the test modules (keras.src.testing is private)."""

import glob
import json
import os
import re
import signal
import subprocess
import time

import keras
import numpy as np


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
