import keras
import numpy as np
import pytest

from s2s_zoo import layers
from tests.helpers import assert_config_round_trip


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


VALUES = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], "float32")
QUERY = np.array([[1.0, 0.0]], "float32")


def test_dot_attention_by_hand():
    context, weights = layers.DotAttention()(QUERY, VALUES)
    # scores q.k = [1, 0, 1]
    e = np.e
    expected = np.array([[e, 1.0, e]]) / (2 * e + 1)
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    np.testing.assert_allclose(
        context, [[(2 * e) / (2 * e + 1), (e + 1) / (2 * e + 1)]], rtol=1e-6
    )


def test_dot_attention_scaled():
    _, weights = layers.DotAttention(scale=True)(QUERY, VALUES)
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(weights, softmax(np.array([[s, 0, s]])), 1e-6)


def test_cosine_attention_by_hand():
    values = np.array([[[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]]], "float32")
    _, weights = layers.CosineAttention(scale=2.0)(QUERY, values)
    cosines = np.array([[1.0, 0.0, 1 / np.sqrt(2)]])
    np.testing.assert_allclose(weights, softmax(2.0 * cosines), rtol=1e-5)


def test_mask_gives_zero_weight_on_padding_and_sums_to_one():
    mask = np.array([[True, True, False]])
    context, weights = layers.DotAttention()(QUERY, VALUES, value_mask=mask)
    e = np.e
    np.testing.assert_allclose(weights, [[e / (e + 1), 1 / (e + 1), 0.0]])
    assert float(weights[0, 2]) == 0.0
    np.testing.assert_allclose(context, [[e / (e + 1), 1 / (e + 1)]], 1e-6)


def test_almost_and_fully_masked_rows():
    values = np.tile(VALUES, (2, 1, 1))
    query = np.tile(QUERY, (2, 1))
    mask = np.array([[False, False, True], [False, False, False]])
    context, weights = layers.DotAttention()(query, values, value_mask=mask)
    np.testing.assert_array_equal(weights, [[0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(context, [[1, 1], [0, 0]])


def test_additive_attention_matches_numpy_and_precomputed_keys():
    layer = layers.AdditiveAttention(
        5, score_initializer="glorot_uniform", kernel_initializer="ones"
    )
    query = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    values = np.random.default_rng(1).normal(size=(2, 4, 6)).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    context, weights = layer(query, values, value_mask=mask)
    w_a = layer.query_projection.kernel.numpy()
    u_a = layer.key_projection.kernel.numpy()
    v_a = layer.score_vector.kernel.numpy()[:, 0]
    scores = np.tanh((query @ w_a)[:, None, :] + values @ u_a) @ v_a
    scores = np.where(mask, scores, -1e9)
    expected = softmax(scores) * mask
    np.testing.assert_allclose(weights, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        context, np.einsum("bt,btd->bd", expected, values), rtol=1e-5
    )
    # The key projection U_a h_j, computed once, gives the same result.
    keys = layer.precompute_keys(values)
    _, again = layer(query, values, keys=keys, value_mask=mask)
    np.testing.assert_allclose(again, weights, rtol=1e-6)


def test_additive_attention_paper_init_is_uniform():
    # v_a = 0 (Bahdanau et al., Appendix B): all alignments start uniform.
    _, weights = layers.AdditiveAttention(4)(
        np.ones((1, 3), "float32"), np.random.rand(1, 5, 2).astype("float32")
    )
    np.testing.assert_allclose(weights, np.full((1, 5), 0.2), rtol=1e-6)


def test_concat_is_additive_with_split_weights():
    concat = layers.ConcatAttention(4)
    additive = layers.AdditiveAttention(4)
    query = np.random.rand(2, 3).astype("float32")
    values = np.random.rand(2, 5, 6).astype("float32")
    concat(query, values)
    additive(query, values)
    additive.set_weights(concat.get_weights())
    np.testing.assert_allclose(
        concat(query, values)[1], additive(query, values)[1], rtol=1e-6
    )


def test_general_attention_matches_numpy():
    layer = layers.GeneralAttention(3)
    query = np.random.rand(2, 3).astype("float32")
    values = np.random.rand(2, 4, 5).astype("float32")
    _, weights = layer(query, values)
    w = layer.key_projection.kernel.numpy()  # (5, 3): k -> W_a k
    scores = np.einsum("bd,btd->bt", query, values @ w)
    np.testing.assert_allclose(weights, softmax(scores), rtol=1e-5)


@pytest.mark.parametrize("score", ["additive", "concat", "dot", "general"])
def test_many_queries_at_once_equal_one_at_a_time(score):
    layer = layers.get_attention(score, 4)
    queries = np.random.rand(2, 3, 4).astype("float32")
    values = np.random.rand(2, 5, 4).astype("float32")
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    context, weights = layer(queries, values, value_mask=mask)
    assert context.shape == (2, 3, 4) and weights.shape == (2, 3, 5)
    for t in range(3):
        c_t, w_t = layer(queries[:, t], values, value_mask=mask)
        np.testing.assert_allclose(weights[:, t], w_t, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(context[:, t], c_t, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.sum(weights, -1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "layer",
    [
        layers.AdditiveAttention(3),
        layers.ConcatAttention(3),
        layers.DotAttention(scale=True),
        layers.GeneralAttention(3),
        layers.CosineAttention(scale=4.0),
    ],
)
def test_attention_config_round_trip(layer):
    assert_config_round_trip(layer)


def test_get_attention_unknown_name():
    with pytest.raises(ValueError) as error:
        layers.get_attention("bilinear")
    assert str(error.value) == (
        "Unknown attention score 'bilinear'; valid: "
        "['additive', 'concat', 'cosine', 'dot', 'general']."
    )


def test_additive_attention_weights_count():
    layer = layers.AdditiveAttention(7)
    layer(np.ones((1, 3), "float32"), np.ones((1, 2, 5), "float32"))
    shapes = sorted(tuple(w.shape) for w in layer.weights)
    assert shapes == [(3, 7), (5, 7), (7, 1)]
    assert isinstance(layer, keras.layers.Layer)
