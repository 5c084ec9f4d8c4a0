"""The translation recipe end to end, on a slice of the bundled data."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
sys.path.insert(0, os.path.join(ROOT, "recipes"))

import translate  # noqa: E402

TINY = [
    "--max-train-pairs",
    "400",
    "--batch-size",
    "32",
    "--beam-width",
    "2",
    "--set",
    "embedding_dim=8",
    "--set",
    "hidden_dim=8",
    "--set",
    "attention_dim=8",
    "--set",
    "maxout_dim=4",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    output_dir = str(tmp_path_factory.mktemp("translate"))
    report = translate.main(
        TINY
        + ["--epochs", "1", "--max-minutes", "2", "--output-dir", output_dir]
    )
    return output_dir, report


def test_recipe_writes_every_output(run):
    output_dir, report = run
    for name in (
        "metrics.json",
        "history.csv",
        "model.keras",
        "saved_model/saved_model.pb",
        "vocabulary/source.vocab",
        "vocabulary/target.vocab",
        "attention_0.png",
    ):
        assert os.path.exists(os.path.join(output_dir, name)), name
    with open(os.path.join(output_dir, "metrics.json")) as f:
        saved = json.load(f)
    for key in (
        "bleu",
        "bleu_lowercase",
        "chrf",
        "decode_sentences_per_second",
    ):
        assert 0 <= saved["results"][key] <= max(100, saved["results"][key])
    assert saved["results"]["test_sentences"] > 0
    assert saved["config"]["model"] == "bahdanau_attention"
    assert saved["training"]["epochs_completed"] == 1
    assert saved["samples"][0]["source"] == "我喜欢中国美食"
    assert saved["samples"][1]["source"] == "猫在桌子下"
    assert not [n for n in os.listdir(output_dir) if n.startswith(".")]


HOSTILE = [
    "我喜欢中国美食",
    "",
    "   ",
    "\t\n",
    "😀🚀",
    "ꙮ𓀀",  # characters never seen in training
    "猫" * 400,  # longer than any training sentence
    "Tom 是 个 好人 !!! ???",
    "\u200b",
    "a\x00b",
]

SERVE = """
import sys, json
import tensorflow as tf
import tensorflow_text  # registers the text ops
model = tf.saved_model.load(sys.argv[1])
serve = model.signatures["serving_default"]
texts = json.loads(sys.stdin.read())
out = serve(text=tf.constant(texts))
assert "s2s_zoo" not in sys.modules and "keras_hub" not in sys.modules
empty = serve(text=tf.constant(["", ""]))
print(json.dumps({
    "translation": [t.decode("utf-8") for t in out["translation"].numpy()],
    "score": out["score"].numpy().tolist(),
    "attention_shape": list(out["attention"].shape),
    "empty": [t.decode("utf-8") for t in empty["translation"].numpy()],
}))
"""


def test_saved_model_serves_strings_in_a_fresh_process(run):
    output_dir, _ = run
    result = subprocess.run(
        [sys.executable, "-c", SERVE, os.path.join(output_dir, "saved_model")],
        input=json.dumps(HOSTILE),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(out["translation"]) == len(HOSTILE)
    assert all(isinstance(t, str) for t in out["translation"])
    assert len(out["score"]) == len(HOSTILE)
    assert out["attention_shape"][0] == len(HOSTILE)
    assert len(out["empty"]) == 2


@pytest.fixture(scope="module")
def serve(run):
    output_dir, _ = run
    loaded = tf.saved_model.load(os.path.join(output_dir, "saved_model"))
    return loaded.signatures["serving_default"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_any_text_gets_a_string(serve, texts):
    texts = [t.encode("utf-8", "surrogatepass") for t in texts]
    texts = [t for t in texts if b"\xed" not in t] or [b""]  # no surrogates
    out = serve(text=tf.constant(texts))
    assert out["translation"].shape == (len(texts),)
    assert out["translation"].dtype == tf.string


def test_resume_after_kill_keeps_finished_epochs(tmp_path):
    output_dir = str(tmp_path / "killed")
    command = [
        sys.executable,
        os.path.join(ROOT, "recipes", "translate.py"),
        *TINY,
        "--epochs",
        "50",
        "--max-minutes",
        "0",
        "--patience",
        "100",
        "--output-dir",
        output_dir,
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    history = os.path.join(output_dir, "history.csv")
    deadline = time.time() + 240

    def epochs_done():
        if not os.path.exists(history):
            return 0
        with open(history) as f:
            return max(0, len(f.read().strip().splitlines()) - 1)

    while epochs_done() < 2 and time.time() < deadline:
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = epochs_done()
    assert finished >= 2

    report = translate.main(
        TINY
        + ["--epochs", str(finished + 1), "--max-minutes", "0"]
        + ["--patience", "100", "--output-dir", output_dir, "--resume"]
    )
    with open(history) as f:
        rows = list(csv.DictReader(f))
    epochs = [int(row["epoch"]) for row in rows]
    # The finished epochs are kept and training went on from the next one.
    assert epochs[:finished] == list(range(finished))
    assert epochs[-1] == finished
    assert report["training"]["epochs_completed"] == 1
