"""Luong et al. 2015's local attention (Section 3.2, Eqs. 9-10), against
values computed by hand."""

import keras
import numpy as np
import pytest

from s2s_zoo.layers import LocalAttention

# Dot scores of the query (1, 2) against these five keys: 1, 2, 3, 2, 4.
VALUES = np.array([[[1, 0], [0, 1], [1, 1], [2, 0], [0, 2]]], "float32")
QUERY = np.array([[1, 2]], "float32")
SCORES = np.array([1, 2, 3, 2, 4], "float64")


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def test_local_m_is_a_softmax_inside_the_window_around_t():
    layer = LocalAttention("dot", mode="local-m", window=1)
    context, weights = layer(QUERY, VALUES, target_positions=np.array([2]))
    expected = np.zeros(5)
    expected[1:4] = softmax(SCORES[1:4])  # s in [t - D, t + D] = [1, 3]
    np.testing.assert_allclose(weights, [expected], rtol=1e-6)
    np.testing.assert_allclose(context, [expected @ VALUES[0]], rtol=1e-6)


def test_local_m_clips_t_to_the_sentence():
    # Two padded positions: S = 3, so t = 10 is read as p_t = S - 1 = 2.
    layer = LocalAttention("dot", mode="local-m", window=1)
    mask = np.array([[True, True, True, False, False]])
    _, weights = layer(
        QUERY, VALUES, value_mask=mask, target_positions=np.array([10])
    )
    expected = np.zeros(5)
    expected[1:3] = softmax(SCORES[1:3])
    np.testing.assert_allclose(weights, [expected], rtol=1e-6)


def test_local_m_needs_the_target_position():
    layer = LocalAttention("dot", mode="local-m")
    with pytest.raises(ValueError, match="local-m attention needs"):
        layer(QUERY, VALUES)


def set_predictor(layer, w_p, v_p):
    layer.position_hidden.kernel.assign(np.asarray(w_p, "float32"))
    layer.position_score.kernel.assign(np.asarray(v_p, "float32"))


def test_local_p_predicts_p_t_by_eq_9():
    # p_t = S * sigmoid(v_p^T tanh(W_p h_t)), with S the sentence's length.
    layer = LocalAttention("dot", units=2, mode="local-p", window=2)
    layer.build(QUERY.shape, VALUES.shape)
    set_predictor(layer, np.eye(2), [[1.0], [1.0]])
    h = np.array([[[0.5, -0.2]]], "float32")
    position = layer.aligned_position(h, np.array([4]))
    logit = np.tanh(0.5) + np.tanh(-0.2)
    expected = 4 / (1 + np.exp(-logit))
    np.testing.assert_allclose(position, [[expected]], rtol=1e-6)


def test_local_p_weights_are_the_window_softmax_times_the_gaussian():
    # W_p = 0 gives sigmoid(0) = 0.5, so p_t = 5 * 0.5 = 2.5; D = 2 keeps
    # s in [0.5, 4.5] = {1, 2, 3, 4}; sigma = D / 2 = 1 (Eq. 10).
    layer = LocalAttention("dot", units=2, mode="local-p", window=2)
    layer.build(QUERY.shape, VALUES.shape)
    set_predictor(layer, np.zeros((2, 2)), [[1.0], [1.0]])
    context, weights = layer(QUERY, VALUES)
    expected = np.zeros(5)
    s = np.arange(1, 5)
    expected[1:] = softmax(SCORES[1:]) * np.exp(-((s - 2.5) ** 2) / 2.0)
    np.testing.assert_allclose(weights, [expected], rtol=1e-5)
    # Not renormalised after the Gaussian, as in the paper.
    assert np.asarray(weights).sum() < 0.9
    np.testing.assert_allclose(context, [expected @ VALUES[0]], rtol=1e-5)


def test_source_positions_place_the_window_in_the_original_order():
    # The keys in reversed order, their original positions given: the
    # weights are the local-m weights of the unreversed source, reversed.
    layer = LocalAttention("dot", mode="local-m", window=1)
    t = np.array([1])
    _, forward = layer(QUERY, VALUES, target_positions=t)
    _, backward = layer(
        QUERY,
        VALUES[:, ::-1],
        target_positions=t,
        source_positions=np.array([[4, 3, 2, 1, 0]], "float32"),
    )
    np.testing.assert_allclose(
        np.asarray(backward)[:, ::-1], forward, rtol=1e-6
    )


def test_bad_mode_and_window_name_the_problem():
    with pytest.raises(ValueError, match=r"valid: \['local-m', 'local-p'\]"):
        LocalAttention("dot", mode="local")
    with pytest.raises(ValueError, match="window must be >= 0"):
        LocalAttention("dot", window=-1)


def test_config_round_trip():
    layer = LocalAttention("general", units=2, mode="local-p", window=3)
    clone = LocalAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert keras.saving.get_registered_object("s2s_zoo>LocalAttention") is type(
        layer
    )
