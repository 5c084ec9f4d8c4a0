"""Attention between the two sentences of a pair (Yin et al. 2016, ABCNN).

- `AttentionMatrix`: `A[i, j] = 1 / (1 + |x_i - y_j|)`, one match score per
  pair of columns, zero on padding.
- `AttentionFeatureMap` (ABCNN-1): turns `A` into one attention feature map
  per sentence, `F_0a = A W_0` and `F_1a = A^T W_1` (batch-major form of
  the paper's `W_0 A^T` and `W_1 A`), stacked with the representation maps
  as a second input channel of the convolution.
"""

import keras
from keras import ops

from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer


def _pair_mask(padding_mask_1, padding_mask_2, dtype):
    # (batch_size, T_0, T_1): 1 where both columns are real.
    mask_1 = ops.expand_dims(ops.cast(padding_mask_1, dtype), 2)
    mask_2 = ops.expand_dims(ops.cast(padding_mask_2, dtype), 1)
    return mask_1 * mask_2


@keras.saving.register_keras_serializable(package="s2s_zoo")
class AttentionMatrix(ExplicitMaskLayer):
    """The ABCNN attention matrix, `A[i, j] = 1 / (1 + |F_0[i] - F_1[j]|)`.

    The Euclidean distance is computed as `sqrt(sum (x - y)^2 + epsilon)`:
    the derivative of `sqrt` is infinite at 0 (identical columns, two zero
    padding columns), and the epsilon keeps gradients finite. With the
    default `epsilon=1e-10` (the authors' code) identical columns score
    `1 / (1 + 1e-5)`.

    Masking: consumes `padding_mask_1` and `padding_mask_2`. Two padding
    columns would otherwise be at distance 0 and score the maximum 1, and
    the ABCNN-2 row and column sums would be dominated by padding; every
    entry with a padded row or column is set to exactly 0. No trainable
    weights; no implicit mask is produced.

    Args:
        epsilon (float): Added inside the square root. Default `1e-10`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs_1: `(batch_size, T_0, d)`, feature map of the first sentence.
        inputs_2: `(batch_size, T_1, d)`, feature map of the second.
        padding_mask_1: Optional bool `(batch_size, T_0)`.
        padding_mask_2: Optional bool `(batch_size, T_1)`.

    Returns:
        `(batch_size, T_0, T_1)`, entries in `(0, 1]`, 0 on padding.
    """

    def __init__(self, epsilon=1e-10, **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon, bool) or not epsilon > 0:
            raise ValueError(
                "AttentionMatrix epsilon must be a positive number (it keeps "
                f"the gradient of sqrt finite); received {epsilon!r}."
            )
        self.epsilon = epsilon

    def call(
        self, inputs_1, inputs_2, padding_mask_1=None, padding_mask_2=None
    ):
        if inputs_1.shape[-1] != inputs_2.shape[-1]:
            raise ValueError(
                "AttentionMatrix needs inputs of the same width; received "
                f"{inputs_1.shape[-1]} and {inputs_2.shape[-1]}."
            )
        # (batch_size, T_0, 1, d) - (batch_size, 1, T_1, d)
        difference = ops.expand_dims(inputs_1, 2) - ops.expand_dims(inputs_2, 1)
        squared = ops.sum(ops.square(difference), axis=-1)
        attention = 1.0 / (1.0 + ops.sqrt(squared + self.epsilon))
        if padding_mask_1 is not None or padding_mask_2 is not None:
            if padding_mask_1 is None:
                padding_mask_1 = ops.ones(ops.shape(inputs_1)[:2], "bool")
            if padding_mask_2 is None:
                padding_mask_2 = ops.ones(ops.shape(inputs_2)[:2], "bool")
            attention = attention * _pair_mask(
                padding_mask_1, padding_mask_2, attention.dtype
            )
        return attention

    def compute_output_spec(
        self, inputs_1, inputs_2, padding_mask_1=None, padding_mask_2=None
    ):
        return keras.KerasTensor(
            (inputs_1.shape[0], inputs_1.shape[1], inputs_2.shape[1]),
            dtype=self.compute_dtype,
        )

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class AttentionFeatureMap(ExplicitMaskLayer):
    """ABCNN-1 attention feature maps from an attention matrix.

    `F_0a = A W_0` with `W_0` of shape `(T_1, d)` and `F_1a = A^T W_1` with
    `W_1` of shape `(T_0, d)`: sentence 0 reads `A` by rows and sentence 1
    by columns (Yin et al. 2016, Sec. 3.1, ABCNN-1; swapping them only
    fails loudly when `T_0 != T_1`). Because the weights have a length
    dimension, both sentence lengths must be fixed (known when the layer is
    built). The paper learns two matrices; `share_weights=True` uses one
    for both sentences, as the authors' released code does. That code pads
    both sentences to one length `T = max(T_0, T_1)` and learns one `W` of
    shape `(T, d)`; here sentence 0 uses its first `T_1` rows and sentence
    1 its first `T_0`, which is the same thing (A is zero on padding).
    Sharing keeps the two CNNs symmetric: swapping the sentences swaps
    their maps.

    Masking: consumes `padding_mask_1` / `padding_mask_2`; rows of the
    feature maps at padded positions are set to zero. The attention matrix
    should already be zero on padding (`AttentionMatrix`).

    Args:
        feature_dim (int): Width `d` of the maps (the representation maps'
            width, so the two can be stacked).
        share_weights (bool): One matrix for both sentences. Default
            `False` (the paper).
        kernel_initializer: Default `"glorot_uniform"`.
        kernel_regularizer: Optional regularizer of `W_0`, `W_1`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        attention: `(batch_size, T_0, T_1)` with static `T_0`, `T_1`.
        padding_mask_1: Optional bool `(batch_size, T_0)`.
        padding_mask_2: Optional bool `(batch_size, T_1)`.

    Returns:
        `(F_0a, F_1a)`: `(batch_size, T_0, d)` and `(batch_size, T_1, d)`.
    """

    def __init__(
        self,
        feature_dim,
        share_weights=False,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        valid = isinstance(feature_dim, int) and not isinstance(
            feature_dim, bool
        )
        if not valid or feature_dim < 1:
            raise ValueError(
                "AttentionFeatureMap feature_dim must be a positive integer; "
                f"received {feature_dim!r}."
            )
        self.feature_dim = feature_dim
        self.share_weights = share_weights
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(
        self,
        attention_shape,
        padding_mask_1_shape=None,
        padding_mask_2_shape=None,
    ):
        length_1, length_2 = attention_shape[1], attention_shape[2]
        if length_1 is None or length_2 is None:
            raise ValueError(
                "AttentionFeatureMap needs fixed sentence lengths (its "
                "weights have a length dimension); received attention shape "
                f"{tuple(attention_shape)}."
            )
        self.kernel_1 = self.add_weight(
            name="kernel_1",
            shape=(
                max(length_1, length_2) if self.share_weights else length_2,
                self.feature_dim,
            ),
            initializer=fresh(self.kernel_initializer),
            regularizer=self.kernel_regularizer,
        )
        if self.share_weights:
            self.kernel_2 = self.kernel_1
        else:
            # A Keras 3 initializer instance draws its seed once, so a
            # second call gives the same values: W_1 would start equal to
            # W_0. `fresh` gives a seed of its own (a seeded one keeps it).
            self.kernel_2 = self.add_weight(
                name="kernel_2",
                shape=(length_1, self.feature_dim),
                initializer=fresh(self.kernel_initializer),
                regularizer=self.kernel_regularizer,
            )
        self.built = True

    def call(self, attention, padding_mask_1=None, padding_mask_2=None):
        length_1, length_2 = attention.shape[1], attention.shape[2]
        # (batch_size, T_0, d) and (batch_size, T_1, d)
        maps_1 = ops.matmul(attention, self.kernel_1[:length_2])
        maps_2 = ops.matmul(
            ops.transpose(attention, (0, 2, 1)), self.kernel_2[:length_1]
        )
        if padding_mask_1 is not None:
            maps_1 = maps_1 * ops.expand_dims(
                ops.cast(padding_mask_1, maps_1.dtype), -1
            )
        if padding_mask_2 is not None:
            maps_2 = maps_2 * ops.expand_dims(
                ops.cast(padding_mask_2, maps_2.dtype), -1
            )
        return maps_1, maps_2

    def compute_output_spec(
        self, attention, padding_mask_1=None, padding_mask_2=None
    ):
        batch_size, length_1, length_2 = attention.shape
        return (
            keras.KerasTensor(
                (batch_size, length_1, self.feature_dim), self.compute_dtype
            ),
            keras.KerasTensor(
                (batch_size, length_2, self.feature_dim), self.compute_dtype
            ),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "feature_dim": self.feature_dim,
            "share_weights": self.share_weights,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer
            ),
        }
