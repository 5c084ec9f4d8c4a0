"""Luong, Pham, Manning (2015): run the LSTM stack to `h_t` first, then
score with `h_t`, form `c_t` and `h~_t = tanh(W_c [c_t; h_t])`, read out
`softmax(W_s h~_t)`; global attention and the local-m / local-p windows."""

import keras
from keras import ops

from s2s_zoo import registry
from s2s_zoo.layers.attention import LocalAttention
from s2s_zoo.layers.attention import get_attention
from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer
from s2s_zoo.layers.sequence import ReverseSequences
from s2s_zoo.layers.sequence import reverse_sequences
from s2s_zoo.models.base import END_TOKEN_ID
from s2s_zoo.models.base import START_TOKEN_ID
from s2s_zoo.models.base import Seq2SeqModel
from s2s_zoo.models.base import check_token_ids
from s2s_zoo.models.base import lstm_stack
from s2s_zoo.models.base import padding_mask
from s2s_zoo.models.base import run_lstm_stack
from s2s_zoo.models.base import scan_time
from s2s_zoo.models.base import seq2seq_inputs
from s2s_zoo.models.base import step_lstm_stack

LUONG_DEFAULTS = {
    # Luong et al. 2015, section 4.1: top-50K vocabularies, 4 x 1000 LSTMs,
    # 1000-d embeddings, dropout 0.2, reversed source, input feeding.
    "source_vocabulary_size": 50000,
    "target_vocabulary_size": 50000,
    "embedding_dim": 1000,
    "hidden_dim": 1000,
    "num_layers": 4,
    "attention_score": "dot",  # best global score in their Table 4
    "attention_dim": 1000,  # used by "concat" only
    "input_feeding": True,
    "reverse_source": True,
    "dropout": 0.2,
    "attention_type": "global",
    "window": 10,  # D of local attention, chosen empirically in the paper
    "start_token_id": START_TOKEN_ID,
    "end_token_id": END_TOKEN_ID,
}

#: Luong et al.'s attention types: global (Section 3.1), local-m and
#: local-p (Section 3.2).
ATTENTION_TYPES = ("global", "local-m", "local-p")

LUONG_PRESETS = {
    "cpu": dict(embedding_dim=128, hidden_dim=256, num_layers=2, dropout=0.2),
    "tiny": dict(
        source_vocabulary_size=11,
        target_vocabulary_size=13,
        embedding_dim=4,
        hidden_dim=6,
        num_layers=2,
        attention_dim=5,
    ),
}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class LuongDecoder(ExplicitMaskLayer):
    """Luong's global attention decoder: LSTM step, then attend with `h_t`.

        h_t = LSTM_stack([E y_{t-1}; h~_{t-1}])    input feeding (or E y_{t-1})
        c_t, a_t = attention(h_t, h_bar)           scored AFTER the update
        h~_t = tanh(W_c [c_t; h_t])
        logits_t = W_s h~_t

    Without input feeding the LSTM stack runs over all target positions at
    once and attention is computed for all of them in one batched call;
    with input feeding `h~_{t-1}` re-enters the stack, so teacher forcing
    loops over time (`keras.ops.scan`).

    Args:
        vocabulary_size (int): Target vocabulary size.
        embedding_dim (int): Target embedding width.
        hidden_dim (int): LSTM size `n`.
        num_layers (int): LSTM layers.
        attention_score (str): `"dot"`, `"general"` or `"concat"`.
        attention_dim (int): `W_a` rows for `"concat"`.
        input_feeding (bool): Feed `h~_{t-1}` into the next step.
        dropout (float): On embeddings, between LSTM layers (without input
            feeding) and on `h~_t` before the softmax.
        attention_type (str): `"global"`, or local attention (`"local-m"`,
            `"local-p"`; `LocalAttention`), whose steps need the target
            position `t`, kept as a third state entry.
        window (int): `D` of local attention.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        hidden_dim,
        num_layers,
        attention_score="dot",
        attention_dim=None,
        input_feeding=True,
        dropout=0.0,
        attention_type="global",
        window=10,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.attention_score = attention_score
        self.attention_dim = attention_dim
        self.input_feeding = input_feeding
        self.dropout = dropout
        uniform = keras.initializers.RandomUniform(-0.1, 0.1)
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=fresh(uniform),
            dtype=self.dtype_policy,
            name="embedding",
        )
        self.lstms = lstm_stack(num_layers, hidden_dim, uniform, "lstm")
        if attention_type not in ATTENTION_TYPES:
            raise ValueError(
                f"Unknown attention_type {attention_type!r}; valid: "
                f"{list(ATTENTION_TYPES)}."
            )
        self.attention_type = attention_type
        self.window = window
        self.local = attention_type != "global"
        units = attention_dim if attention_score == "concat" else hidden_dim
        if self.local:
            self.attention = LocalAttention(
                attention_score,
                units,
                mode=attention_type,
                window=window,
                position_units=hidden_dim,
                dtype=self.dtype_policy,
                name="attention",
            )
        else:
            self.attention = get_attention(
                attention_score,
                units,
                dtype=self.dtype_policy,
                name="attention",
            )
        self.attentional_state = keras.layers.Dense(
            hidden_dim,
            activation="tanh",
            use_bias=False,
            kernel_initializer=fresh(uniform),
            dtype=self.dtype_policy,
            name="attentional_state",
        )
        self.logits = keras.layers.Dense(
            vocabulary_size,
            kernel_initializer=fresh(uniform),
            bias_initializer=fresh(uniform),
            dtype=self.dtype_policy,
            name="logits",
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")

    def build(self, input_shape=None):
        n = self.hidden_dim
        self.embedding.build((None, None))
        width = self.embedding_dim + (n if self.input_feeding else 0)
        for layer in self.lstms:
            layer.build((None, None, width))
            width = n
        self.attention.build((None, n), (None, None, n))
        self.attentional_state.build((None, 2 * n))
        self.logits.build((None, n))
        self.built = True

    def _attend(
        self, top, values, keys, source_mask, positions, source_positions
    ):
        if self.local:
            context, weights = self.attention(
                top,
                values,
                keys=keys,
                value_mask=source_mask,
                target_positions=positions,
                source_positions=source_positions,
            )
        else:
            context, weights = self.attention(
                top, values, keys=keys, value_mask=source_mask
            )
        attentional = self.attentional_state(
            ops.concatenate([context, top], axis=-1)
        )
        return attentional, weights

    def call(
        self,
        token_ids,
        states,
        values,
        keys,
        source_mask,
        source_positions=None,
        training=None,
    ):
        embedded = self.dropout_layer(
            self.embedding(token_ids), training=training
        )
        # Target positions t = 0 .. T_y - 1 (read by local attention only).
        positions = ops.broadcast_to(
            ops.arange(ops.shape(token_ids)[1], dtype="int32")[None],
            ops.shape(token_ids),
        )
        lstm_states, feed = states[0], states[1]
        if self.input_feeding:

            def step(carry, inputs_t):
                lstm_states, feed = carry
                embedded_t, t = inputs_t
                x = ops.concatenate([embedded_t, feed], axis=-1)
                top, lstm_states = step_lstm_stack(self.lstms, x, lstm_states)
                attentional, weights = self._attend(
                    top, values, keys, source_mask, t, source_positions
                )
                return (lstm_states, attentional), weights

            no_weights = ops.zeros_like(ops.cast(source_mask, feed.dtype))
            _, (_, attentional), weights = scan_time(
                step, (lstm_states, feed), (embedded, positions), no_weights
            )
        else:
            top, _ = run_lstm_stack(
                self.lstms,
                embedded,
                initial_states=lstm_states,
                dropout=lambda x: self.dropout_layer(x, training=training),
            )
            attentional, weights = self._attend(
                top, values, keys, source_mask, positions, source_positions
            )
        attentional = self.dropout_layer(attentional, training=training)
        return self.logits(attentional), weights

    def step(
        self,
        token_ids,
        states,
        values,
        keys,
        source_mask,
        source_positions=None,
    ):
        """One target position: `(logits, new_states, weights)`."""
        lstm_states, feed = states[0], states[1]
        x = self.embedding(token_ids)
        if self.input_feeding:
            x = ops.concatenate([x, feed], axis=-1)
        top, lstm_states = step_lstm_stack(self.lstms, x, lstm_states)
        position = states[2] if self.local else None
        attentional, weights = self._attend(
            top, values, keys, source_mask, position, source_positions
        )
        new_states = (lstm_states, attentional)
        if self.local:
            new_states += (position + 1,)
        return self.logits(attentional), new_states, weights

    def compute_output_spec(
        self,
        token_ids,
        states,
        values,
        keys,
        source_mask,
        source_positions=None,
        training=None,
    ):
        batch_size, time_y = token_ids.shape[0], token_ids.shape[1]
        return (
            keras.KerasTensor(
                (batch_size, time_y, self.vocabulary_size), self.compute_dtype
            ),
            keras.KerasTensor(
                (batch_size, time_y, values.shape[1]), self.compute_dtype
            ),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "attention_score": self.attention_score,
            "attention_dim": self.attention_dim,
            "input_feeding": self.input_feeding,
            "dropout": self.dropout,
            "attention_type": self.attention_type,
            "window": self.window,
        }


@keras.saving.register_keras_serializable(package="s2s_zoo")
class LuongSeq2Seq(Seq2SeqModel):
    """Stacked LSTM encoder-decoder with Luong's global attention.

    Luong, Pham, Manning, "Effective Approaches to Attention-based Neural
    Machine Translation", EMNLP 2015 (https://arxiv.org/abs/1508.04025).

    The encoder is a unidirectional stacked LSTM over the (by default
    reversed) source; the decoder stack starts from the encoder's final
    (h, c) of every layer and attends over the encoder's top layer (see
    `LuongDecoder`). Attention weights are returned in the ORIGINAL source
    order even when the source is reversed. `attention_type` picks global
    attention (the default) or the paper's local-m / local-p windows
    (`s2s_zoo.layers.LocalAttention`), whose positions also count in the
    original source order.

    Deviation: dropout is applied to embeddings, between stacked layers
    outside the input-feeding loop, and to `h~_t`; inside the input-feeding
    loop there is no dropout between decoder layers.

    Args:
        source_vocabulary_size (int): Default 50000.
        target_vocabulary_size (int): Default 50000.
        embedding_dim (int): Default 1000.
        hidden_dim (int): Default 1000.
        num_layers (int): Default 4.
        attention_score (str): `"dot"` (default), `"general"`, `"concat"`.
        attention_dim (int): `W_a` rows of the `"concat"` score. Default 1000.
        input_feeding (bool): Default True.
        reverse_source (bool): Default True.
        dropout (float): Default 0.2.
        attention_type (str): `"global"` (default), `"local-m"` or
            `"local-p"` (Section 3.2).
        window (int): `D`, the half-width of a local window. Default 10.
        start_token_id (int): Default 2.
        end_token_id (int): Default 3.
        **kwargs: `keras.Model` keyword arguments.
    """

    has_attention = True

    def __init__(
        self,
        source_vocabulary_size=50000,
        target_vocabulary_size=50000,
        embedding_dim=1000,
        hidden_dim=1000,
        num_layers=4,
        attention_score="dot",
        attention_dim=1000,
        input_feeding=True,
        reverse_source=True,
        dropout=0.2,
        attention_type="global",
        window=10,
        start_token_id=START_TOKEN_ID,
        end_token_id=END_TOKEN_ID,
        **kwargs,
    ):
        check_token_ids(
            source_vocabulary_size,
            target_vocabulary_size,
            {"start_token_id": start_token_id, "end_token_id": end_token_id},
        )
        # === Layers ===
        uniform = keras.initializers.RandomUniform(-0.1, 0.1)
        self.source_embedding = keras.layers.Embedding(
            source_vocabulary_size,
            embedding_dim,
            embeddings_initializer=fresh(uniform),
            name="source_embedding",
        )
        self.encoder_lstms = lstm_stack(
            num_layers, hidden_dim, uniform, "encoder_lstm"
        )
        self.encoder_dropout = keras.layers.Dropout(
            dropout, name="encoder_dropout"
        )
        self.decoder = LuongDecoder(
            target_vocabulary_size,
            embedding_dim=embedding_dim,
            hidden_dim=hidden_dim,
            num_layers=num_layers,
            attention_score=attention_score,
            attention_dim=attention_dim,
            input_feeding=input_feeding,
            dropout=dropout,
            attention_type=attention_type,
            window=window,
            name="decoder",
        )
        self.decoder.build()
        self.reverse_source = reverse_source
        self.source_reversal = ReverseSequences(name="source_reversal")

        # === Functional model ===
        inputs = seq2seq_inputs()
        state, memory = self._encode(inputs["encoder_token_ids"])
        logits, _ = self.decoder(inputs["decoder_token_ids"], state, **memory)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.start_token_id = start_token_id
        self.end_token_id = end_token_id
        self._arguments = {
            "source_vocabulary_size": source_vocabulary_size,
            "target_vocabulary_size": target_vocabulary_size,
            "embedding_dim": embedding_dim,
            "hidden_dim": hidden_dim,
            "num_layers": num_layers,
            "attention_score": attention_score,
            "attention_dim": attention_dim,
            "input_feeding": input_feeding,
            "reverse_source": reverse_source,
            "dropout": dropout,
            "attention_type": attention_type,
            "window": window,
            "start_token_id": start_token_id,
            "end_token_id": end_token_id,
        }

    def _encode(self, encoder_token_ids, training=None):
        mask = padding_mask(encoder_token_ids)
        if self.reverse_source:
            encoder_token_ids = self.source_reversal(encoder_token_ids, mask)
        embedded = self.encoder_dropout(
            self.source_embedding(encoder_token_ids), training=training
        )
        top, states = run_lstm_stack(
            self.encoder_lstms,
            embedded,
            mask=mask,
            dropout=lambda x: self.encoder_dropout(x, training=training),
        )
        feed = ops.zeros_like(states[-1][0])  # h~_0
        memory = {
            "values": top,
            "keys": self.decoder.attention.precompute_keys(top),
            "source_mask": mask,
        }
        if not self.decoder.local:
            return (states, feed), memory
        # Local windows count positions in the original source: with a
        # reversed source, encoder position j holds word S - 1 - j.
        # (cumsum, not arange: this also runs on symbolic tensors of
        # unknown length when the functional graph is built.)
        ones = ops.ones_like(mask, dtype="float32")
        positions = ops.cumsum(ones, axis=1) - 1.0
        if self.reverse_source:
            lengths = ops.sum(ops.cast(mask, "float32"), 1, keepdims=True)
            positions = ops.where(mask, lengths - 1.0 - positions, positions)
        memory["source_positions"] = positions
        step = ops.sum(ops.zeros_like(mask, dtype="int32"), axis=1)  # t = 0
        return (states, feed, step), memory

    def encode(self, encoder_token_ids):
        """Returns `((lstm_states, h~_0), memory)`."""
        return self._encode(ops.convert_to_tensor(encoder_token_ids, "int32"))

    def decode_step(self, token_ids, state, memory):
        logits, state, weights = self.decoder.step(token_ids, state, **memory)
        if self.reverse_source:
            weights = reverse_sequences(weights, memory["source_mask"])
        return logits, state, weights

    def default_optimizer(self):
        """Plain SGD at 1.0, the gradient rescaled when its norm exceeds 5
        (Luong et al. 2015, section 4.1; the halving schedule after epoch
        5 is a callback's job)."""
        return keras.optimizers.SGD(learning_rate=1.0, global_clipnorm=5.0)


@registry.register(
    "luong_attention",
    family="attention_seq2seq",
    task="translation",
    paper="Luong, Pham, Manning 2015 (global and local attention)",
    defaults=LUONG_DEFAULTS,
    choices={
        "attention_score": ("dot", "general", "concat"),
        "attention_type": ATTENTION_TYPES,
    },
    presets=LUONG_PRESETS,
)
def luong_attention(**config):
    return LuongSeq2Seq(**config)
