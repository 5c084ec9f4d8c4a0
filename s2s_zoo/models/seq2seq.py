"""Fixed-context seq2seq: RNN Encoder-Decoder (Cho et al. 2014) and the deep
LSTM of Sutskever et al. (2014).

Both squeeze the whole source sentence into a fixed-size vector: Cho's
1000-d summary `c`, which the decoder re-reads at every step, and
Sutskever's (h, c) of all four encoder layers, which only initialises the
decoder. They are the baselines attention was invented to beat.
"""

import keras
from keras import ops

from s2s_zoo import registry
from s2s_zoo.layers.bridge import Bridge
from s2s_zoo.layers.context_gru import ContextGRUCell
from s2s_zoo.layers.deep_output import DeepOutput
from s2s_zoo.layers.initializers import BlockOrthogonal
from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer
from s2s_zoo.layers.sequence import ReverseSequences
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

# === RNN Encoder-Decoder ===

RNN_ENCODER_DECODER_DEFAULTS = {
    # Cho et al. 2014, section 4.1: 15,000-word shortlists, 1000 hidden
    # units, rank-100 input and output matrices, 500 maxout units.
    "source_vocabulary_size": 15000,
    "target_vocabulary_size": 15000,
    "embedding_dim": 100,
    "hidden_dim": 1000,
    "maxout_dim": 500,
    "output_rank": 100,
    "decoder_reset_mode": "after",  # Appendix A's decoder
    "zero_start_embedding": True,  # e(y_0) = 0
    "start_token_id": START_TOKEN_ID,
    "end_token_id": END_TOKEN_ID,
}

RNN_ENCODER_DECODER_PRESETS = {
    "cpu": dict(
        embedding_dim=128, hidden_dim=256, maxout_dim=256, output_rank=None
    ),
    "tiny": dict(
        source_vocabulary_size=11,
        target_vocabulary_size=13,
        embedding_dim=4,
        hidden_dim=6,
        maxout_dim=3,
        output_rank=5,
    ),
}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class RNNEncoderDecoderDecoder(ExplicitMaskLayer):
    """Cho's decoder: the summary `c` enters every gate and the output.

        h'_t = GRU(e(y_{t-1}), h'_{t-1}, c)      c in z', r' and the candidate
        logits_t = G maxout(O_h h'_t + O_y e(y_{t-1}) + O_c c)

    `C c` is the same at every step, so it is computed once per sentence.
    With `zero_start_embedding`, `e(y_0)` is the zero vector (Cho et al.,
    Appendix A) rather than a learned start embedding. `O_y` reads the
    target embedding instead of a second one-hot table: the paper factorises
    its output matrices through rank 100 anyway.

    Args:
        vocabulary_size (int): Target vocabulary size.
        embedding_dim (int): Target embedding width.
        hidden_dim (int): `n`, also the width of `c`.
        maxout_dim (int): Maxout units `l`.
        output_rank (int): Rank of `G`, or None for a full matrix.
        reset_mode (str): `"after"` (Appendix A) or `"before"` (Eq. 8).
        zero_start_embedding (bool): `e(y_0) = 0`.
        start_token_id (int): The id whose embedding is zeroed.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        hidden_dim,
        maxout_dim,
        output_rank=None,
        reset_mode="after",
        zero_start_embedding=True,
        start_token_id=START_TOKEN_ID,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.maxout_dim = maxout_dim
        self.output_rank = output_rank
        self.reset_mode = reset_mode
        self.zero_start_embedding = zero_start_embedding
        self.start_token_id = start_token_id
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01),
            dtype=self.dtype_policy,
            name="embedding",
        )
        self.cell = ContextGRUCell(
            hidden_dim,
            input_dim=embedding_dim,
            context_dim=hidden_dim,
            reset_mode=reset_mode,
            dtype=self.dtype_policy,
            name="cell",
        )
        self.deep_output = DeepOutput(
            maxout_dim,
            vocabulary_size,
            input_dims=[hidden_dim, embedding_dim, hidden_dim],
            output_rank=output_rank,
            dtype=self.dtype_policy,
            name="deep_output",
        )

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        self.cell.build()
        self.deep_output.build()
        self.built = True

    def embed(self, token_ids):
        embedded = self.embedding(token_ids)
        if self.zero_start_embedding:
            keep = ops.not_equal(token_ids, self.start_token_id)
            embedded = embedded * ops.cast(keep, embedded.dtype)[..., None]
        return embedded

    def call(self, token_ids, state, summary, projected_summary=None):
        embedded = self.embed(token_ids)  # (batch_size, T_y, m)
        projected = self.cell.project_inputs(embedded)
        if projected_summary is None:
            projected_summary = self.cell.project_context(summary)

        def body(previous_state, projected_t):
            new_state = self.cell.step(
                projected_t, projected_summary, previous_state
            )
            return new_state, ()

        _, states, _ = scan_time(body, state, projected)
        summary = ops.broadcast_to(
            ops.expand_dims(summary, 1), ops.shape(states)
        )
        return self.deep_output([states, embedded, summary])

    def step(self, token_ids, state, summary, projected_summary=None):
        """One target position: `(logits, new_state)`."""
        embedded = self.embed(token_ids)
        projected = self.cell.project_inputs(embedded)
        if projected_summary is None:
            projected_summary = self.cell.project_context(summary)
        new_state = self.cell.step(projected, projected_summary, state)
        return self.deep_output([new_state, embedded, summary]), new_state

    def compute_output_spec(
        self, token_ids, state, summary, projected_summary=None
    ):
        return keras.KerasTensor(
            (*token_ids.shape, self.vocabulary_size), self.compute_dtype
        )

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "maxout_dim": self.maxout_dim,
            "output_rank": self.output_rank,
            "reset_mode": self.reset_mode,
            "zero_start_embedding": self.zero_start_embedding,
            "start_token_id": self.start_token_id,
        }


@keras.saving.register_keras_serializable(package="s2s_zoo")
class RNNEncoderDecoder(Seq2SeqModel):
    """RNN Encoder-Decoder with gated units and a fixed summary vector.

    Cho, van Merrienboer, Gulcehre, Bahdanau, Bougares, Schwenk, Bengio,
    "Learning Phrase Representations using RNN Encoder-Decoder for
    Statistical Machine Translation", EMNLP 2014
    (https://arxiv.org/abs/1406.1078).

    - Encoder: a GRU (`reset_after=False`, Eq. 8) over the source; padding
      is masked, so `h_N` is the state at the real last word.
    - Summary `c = tanh(V h_N)`; decoder start `h'_0 = tanh(V' c)`.
    - Decoder: `RNNEncoderDecoderDecoder`, `c` in every gate and the maxout
      output at every step.

    Args:
        source_vocabulary_size (int): Default 15000.
        target_vocabulary_size (int): Default 15000.
        embedding_dim (int): Default 100.
        hidden_dim (int): Default 1000.
        maxout_dim (int): Default 500.
        output_rank (int): Rank of the output matrix `G`; None for full.
            Default 100.
        decoder_reset_mode (str): `"after"` (default, Appendix A) or
            `"before"` (Eq. 8).
        zero_start_embedding (bool): `e(y_0) = 0`. Default True.
        start_token_id (int): Default 2.
        end_token_id (int): Default 3.
        **kwargs: `keras.Model` keyword arguments.
    """

    def __init__(
        self,
        source_vocabulary_size=15000,
        target_vocabulary_size=15000,
        embedding_dim=100,
        hidden_dim=1000,
        maxout_dim=500,
        output_rank=100,
        decoder_reset_mode="after",
        zero_start_embedding=True,
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
        normal = keras.initializers.RandomNormal(stddev=0.01)
        self.source_embedding = keras.layers.Embedding(
            source_vocabulary_size,
            embedding_dim,
            embeddings_initializer=fresh(normal),
            name="source_embedding",
        )
        self.encoder = keras.layers.GRU(
            hidden_dim,
            return_state=True,
            reset_after=False,
            kernel_initializer=fresh(normal),
            recurrent_initializer=BlockOrthogonal(),
            name="encoder",
        )
        self.summary = Bridge(hidden_dim, name="summary")
        self.initial_state = Bridge(hidden_dim, name="initial_state")
        self.decoder = RNNEncoderDecoderDecoder(
            target_vocabulary_size,
            embedding_dim=embedding_dim,
            hidden_dim=hidden_dim,
            maxout_dim=maxout_dim,
            output_rank=output_rank,
            reset_mode=decoder_reset_mode,
            zero_start_embedding=zero_start_embedding,
            start_token_id=start_token_id,
            name="decoder",
        )
        self.decoder.build()

        # === Functional model ===
        inputs = seq2seq_inputs()
        state, memory = self._encode(inputs["encoder_token_ids"])
        logits = self.decoder(inputs["decoder_token_ids"], state, **memory)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.start_token_id = start_token_id
        self.end_token_id = end_token_id
        self._arguments = {
            "source_vocabulary_size": source_vocabulary_size,
            "target_vocabulary_size": target_vocabulary_size,
            "embedding_dim": embedding_dim,
            "hidden_dim": hidden_dim,
            "maxout_dim": maxout_dim,
            "output_rank": output_rank,
            "decoder_reset_mode": decoder_reset_mode,
            "zero_start_embedding": zero_start_embedding,
            "start_token_id": start_token_id,
            "end_token_id": end_token_id,
        }

    def _encode(self, encoder_token_ids):
        mask = padding_mask(encoder_token_ids)
        embedded = self.source_embedding(encoder_token_ids)
        _, last_state = self.encoder(embedded, mask=mask)
        summary = self.summary(last_state)  # c = tanh(V h_N)
        state = self.initial_state(summary)  # h'_0 = tanh(V' c)
        return state, {"summary": summary}

    def encode(self, encoder_token_ids):
        """Returns `(h'_0, memory)`; memory holds `c` and `C c`."""
        state, memory = self._encode(
            ops.convert_to_tensor(encoder_token_ids, "int32")
        )
        # C c once per sentence, not at every decoding step. (In the
        # functional graph the decoder layer computes it, inside its own
        # call, where Keras tracks and autocasts the weight.)
        memory["projected_summary"] = self.decoder.cell.project_context(
            memory["summary"]
        )
        return state, memory

    def decode_step(self, token_ids, state, memory):
        logits, state = self.decoder.step(token_ids, state, **memory)
        no_attention = ops.zeros((ops.shape(token_ids)[0], 0))
        return logits, state, no_attention

    def default_optimizer(self):
        """Adadelta, epsilon 1e-6 and rho 0.95 (Cho et al. 2014, 4.1)."""
        return keras.optimizers.Adadelta(
            learning_rate=1.0, rho=0.95, epsilon=1e-6
        )


@registry.register(
    "rnn_encoder_decoder",
    family="seq2seq",
    task="translation",
    paper="Cho et al. 2014 (RNN Encoder-Decoder)",
    defaults=RNN_ENCODER_DECODER_DEFAULTS,
    choices={"decoder_reset_mode": ("after", "before")},
    nullable=("output_rank",),
    presets=RNN_ENCODER_DECODER_PRESETS,
)
def rnn_encoder_decoder(**config):
    return RNNEncoderDecoder(**config)


# === Deep LSTM ===

DEEP_LSTM_DEFAULTS = {
    # Sutskever et al. 2014, section 3: 160k / 80k vocabularies, 4 layers of
    # 1000 cells, 1000-d embeddings, reversed source.
    "source_vocabulary_size": 160000,
    "target_vocabulary_size": 80000,
    "embedding_dim": 1000,
    "hidden_dim": 1000,
    "num_layers": 4,
    "reverse_source": True,
    "dropout": 0.0,
    "start_token_id": START_TOKEN_ID,
    "end_token_id": END_TOKEN_ID,
}

DEEP_LSTM_PRESETS = {
    "cpu": dict(embedding_dim=128, hidden_dim=256, num_layers=2),
    "tiny": dict(
        source_vocabulary_size=11,
        target_vocabulary_size=13,
        embedding_dim=4,
        hidden_dim=6,
        num_layers=2,
    ),
}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class DeepLSTMSeq2Seq(Seq2SeqModel):
    """Deep LSTM sequence to sequence learning with a reversed source.

    Sutskever, Vinyals, Le, "Sequence to Sequence Learning with Neural
    Networks", NIPS 2014 (https://arxiv.org/abs/1409.3215).

    - The source is reversed per sentence over its real length (padding
      stays at the end; `reverse_sequences`), never the target.
    - Two different stacked LSTMs; decoder layer k starts from encoder layer
      k's final (h, c), so the "sentence vector" is all `2 * num_layers`
      states.
    - Untied target embedding and softmax; all weights U(-0.08, 0.08) and
      `unit_forget_bias=False`, the paper's initialisation.

    Deviation: Keras LSTMs have no peephole connections (Graves 2013 has
    them; whether the paper used them is not stated).

    Args:
        source_vocabulary_size (int): Default 160000.
        target_vocabulary_size (int): Default 80000.
        embedding_dim (int): Default 1000.
        hidden_dim (int): Default 1000.
        num_layers (int): Default 4.
        reverse_source (bool): Default True.
        dropout (float): Between stacked layers; the paper has none.
            Default 0.
        start_token_id (int): Default 2.
        end_token_id (int): Default 3.
        **kwargs: `keras.Model` keyword arguments.
    """

    def __init__(
        self,
        source_vocabulary_size=160000,
        target_vocabulary_size=80000,
        embedding_dim=1000,
        hidden_dim=1000,
        num_layers=4,
        reverse_source=True,
        dropout=0.0,
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
        uniform = keras.initializers.RandomUniform(-0.08, 0.08)
        self.source_embedding = keras.layers.Embedding(
            source_vocabulary_size,
            embedding_dim,
            embeddings_initializer=fresh(uniform),
            name="source_embedding",
        )
        self.target_embedding = keras.layers.Embedding(
            target_vocabulary_size,
            embedding_dim,
            embeddings_initializer=fresh(uniform),
            name="target_embedding",
        )
        self.encoder_lstms = lstm_stack(
            num_layers, hidden_dim, uniform, "encoder_lstm"
        )
        self.decoder_lstms = lstm_stack(
            num_layers, hidden_dim, uniform, "decoder_lstm"
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        self.logits = keras.layers.Dense(
            target_vocabulary_size,
            kernel_initializer=fresh(uniform),
            bias_initializer=fresh(uniform),
            name="logits",
        )
        self.reverse_source = reverse_source
        self.source_reversal = ReverseSequences(name="source_reversal")

        # === Functional model ===
        inputs = seq2seq_inputs()
        states, _ = self._encode(inputs["encoder_token_ids"])
        embedded = self.target_embedding(inputs["decoder_token_ids"])
        top, _ = run_lstm_stack(
            self.decoder_lstms,
            embedded,
            initial_states=states,
            dropout=self.dropout_layer,
        )
        logits = self.logits(self.dropout_layer(top))
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
            "reverse_source": reverse_source,
            "dropout": dropout,
            "start_token_id": start_token_id,
            "end_token_id": end_token_id,
        }

    def _encode(self, encoder_token_ids):
        mask = padding_mask(encoder_token_ids)
        if self.reverse_source:
            encoder_token_ids = self.source_reversal(encoder_token_ids, mask)
        embedded = self.source_embedding(encoder_token_ids)
        _, states = run_lstm_stack(
            self.encoder_lstms, embedded, mask=mask, dropout=self.dropout_layer
        )
        return states, {}

    def encode(self, encoder_token_ids):
        """Returns `(states, {})`: every encoder layer's final `[h, c]`."""
        return self._encode(ops.convert_to_tensor(encoder_token_ids, "int32"))

    def decode_step(self, token_ids, state, memory):
        embedded = self.target_embedding(token_ids)
        top, state = step_lstm_stack(self.decoder_lstms, embedded, state)
        no_attention = ops.zeros((ops.shape(token_ids)[0], 0))
        return self.logits(top), state, no_attention

    def default_optimizer(self):
        """Plain SGD at 0.7, the whole gradient rescaled when its norm
        exceeds 5 (Sutskever et al. 2014, 3.4; the halving schedule after
        epoch 5 is a callback's job)."""
        return keras.optimizers.SGD(learning_rate=0.7, global_clipnorm=5.0)


@registry.register(
    "deep_lstm_seq2seq",
    family="seq2seq",
    task="translation",
    paper="Sutskever, Vinyals, Le 2014 (deep LSTM seq2seq)",
    defaults=DEEP_LSTM_DEFAULTS,
    presets=DEEP_LSTM_PRESETS,
)
def deep_lstm_seq2seq(**config):
    return DeepLSTMSeq2Seq(**config)
