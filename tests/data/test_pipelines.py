"""Every pipeline the package builds runs without `tf.data`'s autotuning:
with it, deleting an iterator can wait seconds for the autotuning thread
(`s2s_zoo/data/pipelines.py`)."""

import numpy as np
import tensorflow as tf

from s2s_zoo.data import aspect_text
from s2s_zoo.data import translation


def _autotuned(dataset):
    return dataset.options().autotune.enabled is not False


def test_translation_pipelines_run_without_autotuning():
    source = tf.ragged.constant([[5], [5, 6, 7], [6, 7]])
    target = tf.ragged.constant([[9], [9, 9], [8, 8]])
    for kind in [{}, {"shuffle": True}, {"shuffle": True, "epochs": range(2)}]:
        dataset = translation.make_dataset(source, target, batch_size=2, **kind)
        assert not _autotuned(dataset), kind
        assert len(list(dataset)) >= 2  # and it still runs


def test_aspect_pipelines_run_without_autotuning():
    inputs = {"token_ids": np.array([[4, 5, 0], [6, 0, 0], [7, 8, 9]])}
    labels = np.array([0, 1, 2])
    for kind in [{}, {"shuffle": True, "epochs": range(2)}]:
        dataset = aspect_text.aspect_dataset(
            inputs, labels, batch_size=2, **kind
        )
        assert not _autotuned(dataset), kind
        assert len(list(dataset)) >= 2


def test_the_default_is_autotuned():
    # What the check above would see without the package's options.
    assert _autotuned(tf.data.Dataset.range(3))


class _Fitted(Exception):
    pass


def test_resumable_fit_turns_it_off_in_pipelines_made_elsewhere(tmp_path):
    import keras

    from s2s_zoo import training

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = {}

    def fit(train, validation_data=None, **kwargs):
        seen.update(train=train, validation=validation_data)
        raise _Fitted

    model.fit = fit
    pairs = tf.data.Dataset.from_tensors((tf.zeros((1, 2)), tf.zeros((1, 1))))
    try:
        training.resumable_fit(
            model,
            lambda epochs: pairs.repeat(len(epochs)),
            directory=str(tmp_path),
            epochs=2,
            steps_per_epoch=1,
            seed=0,
            validation_data=pairs,
            verbose=0,
        )
    except _Fitted:
        pass
    assert not _autotuned(seen["train"])
    assert not _autotuned(seen["validation"])
