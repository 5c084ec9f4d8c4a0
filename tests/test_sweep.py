"""Every registered model at its tiny preset, end to end.

For each name in the registry: build it from its `tiny` preset, take one
fit step with `compile()`'s defaults (the paper's optimizer and a loss
that reads the logits), round-trip the `.keras` file, export the
SavedModel that its task serves, and call every SavedModel with raw
strings from one fresh Python that imports only TensorFlow and
tensorflow-text.
"""

import json

import keras
import numpy as np
import pytest

import s2s_zoo
from s2s_zoo import serving
from s2s_zoo.data import aspect_text
from s2s_zoo.data import sentence_pairs
from s2s_zoo.data import translation as text
from tests.helpers import ROOT
from tests.helpers import run_python

NAMES = s2s_zoo.model_names()


def _translation(name):
    source = text.Tokenizer.train(
        ["猫在桌子下", "我喜欢中国美食"], "character", 11
    )
    target = text.Tokenizer.train(["the cat", "I like food"], "character", 13)
    model = s2s_zoo.build(
        name,
        preset="tiny",
        source_vocabulary_size=source.vocabulary_size,
        target_vocabulary_size=target.vocabulary_size,
    )
    inputs = {
        "encoder_token_ids": np.array([[4, 5, 6], [7, 0, 0]], "int32"),
        "decoder_token_ids": np.array([[2, 4, 5], [2, 6, 0]], "int32"),
    }
    labels = np.array([[4, 5, 3], [6, 3, 0]], "int32")
    module = lambda model: serving.Translator(  # noqa: E731
        model, source, target, beam_width=2, max_output_length=8
    )
    return model, inputs, labels, module


def _aspect(name):
    words = aspect_text.Vocabulary(
        ["[PAD]", "[UNK]", "the", "food", "was", "great", "staff", "rude"]
        + [f"w{i}" for i in range(4)]
    )
    aspects = aspect_text.Vocabulary(["[PAD]", "[UNK]", "food", "staff"])
    model = (
        s2s_zoo.build(name, preset="tiny", vocabulary_size=len(words))
        if name == "lstm_sentiment"
        else s2s_zoo.build(
            name,
            preset="tiny",
            vocabulary_size=len(words),
            aspect_vocabulary_size=len(aspects),
        )
    )
    inputs = {
        "token_ids": np.array([[2, 3, 4, 5], [6, 4, 7, 0]], "int32"),
        "aspect_token_ids": np.array([[2], [3]], "int32"),
    }
    labels = np.array([0, 1], "int32")
    module = lambda model: serving.AspectSentimentModule(  # noqa: E731
        model, words, aspects, ("positive", "negative", "neutral"), "term"
    )
    return model, inputs, labels, module


def _pairs(name):
    tokenizer = sentence_pairs.PairTokenizer(
        sentence_pairs.build_vocabulary(["a dog runs", "an animal is running"]),
        oov_buckets=5,
    )
    model = s2s_zoo.build(name, preset="tiny", vocabulary_size=tokenizer.size)
    inputs = {
        "token_ids_1": tokenizer(["a dog runs", "a dog"], 4).numpy(),
        "token_ids_2": tokenizer(["an animal", "is running"], 5).numpy(),
    }
    labels = np.array([1.0, 0.0], "float32")
    module = lambda model: serving.SentencePairModule(  # noqa: E731
        model, tokenizer
    )
    return model, inputs, labels, module


SETUP = {
    "translation": _translation,
    "aspect_sentiment": _aspect,
    "sentence_pairs": _pairs,
}


def _fit_save_reload(name, directory):
    """One fit step, a `.keras` round trip and one more step on the
    restored model; returns `(task, restored model, serving module maker)`."""
    info = s2s_zoo.describe(name)
    assert {"paper", "cpu", "tiny"} <= set(info.presets)
    model, inputs, labels, module = SETUP[info.task](name)
    model.compile()  # the paper's optimizer, a loss on the logits
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    loss = model.train_on_batch(inputs, labels)
    assert np.isfinite(loss)
    changed = [
        not np.array_equal(a, keras.ops.convert_to_numpy(w))
        for a, w in zip(before, model.trainable_weights)
    ]
    assert any(changed)
    path = str(directory / f"{name}.keras")
    serving.save_keras(model, path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        restored.predict(inputs, verbose=0),
        model.predict(inputs, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )
    # The restored model is compiled as it was: one more step trains it.
    assert type(restored.optimizer) is type(model.optimizer)
    assert np.isfinite(restored.train_on_batch(inputs, labels))
    return info.task, restored, module


def _export(name, directory):
    """`_fit_save_reload`, then the SavedModel its task serves."""
    task, restored, module = _fit_save_reload(name, directory)
    saved_model = str(directory / f"{name}_saved_model")
    serving.export_module(module(restored), saved_model)
    return task, saved_model


ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
needs_tensorflow = pytest.mark.skipif(
    not ON_TENSORFLOW, reason="a SavedModel is written by TensorFlow"
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`{name: (task, SavedModel path)}`, filled by the tests of this
    module as they run; the serving test exports those no test of this
    run has (a test run alone, or in another order)."""
    return {}, tmp_path_factory.mktemp("sweep")


@pytest.mark.parametrize("name", NAMES)
def test_tiny_preset_fits_saves_reloads_and_exports(name, exported):
    found, directory = exported
    if not ON_TENSORFLOW:  # on JAX: the step and the .keras round trip
        _fit_save_reload(name, directory)
        return
    found[name] = _export(name, directory)


SERVE = r"""
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the text ops)
sys.path.insert(0, sys.argv[2])
from benchmarks.serving import fuzz_serving
answers = {}
for name, (task, path) in json.loads(sys.argv[1]).items():
    serve = tf.saved_model.load(path).signatures["serving_default"]
    if task == "translation":
        out = serve(text=tf.constant(["我喜欢中国美食", ""]))
    elif task == "aspect_sentiment":
        out = serve(sentence=tf.constant(["the food was great", ""]),
                    aspect=tf.constant(["food", "staff"]))
    else:
        out = serve(sentence1=tf.constant(["a dog runs", ""]),
                    sentence2=tf.constant(["an animal is running", "x"]))
    answers[name] = {k: v.shape.as_list() for k, v in out.items()}
    # Hostile strings and 4 threads at once (benchmarks/serving/fuzz_serving.py
    # imports only TensorFlow, as a server would).
    fuzzed = fuzz_serving.fuzz(serve, count=40)
    loaded = fuzz_serving.load_test(serve, threads=4, seconds=1.0)
    answers[name]["fuzz"] = [
        fuzzed["errors"], fuzzed["error_samples"],
        fuzzed["mismatched_batch_error"],
        loaded["errors"], loaded["answers_differing_from_sequential"],
        loaded["requests"],
    ]
assert "s2s_zoo" not in sys.modules and "keras_hub" not in sys.modules
print(json.dumps(answers))
"""


@needs_tensorflow
def test_every_saved_model_serves_raw_strings_in_a_fresh_process(exported):
    found, directory = exported
    for name in NAMES:  # those no earlier test of this run exported
        if name not in found:
            found[name] = _export(name, directory)
    assert sorted(found) == sorted(NAMES)
    answers = run_python(SERVE, json.dumps(found), ROOT, timeout=600)
    for name, shapes in answers.items():
        task = found[name][0]
        errors, samples, mismatched, load_errors, differing, requests = (
            shapes.pop("fuzz")
        )
        assert errors == 0, (name, samples)
        assert load_errors == 0 and differing == 0 and requests > 0, name
        if task != "translation":
            assert "must hold the same number of strings" in mismatched
        assert shapes["truncated"] == [2]
        if task == "translation":
            assert shapes["translation"] == [2]
        elif task == "aspect_sentiment":
            assert shapes["probabilities"] == [2, 3] and shapes["label"] == [2]
        else:
            assert shapes["score"] == [2]
