"""A translator trained on JAX exports the SavedModel a TensorFlow run
does, and it translates as the JAX model's own `generate` does."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT
from tests.helpers import run_python

pytest.importorskip("jax")

CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SavedModel's text ops)
import keras
from s2s_zoo.tasks import translation

data, output_dir = sys.argv[1:3]
run = translation.train(
    data=[data], source_lang="zh", preset="tiny", epochs=1, max_minutes=0,
    batch_size=32, beam_width=2, select_on="loss", output_dir=output_dir,
    export=True, max_train_pairs=250,
    # Few batch shapes and float32: JAX compiles each new shape, and
    # bfloat16 programs compile slower on a CPU.
    max_length=6, bucket_width=6, precision="float32",
)
sources = [s for s, _ in translation.test_pairs(run.config)]
sources = sorted(set(sources))[:8] + ["我喜欢中国美食", ""]
mine = run.translate(sources)
ids = run.translator().translate(tf.constant(sources))["source_ids"].numpy()
direct = run.model.generate(ids, max_length=2 * ids.shape[1] + 10,
                            beam_width=2, length_penalty=1.0)
served = tf.saved_model.load(output_dir + "/saved_model")
out = served.signatures["serving_default"](text=tf.constant(sources))
print(json.dumps({
    "backend": keras.backend.backend(),
    "mine": mine.translations,
    "mine_scores": mine.scores,
    "direct_scores": np.asarray(direct.scores)[:, 0].tolist(),
    "served": [t.decode() for t in out["translation"].numpy()],
    "served_scores": out["score"].numpy().tolist(),
}))
"""


def test_a_jax_run_exports_the_same_translator(tmp_path):
    data = tmp_path / "pairs.tsv"
    bundled = os.path.join(ROOT, "s2s_zoo", "datasets", "tatoeba", "cmn.txt")
    with open(bundled, encoding="utf-8") as f:
        data.write_text("".join(f.readlines()[:300]), encoding="utf-8")
    result = run_python(
        CHILD,
        str(data),
        str(tmp_path / "run"),
        cwd=ROOT,
        env={"KERAS_BACKEND": "jax"},
        timeout=900,
    )
    assert result["backend"] == "jax"
    assert result["served"] == result["mine"]
    assert result["served_scores"] == pytest.approx(
        result["mine_scores"], abs=1e-4
    )
    assert result["mine_scores"] == pytest.approx(
        result["direct_scores"], abs=1e-6
    )


def test_the_backend_flag_alone_picks_jax(tmp_path):
    # No KERAS_BACKEND in the environment: `--backend jax` alone must
    # choose the backend, before Keras is imported.
    data = tmp_path / "pairs.tsv"
    bundled = os.path.join(ROOT, "s2s_zoo", "datasets", "tatoeba", "cmn.txt")
    with open(bundled, encoding="utf-8") as f:
        data.write_text("".join(f.readlines()[:300]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    output_dir = tmp_path / "run"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "s2s_zoo.cli", "translate"),
            *("--backend", "jax", "--data", str(data), "--preset", "tiny"),
            *("--epochs", "1", "--max-minutes", "0", "--batch-size", "64"),
            *("--beam-width", "1", "--select-on", "loss"),
            *("--max-length", "6", "--bucket-width", "6"),
            *("--precision", "float32", "--max-eval-pairs", "10"),
            *("--no-export", "--output-dir", str(output_dir)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(output_dir / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["machine"]["backend"] == "jax"
    assert metrics["training"]["epochs_completed"] == 1


TASK_ON_JAX = r"""
import json, sys
import keras
from s2s_zoo import tasks

task, output_dir = sys.argv[1:3]
fixtures = "tests/fixtures"
if task == "aspect_sentiment":
    run = tasks.aspect_sentiment.train(
        train=f"{fixtures}/semeval/train.xml",
        test=f"{fixtures}/semeval/test.xml",
        epochs=2, dev_fraction=0.25, max_length=12, heatmap_sentences=0,
        verbose=0, output_dir=output_dir,
        model_config={"embedding_dim": 4, "aspect_embedding_dim": 3,
                      "hidden_dim": 4},
    )
    answer = run.predict(["The food was great ."], ["food"]).labels
    figure = run.metrics["results"]["accuracy"]
else:
    sick = f"{fixtures}/sick/SICK-tiny.txt"
    run = tasks.sentence_pairs.train(
        task="sick", model="abcnn3", train=sick, dev=sick, test=sick,
        epochs=2, restarts=2, batch_size=4, oov_buckets=5, heatmap_pairs=0,
        output_dir=output_dir,
        model_config={"embedding_dim": 4, "filters": 3, "num_blocks": 2,
                      "sequence_length_1": 6, "sequence_length_2": 8},
    )
    answer = run.score(["A dog runs"], ["An animal runs"]).labels
    figure = run.metrics["results"]["test"]["accuracy"]
loaded = tasks.load(output_dir)
print(json.dumps({
    "backend": keras.backend.backend(),
    "answer": answer,
    "figure": figure,
    "epochs": len(run.metrics["training"].get("history", [])) or
    run.metrics["training"].get("epochs_run"),
    "loaded": type(loaded).__name__,
}))
"""


@pytest.mark.parametrize("task", ["aspect_sentiment", "sentence_pairs"])
def test_every_task_trains_end_to_end_on_jax(task, tmp_path):
    # Trained, scored, saved and exported (the SavedModel through a
    # TensorFlow child process), reloaded, and serving raw strings.
    output_dir = tmp_path / "run"
    result = run_python(
        TASK_ON_JAX,
        task,
        str(output_dir),
        cwd=ROOT,
        env={"KERAS_BACKEND": "jax"},
        timeout=900,
    )
    assert result["backend"] == "jax"
    assert result["epochs"] == 2 and 0 <= result["figure"] <= 1
    assert len(result["answer"]) == 1
    assert result["loaded"].endswith("Run")
    assert (output_dir / "saved_model" / "saved_model.pb").exists()
