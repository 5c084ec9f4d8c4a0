"""A translator trained on JAX exports the SavedModel a TensorFlow run
does, and it translates as the JAX model's own `generate` does."""

import json
import os
import subprocess
import sys

import pytest

from s2s_zoo import tasks
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


FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SICK = os.path.join(FIXTURES, "sick", "SICK-tiny.txt")
ON_JAX = {
    "aspect-sentiment": [
        *("--train", os.path.join(FIXTURES, "semeval", "train.xml")),
        *("--test", os.path.join(FIXTURES, "semeval", "test.xml")),
        *("--epochs", "2", "--dev-fraction", "0.25", "--max-length", "12"),
        *("--heatmap-sentences", "0"),
        *("--set", "embedding_dim=4", "--set", "aspect_embedding_dim=3"),
        *("--set", "hidden_dim=4"),
    ],
    "sentence-pairs": [
        *("--task", "sick", "--model", "abcnn3"),
        *("--train", SICK, "--dev", SICK, "--test", SICK),
        *("--epochs", "2", "--restarts", "2", "--batch-size", "4"),
        *("--oov-buckets", "5", "--heatmap-pairs", "0"),
        *("--set", "embedding_dim=4", "--set", "filters=3"),
        *("--set", "num_blocks=2", "--set", "sequence_length_1=6"),
        *("--set", "sequence_length_2=8"),
    ],
}


@pytest.mark.parametrize("command", sorted(ON_JAX))
def test_every_task_trains_end_to_end_on_jax_from_the_flag_alone(
    command, tmp_path
):
    # No KERAS_BACKEND in the environment: `--backend jax` alone must
    # choose the backend, before Keras is imported. The run is trained,
    # scored, saved and exported (the SavedModel through a TensorFlow
    # child process); here, on TensorFlow, it loads and answers.
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    output_dir = tmp_path / "run"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "s2s_zoo.cli", command),
            *("--backend", "jax", *ON_JAX[command]),
            *("--output-dir", str(output_dir)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with open(output_dir / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["machine"]["backend"] == "jax"
    training = metrics["training"]
    assert len(training.get("history", [])) == 2 or training["epochs_run"] == 2
    assert (output_dir / "saved_model" / "saved_model.pb").exists()
    run = tasks.load(str(output_dir))
    if command == "aspect-sentiment":
        assert len(run.predict(["The food was great ."], ["food"])) == 1
    else:
        assert len(run.score(["A dog runs"], ["An animal runs"])) == 1
