"""Wide 1-D convolution (Kalchbrenner et al. 2014; Yin et al. 2016).

A wide convolution of width `w` pads `w - 1` zero columns on BOTH sides of
the length axis and then runs a valid convolution, so a sentence of length
`s` becomes `s + w - 1` columns: every word is seen by `w` filter positions,
the border words included. Keras `padding="same"` (length `s`) and
`"valid"` (length `s - w + 1`) are both something else.
"""

import keras
from keras import ops

from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer


def wide_padding_mask(padding_mask, kernel_size):
    """The padding mask of a wide convolution's output.

    Output column `t` is real when its window, input columns
    `t - w + 1 ... t`, holds at least one real input column. For a sentence
    of length `L` padded on the right this is `t < L + w - 1`.

    Args:
        padding_mask: bool `(batch_size, T)`, `True` on real tokens.
        kernel_size (int): The filter width `w`.

    Returns:
        bool `(batch_size, T + w - 1)`.
    """
    mask = ops.cast(padding_mask, "float32")
    padded = ops.pad(mask, [[0, 0], [kernel_size - 1, kernel_size - 1]])
    length = ops.shape(mask)[1] + kernel_size - 1
    hits = padded[:, 0:length]
    for k in range(1, kernel_size):
        hits = hits + padded[:, k : k + length]
    return ops.greater(hits, 0.0)


@keras.saving.register_keras_serializable(package="s2s_zoo")
class WideConv1D(ExplicitMaskLayer):
    """Wide 1-D convolution: `w - 1` zeros on both sides, then valid.

    `p_i = activation(W c_i + b)`, where `c_i` concatenates the input
    columns `i - w + 1 ... i` (zeros outside the sentence), for
    `i = 1 ... s + w - 1` (Yin et al. 2016, Sec. 3, "Convolution layer").

    Masking: consumes an explicit `padding_mask`. Padded input columns are
    zeroed before the convolution (so padding acts like the paper's zero
    border), and output columns outside the sentence's wide span
    (`wide_padding_mask`) are set to zero. No implicit mask is produced.

    Args:
        filters (int): Number of filters `d_1`.
        kernel_size (int): Filter width `w`.
        activation: Default `"tanh"`, the paper's.
        kernel_initializer: Default `"glorot_uniform"`.
        kernel_regularizer: Optional regularizer of `W` (the paper's L2).
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `(batch_size, s, d_0)`.
        padding_mask: Optional bool `(batch_size, s)`, `False` on padding.

    Returns:
        `(batch_size, s + w - 1, filters)`.

    Examples:
    >>> layer = WideConv1D(filters=4, kernel_size=3)
    >>> layer(np.ones((2, 5, 6))).shape
    TensorShape([2, 7, 4])
    """

    def __init__(
        self,
        filters,
        kernel_size,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("filters", filters), ("kernel_size", kernel_size)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < 1
            ):
                raise ValueError(
                    f"WideConv1D {name} must be a positive integer; "
                    f"received {value!r}."
                )
        self.filters = filters
        self.kernel_size = kernel_size
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.convolution = keras.layers.Conv1D(
            filters,
            kernel_size,
            padding="valid",
            activation=self.activation,
            kernel_initializer=fresh(self.kernel_initializer),
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name="convolution",
        )

    def build(self, inputs_shape, padding_mask_shape=None):
        self.convolution.build((None, None, inputs_shape[-1]))
        self.built = True

    def call(self, inputs, padding_mask=None):
        w = self.kernel_size
        if padding_mask is not None:
            mask = ops.cast(padding_mask, inputs.dtype)
            inputs = inputs * ops.expand_dims(mask, -1)
        padded = ops.pad(inputs, [[0, 0], [w - 1, w - 1], [0, 0]])
        outputs = self.convolution(padded)  # (batch_size, s + w - 1, d_1)
        if padding_mask is not None:
            wide = ops.cast(wide_padding_mask(padding_mask, w), outputs.dtype)
            outputs = outputs * ops.expand_dims(wide, -1)
        return outputs

    def compute_output_shape(self, inputs_shape, padding_mask_shape=None):
        length = inputs_shape[1]
        if length is not None:
            length = length + self.kernel_size - 1
        return (inputs_shape[0], length, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer
            ),
        }
