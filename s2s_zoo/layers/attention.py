"""Attention scorers behind one interface: `(query, values) -> (context,
weights)`.

Every scorer turns a query and a set of keys into one score per key, the
scores into weights with a masked softmax over the key axis, and the weights
into a context, `context = sum_j weights_j * values_j`. They differ only in
the score:

| class | score(q, k_j) | paper |
|---|---|---|
| `AdditiveAttention` | `v^T tanh(W q + U k_j)` | Bahdanau et al. 2015 |
| `ConcatAttention` | `v^T tanh(W [q; k_j])` | Luong et al. 2015, "concat" |
| `DotAttention` | `q . k_j` | Luong et al. 2015, "dot" |
| `GeneralAttention` | `q^T W k_j` | Luong et al. 2015, "general" |
| `CosineAttention` | `scale * cos(q, k_j)` | cosine similarity |

The part of the score that depends only on the keys (`U k_j`, `W k_j`, the
normalised keys) is computed by `precompute_keys(values)`, once per source
sentence, and passed back as `keys=` at every decoder step: Bahdanau et al.
(Appendix A.1.2) note that `U_a h_j` does not depend on the target position.
"""

import keras
from keras import ops

from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer


def _mask_value(dtype):
    # A large negative number that stays finite in the dtype (Keras
    # `Attention` uses the same trick), so exp() underflows to exactly 0.
    return -65500.0 if "float16" in str(dtype) else -1e9


class ScoreAttention(ExplicitMaskLayer):
    """Base class: masked softmax attention over a scoring function.

    Subclasses implement `score(query, keys)` and, where part of the score
    depends only on the values, `precompute_keys(values)`.

    Call arguments:
        query: Tensor of shape `(batch_size, dq)` for one decoder step or
            `(batch_size, Tq, dq)` for many.
        values: Tensor of shape `(batch_size, Tv, dv)`, the annotations.
        keys: Optional output of `precompute_keys(values)`; computed from
            `values` when omitted.
        value_mask: Optional boolean tensor of shape `(batch_size, Tv)`,
            `False` on padded positions. This layer consumes the mask and
            returns none; implicit Keras masks on the inputs are ignored.

    Returns:
        A tuple `(context, weights)`: `context` has shape `(batch_size, dv)`
        (or `(batch_size, Tq, dv)`) and `weights` `(batch_size, Tv)` (or
        `(batch_size, Tq, Tv)`). Weights sum to 1 over unpadded positions and
        are exactly 0 on padding; a fully padded row gets all-zero weights and
        a zero context.
    """

    def build(self, query_shape, values_shape):
        self.built = True

    def precompute_keys(self, values):
        """Returns the part of the score that depends only on `values`."""
        return values

    def project_query(self, query):
        """The part of the score that depends only on the query, applied
        before the query gets its `Tq` axis (in a decoder loop it is one
        `(batch_size, dq)` row per step; a Dense layer on the 3-D form
        would reshape twice around the matmul)."""
        return query

    def score(self, query, keys):
        """Scores `(batch_size, Tq, Tv)` of projected queries
        `(batch_size, Tq, .)`."""
        raise NotImplementedError

    def call(self, query, values, keys=None, value_mask=None):
        single_step = len(query.shape) == 2
        query = self.project_query(query)
        if single_step:
            query = ops.expand_dims(query, 1)  # (batch_size, 1, dq)
        if keys is None:
            keys = self.precompute_keys(values)
        scores = self.score(query, keys)  # (batch_size, Tq, Tv)
        mask = value_mask
        if mask is not None:
            mask = ops.expand_dims(ops.cast(mask, "bool"), 1)
            scores = ops.where(
                mask, scores, ops.cast(_mask_value(scores.dtype), scores.dtype)
            )
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            # Exactly 0 on padding, also for a row with no real position.
            weights = weights * ops.cast(mask, weights.dtype)
        context = ops.matmul(weights, values)  # (batch_size, Tq, dv)
        if single_step:
            context = ops.squeeze(context, 1)
            weights = ops.squeeze(weights, 1)
        return context, weights

    def compute_output_spec(self, query, values, keys=None, value_mask=None):
        batch_size = query.shape[0]
        time_v, dim_v = values.shape[1], values.shape[2]
        if len(query.shape) == 2:
            context_shape = (batch_size, dim_v)
            weights_shape = (batch_size, time_v)
        else:
            context_shape = (batch_size, query.shape[1], dim_v)
            weights_shape = (batch_size, query.shape[1], time_v)
        return (
            keras.KerasTensor(context_shape, dtype=self.compute_dtype),
            keras.KerasTensor(weights_shape, dtype=self.compute_dtype),
        )


@keras.saving.register_keras_serializable(package="s2s_zoo")
class DotAttention(ScoreAttention):
    """Luong "dot" score, `score(q, k_j) = q . k_j` (needs `dq == dv`).

    Args:
        scale (bool): Divide scores by `sqrt(dq)` (Vaswani et al.). Luong et
            al. do not; default `False`.
        **kwargs: Base layer keyword arguments.

    Examples:
    >>> layer = DotAttention()
    >>> context, weights = layer(np.ones((2, 4)), np.ones((2, 3, 4)))
    """

    def __init__(self, scale=False, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def score(self, query, keys):
        scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        if self.scale:
            depth = ops.cast(ops.shape(query)[-1], scores.dtype)
            scores = scores / ops.sqrt(depth)
        return scores

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class GeneralAttention(ScoreAttention):
    """Luong "general" score, `score(q, k_j) = q^T W_a k_j`.

    `W_a k_j` is computed once per sentence by `precompute_keys`.

    Args:
        units (int): Width of the query, `dq`.
        kernel_initializer: Initializer of `W_a`. Default `"glorot_uniform"`.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.key_projection = keras.layers.Dense(
            units,
            use_bias=False,
            kernel_initializer=fresh(self.kernel_initializer),
            dtype=self.dtype_policy,
            name="key_projection",
        )

    def build(self, query_shape, values_shape):
        self.key_projection.build(values_shape)

    def precompute_keys(self, values):
        return self.key_projection(values)

    def score(self, query, keys):
        return ops.matmul(query, ops.transpose(keys, (0, 2, 1)))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
        }


@keras.saving.register_keras_serializable(package="s2s_zoo")
class AdditiveAttention(ScoreAttention):
    """Bahdanau's additive score, `e_j = v_a^T tanh(W_a q + U_a k_j)`.

    The alignment model of RNNsearch (Bahdanau et al. 2015, Appendix A.1.2),
    a one-hidden-layer MLP. `U_a k_j` is computed once per sentence by
    `precompute_keys`. Unlike `keras.layers.AdditiveAttention` (a scalar
    scale and no projections), query and values may have different widths.

    Args:
        units (int): Hidden size `n'` of the alignment MLP.
        kernel_initializer: Initializer of `W_a` and `U_a`. Default
            `N(0, 0.001^2)`, the paper's.
        score_initializer: Initializer of `v_a`. Default zeros, the paper's:
            all weights start uniform.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(
        self,
        units,
        kernel_initializer=None,
        score_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.RandomNormal(stddev=0.001)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.score_initializer = keras.initializers.get(score_initializer)

        # Each weight gets its own copy of the initializer (its own seed).
        def dense():
            return dict(
                use_bias=False,
                kernel_initializer=fresh(self.kernel_initializer),
                dtype=self.dtype_policy,
            )

        self.query_projection = keras.layers.Dense(
            units, name="query_projection", **dense()
        )
        self.key_projection = keras.layers.Dense(
            units, name="key_projection", **dense()
        )
        self.score_vector = keras.layers.Dense(
            1,
            use_bias=False,
            kernel_initializer=fresh(self.score_initializer),
            dtype=self.dtype_policy,
            name="score_vector",
        )

    def build(self, query_shape, values_shape):
        self.query_projection.build(query_shape)
        self.key_projection.build(values_shape)
        self.score_vector.build((None, self.units))

    def precompute_keys(self, values):
        return self.key_projection(values)

    def project_query(self, query):
        return self.query_projection(query)  # (batch_size, [Tq,] units)

    def score(self, query, keys):
        # (batch_size, Tq, 1, units) + (batch_size, 1, Tv, units)
        hidden = ops.tanh(ops.expand_dims(query, 2) + ops.expand_dims(keys, 1))
        return ops.squeeze(self.score_vector(hidden), -1)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "score_initializer": keras.initializers.serialize(
                self.score_initializer
            ),
        }


@keras.saving.register_keras_serializable(package="s2s_zoo")
class ConcatAttention(AdditiveAttention):
    """Luong "concat" score, `score(q, k_j) = v_a^T tanh(W_a [q; k_j])`.

    Splitting `W_a` into its query and key columns shows this is the
    additive score, so it shares `AdditiveAttention`'s code; only the
    default initializers differ (Luong et al. use uniform(-0.1, 0.1)).

    Args:
        units (int): Rows of `W_a`.
        kernel_initializer: Initializer of `W_a`. Default
            `RandomUniform(-0.1, 0.1)`.
        score_initializer: Initializer of `v_a`. Default
            `RandomUniform(-0.1, 0.1)`.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(
        self,
        units,
        kernel_initializer=None,
        score_initializer=None,
        **kwargs,
    ):
        uniform = keras.initializers.RandomUniform(-0.1, 0.1)
        super().__init__(
            units,
            kernel_initializer=kernel_initializer or uniform,
            score_initializer=score_initializer or uniform,
            **kwargs,
        )


@keras.saving.register_keras_serializable(package="s2s_zoo")
class CosineAttention(ScoreAttention):
    """Cosine score, `score(q, k_j) = scale * cos(q, k_j)` (needs `dq == dv`).

    Cosine scores lie in [-1, 1], so `scale` (an inverse temperature) sets
    how peaked the weights can get.

    Args:
        scale (float): Multiplies the cosine before the softmax. Default 1.0.
        epsilon (float): Added to norms to avoid division by 0. Default 1e-7.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(self, scale=1.0, epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.epsilon = epsilon

    def _normalize(self, x):
        norm = ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True))
        return x / (norm + self.epsilon)

    def precompute_keys(self, values):
        return self._normalize(values)

    def project_query(self, query):
        return self._normalize(query)

    def score(self, query, keys):
        return self.scale * ops.matmul(query, ops.transpose(keys, (0, 2, 1)))

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="s2s_zoo")
class LocalAttention(ExplicitMaskLayer):
    """Luong et al. 2015's local attention (Section 3.2) around a scorer.

    At target step `t` an aligned source position `p_t` is chosen and
    only the source words within `D` of it are attended to:

        local-m:  p_t = t                                  (monotonic)
        local-p:  p_t = S * sigmoid(v_p^T tanh(W_p h_t))   (Eq. 9)
        a_t(s) = align(h_t, h_s)                 over |s - p_t| <= D
        local-p:  a_t(s) *= exp(-(s - p_t)^2 / (2 sigma^2)), sigma = D / 2
                                                           (Eq. 10)

    `align` is the scorer's masked softmax restricted to the window;
    `S` is each sentence's own source length, and the Gaussian weights
    are not renormalised (the paper does not). Positions are 0-based and
    counted in the ORIGINAL source order, also when the encoder reads the
    source reversed (`source_positions`), so `p_t = t` means "the t-th
    source word". Paper gap: for local-m with `t > S - 1 + D` the window
    would hold no word; `p_t` is clipped to `S - 1` (the last word), so
    the window is clipped at the sentence boundary as the paper says.

    Args:
        score (str): The scorer inside the window (`get_attention`);
            Luong et al. found "general" best for local attention.
        units (int): The scorer's `units`.
        mode (str): `"local-m"` or `"local-p"`.
        window (int): `D`. Default 10, the paper's.
        position_units (int): Rows of `W_p` (local-p). Default `units`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        query: `(batch_size, dq)` or `(batch_size, Tq, dq)`: `h_t`.
        values, keys, value_mask: As for `ScoreAttention`.
        target_positions: int `t`, `(batch_size,)` or `(batch_size, Tq)`
            (local-m; ignored by local-p).
        source_positions: float `(batch_size, Tv)`, each key's position in
            the original source. Default `0 .. Tv - 1`.
    """

    MODES = ("local-m", "local-p")

    def __init__(
        self,
        score="general",
        units=None,
        mode="local-p",
        window=10,
        position_units=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(
                f"Unknown local attention mode {mode!r}; valid: "
                f"{list(self.MODES)}."
            )
        if window < 0:
            raise ValueError(f"window must be >= 0; received {window}.")
        self.score_name = score
        self.units = units
        self.mode = mode
        self.window = window
        self.position_units = position_units or units
        self.scorer = get_attention(
            score, units, dtype=self.dtype_policy, name="scorer"
        )
        if mode == "local-p":
            uniform = keras.initializers.RandomUniform(-0.1, 0.1)
            self.position_hidden = keras.layers.Dense(  # W_p
                self.position_units,
                activation="tanh",
                use_bias=False,
                kernel_initializer=fresh(uniform),
                dtype=self.dtype_policy,
                name="position_hidden",
            )
            self.position_score = keras.layers.Dense(  # v_p
                1,
                use_bias=False,
                kernel_initializer=fresh(uniform),
                dtype=self.dtype_policy,
                name="position_score",
            )

    def build(self, query_shape, values_shape):
        self.scorer.build(query_shape, values_shape)
        if self.mode == "local-p":
            self.position_hidden.build(query_shape)
            self.position_score.build((None, self.position_units))
        self.built = True

    def precompute_keys(self, values):
        return self.scorer.precompute_keys(values)

    def aligned_position(self, query, source_lengths, target_positions=None):
        """`p_t`, float `(batch_size, Tq)` for a 3-D `query` (Eq. 9 for
        local-p; `t` clipped to `S - 1` for local-m)."""
        lengths = ops.cast(source_lengths, "float32")[:, None]
        if self.mode == "local-m":
            t = ops.cast(target_positions, "float32")
            return ops.minimum(t, ops.maximum(lengths - 1.0, 0.0))
        hidden = self.position_hidden(query)
        logit = ops.squeeze(self.position_score(hidden), -1)
        return lengths * ops.sigmoid(ops.cast(logit, "float32"))

    def call(
        self,
        query,
        values,
        keys=None,
        value_mask=None,
        target_positions=None,
        source_positions=None,
    ):
        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, 1)
            if target_positions is not None:
                target_positions = ops.expand_dims(target_positions, 1)
        if self.mode == "local-m" and target_positions is None:
            raise ValueError("local-m attention needs target_positions (t).")
        time_v = ops.shape(values)[1]
        if value_mask is None:
            value_mask = ops.ones(ops.shape(values)[:2], "bool")
        value_mask = ops.cast(value_mask, "bool")
        if source_positions is None:
            source_positions = ops.broadcast_to(
                ops.arange(time_v, dtype="float32")[None], ops.shape(values)[:2]
            )
        source_lengths = ops.sum(ops.cast(value_mask, "int32"), axis=1)
        position = self.aligned_position(
            query, source_lengths, target_positions
        )  # (batch_size, Tq)
        distance = (
            ops.cast(source_positions, "float32")[:, None, :]
            - position[..., None]
        )  # (batch_size, Tq, Tv)
        mask = ops.logical_and(
            ops.less_equal(ops.abs(distance), float(self.window)),
            value_mask[:, None, :],
        )
        if keys is None:
            keys = self.precompute_keys(values)
        scores = self.scorer.score(self.scorer.project_query(query), keys)
        scores = ops.where(
            mask, scores, ops.cast(_mask_value(scores.dtype), scores.dtype)
        )
        weights = ops.softmax(scores, axis=-1) * ops.cast(mask, scores.dtype)
        if self.mode == "local-p":
            sigma = self.window / 2.0
            gaussian = ops.exp(-ops.square(distance) / (2.0 * sigma**2))
            weights = weights * ops.cast(gaussian, weights.dtype)
        context = ops.matmul(weights, values)
        if single_step:
            context = ops.squeeze(context, 1)
            weights = ops.squeeze(weights, 1)
        return context, weights

    def compute_output_spec(self, query, values, keys=None, **kwargs):
        return self.scorer.compute_output_spec(query, values)

    def get_config(self):
        return {
            **super().get_config(),
            "score": self.score_name,
            "units": self.units,
            "mode": self.mode,
            "window": self.window,
            "position_units": self.position_units,
        }


SCORERS = {
    "additive": AdditiveAttention,
    "concat": ConcatAttention,
    "dot": DotAttention,
    "general": GeneralAttention,
    "cosine": CosineAttention,
}


def get_attention(score, units=None, **kwargs):
    """Returns an attention layer by score name.

    Args:
        score (str): One of `"additive"`, `"concat"`, `"dot"`, `"general"`,
            `"cosine"`.
        units (int): Width for the scores with weights (`additive`, `concat`:
            the MLP size; `general`: the query width). Ignored otherwise.
        **kwargs: Passed to the layer.

    Raises:
        ValueError: If `score` is unknown, listing the valid names.
    """
    if score not in SCORERS:
        raise ValueError(
            f"Unknown attention score {score!r}; valid: {sorted(SCORERS)}."
        )
    cls = SCORERS[score]
    if score in ("additive", "concat", "general"):
        return cls(units, **kwargs)
    return cls(**kwargs)
