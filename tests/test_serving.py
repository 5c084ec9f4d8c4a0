"""Serving helpers of s2s_zoo.serving that bound what one request costs."""

import os
import re
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

from s2s_zoo import serving


def test_bound_text_makes_utf8_valid_and_cuts_by_character():
    limit = serving.CHARACTERS_PER_TOKEN  # one token's worth
    text, cut = serving.bound_text(
        tf.constant(
            [
                b"ab\xffc",  # an invalid byte becomes U+FFFD
                ("猫" * (limit + 4)).encode(),  # cut by characters, not bytes
                ("猫" * limit).encode(),
                b"",
            ]
        ),
        max_tokens=1,
    )
    assert text.numpy().tolist() == [
        "ab\ufffdc".encode(),
        ("猫" * limit).encode(),
        ("猫" * limit).encode(),
        b"",
    ]
    assert cut.numpy().tolist() == [False, True, False, False]


def test_two_inputs_of_different_sizes_get_a_clear_error():
    @tf.function
    def check(a, b):
        return serving.bound_pair(a, b, (1, 1), ("sentence1", "sentence2"))

    message = (
        "sentence1 and sentence2 must hold the same number of strings "
        "(one pair per row)"
    )
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=re.escape(message)
    ):
        check(tf.constant(["a", "b", "c"]), tf.constant(["a", "b"]))
    first, first_cut, second, second_cut = check(
        tf.constant(["a"]), tf.constant(["b" * 20])
    )
    assert first.numpy().tolist() == [b"a"]
    assert second.numpy().tolist() == [b"b" * 16]
    assert first_cut.numpy().tolist() == [False]
    assert second_cut.numpy().tolist() == [True]


KILLED_DURING_EXPORT = r"""
import sys, time
import numpy as np
import tensorflow as tf
import s2s_zoo
from s2s_zoo import serving
from s2s_zoo.data import translation as text

source = text.Tokenizer.train(["猫在桌子下", "我喜欢中国美食"], "character", 11)
target = text.Tokenizer.train(["the cat", "I like food"], "character", 13)
model = s2s_zoo.build(
    "bahdanau_attention", preset="tiny",
    source_vocabulary_size=source.vocabulary_size,
    target_vocabulary_size=target.vocabulary_size,
)
module = serving.Translator(model, source, target, beam_width=1,
                           max_output_length=4)
path = sys.argv[1]
serving.export_module(module, path)
print("first", flush=True)
save = tf.saved_model.save

def slow_save(*args, **kwargs):
    save(*args, **kwargs)  # the new model is on disk, not yet in place
    print("written", flush=True)
    time.sleep(600)

tf.saved_model.save = slow_save
serving.export_module(module, path)
"""


def test_a_kill_during_export_leaves_the_previous_saved_model(tmp_path):
    path = str(tmp_path / "saved_model")
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_DURING_EXPORT, path],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    lines = []
    fingerprint = None
    for line in process.stdout:
        lines.append(line.strip())
        if line.strip() == "first":
            with open(os.path.join(path, "fingerprint.pb"), "rb") as f:
                fingerprint = f.read()
        if line.strip() == "written":
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert lines == ["first", "written"]
    # The first SavedModel is still in place, whole, and serves.
    with open(os.path.join(path, "fingerprint.pb"), "rb") as f:
        assert f.read() == fingerprint
    serve = tf.saved_model.load(path).signatures["serving_default"]
    out = serve(text=tf.constant(["猫在桌子下", ""]))
    assert out["translation"].shape == (2,)
