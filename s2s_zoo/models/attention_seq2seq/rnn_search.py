"""RNNsearch (Bahdanau, Cho, Bengio 2015): score with the previous state
`s_{i-1}`, form `c_i`, feed `c_i` into every gate of the GRU update to
`s_i`, read out through maxout. Keras 3 RNN layers take no `constants`, so
the decoder is its own loop (`keras.ops.scan`)."""

import keras
from keras import ops

from s2s_zoo import registry
from s2s_zoo.layers.attention import get_attention
from s2s_zoo.layers.bidirectional_gru import BidirectionalGRU
from s2s_zoo.layers.bridge import Bridge
from s2s_zoo.layers.context_gru import ContextGRUCell
from s2s_zoo.layers.deep_output import DeepOutput
from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer
from s2s_zoo.models.attention_seq2seq.fused_step import FusedStepMixin
from s2s_zoo.models.attention_seq2seq.fused_step import float32_matmul
from s2s_zoo.models.base import END_TOKEN_ID
from s2s_zoo.models.base import START_TOKEN_ID
from s2s_zoo.models.base import Seq2SeqModel
from s2s_zoo.models.base import check_token_ids
from s2s_zoo.models.base import padding_mask
from s2s_zoo.models.base import scan_time
from s2s_zoo.models.base import seq2seq_inputs

RNNSEARCH_DEFAULTS = {
    # Bahdanau et al. 2015, Appendix A.2.3: shortlists of 30,000 words.
    "source_vocabulary_size": 30000,
    "target_vocabulary_size": 30000,
    "embedding_dim": 620,  # m
    "hidden_dim": 1000,  # n, per encoder direction and in the decoder
    # Per encoder direction when it differs from n (None: n, the paper's).
    "encoder_hidden_dim": None,
    "attention_dim": 1000,  # n', the alignment MLP
    "maxout_dim": 500,  # l
    "attention_score": "additive",
    "readout_state": "previous",  # the appendix's s_{i-1}
    "dropout": 0.0,  # the paper reports none
    "start_token_id": START_TOKEN_ID,
    "end_token_id": END_TOKEN_ID,
}

RNNSEARCH_PRESETS = {
    # What the translation task trains in minutes on 2 CPU cores (the
    # paper's proportions: l = n / 2 is not kept, l = n trained better on
    # Tatoeba; docs/results/translation.md). Dropout 0.2: once the model
    # trained 20 epochs in 15 minutes instead of 14, it overfit during the
    # flat half of the schedule (docs/results/translation.md).
    "cpu": dict(
        embedding_dim=128,
        hidden_dim=256,
        attention_dim=256,
        maxout_dim=256,
        dropout=0.2,
    ),
    # The sizes of the OpenNMT-tf configuration that benchmarks/peer/opennmt.py
    # runs (bi-GRU 2 x 128, GRU 256, embeddings 256; its attention layer
    # of 256 is our maxout readout of l = 128 from 2l = 256 units).
    "opennmt": dict(
        embedding_dim=256,
        hidden_dim=256,
        encoder_hidden_dim=128,
        attention_dim=256,
        maxout_dim=128,
    ),
    "tiny": dict(
        source_vocabulary_size=11,
        target_vocabulary_size=13,
        embedding_dim=4,
        hidden_dim=6,
        attention_dim=5,
        maxout_dim=3,
    ),
}


@keras.saving.register_keras_serializable(package="s2s_zoo")
class RNNSearchDecoder(FusedStepMixin, ExplicitMaskLayer):
    """The RNNsearch decoder: attend with `s_{i-1}`, then update, then read out.

    Per target step i (Bahdanau et al. 2015, Appendix A.2.2):

        c_i, alpha_i = attention(s_{i-1}, h)           scored BEFORE the update
        s_i = GRU([E y_{i-1}; c_i], s_{i-1})            c_i in every gate
        logits_i = W_o maxout(U_o r + V_o E y_{i-1} + C_o c_i)

    with `r = s_{i-1}` (`readout_state="previous"`, the appendix) or `s_i`
    (`"new"`, the main text's Eq. 4). `call` runs all target positions with
    teacher forcing in one `keras.ops.scan`; `step` runs one position for
    search. Both compute the same thing: `step` through `_advance`, and
    `call` too, except that with the additive score its loop keeps the
    state in float32 (`FusedStepMixin._float32_attention`; in float32 the
    attention layer's computation); the fused serving step is
    `fused_step` (`s2s_zoo/models/attention_seq2seq/fused_step.py`).

    Args:
        vocabulary_size (int): Target vocabulary size `K_y`.
        embedding_dim (int): `m`.
        hidden_dim (int): `n`.
        context_dim (int): Width of the annotations, `2n`.
        attention_dim (int): `n'`.
        maxout_dim (int): `l`.
        attention_score (str): `"additive"` (the paper), `"concat"` or
            `"general"`.
        readout_state (str): `"previous"` or `"new"`.
        dropout (float): On target embeddings and maxout units while
            training. Default 0.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        token_ids: int `(batch_size, T_y)`, the shifted targets.
        state: `(batch_size, n)`, `s_0`.
        values: `(batch_size, T_x, 2n)`, the annotations `h_j`.
        keys: `attention.precompute_keys(values)`.
        source_mask: bool `(batch_size, T_x)`, the source padding mask.
        projected_values: Optional `project_values(values)`; computed when
            omitted.
        training: True on TensorFlow runs the additive score's loop whose
            gradient is written by hand (`training_loop.py`); the values
            are the same.

    Returns:
        `(logits, weights)`: `(batch_size, T_y, K_y)` and
        `(batch_size, T_y, T_x)`.
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        hidden_dim,
        context_dim,
        attention_dim,
        maxout_dim,
        attention_score="additive",
        readout_state="previous",
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if readout_state not in ("previous", "new"):
            raise ValueError(
                "readout_state must be 'previous' or 'new'; "
                f"received {readout_state!r}."
            )
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.context_dim = context_dim
        self.attention_dim = attention_dim
        self.maxout_dim = maxout_dim
        self.attention_score = attention_score
        self.readout_state = readout_state
        self.dropout = dropout
        normal = keras.initializers.RandomNormal(stddev=0.01)
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=fresh(normal),
            dtype=self.dtype_policy,
            name="embedding",
        )
        self.attention = get_attention(
            attention_score,
            hidden_dim if attention_score == "general" else attention_dim,
            dtype=self.dtype_policy,
            name="attention",
        )
        self.cell = ContextGRUCell(
            hidden_dim,
            input_dim=embedding_dim,
            context_dim=context_dim,
            reset_mode="before",
            dtype=self.dtype_policy,
            name="cell",
        )
        self.deep_output = DeepOutput(
            maxout_dim,
            vocabulary_size,
            input_dims=[hidden_dim, embedding_dim, context_dim],
            dropout=dropout,
            dtype=self.dtype_policy,
            name="deep_output",
        )
        self.embedding_dropout = keras.layers.Dropout(
            dropout, name="embedding_dropout"
        )

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        self.attention.build(
            (None, self.hidden_dim), (None, None, self.context_dim)
        )
        self.cell.build()
        self.deep_output.build()
        self.built = True

    def project_values(self, values):
        """`C h_j` for every annotation, once per sentence.

        The context enters the GRU only through `C c_i`, and
        `C c_i = C sum_j alpha_ij h_j = sum_j alpha_ij (C h_j)`. Projecting
        the `T_x` annotations once replaces a `(2n x 3n)` matmul at every
        target step by a `T_x`-term weighted sum: the same model, a third
        of the decoder loop's work at the recipe's sizes.
        """
        return self.cell.project_context(values)

    def _advance(
        self,
        projected_inputs,
        state,
        projected_values,
        keys,
        mask,
        recurrent=None,
    ):
        # Alignment with the PREVIOUS state, then the update that reads c_i
        # (as `C c_i`, the weighted sum of the projected annotations).
        projected_context, weights = self.attention(
            state, projected_values, keys=keys, value_mask=mask
        )
        new_state = self.cell.step(
            projected_inputs, projected_context, state, recurrent
        )
        return new_state, weights

    def _readout(
        self, previous_state, new_state, embedded, context, training=None
    ):
        state = (
            previous_state if self.readout_state == "previous" else new_state
        )
        return self.deep_output([state, embedded, context], training=training)

    def call(
        self,
        token_ids,
        state,
        values,
        keys,
        source_mask,
        projected_values=None,
        training=None,
    ):
        embedded = self.embedding_dropout(
            self.embedding(token_ids), training=training
        )  # (batch_size, T_y, m)
        # W x + b for all positions, and C h_j for all annotations, at once,
        # outside the time loop.
        projected = self.cell.project_inputs(embedded)
        if projected_values is None:
            projected_values = self.project_values(values)
        new_states, previous_states, weights = self._teacher_forced_loop(
            projected, state, keys, source_mask, projected_values, training
        )
        # Every c_i at once: (batch_size, T_y, T_x) @ (batch_size, T_x, 2n).
        contexts = ops.matmul(weights, values)
        logits = self._readout(
            previous_states, new_states, embedded, contexts, training=training
        )
        return logits, weights

    def _teacher_forced_loop(
        self, projected, state, keys, source_mask, projected_values, training
    ):
        """Every target step: `(new_states, previous_states, weights)`,
        batch-major, in the compute dtype."""
        recurrent = self.cell.recurrent_weights()  # once, not per step
        loop = self._loop_weights()
        if loop is None:

            def body(previous_state, projected_t):
                new_state, weights = self._advance(
                    projected_t,
                    previous_state,
                    projected_values,
                    keys,
                    source_mask,
                    recurrent,
                )
                return new_state, (previous_state, weights)

        else:
            # The additive score: the loop keeps its state in float32 and
            # multiplies in the compute dtype (`_float32_attention`).
            keys = ops.cast(keys, "float32")
            projected = ops.cast(projected, "float32")
            state = ops.cast(state, "float32")
            if training and keras.backend.backend() == "tensorflow":
                # The same loop with a hand-written gradient, in training
                # only: a SavedModel cannot hold a gradient function that
                # reads the forward loop's saved tensors, and inference
                # has no use for them.
                from s2s_zoo.models.attention_seq2seq import training_loop

                outputs = training_loop.additive_gru_loop(
                    projected,
                    state,
                    keys,
                    projected_values,
                    source_mask,
                    loop["query_kernel"],
                    loop["score_vector"],
                    *recurrent,
                )
                return tuple(ops.cast(x, self.compute_dtype) for x in outputs)

            def body(previous_state, projected_t):
                context_rows, weights = self._float32_attention(
                    previous_state, keys, source_mask, projected_values, loop
                )
                new_state = self.cell.step(
                    projected_t,
                    context_rows,
                    previous_state,
                    recurrent,
                    matmul=float32_matmul,
                )
                return new_state, (previous_state, weights)

        initial_outputs = (
            state,
            ops.zeros_like(ops.cast(source_mask, state.dtype)),
        )
        _, new_states, outputs = scan_time(
            body, state, projected, initial_outputs
        )
        previous_states, weights = outputs
        return tuple(
            ops.cast(x, self.compute_dtype)
            for x in (new_states, previous_states, weights)
        )

    def step(
        self, token_ids, state, values, keys, source_mask, projected_values=None
    ):
        """One target position: `(logits, new_state, weights)`."""
        embedded = self.embedding(token_ids)  # (batch_size, m)
        projected = self.cell.project_inputs(embedded)
        if projected_values is None:
            projected_values = self.project_values(values)
        new_state, weights = self._advance(
            projected, state, projected_values, keys, source_mask
        )
        context = ops.squeeze(
            ops.matmul(ops.expand_dims(weights, 1), values), 1
        )
        logits = self._readout(state, new_state, embedded, context)
        return logits, new_state, weights

    def compute_output_spec(
        self,
        token_ids,
        state,
        values,
        keys,
        source_mask,
        projected_values=None,
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
            "context_dim": self.context_dim,
            "attention_dim": self.attention_dim,
            "maxout_dim": self.maxout_dim,
            "attention_score": self.attention_score,
            "readout_state": self.readout_state,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="s2s_zoo")
class RNNSearch(Seq2SeqModel):
    """RNNsearch: bidirectional GRU encoder and an attention GRU decoder.

    Bahdanau, Cho, Bengio, "Neural Machine Translation by Jointly Learning to
    Align and Translate", ICLR 2015 (https://arxiv.org/abs/1409.0473).

    - Encoder: a bidirectional GRU (`reset_after=False`, the paper's gated
      unit) over a shared source embedding; annotations
      `h_j = [h->_j; h<-_j]`. Padding is masked, so the backward GRU starts
      at each sentence's real last word.
    - `s_0 = tanh(W_s h<-_1)` (a `Bridge`).
    - Decoder: `RNNSearchDecoder` (alignment with `s_{i-1}` before the
      update, context in every gate and in the maxout deep output).

    Initialisation follows Appendix B: each recurrent block `U`, `U_z`,
    `U_r` orthogonal on its own (`BlockOrthogonal`), the alignment MLP
    `N(0, 0.001^2)` with `v_a = 0`, everything else `N(0, 0.01^2)`,
    biases 0. `reset_after=False` keeps the paper's GRU, at
    the price of never using the cuDNN kernel on a GPU.

    Args:
        source_vocabulary_size (int): `K_x`. Default 30000.
        target_vocabulary_size (int): `K_y`. Default 30000.
        embedding_dim (int): `m`. Default 620.
        hidden_dim (int): `n`. Default 1000.
        encoder_hidden_dim (int): State size of each encoder direction;
            None (default) uses `n`, as the paper does. Annotations are
            then `2 * encoder_hidden_dim` wide.
        attention_dim (int): `n'`. Default 1000.
        maxout_dim (int): `l`. Default 500.
        attention_score (str): `"additive"` (default), `"concat"`,
            `"general"`.
        readout_state (str): `"previous"` (default, Appendix A) or `"new"`.
        dropout (float): On source and target embeddings and the maxout
            units while training; 0 (default) as in the paper.
        start_token_id (int): First decoder input. Default 2.
        end_token_id (int): Ends a translation. Default 3.
        **kwargs: `keras.Model` keyword arguments (`name`, `trainable`).

    Examples:
    >>> model = RNNSearch(50, 60, embedding_dim=8, hidden_dim=8,
    ...                   attention_dim=8, maxout_dim=4)
    >>> out = model.generate(np.array([[5, 6, 7, 0]]), beam_width=2)
    """

    has_attention = True

    def __init__(
        self,
        source_vocabulary_size=30000,
        target_vocabulary_size=30000,
        embedding_dim=620,
        hidden_dim=1000,
        attention_dim=1000,
        maxout_dim=500,
        attention_score="additive",
        readout_state="previous",
        dropout=0.0,
        start_token_id=START_TOKEN_ID,
        end_token_id=END_TOKEN_ID,
        encoder_hidden_dim=None,
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
        encoder_dim = encoder_hidden_dim or hidden_dim
        self.encoder = BidirectionalGRU(
            encoder_dim,
            input_dim=embedding_dim,
            kernel_initializer=fresh(normal),
            name="encoder",
        )
        self.initial_state = Bridge(hidden_dim, name="initial_state")
        self.decoder = RNNSearchDecoder(
            target_vocabulary_size,
            embedding_dim=embedding_dim,
            hidden_dim=hidden_dim,
            context_dim=2 * encoder_dim,
            attention_dim=attention_dim,
            maxout_dim=maxout_dim,
            attention_score=attention_score,
            readout_state=readout_state,
            dropout=dropout,
            name="decoder",
        )
        self.decoder.build()
        self.source_dropout = keras.layers.Dropout(
            dropout, name="source_dropout"
        )

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
            "attention_dim": attention_dim,
            "maxout_dim": maxout_dim,
            "attention_score": attention_score,
            "readout_state": readout_state,
            "dropout": dropout,
            "start_token_id": start_token_id,
            "end_token_id": end_token_id,
            "encoder_hidden_dim": encoder_hidden_dim,
        }

    def _encode(self, encoder_token_ids):
        mask = padding_mask(encoder_token_ids)
        embedded = self.source_dropout(self.source_embedding(encoder_token_ids))
        annotations, _, backward_state = self.encoder(embedded, mask=mask)
        # The backward GRU's final state is h<-_1, its state at word 1.
        state = self.initial_state(backward_state)
        memory = {
            "values": annotations,
            "keys": self.decoder.attention.precompute_keys(annotations),
            "source_mask": mask,
        }
        return state, memory

    def encode(self, encoder_token_ids, constants=None):
        """Returns `(s_0, memory)`.

        Memory holds the annotations, the attention keys, the source mask
        and `C h_j` (`RNNSearchDecoder.project_values`), all computed once
        per sentence; with `constants` (`serving_constants`), the keys, the
        mask and `RNNSearchDecoder.fused_values` instead.
        """
        state, memory = self._encode(
            ops.convert_to_tensor(encoder_token_ids, "int32")
        )
        values = memory.pop("values")
        if constants is not None:
            memory["fused_values"] = self.decoder.fused_values(
                values, constants
            )
            # The serving step keeps its state, and the additive score's
            # keys, in float32 (`fused_step`).
            state = ops.cast(state, "float32")
            if "query_kernel" in constants:
                memory["keys"] = ops.cast(memory["keys"], "float32")
        else:
            memory["values"] = values
            memory["projected_values"] = self.decoder.project_values(values)
        return state, memory

    def decode_step(self, token_ids, state, memory, constants=None):
        if constants is not None:
            return self.decoder.fused_step(
                token_ids, state, weights=constants, **memory
            )
        return self.decoder.step(token_ids, state, **memory)

    def serving_constants(self):
        """The fused serving step's per-model constants, from the current
        weights (`RNNSearchDecoder.serving_weights`)."""
        return self.decoder.serving_weights()

    def default_optimizer(self):
        """Adadelta (epsilon 1e-6, rho 0.95), the whole gradient's L2 norm
        rescaled to at most 1 (Bahdanau et al. 2015, Appendix B.2)."""
        return keras.optimizers.Adadelta(
            learning_rate=1.0, rho=0.95, epsilon=1e-6, global_clipnorm=1.0
        )


@registry.register(
    "bahdanau_attention",
    family="attention_seq2seq",
    task="translation",
    paper="Bahdanau, Cho, Bengio 2015 (RNNsearch)",
    defaults=RNNSEARCH_DEFAULTS,
    choices={
        "attention_score": ("additive", "concat", "general"),
        "readout_state": ("previous", "new"),
    },
    types={"encoder_hidden_dim": int},
    presets=RNNSEARCH_PRESETS,
)
def bahdanau_attention(**config):
    return RNNSearch(**config)
