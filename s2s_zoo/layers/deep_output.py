"""Maxout and the deep output layer of Cho et al. (2014) and RNNsearch."""

import functools

import keras
from keras import ops

from s2s_zoo.layers.initializers import fresh


@keras.saving.register_keras_serializable(package="s2s_zoo")
class Maxout(keras.layers.Layer):
    """Max over groups of `pool_size` ADJACENT units of the last axis.

    `(..., pool_size * l) -> (..., l)`: unit `i` of the output is
    `max(x[pool_size * i], ..., x[pool_size * i + pool_size - 1])`, the
    pairing of Goodfellow et al. (2013) that both papers use. Passes any
    mask through unchanged.

    Args:
        pool_size (int): Units per group. Default 2.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.supports_masking = True

    def call(self, inputs):
        width = inputs.shape[-1]
        if width is None or width % self.pool_size:
            raise ValueError(
                f"Maxout needs a last axis divisible by pool_size="
                f"{self.pool_size}; received width {width}."
            )
        groups = (width // self.pool_size, self.pool_size)
        grouped = ops.reshape(inputs, tuple(ops.shape(inputs)[:-1]) + groups)
        # An elementwise maximum of the pool's members, not a reduction
        # over an axis of `pool_size`: the same values, and on a CPU under
        # mixed bfloat16 a quarter of the time with its gradient (which
        # also becomes that of `maximum`: a tie sends the gradient to the
        # first member instead of splitting it).
        members = ops.unstack(grouped, self.pool_size, axis=-1)
        return functools.reduce(ops.maximum, members)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // self.pool_size)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class DeepOutput(keras.layers.Layer):
    """Deep output: linear maps of several inputs, summed, maxout, logits.

        t~ = A_1 x_1 + A_2 x_2 + ... + b      (2l units)
        t  = maxout(t~)                              (l units)
        logits = W_o t  (or W_o2 W_o1 t with output_rank)

    RNNsearch reads `(s_{i-1}, E y_{i-1}, c_i)` (Bahdanau et al. 2015,
    Appendix A.2.2); the RNN Encoder-Decoder reads `(h'_t, E y_{t-1}, c)`
    (Cho et al. 2014, Appendix A), whose `G` is a product of two low-rank
    matrices: pass `output_rank` for that.

    Args:
        maxout_units (int): `l`, the width after maxout.
        vocabulary_size (int): Number of logits.
        input_dims (list[int]): Width of each input, in call order.
        pool_size (int): Maxout group size. Default 2.
        output_rank (int): If set, factorize `W_o` through this width.
            Default None.
        dropout (float): Dropout on the maxout units while training, as
            GroundHog's RNNsearch configurations allow. Default 0 (the
            papers report none).
        kernel_initializer: Default `N(0, 0.01^2)`, the papers'.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: List of tensors `(..., input_dims[k])` with equal leading
            shapes.

    Returns:
        Logits of shape `(..., vocabulary_size)`.
    """

    def __init__(
        self,
        maxout_units,
        vocabulary_size,
        input_dims,
        pool_size=2,
        output_rank=None,
        dropout=0.0,
        kernel_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.dropout = dropout
        self.maxout_units = maxout_units
        self.vocabulary_size = vocabulary_size
        self.input_dims = list(input_dims)
        self.pool_size = pool_size
        self.output_rank = output_rank
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.RandomNormal(stddev=0.01)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        # Each weight gets its own copy of the initializer (its own seed).
        def dense():
            return dict(
                kernel_initializer=fresh(self.kernel_initializer),
                dtype=self.dtype_policy,
            )

        self.input_projections = [
            keras.layers.Dense(
                pool_size * maxout_units,
                use_bias=(k == 0),
                name=f"input_projection_{k}",
                **dense(),
            )
            for k in range(len(self.input_dims))
        ]
        self.maxout = Maxout(pool_size, dtype=self.dtype_policy, name="maxout")
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        self.rank_projection = None
        if output_rank is not None:
            self.rank_projection = keras.layers.Dense(
                output_rank, use_bias=False, name="rank_projection", **dense()
            )
        self.logits = keras.layers.Dense(
            vocabulary_size, name="logits", **dense()
        )

    def build(self, input_shape=None):
        for dim, layer in zip(self.input_dims, self.input_projections):
            layer.build((None, dim))
        width = self.maxout_units
        if self.rank_projection is not None:
            self.rank_projection.build((None, width))
            width = self.output_rank
        self.logits.build((None, width))
        self.built = True

    def call(self, inputs, training=None):
        if len(inputs) != len(self.input_projections):
            raise ValueError(
                f"DeepOutput expects {len(self.input_projections)} inputs; "
                f"received {len(inputs)}."
            )
        hidden = sum(
            layer(x) for layer, x in zip(self.input_projections, inputs)
        )
        return self.head(hidden, training=training)

    def head(self, hidden, training=None):
        """Logits from `t~` (the sum of the input projections): maxout,
        dropout, the output projection."""
        hidden = self.dropout_layer(self.maxout(hidden), training=training)
        if self.rank_projection is not None:
            hidden = self.rank_projection(hidden)
        return self.logits(hidden)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], self.vocabulary_size)

    def get_config(self):
        return {
            **super().get_config(),
            "maxout_units": self.maxout_units,
            "vocabulary_size": self.vocabulary_size,
            "input_dims": self.input_dims,
            "pool_size": self.pool_size,
            "output_rank": self.output_rank,
            "dropout": self.dropout,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        }
