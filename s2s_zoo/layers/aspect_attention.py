"""The aspect-conditioned attention of AT-LSTM / ATAE-LSTM (Wang et al. 2016).

Given the LSTM states `H = [h_1, ..., h_N]` and an aspect embedding `v_a`,
the paper (Section 3.3, column vectors) scores every position with

    M = tanh([W_h H ; W_v (v_a (x) e_N)])      (d + d_a) x N, "concat"
    alpha = softmax(w^T M)

Because tanh acts element-wise on a STACKED matrix, the score splits into

    w^T M = w_h^T tanh(W_h h_j) + w_v^T tanh(W_v v_a)

and the second term is the same number for every position j, so it
cancels in the softmax: with `combine="concat"` (the published form, the
default) the weights do not depend on the aspect at all. `combine="sum"`
is the form of Rocktaschel et al. (2016), from which the paper's is
derived, where the aspect enters inside the tanh and the weights do
depend on it:

    alpha = softmax(w^T tanh(W_h H + W_v (v_a (x) e_N)))
"""

import keras
from keras import ops

from s2s_zoo.layers.attention import ScoreAttention
from s2s_zoo.layers.initializers import fresh

COMBINES = ("concat", "sum")


@keras.saving.register_keras_serializable(package="s2s_zoo")
class AspectAttention(ScoreAttention):
    """Attention over LSTM states with an aspect embedding as the query.

    Wang, Huang, Zhao, Zhu, "Attention-based LSTM for Aspect-level
    Sentiment Classification", EMNLP 2016
    (https://aclanthology.org/D16-1058/), Eqs. 5-7.

    | combine | score(v_a, h_j) | aspect-dependent |
    |---|---|---|
    | `"concat"` | `w^T [tanh(W_h h_j); tanh(W_v v_a)]` | no (cancels) |
    | `"sum"` | `w^T tanh(W_h h_j + W_v v_a)` | yes |

    `W_h h_j` is computed once per sentence by `precompute_keys`. All
    projections have no bias, as in the paper's equations.

    Args:
        hidden_dim (int): Width `d` of the states `h_j`; `W_h` is `d x d`.
        aspect_dim (int): Width `d_a` of the aspect embedding. With
            `"concat"`, `W_v` is `d_a x d_a` and `w` has `d + d_a` entries;
            with `"sum"`, `W_v` maps `d_a` to `d` and `w` has `d` entries.
        combine (str): `"concat"` (default, the published form) or `"sum"`.
        kernel_initializer: Initializer of `W_h`, `W_v` and `w`. Default
            `RandomUniform(-0.01, 0.01)`, the paper's.
        kernel_regularizer: Optional regularizer of the same weights.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        query: The aspect embedding, `(batch_size, d_a)`.
        values: The states `H`, `(batch_size, N, d)`.
        keys: Optional output of `precompute_keys(values)`.
        value_mask: Optional bool `(batch_size, N)`, `False` on padding.
            The layer consumes the mask and returns none.

    Returns:
        `(r, alpha)`: `r = H alpha^T` of shape `(batch_size, d)` and the
        weights `(batch_size, N)`, summing to 1 over real tokens and exactly
        0 on padding.

    Raises:
        ValueError: If `combine` is not `"concat"` or `"sum"`.

    Examples:
    >>> layer = AspectAttention(hidden_dim=4, aspect_dim=3)
    >>> r, alpha = layer(np.ones((2, 3)), np.ones((2, 5, 4)))
    """

    def __init__(
        self,
        hidden_dim,
        aspect_dim,
        combine="concat",
        kernel_initializer=None,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if combine not in COMBINES:
            raise ValueError(
                f"combine must be one of {list(COMBINES)}; received "
                f"{combine!r}."
            )
        self.hidden_dim = hidden_dim
        self.aspect_dim = aspect_dim
        self.combine = combine
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.RandomUniform(-0.01, 0.01)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

        # Each weight gets its own copy of the initializer (its own seed).
        def dense():
            return dict(
                use_bias=False,
                kernel_initializer=fresh(self.kernel_initializer),
                kernel_regularizer=self.kernel_regularizer,
                dtype=self.dtype_policy,
            )

        aspect_units = aspect_dim if combine == "concat" else hidden_dim
        self.state_projection = keras.layers.Dense(
            hidden_dim, name="state_projection", **dense()
        )
        self.aspect_projection = keras.layers.Dense(
            aspect_units, name="aspect_projection", **dense()
        )
        self.score_vector = keras.layers.Dense(
            1, name="score_vector", **dense()
        )

    def build(self, query_shape, values_shape):
        self.state_projection.build(values_shape)
        self.aspect_projection.build(query_shape)
        width = self.hidden_dim
        if self.combine == "concat":
            width += self.aspect_dim
        self.score_vector.build((None, width))
        self.built = True

    def precompute_keys(self, values):
        return self.state_projection(values)  # W_h H, (batch_size, N, d)

    def score(self, query, keys):
        aspect = self.aspect_projection(query)  # (batch_size, Tq, units)
        aspect = ops.expand_dims(aspect, 2)  # (batch_size, Tq, 1, units)
        keys = ops.expand_dims(keys, 1)  # (batch_size, 1, N, d)
        if self.combine == "sum":
            hidden = ops.tanh(keys + aspect)  # (batch_size, Tq, N, d)
        else:
            # M = tanh([W_h H; W_v (v_a (x) e_N)]): v_a repeated N times.
            zeros_n = ops.zeros_like(keys[..., :1])  # (batch_size, 1, N, 1)
            zeros_q = ops.zeros_like(aspect[..., :1])  # (batch_size, Tq, 1, 1)
            hidden = ops.tanh(
                ops.concatenate([keys + zeros_q, aspect + zeros_n], axis=-1)
            )  # (batch_size, Tq, N, d + d_a)
        return ops.squeeze(self.score_vector(hidden), -1)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_dim": self.hidden_dim,
            "aspect_dim": self.aspect_dim,
            "combine": self.combine,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer
            ),
        }
