import keras
import numpy as np
import pytest

from s2s_zoo import layers
from tests.helpers import assert_config_round_trip

RNG = np.random.default_rng(0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def make_cell(reset_mode):
    cell = layers.ContextGRUCell(
        4,
        input_dim=3,
        context_dim=2,
        reset_mode=reset_mode,
        kernel_initializer="glorot_uniform",
        bias_initializer="glorot_uniform",
    )
    cell.build()
    return cell


def test_reset_before_equals_keras_gru_cell_on_concatenated_input():
    cell = make_cell("before")
    keras_cell = keras.layers.GRUCell(4, reset_after=False)
    keras_cell.build((None, 5))
    keras_cell.set_weights(
        [
            np.concatenate([cell.kernel.numpy(), cell.context_kernel.numpy()]),
            cell.recurrent_kernel.numpy(),
            cell.bias.numpy(),
        ]
    )
    x = RNG.normal(size=(2, 3)).astype("float32")
    c = RNG.normal(size=(2, 2)).astype("float32")
    h = RNG.normal(size=(2, 4)).astype("float32")
    expected, _ = keras_cell(np.concatenate([x, c], -1), [h])
    np.testing.assert_allclose(cell(x, c, h), expected, rtol=1e-5, atol=1e-6)


def test_reset_after_matches_cho_appendix_equations():
    cell = make_cell("after")
    x = RNG.normal(size=(2, 3)).astype("float32")
    c = RNG.normal(size=(2, 2)).astype("float32")
    h = RNG.normal(size=(2, 4)).astype("float32")
    w, cw, u, b = (v.numpy() for v in cell.weights)
    wz, wr, wh = np.split(x @ w + b, 3, -1)
    cz, cr, ch = np.split(c @ cw, 3, -1)
    uz, ur, uh = np.split(u, 3, -1)
    z = sigmoid(wz + h @ uz + cz)
    r = sigmoid(wr + h @ ur + cr)
    candidate = np.tanh(wh + r * (h @ uh + ch))  # r' * (U' h + C c)
    expected = z * h + (1 - z) * candidate
    np.testing.assert_allclose(cell(x, c, h), expected, rtol=1e-5, atol=1e-6)


def test_update_gate_at_one_copies_the_state():
    cell = make_cell("after")
    bias = cell.bias.numpy()
    bias[:4] = 100.0  # z -> 1: keep the old state (Cho's labelling)
    cell.bias.assign(bias)
    h = RNG.normal(size=(2, 4)).astype("float32")
    out = cell(RNG.normal(size=(2, 3)), RNG.normal(size=(2, 2)), h)
    np.testing.assert_allclose(out, h, atol=1e-6)


def test_context_gru_errors_and_config():
    with pytest.raises(ValueError) as error:
        layers.ContextGRUCell(4, 3, 2, reset_mode="middle")
    assert str(error.value) == (
        "reset_mode must be 'before' or 'after'; received 'middle'."
    )
    assert_config_round_trip(make_cell("after"))


def test_maxout_takes_adjacent_pairs():
    x = np.array([[1.0, 5.0, 3.0, 2.0, -1.0, -2.0]], "float32")
    np.testing.assert_array_equal(layers.Maxout()(x), [[5.0, 3.0, -1.0]])
    np.testing.assert_array_equal(layers.Maxout(3)(x), [[5.0, 2.0]])
    assert layers.Maxout()(np.ones((2, 3, 8), "float32")).shape == (2, 3, 4)


def test_maxout_rejects_indivisible_width():
    with pytest.raises(ValueError) as error:
        layers.Maxout(2)(np.ones((1, 5), "float32"))
    assert (
        "Maxout needs a last axis divisible by pool_size=2; received "
        "width 5." in str(error.value)
    )


def test_deep_output_matches_numpy():
    layer = layers.DeepOutput(3, 7, input_dims=[4, 2], output_rank=5)
    layer.build()
    a = RNG.normal(size=(2, 4)).astype("float32")
    b = RNG.normal(size=(2, 2)).astype("float32")
    logits = layer([a, b])
    k0, b0 = layer.input_projections[0].get_weights()
    (k1,) = layer.input_projections[1].get_weights()
    (rank,) = layer.rank_projection.get_weights()
    k_out, b_out = layer.logits.get_weights()
    hidden = a @ k0 + b0 + b @ k1  # (2, 6)
    hidden = hidden.reshape(2, 3, 2).max(-1)  # adjacent pairs
    expected = hidden @ rank @ k_out + b_out
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    assert layer([a[:, None], b[:, None]]).shape == (2, 1, 7)
    assert_config_round_trip(layer)


def test_bridge_is_tanh_dense_with_paper_init():
    bridge = layers.Bridge(3)
    h = RNG.normal(size=(2, 4)).astype("float32")
    out = bridge(h)
    kernel, bias = bridge.get_weights()
    np.testing.assert_allclose(out, np.tanh(h @ kernel + bias), rtol=1e-5)
    assert np.std(kernel) < 0.05  # N(0, 0.01^2)
    assert_config_round_trip(bridge)


def test_reverse_sequences_reverses_real_tokens_only():
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [6, 7, 8, 9, 10]])
    mask = ids != 0
    reversed_ids = layers.reverse_sequences(ids, mask)
    np.testing.assert_array_equal(
        reversed_ids, [[3, 2, 1, 0, 0], [5, 4, 0, 0, 0], [10, 9, 8, 7, 6]]
    )
    # Its own inverse, and it works on feature axes too.
    np.testing.assert_array_equal(
        layers.reverse_sequences(reversed_ids, mask), ids
    )
    features = np.arange(30, dtype="float32").reshape(3, 5, 2)
    out = layers.reverse_sequences(features, mask)
    np.testing.assert_array_equal(out[1, :2], features[1, [1, 0]])
    np.testing.assert_array_equal(out[1, 2:], features[1, 2:])


# training=True runs, on TensorFlow, the loop with a hand-written gradient
# (`s2s_zoo/layers/gru_loop.py`): the same values.
@pytest.mark.parametrize("training", [False, True])
def test_bidirectional_gru_equals_keras_bidirectional_gru_with_padding(
    training,
):
    units, width = 4, 3
    ours = layers.BidirectionalGRU(
        units,
        input_dim=width,
        kernel_initializer="glorot_uniform",
        bias_initializer="glorot_uniform",
    )
    ours.build()
    reference = keras.layers.Bidirectional(
        keras.layers.GRU(
            units, return_sequences=True, return_state=True, reset_after=False
        )
    )
    x = RNG.normal(size=(3, 5, width)).astype("float32")
    mask = np.array(
        [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=bool
    )
    reference(x, mask=mask)
    kernel, recurrent, bias = (w.numpy() for w in ours.weights)
    for layer, k in (
        (reference.forward_layer, 0),
        (reference.backward_layer, 1),
    ):
        columns = slice(3 * units * k, 3 * units * (k + 1))
        layer.cell.set_weights(
            [kernel[:, columns], recurrent[k], bias[columns]]
        )
    annotations, forward, backward = ours(x, mask, training=training)
    expected, expected_forward, expected_backward = reference(x, mask=mask)
    real = mask[..., None]
    np.testing.assert_allclose(
        np.asarray(annotations) * real,
        np.asarray(expected) * real,
        rtol=1e-5,
        atol=1e-6,
    )
    # Padding positions are zeros, the final states those at the ends.
    np.testing.assert_array_equal(np.asarray(annotations)[~mask], 0.0)
    np.testing.assert_allclose(forward, expected_forward, atol=1e-6)
    np.testing.assert_allclose(backward, expected_backward, atol=1e-6)
    # h<-_1 is the backward half of the first annotation.
    np.testing.assert_allclose(
        np.asarray(annotations)[:, 0, units:], backward, atol=1e-6
    )
    assert_config_round_trip(ours)


def test_bidirectional_gru_without_mask_reads_every_position():
    layer = layers.BidirectionalGRU(3, input_dim=2)
    x = RNG.normal(size=(2, 4, 2)).astype("float32")
    full = np.ones((2, 4), dtype=bool)
    for a, b in zip(layer(x), layer(x, full)):
        np.testing.assert_allclose(a, b, atol=1e-7)
