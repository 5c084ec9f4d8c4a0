"""ATAE-LSTM family: aspect-level sentiment (Wang et al., EMNLP 2016).

Four models, one class (`ATAELSTM`) with two switches:

| registry name | LSTM input at step t | classifier input |
|---|---|---|
| `lstm_sentiment` | `w_t` | `h_N` |
| `ae_lstm` | `[w_t; v_a]` | `h_N` |
| `at_lstm` | `w_t` | `h* = tanh(W_p r + W_x h_N)`, `r` attention |
| `atae_lstm` | `[w_t; v_a]` | `h*` |

The attention (`s2s_zoo.layers.aspect_attention.AspectAttention`) follows
the published equations by default (`attention_combine="concat"`), in
which the aspect term cancels inside the softmax: literal AT-LSTM then
gives the same answer for every aspect of a sentence. The option
`attention_combine="sum"` puts the aspect inside the tanh so that the
weights depend on it.

Inputs are right-padded token ids (0 pads): `token_ids` for the sentence
and `aspect_token_ids` for the aspect. A multi-word aspect term is the
average of its tokens' aspect embeddings; a category is a single token.
"""

import keras
from keras import ops

from s2s_zoo import registry
from s2s_zoo.data.vocabulary import PADDING_ID
from s2s_zoo.layers.aspect_attention import COMBINES
from s2s_zoo.layers.aspect_attention import AspectAttention
from s2s_zoo.layers.initializers import fresh
from s2s_zoo.models.base import ZooModel

# === Defaults ===

# Wang et al. 2016, Section 4 (spec section 5): 300-d GloVe words, 300-d
# aspect embeddings, 300-d LSTM, U(-0.01, 0.01) initialisation, batch 25.
# Sizes of the vocabularies come from the data; the recipe overrides them.
PAPER_L2 = 0.001  # lambda of  sum_i CE_i + lambda ||theta||^2
LSTM_SENTIMENT_DEFAULTS = {
    "vocabulary_size": 20000,
    "num_classes": 3,
    "embedding_dim": 300,
    "hidden_dim": 300,
    "dropout": 0.5,  # [U]: the paper's rate could not be checked
    # The paper SUMS the cross-entropy over the examples; Keras AVERAGES it
    # over the batch, so the same balance needs lambda / batch_size
    # (paper batch 25). l2=0.001 against the mean would be 25x stronger.
    "l2": PAPER_L2 / 25,
    "init_scale": 0.01,
}
AE_LSTM_DEFAULTS = {
    **LSTM_SENTIMENT_DEFAULTS,
    "aspect_vocabulary_size": 20000,
    "aspect_embedding_dim": 300,
}
AT_LSTM_DEFAULTS = {**AE_LSTM_DEFAULTS, "attention_combine": "concat"}
ATAE_LSTM_DEFAULTS = dict(AT_LSTM_DEFAULTS)

# Named sizes. "cpu": d = 100 instead of 300 (about 5x faster on 2 CPU
# cores) and U(-0.1, 0.1) starts: random word vectors learn faster from it
# than from the paper's U(-0.01, 0.01), meant for OOV words next to GloVe.
_CPU = dict(embedding_dim=100, hidden_dim=100, init_scale=0.1)
_TINY = dict(
    vocabulary_size=12,
    embedding_dim=4,
    hidden_dim=5,
    num_classes=3,
    dropout=0.0,
    init_scale=1.0,
)
LSTM_SENTIMENT_PRESETS = {"cpu": _CPU, "tiny": _TINY}
ASPECT_PRESETS = {
    "cpu": dict(_CPU, aspect_embedding_dim=100),
    "tiny": dict(_TINY, aspect_vocabulary_size=6, aspect_embedding_dim=3),
}

# Training settings of the paper, for recipes (builders return uncompiled
# models). Keras `Adagrad` defaults to learning_rate=0.001 and
# initial_accumulator_value=0.1; classic AdaGrad, as in the paper, starts
# the accumulator at 0. The "momentum 0.9" some sources list next to
# AdaGrad has no counterpart in Keras's AdaGrad and is not used.
TRAINING_DEFAULTS = {
    "optimizer": "adagrad",
    "learning_rate": 0.01,
    "initial_accumulator_value": 0.0,
    "batch_size": 25,
}


def paper_optimizer(learning_rate=None):
    """Returns the paper's optimizer: AdaGrad, lr 0.01, accumulator 0."""
    if learning_rate is None:
        learning_rate = TRAINING_DEFAULTS["learning_rate"]
    return keras.optimizers.Adagrad(
        learning_rate=learning_rate,
        initial_accumulator_value=TRAINING_DEFAULTS[
            "initial_accumulator_value"
        ],
    )


# === Model ===


@keras.saving.register_keras_serializable(package="s2s_zoo")
class ATAELSTM(ZooModel):
    """LSTM, AE-LSTM, AT-LSTM and ATAE-LSTM for aspect-level sentiment.

    Wang, Huang, Zhao, Zhu, "Attention-based LSTM for Aspect-level
    Sentiment Classification", EMNLP 2016
    (https://aclanthology.org/D16-1058/).

        v_a = mean of the aspect embeddings of the aspect's tokens
        H = LSTM(x_1..x_N),  x_t = [w_t; v_a] (aspect input) or w_t
        r, alpha = AspectAttention(v_a, H)                  (attention)
        h* = tanh(W_p r + W_x h_N)                          (attention)
        y = softmax(W_s h + b_s),  h = h* or h_N

    `h_N` is the state at the last real token: the LSTM runs with the
    padding mask, so padded steps carry the state through.

    Deviations (the paper does not say): dropout is applied to the LSTM
    input and to the classifier input; the L2 penalty `l2 * sum(w^2)`
    covers every weight matrix (LSTM, attention, `W_p`, `W_x`, `W_s`) but
    not the embedding tables or biases; the LSTM forget-gate bias starts
    at 1 (Keras's `unit_forget_bias`).

    Args:
        vocabulary_size (int): Word ids, padding (0) and unknown (1)
            included. Default 20000.
        aspect_vocabulary_size (int): Aspect token ids. Default 20000.
        num_classes (int): 3 (positive / negative / neutral, default) or
            2 (binary).
        embedding_dim (int): `d_w`. Default 300.
        aspect_embedding_dim (int): `d_a`. Default 300.
        hidden_dim (int): `d`. Default 300.
        use_aspect_input (bool): Append `v_a` to every LSTM input (AE).
            Default True.
        use_attention (bool): Attention over `H` and `h*` (AT). Default True.
        attention_combine (str): `"concat"` (default, the published form,
            aspect cancels) or `"sum"` (aspect inside the tanh).
        dropout (float): Dropout rate. Default 0.5.
        l2 (float): Weight of `l2 * ||W||^2`, added to the batch-MEAN
            cross-entropy. Default 0.001 / 25 = 4e-5: the paper's
            `lambda = 0.001` next to a loss summed over a batch of 25.
        init_scale (float): `epsilon` of the `U(-epsilon, epsilon)`
            initialisation of every weight. Default 0.01.
        **kwargs: `keras.Model` keyword arguments (`name`, `trainable`).

    Call arguments:
        inputs: A dict with `token_ids`, int `(batch_size, N)`, and
            `aspect_token_ids`, int `(batch_size, A)`, both right-padded
            with 0.

    Returns:
        Logits of shape `(batch_size, num_classes)`. `call_with_attention`
        also returns the attention weights `(batch_size, N)`.

    Raises:
        ValueError: For an unknown `attention_combine` or a vocabulary too
            small to hold padding and one token.

    Examples:
    >>> model = ATAELSTM(vocabulary_size=10, aspect_vocabulary_size=5,
    ...                  embedding_dim=4, aspect_embedding_dim=3,
    ...                  hidden_dim=4)
    >>> logits = model({"token_ids": np.array([[2, 3, 0]]),
    ...                 "aspect_token_ids": np.array([[4]])})
    """

    def __init__(
        self,
        vocabulary_size=20000,
        aspect_vocabulary_size=20000,
        num_classes=3,
        embedding_dim=300,
        aspect_embedding_dim=300,
        hidden_dim=300,
        use_aspect_input=True,
        use_attention=True,
        attention_combine="concat",
        dropout=0.5,
        l2=PAPER_L2 / 25,
        init_scale=0.01,
        **kwargs,
    ):
        if attention_combine not in COMBINES:
            raise ValueError(
                f"attention_combine must be one of {list(COMBINES)}; "
                f"received {attention_combine!r}."
            )
        for key, size in (
            ("vocabulary_size", vocabulary_size),
            ("aspect_vocabulary_size", aspect_vocabulary_size),
        ):
            if size < 2:
                raise ValueError(
                    f"{key} must be at least 2 (padding and one token); "
                    f"received {size}."
                )
        uses_aspect = use_aspect_input or use_attention

        # === Layers ===
        uniform = keras.initializers.RandomUniform(-init_scale, init_scale)
        regularizer = keras.regularizers.L2(l2) if l2 else None
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=fresh(uniform),
            name="embedding",
        )
        self.aspect_embedding = None
        if uses_aspect:
            self.aspect_embedding = keras.layers.Embedding(
                aspect_vocabulary_size,
                aspect_embedding_dim,
                embeddings_initializer=fresh(uniform),
                name="aspect_embedding",
            )
        self.lstm = keras.layers.LSTM(
            hidden_dim,
            return_sequences=True,
            return_state=True,
            kernel_initializer=fresh(uniform),
            recurrent_initializer=fresh(uniform),
            kernel_regularizer=regularizer,
            recurrent_regularizer=regularizer,
            name="lstm",
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        self.attention = None
        if use_attention:
            # W_p and W_x each draw their own start values.
            def dense():
                return dict(
                    use_bias=False,
                    kernel_initializer=fresh(uniform),
                    kernel_regularizer=regularizer,
                )

            self.attention = AspectAttention(
                hidden_dim,
                aspect_embedding_dim,
                combine=attention_combine,
                kernel_initializer=fresh(uniform),
                kernel_regularizer=regularizer,
                name="attention",
            )
            self.attention_projection = keras.layers.Dense(
                hidden_dim, name="attention_projection", **dense()
            )  # W_p
            self.last_state_projection = keras.layers.Dense(
                hidden_dim, name="last_state_projection", **dense()
            )  # W_x
        self.classifier = keras.layers.Dense(
            num_classes,
            kernel_initializer=fresh(uniform),
            kernel_regularizer=regularizer,
            name="classifier",
        )  # W_s, b_s

        # === Functional model ===
        inputs = {
            "token_ids": keras.Input(
                shape=(None,), dtype="int32", name="token_ids"
            ),
            "aspect_token_ids": keras.Input(
                shape=(None,), dtype="int32", name="aspect_token_ids"
            ),
        }
        # _forward reads the switches, so they are set before the graph.
        self.use_aspect_input = use_aspect_input
        self.use_attention = use_attention
        logits, _ = self._forward(inputs)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self._arguments = {
            "vocabulary_size": vocabulary_size,
            "aspect_vocabulary_size": aspect_vocabulary_size,
            "num_classes": num_classes,
            "embedding_dim": embedding_dim,
            "aspect_embedding_dim": aspect_embedding_dim,
            "hidden_dim": hidden_dim,
            "use_aspect_input": use_aspect_input,
            "use_attention": use_attention,
            "attention_combine": attention_combine,
            "dropout": dropout,
            "l2": l2,
            "init_scale": init_scale,
        }

    def aspect_vector(self, aspect_token_ids):
        """`v_a`: the mean aspect embedding over the non-padding tokens.

        An aspect with no token gives the zero vector.
        """
        embedded = self.aspect_embedding(aspect_token_ids)  # (B, A, d_a)
        mask = ops.cast(ops.not_equal(aspect_token_ids, PADDING_ID), "float32")
        mask = ops.cast(ops.expand_dims(mask, -1), embedded.dtype)
        count = ops.maximum(ops.sum(mask, axis=1), 1.0)  # (B, 1)
        return ops.sum(embedded * mask, axis=1) / count  # (B, d_a)

    def _forward(self, inputs, training=None):
        token_ids = inputs["token_ids"]
        mask = ops.not_equal(token_ids, PADDING_ID)  # (B, N)
        x = self.embedding(token_ids)  # (B, N, d_w)
        aspect = None
        if self.aspect_embedding is not None:
            aspect = self.aspect_vector(inputs["aspect_token_ids"])
        if self.use_aspect_input:
            # v_a (x) e_N: the aspect repeated at every position.
            repeated = ops.expand_dims(aspect, 1) + ops.zeros_like(x[..., :1])
            x = ops.concatenate([x, repeated], axis=-1)  # (B, N, d_w + d_a)
        x = self.dropout_layer(x, training=training)
        states, last_state, _ = self.lstm(x, mask=mask, training=training)
        if self.use_attention:
            r, weights = self.attention(aspect, states, value_mask=mask)
            h = ops.tanh(
                self.attention_projection(r)
                + self.last_state_projection(last_state)
            )  # h*, (B, d)
        else:
            h = last_state  # h_N, (B, d)
            weights = ops.zeros_like(ops.cast(mask, h.dtype))
        h = self.dropout_layer(h, training=training)
        return self.classifier(h), weights

    def default_optimizer(self):
        """AdaGrad, lr 0.01, accumulator 0 (the paper's; `paper_optimizer`)."""
        return paper_optimizer()

    def default_loss(self):
        """Cross-entropy on the logits. The paper's L2 term is in the
        model already (the kernels' regularizers)."""
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def call_with_attention(self, inputs, training=False):
        """Returns `(logits, attention)`, reusing the trained layers.

        `attention` has shape `(batch_size, N)`; it is all zeros for the
        models without attention (`lstm_sentiment`, `ae_lstm`).
        """
        inputs = {
            key: ops.convert_to_tensor(inputs[key], "int32")
            for key in ("token_ids", "aspect_token_ids")
        }
        return self._forward(inputs, training=training)


# === Registered builders ===

_PAPER = "Wang, Huang, Zhao, Zhu 2016 (ATAE-LSTM)"
_TASK = "aspect_sentiment"


@registry.register(
    "lstm_sentiment",
    family="atae_lstm",
    task=_TASK,
    paper=_PAPER + ", LSTM baseline",
    defaults=LSTM_SENTIMENT_DEFAULTS,
    presets=LSTM_SENTIMENT_PRESETS,
)
def lstm_sentiment(**config):
    return ATAELSTM(use_aspect_input=False, use_attention=False, **config)


@registry.register(
    "ae_lstm",
    family="atae_lstm",
    task=_TASK,
    paper=_PAPER + ", AE-LSTM",
    defaults=AE_LSTM_DEFAULTS,
    presets=ASPECT_PRESETS,
)
def ae_lstm(**config):
    return ATAELSTM(use_aspect_input=True, use_attention=False, **config)


@registry.register(
    "at_lstm",
    family="atae_lstm",
    task=_TASK,
    paper=_PAPER + ", AT-LSTM",
    defaults=AT_LSTM_DEFAULTS,
    presets=ASPECT_PRESETS,
    choices={"attention_combine": COMBINES},
)
def at_lstm(**config):
    return ATAELSTM(use_aspect_input=False, use_attention=True, **config)


@registry.register(
    "atae_lstm",
    family="atae_lstm",
    task=_TASK,
    paper=_PAPER,
    defaults=ATAE_LSTM_DEFAULTS,
    presets=ASPECT_PRESETS,
    choices={"attention_combine": COMBINES},
)
def atae_lstm(**config):
    return ATAELSTM(use_aspect_input=True, use_attention=True, **config)
