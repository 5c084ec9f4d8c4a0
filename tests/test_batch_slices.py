"""`batch_slices`: a batch's slices side by side make the full batch's step."""

import keras
import numpy as np
import pytest

import s2s_zoo
from s2s_zoo import training

TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="batch slices are a TensorFlow step",
)

# Rows of different lengths: the slices hold different numbers of
# non-padding target tokens (a weighting by rows would be wrong).
SOURCE = np.array(
    [[5, 6, 7, 8], [9, 4, 0, 0], [6, 6, 6, 0], [7, 0, 0, 0], [4, 5, 6, 7]],
    "int32",
)
DECODER = np.array(
    [[2, 5, 6, 7, 8], [2, 4, 0, 0, 0], [2, 9, 9, 9, 9], [2, 0, 0, 0, 0]]
    + [[2, 6, 7, 0, 0]],
    "int32",
)
TARGET = np.array(
    [[5, 6, 7, 8, 3], [4, 3, 0, 0, 0], [9, 9, 9, 9, 3], [3, 0, 0, 0, 0]]
    + [[6, 7, 3, 0, 0]],
    "int32",
)


def _trained(slices, label_smoothing, rows):
    keras.utils.set_random_seed(3)
    # Ids up to 9 fit the preset's vocabularies (11 source, 13 target).
    model = s2s_zoo.build("bahdanau_attention", preset="tiny")
    model.compile(
        optimizer=keras.optimizers.SGD(1.0),
        loss=training.masked_loss(label_smoothing),
        # A compiled metric sees the whole batch's predictions.
        metrics=["sparse_categorical_accuracy"],
        batch_slices=slices,
    )
    inputs = {
        "encoder_token_ids": SOURCE[rows],
        "decoder_token_ids": DECODER[rows],
    }
    start = model.get_weights()
    logs = model.train_on_batch(inputs, TARGET[rows], return_dict=True)
    return logs, start, model.get_weights()


@TENSORFLOW_ONLY
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize(
    "slices, rows",
    [(2, slice(None)), (3, slice(None)), (2, slice(0, 1))],
    ids=["2-of-5-rows", "3-of-5-rows", "2-of-1-row"],
)
def test_sliced_step_is_the_full_batch_step(slices, rows, label_smoothing):
    # Plain SGD at rate 1: the weights move by the gradient itself.
    logs, start, weights = _trained(1, label_smoothing, rows)
    sliced_logs, _, sliced_weights = _trained(slices, label_smoothing, rows)
    assert sliced_logs.keys() == logs.keys()
    for name, value in logs.items():
        assert float(sliced_logs[name]) == pytest.approx(float(value), 1e-6)
    moved = max(float(np.abs(w - s).max()) for w, s in zip(weights, start))
    assert moved > 1e-3  # the step did move the weights
    for full, sliced in zip(weights, sliced_weights):
        np.testing.assert_allclose(sliced, full, atol=1e-6)


def test_resolve_batch_slices():
    resolve = training.resolve_batch_slices
    tf = "tensorflow"
    assert resolve("auto", threads="1,2", backend=tf) == 2
    assert resolve("auto", threads="1,1", backend=tf) == 1
    assert resolve("auto", threads="default", backend=tf) == 1
    assert resolve("auto", threads="2,2", backend=tf) == 1
    assert resolve("auto", threads="1,2", backend="jax") == 1
    assert resolve("auto", threads="1,2", distributed=True, backend=tf) == 1
    assert resolve("3", backend=tf) == 3
    assert resolve(1, backend="jax") == 1
    for bad in ("0", "x", "1.5", -2):
        with pytest.raises(
            ValueError,
            match=rf"batch_slices must be auto or a positive integer; "
            rf"received {bad!r}",
        ):
            resolve(bad, backend=tf)
    with pytest.raises(
        ValueError,
        match=r"batch_slices=2 needs the TensorFlow backend \(this is jax\)",
    ):
        resolve(2, backend="jax")
    with pytest.raises(
        ValueError,
        match=r"batch_slices=2 cannot be combined with a distribution; use 1 "
        r"or auto\.",
    ):
        resolve(2, distributed=True, backend=tf)
