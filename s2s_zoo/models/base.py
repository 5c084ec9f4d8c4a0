"""What every seq2seq model shares: the inputs, `generate`, the config."""

import keras
from keras import ops

from s2s_zoo import decoding
from s2s_zoo.data.vocabulary import END_ID
from s2s_zoo.data.vocabulary import PADDING_ID
from s2s_zoo.data.vocabulary import START_ID
from s2s_zoo.layers import loops
from s2s_zoo.layers.initializers import fresh

# Reserved ids of every vocabulary s2s_zoo builds (s2s_zoo.data.vocabulary):
# 0 pads, 1 is unknown, 2 starts and 3 ends a target sentence.
START_TOKEN_ID = START_ID
END_TOKEN_ID = END_ID


def seq2seq_inputs():
    """Functional inputs: right-padded source and shifted target ids."""
    return {
        "encoder_token_ids": keras.Input(
            shape=(None,), dtype="int32", name="encoder_token_ids"
        ),
        "decoder_token_ids": keras.Input(
            shape=(None,), dtype="int32", name="decoder_token_ids"
        ),
    }


def padding_mask(token_ids):
    """True on real tokens, False on padding (id 0)."""
    return ops.not_equal(token_ids, PADDING_ID)


def scan_time(step, initial_state, inputs, initial_outputs=()):
    """Runs `step(state, x_t) -> (state, outputs_t)` over axis 1 of `inputs`.

    Returns `(final_state, states, outputs)`, where `states` and `outputs`
    stack every step's new state and outputs along axis 1. `inputs`,
    `states` and `outputs` are nests of batch-major tensors
    `(batch_size, T, ...)`.

    `keras.ops.scan` with the TensorFlow backend requires each step's
    stacked output to have the shape of the carry, so the per-step outputs
    travel in the carry: `initial_outputs` gives their shapes (zeros are
    fine; they are never read).
    """

    def body(carry, x):
        state, outputs = step(carry[0], x)
        return (state, outputs), (state, outputs)

    def time_major(x):
        return ops.moveaxis(x, 1, 0)

    inputs = keras.tree.map_structure(time_major, inputs)
    (final_state, _), stacked = loops.scan(
        body, (initial_state, initial_outputs), inputs
    )
    states, outputs = keras.tree.map_structure(time_major, stacked)
    return final_state, states, outputs


def check_token_ids(source_vocabulary_size, target_vocabulary_size, ids):
    """Raises ValueError if the special ids do not fit the vocabularies."""
    for name, value in ids.items():
        if not 0 <= value < target_vocabulary_size:
            raise ValueError(
                f"{name}={value} is outside the target vocabulary "
                f"(size {target_vocabulary_size})."
            )
    if source_vocabulary_size < 2:
        raise ValueError(
            "source_vocabulary_size must be at least 2 (padding and one "
            f"token); received {source_vocabulary_size}."
        )


def lstm_stack(num_layers, hidden_dim, initializer, name):
    """Stacked `keras.layers.LSTM`s, every weight from `initializer`."""
    return [
        keras.layers.LSTM(
            hidden_dim,
            return_sequences=True,
            return_state=True,
            kernel_initializer=fresh(initializer),
            recurrent_initializer=fresh(initializer),
            bias_initializer=fresh(initializer),
            unit_forget_bias=False,
            name=f"{name}_{k}",
        )
        for k in range(num_layers)
    ]


def run_lstm_stack(
    layers, inputs, mask=None, initial_states=None, dropout=None
):
    """Runs stacked LSTM layers; returns top outputs and every (h, c)."""
    states = []
    x = inputs
    for k, layer in enumerate(layers):
        if k > 0 and dropout is not None:
            x = dropout(x)
        initial_state = None if initial_states is None else initial_states[k]
        x, h, c = layer(x, mask=mask, initial_state=initial_state)
        states.append([h, c])
    return x, states


def step_lstm_stack(layers, inputs, states):
    """One step through stacked LSTM cells; returns top h and new states."""
    new_states = []
    x = inputs
    for layer, state in zip(layers, states):
        x, new_state = layer.cell(x, state)
        new_states.append(list(new_state))
    return x, new_states


class ZooModel(keras.Model):
    """Base of every s2s_zoo model: its config is its constructor arguments,
    and `compile()` with no arguments gives its paper's training setup.

    Subclasses wire a functional graph in `__init__`, call
    `super().__init__(inputs=..., outputs=...)` and then store their
    arguments in `self._arguments`. For functional subclasses the parent's
    config describes the graph, not the arguments (see keras-hub's
    `Backbone`), so it is not used.

    Every s2s_zoo model returns logits. `compile(optimizer="auto",
    loss="auto", ...)` (keras-hub's `Task.compile` convention) fills in,
    only where the caller says `"auto"`, the paper's optimizer
    (`default_optimizer`) and a loss that reads those logits
    (`default_loss`); anything else is passed to `keras.Model.compile`
    unchanged.
    """

    def default_optimizer(self):
        """The paper's optimizer, a new instance per call."""
        raise NotImplementedError

    def default_loss(self):
        """A loss that matches the model's outputs (logits)."""
        raise NotImplementedError

    def compile(self, optimizer="auto", loss="auto", **kwargs):
        if isinstance(optimizer, str) and optimizer == "auto":
            optimizer = self.default_optimizer()
        if isinstance(loss, str) and loss == "auto":
            loss = self.default_loss()
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def compile_from_config(self, config):
        # Keras skips restoring the compile state of any model whose
        # `compile` is overridden; ours only fills in "auto", and a saved
        # config holds the concrete optimizer and loss, so the stock
        # restore applies.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if hasattr(self, "optimizer") and self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            **self._arguments,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Seq2SeqModel(ZooModel):
    """Base of the translation models: teacher-forced `call`, `generate`.

    Subclasses wire a functional graph from `seq2seq_inputs()` to logits
    `(batch_size, T_y, target_vocabulary_size)` and implement:

    - `encode(encoder_token_ids) -> (state, memory)`, run once per batch;
    - `decode_step(token_ids, state, memory) -> (logits, state, attention)`
      for one target position, reusing the trained layers.

    The teacher-forced graph and `decode_step` share their step code, so
    decoding step by step reproduces the teacher-forced logits (tested).
    """

    #: Whether `decode_step` returns attention weights over the source.
    has_attention = False

    #: Row slices of each training batch whose gradients a TensorFlow step
    #: computes side by side (`s2s_zoo.training.slices`); 1: Keras's own
    #: step. Set by `compile(batch_slices=...)`.
    batch_slices = 1

    def compile(self, optimizer="auto", loss="auto", batch_slices=1, **kw):
        """`ZooModel.compile`, and `batch_slices`: cut each training batch
        into that many slices computed side by side (TensorFlow, one
        device; the loss must be a mean over non-padding target tokens,
        as `default_loss` and `training.masked_loss` are)."""
        from s2s_zoo import training

        distributed = False
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            distributed = tf.distribute.has_strategy()
        self.batch_slices = training.resolve_batch_slices(
            batch_slices, distributed=distributed
        )
        super().compile(optimizer=optimizer, loss=loss, **kw)

    def train_step(self, *args):
        if self.batch_slices > 1:  # TensorFlow only (`compile` checks)
            from s2s_zoo.training import slices

            return slices.sliced_train_step(self, *args, self.batch_slices)
        return super().train_step(*args)

    def default_loss(self):
        """Token cross-entropy on the logits, padding (id 0) ignored."""
        from s2s_zoo import training

        return training.masked_loss()

    def encode(self, encoder_token_ids):
        raise NotImplementedError

    def decode_step(self, token_ids, state, memory):
        raise NotImplementedError

    def serving_constants(self):
        """Per-model constants of a faster decoding step, computed from the
        current weights once per translator and passed to `generate` as
        `constants`; None (the default) where a model has no such step."""
        return None

    def generate(
        self,
        encoder_token_ids,
        max_length=None,
        beam_width=1,
        length_penalty=0.0,
        constants=None,
        **options,
    ):
        """Translates a batch of source id sequences.

        Args:
            encoder_token_ids: int `(batch_size, T_x)`, right-padded with 0.
            max_length (int): Most target tokens, end token included.
                Default `2 * T_x + 10`.
            beam_width (int): 1 for greedy search. Default 1.
            length_penalty (float): GNMT alpha; 0 (default) turns it off.
            constants: `serving_constants()`, for the model's faster step
                (the same model, other rounding); None for the plain one.
            **options: The decoding options of `s2s_zoo.decoding`, each off
                by default: `coverage_penalty` (GNMT beta; attention models
                only), `no_repeat_ngram_size`, `min_length_ratio`,
                `max_length_ratio`, and with `beam_width=1`, `sample`,
                `top_k`, `top_p`, `temperature`, `seed`.

        Returns:
            A `s2s_zoo.decoding.GenerationOutput`: `token_ids`
            `(batch_size, beam_width, max_length)`, `scores`, `lengths` and
            `attention` `(batch_size, beam_width, max_length, T_x)`, every
            beam best first.
        """
        encoder_token_ids = ops.convert_to_tensor(encoder_token_ids, "int32")
        shape = ops.shape(encoder_token_ids)
        if max_length is None:
            max_length = 2 * shape[1] + 10
        if constants is None:
            state, memory = self.encode(encoder_token_ids)
            step = self.decode_step
        else:
            state, memory = self.encode(encoder_token_ids, constants)

            def step(token_ids, state, memory):
                return self.decode_step(token_ids, state, memory, constants)

        return decoding.generate(
            step,
            state,
            memory,
            batch_size=shape[0],
            start_token_id=self.start_token_id,
            end_token_id=self.end_token_id,
            max_length=max_length,
            source_length=shape[1] if self.has_attention else 0,
            beam_width=beam_width,
            length_penalty=length_penalty,
            padding_id=PADDING_ID,
            suppressed_token_ids=(PADDING_ID, self.start_token_id),
            source_mask=ops.not_equal(encoder_token_ids, PADDING_ID),
            **options,
        )
