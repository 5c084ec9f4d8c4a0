"""Sequence helpers shared by the models, written with keras.ops."""

import keras
from keras import ops


def reverse_sequences(x, mask):
    """Reverses each sequence over its real length; padding stays at the end.

    `[a, b, c, PAD, PAD] -> [c, b, a, PAD, PAD]`: the same as reversing the
    token list of each sentence before padding it (Sutskever et al. 2014
    reverse the source "per sentence"), never the padded array as a whole,
    which would put the padding first. The map is its own inverse, so it
    also takes attention weights over reversed positions back to source
    order.

    Args:
        x: Tensor `(batch_size, T, ...)`.
        mask: Boolean tensor `(batch_size, T)`, True on real positions, which
            must come before the padding (right-padding).

    Returns:
        A tensor like `x`.
    """
    lengths = ops.sum(ops.cast(mask, "int32"), axis=1, keepdims=True)
    positions = ops.expand_dims(ops.arange(ops.shape(x)[1], dtype="int32"), 0)
    index = ops.where(positions < lengths, lengths - 1 - positions, positions)
    for _ in range(len(x.shape) - 2):
        index = ops.expand_dims(index, -1)
    index = ops.broadcast_to(index, ops.shape(x)) if len(x.shape) > 2 else index
    return ops.take_along_axis(x, index, axis=1)


@keras.saving.register_keras_serializable(package="s2s_zoo")
class ReverseSequences(keras.layers.Layer):
    """Layer form of `reverse_sequences`, for functional graphs.

    Call arguments:
        inputs: Tensor `(batch_size, T, ...)`.
        mask: Boolean `(batch_size, T)`, True on real positions. Passed
            explicitly; the output carries no mask.
    """

    def call(self, inputs, mask):
        return reverse_sequences(inputs, mask)

    def compute_output_spec(self, inputs, mask):
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype)
