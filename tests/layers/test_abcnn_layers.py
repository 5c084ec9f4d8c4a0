import keras
import numpy as np
import pytest

from s2s_zoo.layers.convolution import WideConv1D
from s2s_zoo.layers.convolution import wide_padding_mask
from s2s_zoo.layers.pair_attention import AttentionFeatureMap
from s2s_zoo.layers.pair_attention import AttentionMatrix
from s2s_zoo.layers.pooling import AllAveragePooling
from s2s_zoo.layers.pooling import AttentionPooling
from s2s_zoo.layers.pooling import WindowAveragePooling
from tests.helpers import assert_config_round_trip
from tests.helpers import gradient

# === WideConv1D ===


def _summing_conv(kernel_size=2):
    # One filter, every kernel weight 1, no bias, linear: sums each window.
    return WideConv1D(
        1, kernel_size, activation="linear", kernel_initializer="ones"
    )


def test_wide_conv_pads_w_minus_1_zeros_on_both_sides():
    layer = _summing_conv(kernel_size=2)
    inputs = np.array([[[1.0], [2.0], [3.0]]], "float32")
    outputs = layer(inputs)
    # padded [0, 1, 2, 3, 0], windows of 2: length s + w - 1 = 4
    np.testing.assert_allclose(outputs[..., 0], [[1.0, 3.0, 5.0, 3.0]])
    layer = WideConv1D(5, 3)
    assert layer(np.ones((2, 4, 6), "float32")).shape == (2, 6, 5)
    assert len(layer.trainable_weights) == 2  # kernel (3, 6, 5), bias (5,)
    assert tuple(layer.trainable_weights[0].shape) == (3, 6, 5)


def test_wide_conv_masks_padding_in_and_out():
    layer = _summing_conv(kernel_size=2)
    inputs = np.array([[[1.0], [2.0], [9.0]]], "float32")
    mask = np.array([[True, True, False]])
    outputs = layer(inputs, padding_mask=mask)
    # the padded 9 is zeroed: [0, 1, 2, 0, 0] -> [1, 3, 2, (0 masked)]
    np.testing.assert_allclose(outputs[..., 0], [[1.0, 3.0, 2.0, 0.0]])


def test_wide_padding_mask_literal():
    mask = np.array([[True, True, False, False], [False] * 4])
    np.testing.assert_array_equal(
        wide_padding_mask(mask, 3),
        [
            [True, True, True, True, False, False],
            [False] * 6,
        ],
    )


def test_wide_conv_config_round_trip_and_errors():
    assert_config_round_trip(WideConv1D(4, 3, kernel_regularizer="l2"))
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        WideConv1D(0, 3)
    with pytest.raises(
        ValueError,
        match=r"kernel_size must be a positive integer; received 2\.5",
    ):
        WideConv1D(4, 2.5)


# === WindowAveragePooling and AllAveragePooling ===


def test_w_ap_is_stride_1_window_average():
    inputs = np.array([[[1.0], [3.0], [5.0], [3.0]]], "float32")
    outputs = WindowAveragePooling(2)(inputs)
    np.testing.assert_allclose(outputs[..., 0], [[2.0, 4.0, 4.0]])
    masked = WindowAveragePooling(2)(
        inputs, padding_mask=np.array([[True, True, False]])
    )
    np.testing.assert_allclose(masked[..., 0], [[2.0, 4.0, 0.0]])


def test_wide_conv_then_w_ap_restores_length():
    inputs = np.ones((2, 5, 3), "float32")
    conv = WideConv1D(4, 3)(inputs)
    assert WindowAveragePooling(3)(conv).shape == (2, 5, 4)


def test_all_ap_masked_mean_and_empty_row():
    inputs = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]] * 2, "float32")
    mask = np.array([[True, True, False], [False, False, False]])
    np.testing.assert_allclose(
        AllAveragePooling()(inputs, padding_mask=mask), [[2.0, 3.0], [0, 0]]
    )
    np.testing.assert_allclose(AllAveragePooling()(inputs)[0], [3.0, 4.0])


def test_pooling_config_round_trip_and_errors():
    assert_config_round_trip(WindowAveragePooling(3))
    assert_config_round_trip(AllAveragePooling())
    assert_config_round_trip(AttentionPooling(2, normalize=True))
    with pytest.raises(
        ValueError,
        match=r"WindowAveragePooling pool_size must be a positive integer; "
        r"received 0\.",
    ):
        WindowAveragePooling(0)
    with pytest.raises(ValueError, match="received True"):
        AttentionPooling(True)


# === AttentionMatrix ===


def test_attention_matrix_by_hand():
    x = np.array([[[0.0, 0.0], [3.0, 4.0]]], "float32")
    y = np.array([[[0.0, 0.0], [6.0, 8.0], [3.0, 0.0]]], "float32")
    a = AttentionMatrix(epsilon=1e-10)(x, y)
    distances = np.array([[0.0, 10.0, 3.0], [5.0, 5.0, 4.0]])
    expected = 1.0 / (1.0 + np.sqrt(distances**2 + 1e-10))
    np.testing.assert_allclose(a[0], expected, rtol=1e-6)
    assert a.shape == (1, 2, 3)


def test_attention_matrix_identical_sentences_have_unit_diagonal():
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    a = AttentionMatrix()(x, x)
    np.testing.assert_allclose(np.diagonal(a, axis1=1, axis2=2), 1.0, 1e-4)
    assert np.all(np.asarray(a) <= 1.0)


def test_attention_matrix_is_zero_on_padding():
    x = np.zeros((1, 3, 2), "float32")  # zero columns: distance 0, A = 1
    mask_1 = np.array([[True, False, False]])
    mask_2 = np.array([[True, True, False]])
    a = AttentionMatrix()(x, x, mask_1, mask_2)
    np.testing.assert_allclose(
        a[0], [[1 / (1 + 1e-5), 1 / (1 + 1e-5), 0], [0, 0, 0], [0, 0, 0]]
    )


def test_attention_matrix_gradient_finite_for_zero_columns():
    layer = AttentionMatrix()
    mask = np.array([[True, True, False]])

    def loss(x):
        return keras.ops.sum(layer(x, x, mask))

    grad = gradient(loss, np.zeros((1, 3, 2), "float32"))
    assert np.all(np.isfinite(grad))


def test_attention_matrix_errors_and_config():
    assert_config_round_trip(AttentionMatrix(epsilon=1e-6))
    with pytest.raises(ValueError, match="epsilon must be a positive"):
        AttentionMatrix(epsilon=0.0)
    with pytest.raises(ValueError, match="same width; received 2 and 3"):
        AttentionMatrix()(np.ones((1, 2, 2)), np.ones((1, 2, 3)))


# === AttentionFeatureMap (ABCNN-1) ===

ATTENTION = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], "float32")


def test_attention_feature_maps_use_rows_for_0_and_columns_for_1():
    layer = AttentionFeatureMap(1, kernel_initializer="ones")
    maps_1, maps_2 = layer(ATTENTION)
    # F_0a = A W_0: row sums; F_1a = A^T W_1: column sums
    np.testing.assert_allclose(maps_1[0, :, 0], [3.0, 7.0, 11.0])
    np.testing.assert_allclose(maps_2[0, :, 0], [9.0, 12.0])
    assert tuple(layer.kernel_1.shape) == (2, 1)  # W_0: (T_1, d)
    assert tuple(layer.kernel_2.shape) == (3, 1)  # W_1: (T_0, d)
    assert len(layer.trainable_weights) == 2


def test_the_two_attention_matrices_start_different():
    # Keras 3 initializers without a seed repeat their values when called
    # twice; the paper's W_0 and W_1 must not start equal.
    layer = AttentionFeatureMap(4)
    layer(np.ones((1, 5, 5), "float32"))
    assert np.abs(layer.kernel_1.numpy() - layer.kernel_2.numpy()).max() > 0


def test_attention_feature_maps_zero_padded_rows_and_shape():
    layer = AttentionFeatureMap(4)
    maps_1, maps_2 = layer(
        ATTENTION, np.array([[True, True, False]]), np.array([[False, True]])
    )
    assert maps_1.shape == (1, 3, 4) and maps_2.shape == (1, 2, 4)
    np.testing.assert_array_equal(maps_1[0, 2], 0.0)
    np.testing.assert_array_equal(maps_2[0, 0], 0.0)


def test_attention_feature_maps_shared_weights_and_errors():
    shared = AttentionFeatureMap(2, share_weights=True)
    shared(np.ones((1, 3, 3), "float32"))
    assert len(shared.trainable_weights) == 1
    with pytest.raises(ValueError, match="needs fixed sentence lengths"):
        AttentionFeatureMap(2).build((None, None, 4))
    with pytest.raises(ValueError, match="feature_dim must be a positive"):
        AttentionFeatureMap(0)
    assert_config_round_trip(AttentionFeatureMap(3, share_weights=True))


def test_shared_attention_feature_maps_of_unequal_lengths_by_hand():
    # One W over the common length 3 (the released code pads both
    # sentences to it): sentence 0 (T_0 = 3) reads A by rows with W[:2],
    # sentence 1 (T_1 = 2) by columns with W[:3].
    layer = AttentionFeatureMap(
        1,
        share_weights=True,
        kernel_initializer=keras.initializers.Constant([[1.0], [10], [100]]),
    )
    maps_1, maps_2 = layer(ATTENTION)
    assert tuple(layer.kernel_1.shape) == (3, 1)
    np.testing.assert_allclose(maps_1[0, :, 0], [21.0, 43.0, 65.0])
    np.testing.assert_allclose(maps_2[0, :, 0], [531.0, 642.0])


def test_shared_attention_feature_maps_swap_with_the_sentences():
    # With one W, swapping the two sentences (A -> A^T) swaps the maps.
    rng = np.random.default_rng(0)
    attention = rng.uniform(size=(2, 4, 3)).astype("float32")
    layer = AttentionFeatureMap(5, share_weights=True)
    maps_1, maps_2 = layer(attention)
    swapped_1, swapped_2 = layer(np.transpose(attention, (0, 2, 1)))
    np.testing.assert_allclose(swapped_1, maps_2, rtol=1e-6)
    np.testing.assert_allclose(swapped_2, maps_1, rtol=1e-6)


# === AttentionPooling (ABCNN-2) ===


def test_attention_pooling_row_and_column_sums_by_hand():
    inputs_1 = np.ones((1, 3, 1), "float32")
    inputs_2 = np.array([[[1.0], [2.0]]], "float32")
    layer = AttentionPooling(2)
    weights_1, weights_2 = layer.pool_weights(ATTENTION)
    np.testing.assert_allclose(weights_1, [[3.0, 7.0, 11.0]])  # row sums
    np.testing.assert_allclose(weights_2, [[9.0, 12.0]])  # column sums
    pooled_1, pooled_2 = layer(inputs_1, inputs_2, ATTENTION)
    # weighted SUM over windows of 2, no 1/w
    np.testing.assert_allclose(pooled_1[0, :, 0], [10.0, 18.0])
    np.testing.assert_allclose(pooled_2[0, :, 0], [9.0 + 24.0])


def test_attention_pooling_normalized_and_masked():
    inputs_1 = np.ones((1, 3, 1), "float32")
    inputs_2 = np.array([[[1.0], [2.0]]], "float32")
    layer = AttentionPooling(2, normalize=True)
    pooled_1, pooled_2 = layer(
        inputs_1, inputs_2, ATTENTION, np.array([[True, False]])
    )
    np.testing.assert_allclose(pooled_1[0, :, 0], [10 / 21, 0.0], 1e-6)
    np.testing.assert_allclose(pooled_2[0, :, 0], [33 / 21], 1e-6)


def test_attention_pooling_weights_ignore_padding():
    # With the attention matrix masked, padded columns get weight 0.
    x = np.random.default_rng(1).normal(size=(1, 4, 2)).astype("float32")
    mask = np.array([[True, True, False, False]])
    a = AttentionMatrix()(x, x, mask, mask)
    weights_1, weights_2 = AttentionPooling(2).pool_weights(a)
    np.testing.assert_array_equal(np.asarray(weights_1)[0, 2:], 0.0)
    np.testing.assert_array_equal(np.asarray(weights_2)[0, 2:], 0.0)
    assert keras.ops.all(weights_1[0, :2] > 0)
