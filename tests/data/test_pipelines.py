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
