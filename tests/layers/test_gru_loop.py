"""`BidirectionalGRU`'s loop with a hand-written gradient (TensorFlow): the
same forward pass and the same gradients as TensorFlow's own."""

import keras
import numpy as np
import pytest

from s2s_zoo import layers
from s2s_zoo import training

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the hand-written gradient is the TensorFlow backend's",
)

# Right-padded sequences, one with a single real position.
MASK = np.array([[1, 1, 1, 1, 0], [1, 0, 0, 0, 0], [1, 1, 1, 0, 0]], bool)


def layer_and_inputs(precision):
    with training.global_dtype_policy(precision):
        layer = layers.BidirectionalGRU(4, input_dim=3)
        layer.build()
    rng = np.random.default_rng(0)
    for weight in layer.weights:  # large enough to make every term count
        weight.assign(rng.normal(0, 0.7, weight.shape).astype("float32"))
    inputs = rng.normal(size=(3, 5, 3)).astype("float32")
    return layer, inputs


def value_and_gradients(layer, inputs, hand_written, monkeypatch):
    import tensorflow as tf

    from s2s_zoo.layers import gru_loop

    monkeypatch.setattr(gru_loop, "HAND_WRITTEN_GRADIENT", hand_written)
    rng = np.random.default_rng(1)
    # A weight per output element, so that every output's gradient counts.
    w_annotations = tf.constant(rng.normal(size=(3, 5, 8)), tf.float32)
    w_forward = tf.constant(rng.normal(size=(3, 4)), tf.float32)
    w_backward = tf.constant(rng.normal(size=(3, 4)), tf.float32)
    inputs = tf.Variable(inputs)

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            annotations, forward, backward = layer(
                inputs, mask=MASK, training=True
            )
            value = (
                tf.reduce_sum(tf.cast(annotations, tf.float32) * w_annotations)
                + tf.reduce_sum(tf.cast(forward, tf.float32) * w_forward)
                + tf.reduce_sum(tf.cast(backward, tf.float32) * w_backward)
            )
        return value, tape.gradient(value, [inputs, *layer.trainable_weights])

    value, gradients = run()
    return float(value), [np.asarray(g, "float32") for g in gradients]


def test_gradients_are_tensorflows_own_in_float32(monkeypatch):
    layer, inputs = layer_and_inputs("float32")
    value, ours = value_and_gradients(layer, inputs, True, monkeypatch)
    reference_value, reference = value_and_gradients(
        layer, inputs, False, monkeypatch
    )
    assert value == reference_value  # the same forward pass, op for op
    names = ["inputs"] + [w.path for w in layer.trainable_weights]
    for name, a, b in zip(names, ours, reference):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=name)
        assert np.abs(a).max() > 1e-2, name  # not vacuous
    # The padded positions' inputs get no gradient.
    np.testing.assert_array_equal(ours[0][~MASK], 0.0)


def test_gradients_in_mixed_bfloat16_are_close_to_tensorflows(monkeypatch):
    layer, inputs = layer_and_inputs("mixed_bfloat16")
    value, ours = value_and_gradients(layer, inputs, True, monkeypatch)
    reference_value, reference = value_and_gradients(
        layer, inputs, False, monkeypatch
    )
    assert value == reference_value
    # bfloat16 keeps 8 bits of mantissa, and the two sum the steps' shares
    # of the recurrent matrices' gradients in different orders.
    names = ["inputs"] + [w.path for w in layer.trainable_weights]
    for name, a, b in zip(names, ours, reference):
        assert np.abs(a - b).max() <= 0.05 * (np.abs(b).max() + 1e-3), name
