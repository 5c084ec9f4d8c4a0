"""The translation serving graph: raw strings in, translations out.

`Translator` (TensorFlow, one graph, what the SavedModel holds) and
`EagerTranslator` (the same contract on JAX or PyTorch) tokenize, search
and detokenize; `make_translator` picks the one for the running backend.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo.data.vocabulary import PADDING_ID
from s2s_zoo.serving.base import ServingModule
from s2s_zoo.serving.base import backend_function
from s2s_zoo.serving.base import bound_text


def prepare_source(text, tokenizer, max_source_length):
    """Strings to the source ids a translator reads (TensorFlow ops).

    Returns `(source_ids, truncated)`: int `(batch, T)` ids, 0-padded and
    cut to `max_source_length`, with at least one position (an all-empty
    batch tokenizes to `(batch, 0)`); and a boolean per string, True where
    the text or its tokens were cut.
    """
    text, cut = bound_text(text, max_source_length)
    tokens = tokenizer.tokenize(text)
    truncated = cut | (tokens.row_lengths() > max_source_length)
    source = tokens[:, :max_source_length].to_tensor(default_value=0)
    source = tf.pad(
        source, [[0, 0], [0, tf.maximum(1 - tf.shape(source)[1], 0)]]
    )
    return source, truncated


class Translator(ServingModule):
    """Raw strings in, translations out: tokenize, beam search, detokenize.

    Everything runs inside the TensorFlow graph, so the exported SavedModel
    needs neither s2s_zoo nor Keras to serve; only `tensorflow` and
    `tensorflow_text` (whose import registers the text ops).

    Inputs are made valid UTF-8, cut to `16 * max_source_length`
    characters before tokenization and to `max_source_length` tokens after
    it (the `truncated` output says where), and a batch in which every
    string is empty or unknown still gets one (padding) position, so any
    string gets an answer (possibly empty) instead of an error, in bounded
    time.

    Args:
        model: A `s2s_zoo.models.Seq2SeqModel`.
        source_tokenizer, target_tokenizer: `s2s_zoo.data.translation.
            Tokenizer`s the model was trained with.
        beam_width (int): Beams; 1 for greedy.
        length_penalty (float): GNMT alpha.
        max_source_length (int): Longer inputs are truncated.
        max_output_length (int): Most output tokens.
        fused (bool): Decode with the model's fused serving step where it
            has one (`Seq2SeqModel.serving_constants`; RNNsearch): the same
            model with its linear maps folded into tables made from the
            weights when the translator is made, so only for a finished
            model. False: the training graph's step.
        xla (bool): Compile the search with XLA (`bucketed_shape` bounds
            the programs a server compiles): fused elementwise work and no
            per-op dispatch, other rounding. False: TensorFlow's graph.
        **search_options: Decoding options of `Seq2SeqModel.generate`
            (`coverage_penalty`, `no_repeat_ngram_size`, the length ratios,
            sampling), fixed when the translator is made, so an exported
            SavedModel carries them as constants.
    """

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        beam_width=5,
        length_penalty=1.0,
        max_source_length=100,
        max_output_length=100,
        fused=False,
        xla=False,
        **search_options,
    ):
        super().__init__(name="translator")
        self.xla = xla
        self.model = model
        # The model's faster serving step, with its per-model tables as
        # variables of this module (so a SavedModel carries them), taken
        # from the weights of now: for finished models only.
        constants = model.serving_constants() if fused else None
        self.constants = (
            None
            if constants is None
            else {
                name: tf.Variable(value, trainable=False, name=name)
                for name, value in constants.items()
            }
        )
        self.source_tokenizer = source_tokenizer.layer
        self.target_tokenizer = target_tokenizer.layer
        self._source = source_tokenizer
        self._target = target_tokenizer
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.max_source_length = max_source_length
        self.max_output_length = max_output_length
        # A tuple, not a dict: tf.Module would track a dict as state.
        self._search_options = tuple(sorted(search_options.items()))

    def _search(self, text):
        source, truncated = prepare_source(
            text, self._source, self.max_source_length
        )
        return source, truncated, self._bucketed_search(source)

    def _generate(self, source, active=None):
        max_length = output_width(tf.shape(source)[1], self.max_output_length)
        options = dict(self._search_options)
        if active is not None:
            options["active"] = active
        options["stop_lengths"] = output_limits(source, self.max_output_length)
        return self.model.generate(
            source,
            max_length=max_length,
            beam_width=self.beam_width,
            length_penalty=self.length_penalty,
            constants=self.constants,
            **options,
        )

    # One traced search that both signatures call: traced (and saved)
    # once per translator, not once per signature.
    @tf.function(
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
        autograph=False,
    )
    def _bucketed_search(self, source):
        """The search on a batch grown to one of a few shapes
        (`bucketed_shape`), so that a server meets a handful of shapes,
        not one per batch: each new shape costs memory that TensorFlow's
        oneDNN kernels keep (resident memory grew with every new batch
        shape without this), and with XLA a compiled program. The
        rows that fill the batch start finished (`active`) and are cut off
        again."""
        batch, length = tf.shape(source)[0], tf.shape(source)[1]
        rows, columns = bucketed_shape(batch, length)
        padded = tf.pad(source, [[0, rows - batch], [0, columns - length]])
        search = self._xla_generate if self.xla else self._generate
        out = search(padded, tf.range(rows) < batch)
        # No sentence writes past its own limit (`output_limits`), at most
        # the unpadded batch's: the outputs keep the unpadded widths.
        width = output_width(length, self.max_output_length)
        return type(out)(
            out.token_ids[:batch, :, :width],
            out.scores[:batch],
            out.lengths[:batch],
            out.attention[:batch, :, :width, :length],
        )

    @tf.function(jit_compile=True, autograph=False, reduce_retracing=True)
    def _xla_generate(self, source, active):
        return self._generate(source, active)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        autograph=False,
    )
    def translate_n_best(self, text):
        """Every beam, best first: `translations` (string `(batch,
        beams)`), `scores`, `lengths` (end token included), `token_ids`
        `(batch, beams, output_len)` and `truncated`."""
        _, truncated, out = self._search(text)
        return n_best_outputs(
            self._target, out.token_ids, out.scores, out.lengths, truncated
        )

    def signatures(self):
        """`serving_default` (`translate`) and `n_best`
        (`translate_n_best`)."""
        return {
            "serving_default": self.translate.get_concrete_function(),
            "n_best": self.translate_n_best.get_concrete_function(),
        }

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        autograph=False,
    )
    def translate(self, text):
        source, truncated, out = self._search(text)
        best_ids = out.token_ids[:, 0]
        translation = self._target.detokenize(best_ids)
        return {
            "translation": translation,
            "score": out.scores[:, 0],
            "attention": out.attention[:, 0],
            # What the model read and wrote (0-padded ids; the output
            # ends with [END] unless it ran out of steps).
            "token_ids": best_ids,
            "source_ids": source,
            # True where the input was longer than the model reads.
            "truncated": truncated,
        }


def output_width(source_length, max_output_length):
    """The most tokens a translation of `source_length` source tokens may
    have: `2 |X| + 10`, at most `max_output_length`. For a batch, its
    width in tokens; for a sentence, its own limit (`output_limits`).
    Backend ops (on Python ints too)."""
    return keras.ops.minimum(2 * source_length + 10, max_output_length)


def output_limits(source, max_output_length):
    """Each sentence's `output_width` from its own source tokens (at
    least one, as a sentence alone is read), so that a hypothesis that
    never ends is cut where it would be cut alone, whatever the batch.
    Backend ops: the in-graph and the eager translator both use it."""
    ops = keras.ops
    lengths = ops.sum(ops.cast(ops.not_equal(source, PADDING_ID), "int32"), 1)
    return output_width(ops.maximum(lengths, 1), max_output_length)


#: The shapes a translator decodes in: source lengths and batch sizes
#: (past 8) are rounded up to multiples of this.
BUCKET = 8


def bucketed_shape(batch, length):
    """`(rows, columns)` of the batch a translator decodes `(batch,
    length)` source ids in: the batch size rounded up to 1, 2, 4, 8 or a
    multiple of `BUCKET` (one sentence alone stays one row), the length to
    a multiple of `BUCKET`: eleven batch shapes up to 64 sentences, one per
    eight source lengths."""
    small = tf.constant([1, 2, 4, BUCKET], tf.int32)
    rows = tf.where(
        batch <= BUCKET,
        tf.reduce_min(tf.boolean_mask(small, small >= batch)),
        (batch + BUCKET - 1) // BUCKET * BUCKET,
    )
    columns = (length + BUCKET - 1) // BUCKET * BUCKET
    return rows, columns


def n_best_outputs(target_tokenizer, token_ids, scores, lengths, truncated):
    """The `n_best` outputs from a search's `(batch, beams, length)` ids."""
    token_ids = tf.convert_to_tensor(token_ids)
    shape = tf.shape(token_ids)
    flat = tf.reshape(token_ids, [-1, shape[2]])
    translations = tf.reshape(
        target_tokenizer.detokenize(flat), [shape[0], shape[1]]
    )
    return {
        "translations": translations,
        "scores": tf.convert_to_tensor(scores),
        "lengths": tf.convert_to_tensor(lengths),
        "token_ids": token_ids,
        "truncated": truncated,
    }


class EagerTranslator:
    """`Translator` for the JAX and PyTorch backends: the same inputs, the
    same outputs (TensorFlow tensors), the model run by its own backend.

    The string work (UTF-8 repair, cutting, tokenizing, detokenizing) runs
    as TensorFlow ops, traced once; only the search runs on the backend.
    On JAX it is compiled by `backend_function`, once per batch shape. A
    SavedModel needs TensorFlow ops throughout, so a model trained on
    another backend is exported by reloading its `.keras` file under
    TensorFlow (`s2s_zoo.tasks.common.export_through_tensorflow`).

    Args: those of `Translator`.
    """

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer,
        beam_width=5,
        length_penalty=1.0,
        max_source_length=100,
        max_output_length=100,
        fused=False,
        xla=False,
        **search_options,
    ):
        # `xla` is TensorFlow's; on JAX the search is always compiled.
        del xla
        self.model = model
        self._source = source_tokenizer
        self._target = target_tokenizer
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.max_source_length = max_source_length
        self.max_output_length = max_output_length
        # Arguments of the compiled search, not constants folded into it.
        self._constants = model.serving_constants() if fused else None
        search = backend_function(
            model,
            lambda source, max_length, constants: model.generate(
                source,
                max_length=max_length,
                beam_width=beam_width,
                length_penalty=length_penalty,
                constants=constants,
                stop_lengths=output_limits(source, max_output_length),
                **search_options,
            ),
            static_argnums=(1,),
        )
        self._search = lambda source, max_length: search(
            source, max_length, self._constants
        )

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        autograph=False,
    )
    def _prepare(self, text):
        return prepare_source(text, self._source, self.max_source_length)

    @tf.function(
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
        autograph=False,
    )
    def _detokenize(self, token_ids):
        return self._target.detokenize(token_ids)

    def _run(self, text):
        source, truncated = self._prepare(tf.convert_to_tensor(text))
        source = source.numpy().astype("int32")
        max_length = int(output_width(source.shape[1], self.max_output_length))
        outputs = [np.asarray(x) for x in self._search(source, max_length)]
        return source, truncated, outputs

    def translate_n_best(self, text):
        _, truncated, (token_ids, scores, lengths, _) = self._run(text)
        return n_best_outputs(
            self._target, token_ids, scores, lengths, truncated
        )

    def translate(self, text):
        source, truncated, outputs = self._run(text)
        token_ids, scores, _, attention = outputs
        best_ids = token_ids[:, 0]
        return {
            "translation": self._detokenize(tf.constant(best_ids)),
            "score": tf.constant(scores[:, 0]),
            "attention": tf.constant(attention[:, 0].astype("float32")),
            "token_ids": tf.constant(best_ids),
            "source_ids": tf.constant(source),
            "truncated": truncated,
        }


def make_translator(model, source_tokenizer, target_tokenizer, **kwargs):
    """The translator for the running Keras backend: the in-graph
    `Translator` on TensorFlow, an `EagerTranslator` elsewhere. Keyword
    arguments go to either."""
    cls = (
        Translator
        if keras.backend.backend() == "tensorflow"
        else (EagerTranslator)
    )
    return cls(model, source_tokenizer, target_tokenizer, **kwargs)


def unpack(out, k, source_vocabulary, target_vocabulary, has_attention=True):
    """Sentence `k` of a translator's output as tokens.

    Returns `(source_tokens, output_tokens, attention)`: the source and
    output token strings without padding, and the attention weights cut
    to them, `(len(output_tokens), len(source_tokens))` (no columns for a
    model without attention).
    """
    source_ids = np.asarray(out["source_ids"][k])
    source_ids = source_ids[source_ids != PADDING_ID]
    output_ids = np.asarray(out["token_ids"][k])
    output_ids = output_ids[output_ids != PADDING_ID]
    if has_attention:
        weights = np.asarray(out["attention"][k])
        weights = weights[: len(output_ids), : len(source_ids)]
    else:
        weights = np.zeros((len(output_ids), 0), "float32")
    return (
        [source_vocabulary[i] for i in source_ids],
        [target_vocabulary[i] for i in output_ids],
        weights,
    )


def translate_corpus(translator, sources, batch_size=64, progress=None):
    """Translates a list of strings in length-sorted batches.

    Args:
        translator (Translator): The in-graph translator.
        sources (list[str]): Sentences.
        batch_size (int): Sentences per call.
        progress (str): What to call the loop on a progress bar (drawn in
            a terminal only); None draws none.

    Returns:
        `(translations, seconds)`: strings in the order of `sources`, and
        the wall time spent.
    """
    from s2s_zoo.progress import Bar

    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    translations = [None] * len(sources)
    bar = Bar(len(sources), progress) if progress else None
    start = time.perf_counter()
    for offset in range(0, len(sources), batch_size):
        index = order[offset : offset + batch_size]
        result = translator.translate(tf.constant([sources[i] for i in index]))
        for i, sentence in zip(index, result["translation"].numpy()):
            translations[i] = sentence.decode("utf-8")
        if bar:
            bar.update(offset + len(index))
    return translations, time.perf_counter() - start


def export_translator(
    path, model, source_tokenizer, target_tokenizer, **kwargs
):
    """Writes a SavedModel to `path` (atomically) whose `serving_default`
    takes a 1-D `tf.string` tensor `text` and returns `translation`
    (`tf.string`), `score` and `attention` `(batch, output_len, source_len)`;
    its `n_best` signature takes the same `text` and returns every beam
    (`Translator.translate_n_best`).

    Keyword arguments go to `Translator`. Returns the `Translator`.

    Examples:
    >>> loaded = tf.saved_model.load(path)
    >>> serve = loaded.signatures["serving_default"]
    >>> serve(text=tf.constant(["我喜欢中国美食"]))["translation"]
    """
    translator = Translator(model, source_tokenizer, target_tokenizer, **kwargs)
    translator.export(path)
    return translator
