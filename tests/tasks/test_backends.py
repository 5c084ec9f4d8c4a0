"""A translator trained on JAX exports the SavedModel a TensorFlow run
does, and it translates as the JAX model's own `generate` does."""

import os

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
