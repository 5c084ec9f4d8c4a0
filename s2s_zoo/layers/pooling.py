"""Average pooling of the ABCNN family (Yin et al. 2016, Sec. 3).

- `WindowAveragePooling` ("w-ap"): stride-1 average over windows of `w`
  columns, `(s + w - 1) -> s`, which undoes a wide convolution's growth so
  blocks can be stacked.
- `AllAveragePooling` ("all-ap"): the masked mean over all columns, one
  vector per sentence.
- `AttentionPooling` (ABCNN-2): w-ap where each column is weighted by its
  attention mass, the row sums of the attention matrix for the first
  sentence and the column sums for the second.
"""

import keras
from keras import ops

from s2s_zoo.layers.masking import ExplicitMaskLayer


def _check_pool_size(layer, pool_size):
    valid = isinstance(pool_size, int) and not isinstance(pool_size, bool)
    if not valid or pool_size < 1:
        raise ValueError(
            f"{layer} pool_size must be a positive integer; "
            f"received {pool_size!r}."
        )


def _window_sum(inputs, pool_size):
    # Stride-1 sum over windows of `pool_size` columns, valid:
    # (batch_size, T, d) -> (batch_size, T - pool_size + 1, d).
    pooled = ops.average_pool(
        inputs, pool_size=pool_size, strides=1, padding="valid"
    )
    return pooled * pool_size


def _zero_padding(outputs, padding_mask):
    if padding_mask is None:
        return outputs
    mask = ops.cast(padding_mask, outputs.dtype)
    return outputs * ops.expand_dims(mask, -1)


@keras.saving.register_keras_serializable(package="s2s_zoo")
class WindowAveragePooling(ExplicitMaskLayer):
    """w-ap: the mean of each window of `w` consecutive columns, stride 1.

    `F^p[:, j] = (1 / w) sum_{k=j}^{j+w-1} F^c[:, k]`, so a wide
    convolution output of length `s + w - 1` pools back to `s`. Not max
    pooling and not stride-`w` pooling.

    Masking: `padding_mask` is the mask of the POOLED output (for a block,
    the mask of its input sentence, length `s`); pooled columns where it is
    `False` are set to zero. No implicit mask is produced.

    Args:
        pool_size (int): The window `w` (the convolution's filter width).
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `(batch_size, T, d)`.
        padding_mask: Optional bool `(batch_size, T - w + 1)`.

    Returns:
        `(batch_size, T - w + 1, d)`.
    """

    def __init__(self, pool_size, **kwargs):
        super().__init__(**kwargs)
        _check_pool_size("WindowAveragePooling", pool_size)
        self.pool_size = pool_size

    def call(self, inputs, padding_mask=None):
        pooled = _window_sum(inputs, self.pool_size) / self.pool_size
        return _zero_padding(pooled, padding_mask)

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        length = inputs_shape[1]
        if length is not None:
            length = length - self.pool_size + 1
        return (inputs_shape[0], length, inputs_shape[2])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class AllAveragePooling(ExplicitMaskLayer):
    """all-ap: the mean over the real columns, `(batch_size, T, d) -> d`.

    Masking: consumes `padding_mask` (`False` on padding); the mean is over
    real columns only, and a sentence with no real column gives zeros.

    Args:
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `(batch_size, T, d)`.
        padding_mask: Optional bool `(batch_size, T)`.

    Returns:
        `(batch_size, d)`.
    """

    def call(self, inputs, padding_mask=None):
        if padding_mask is None:
            return ops.mean(inputs, axis=1)
        mask = ops.cast(padding_mask, inputs.dtype)
        total = ops.sum(inputs * ops.expand_dims(mask, -1), axis=1)
        count = ops.sum(mask, axis=1, keepdims=True)
        return total / ops.maximum(count, 1.0)

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        return (inputs_shape[0], inputs_shape[2])


@keras.saving.register_keras_serializable(package="s2s_zoo")
class AttentionPooling(ExplicitMaskLayer):
    """ABCNN-2 attention-based w-ap over the convolution outputs of a pair.

    With `A` the `(s_0 + w - 1) x (s_1 + w - 1)` attention matrix of the two
    convolution outputs, the pooling weights are

        a_{0,k} = sum_m A[k, m]     (row sums, first sentence)
        a_{1,k} = sum_m A[m, k]     (column sums, second sentence)

    and `F^p_i[:, j] = sum_{k=j}^{j+w-1} a_{i,k} F^c_i[:, k]`: a weighted
    SUM, without the `1/w` of plain w-ap (Yin et al. 2016, Sec. 3.2,
    ABCNN-2). `normalize=True` first divides each sentence's weights by
    their total, as the authors' released code does; the paper's
    unnormalized form is the default. No trainable weights.

    Masking: the attention matrix is expected to be zero on padding (as
    `AttentionMatrix` returns it), which makes the weights zero there.
    `padding_mask_1` / `padding_mask_2` are the masks of the POOLED outputs
    (length `T_i - w + 1`); pooled columns where they are `False` are set
    to zero.

    Args:
        pool_size (int): The window `w`.
        normalize (bool): Renormalize the weights to sum to 1 per sentence.
            Default `False` (the paper).
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs_1: `(batch_size, T_0, d)`, first convolution output.
        inputs_2: `(batch_size, T_1, d)`, second convolution output.
        attention: `(batch_size, T_0, T_1)`.
        padding_mask_1: Optional bool `(batch_size, T_0 - w + 1)`.
        padding_mask_2: Optional bool `(batch_size, T_1 - w + 1)`.

    Returns:
        `(pooled_1, pooled_2)`: `(batch_size, T_0 - w + 1, d)` and
        `(batch_size, T_1 - w + 1, d)`.
    """

    def __init__(self, pool_size, normalize=False, **kwargs):
        super().__init__(**kwargs)
        _check_pool_size("AttentionPooling", pool_size)
        self.pool_size = pool_size
        self.normalize = normalize

    def pool_weights(self, attention):
        """Returns `(a_0, a_1)`: `(batch_size, T_0)` and `(batch_size, T_1)`."""
        weights_1 = ops.sum(attention, axis=2)  # row sums
        weights_2 = ops.sum(attention, axis=1)  # column sums
        if self.normalize:
            weights_1 = weights_1 / ops.maximum(
                ops.sum(weights_1, axis=1, keepdims=True), 1e-12
            )
            weights_2 = weights_2 / ops.maximum(
                ops.sum(weights_2, axis=1, keepdims=True), 1e-12
            )
        return weights_1, weights_2

    def call(
        self,
        inputs_1,
        inputs_2,
        attention,
        padding_mask_1=None,
        padding_mask_2=None,
    ):
        weights_1, weights_2 = self.pool_weights(attention)
        pooled_1 = _window_sum(
            inputs_1 * ops.expand_dims(weights_1, -1), self.pool_size
        )
        pooled_2 = _window_sum(
            inputs_2 * ops.expand_dims(weights_2, -1), self.pool_size
        )
        return (
            _zero_padding(pooled_1, padding_mask_1),
            _zero_padding(pooled_2, padding_mask_2),
        )

    def compute_output_spec(
        self,
        inputs_1,
        inputs_2,
        attention,
        padding_mask_1=None,
        padding_mask_2=None,
    ):
        def pooled(x):
            length = x.shape[1]
            if length is not None:
                length = length - self.pool_size + 1
            return keras.KerasTensor(
                (x.shape[0], length, x.shape[2]), dtype=self.compute_dtype
            )

        return pooled(inputs_1), pooled(inputs_2)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "normalize": self.normalize,
        }
