"""Saving: `.keras` files and SavedModels, each written atomically.

The one home of serving: the three `tf.Module`s whose `serving_default`
takes raw strings (`Translator`, `AspectSentimentModule`,
`SentencePairModule`) and `export_module`, which writes any of them.

A crash or a kill while writing never leaves a half-written model where a
good one was: everything is written to a temporary sibling first and then
moved into place with `os.replace` (atomic on POSIX for a file, and for a
directory when the target does not exist; an existing directory is first
moved aside and removed only after the new one is in place).
"""

import contextlib
import functools
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo.data import aspect_text


@contextlib.contextmanager
def atomic_directory(path):
    """Yields a temporary directory that replaces `path` on success.

    On an exception the temporary directory is removed and `path` is left
    as it was.

    Examples:
    >>> with atomic_directory("runs/x/saved_model") as tmp:
    ...     tf.saved_model.save(module, tmp)
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if os.path.exists(path):
        old = tempfile.mkdtemp(
            prefix=f".{os.path.basename(path)}.old.", dir=parent
        )
        os.rmdir(old)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path, suffix=""):
    """Yields a temporary file name that replaces `path` on success.

    Args:
        path (str): Final file name.
        suffix (str): Suffix of the temporary name (Keras insists on
            `.keras` for `model.save`).
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=suffix, dir=parent
    )
    os.close(fd)
    try:
        yield tmp
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)


# Characters of a request read per token of a model's maximum input length.
# Tokenizing is linear in the text, so without a cut one 10,000-character
# string made a batch take 32 s; 16 characters a token is far more than a
# sentence that fits the maximum needs (words average 5-6, CJK 1).
CHARACTERS_PER_TOKEN = 16


def bound_text(text, max_tokens):
    """Bounds the work one request can cause, before tokenization.

    Returns `(text, cut)`: `text` as valid UTF-8 (invalid bytes become
    U+FFFD) and cut to `CHARACTERS_PER_TOKEN * max_tokens` characters, and
    a boolean per string, True where the cut removed something.
    """
    text = tf.strings.unicode_transcode(
        text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    limit = CHARACTERS_PER_TOKEN * max_tokens
    cut = tf.strings.length(text, unit="UTF8_CHAR") > limit
    return tf.strings.substr(text, 0, limit, unit="UTF8_CHAR"), cut


def bound_pair(first, second, max_tokens, names):
    """`bound_text` for the two inputs of a signature, after checking they
    hold as many strings: otherwise an `InvalidArgumentError` that names
    both (not a shape error deep in the model).

    Returns `(first, first_cut, second, second_cut)`.
    """
    same = tf.debugging.assert_equal(
        tf.shape(first)[0],
        tf.shape(second)[0],
        message=f"{names[0]} and {names[1]} must hold the same number of "
        "strings (one pair per row)",
    )
    with tf.control_dependencies([same]):
        first, first_cut = bound_text(first, max_tokens[0])
        second, second_cut = bound_text(second, max_tokens[1])
    return first, first_cut, second, second_cut


def save_keras(model, path):
    """Saves `model` to the `.keras` file `path` atomically."""
    if not str(path).endswith(".keras"):
        raise ValueError(
            f"A Keras model file must end in .keras; got {path!r}."
        )
    with atomic_file(path, suffix=".keras") as tmp:
        model.save(tmp)


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


class Translator(tf.Module):
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
        **search_options,
    ):
        super().__init__(name="translator")
        self.model = model
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
        max_length = tf.minimum(
            2 * tf.shape(source)[1] + 10, self.max_output_length
        )
        out = self.model.generate(
            source,
            max_length=max_length,
            beam_width=self.beam_width,
            length_penalty=self.length_penalty,
            **dict(self._search_options),
        )
        return source, truncated, out

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
        **search_options,
    ):
        self.model = model
        self._source = source_tokenizer
        self._target = target_tokenizer
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.max_source_length = max_source_length
        self.max_output_length = max_output_length
        self._search = backend_function(
            model,
            lambda source, max_length: model.generate(
                source,
                max_length=max_length,
                beam_width=beam_width,
                length_penalty=length_penalty,
                **search_options,
            ),
            static_argnums=(1,),
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
        max_length = min(2 * source.shape[1] + 10, self.max_output_length)
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


def translate_corpus(translator, sources, batch_size=64):
    """Translates a list of strings in length-sorted batches.

    Args:
        translator (Translator): The in-graph translator.
        sources (list[str]): Sentences.
        batch_size (int): Sentences per call.

    Returns:
        `(translations, seconds)`: strings in the order of `sources`, and
        the wall time spent.
    """
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    translations = [None] * len(sources)
    start = time.perf_counter()
    for offset in range(0, len(sources), batch_size):
        index = order[offset : offset + batch_size]
        result = translator.translate(tf.constant([sources[i] for i in index]))
        for i, sentence in zip(index, result["translation"].numpy()):
            translations[i] = sentence.decode("utf-8")
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
    signatures = {
        "serving_default": translator.translate.get_concrete_function(),
        "n_best": translator.translate_n_best.get_concrete_function(),
    }
    with atomic_directory(path) as tmp:
        tf.saved_model.save(translator, tmp, signatures=signatures)
    return translator


def export_module(module, path):
    """Writes a serving module as a SavedModel to `path`, atomically.

    `module` is one of this module's three: its `serving_default`
    tf.function (the `Translator`'s `translate`) becomes the SavedModel's
    `serving_default` signature. Returns the path.
    """
    function = getattr(module, "serving_default", None) or module.translate
    signature = function.get_concrete_function()
    with atomic_directory(path) as tmp:
        tf.saved_model.save(
            module, tmp, signatures={"serving_default": signature}
        )
    return path


class AspectSentimentModule(tf.Module):
    """String in, sentiment out: the exported serving graph.

    `serving_default(sentence, aspect)` takes two 1-D string tensors of the
    same length and returns a dict: `probabilities` float32
    `(batch_size, num_classes)`, `label` string `(batch_size,)` and
    `attention` float32 `(batch_size, N)` over the sentence tokens (as
    `split_words` gives them, cut to `max_length`; zeros for the models
    without attention), and `truncated` bool `(batch_size,)`: True where the
    sentence had more than `max_length` tokens (or `16 * max_length`
    characters, the most read) or the aspect more than
    `max_aspect_length`. Empty sentences, aspects absent from the sentence,
    unseen words (id 1), invalid UTF-8 and over-long text all get an
    answer, in bounded time; inputs of different lengths get an
    `InvalidArgumentError` that says so.

    Args:
        model: A trained `s2s_zoo.models.ATAELSTM`.
        vocabulary (Vocabulary): Sentence words.
        aspect_vocabulary (Vocabulary): Aspect tokens.
        label_names (list[str]): Class names by label id.
        level (str): `"term"` or `"category"`, how aspects are tokenized.
        max_length (int): Most sentence tokens read. Default 100.
        max_aspect_length (int): Most aspect tokens read. Default 16.
    """

    def __init__(
        self,
        model,
        vocabulary,
        aspect_vocabulary,
        label_names,
        level,
        max_length=100,
        max_aspect_length=16,
    ):
        super().__init__()
        self.model = model
        self.word_table = vocabulary.table()
        self.aspect_table = aspect_vocabulary.table()
        self.label_names = tf.constant(list(label_names), tf.string)
        self.level = level
        self.max_length = max_length
        self.max_aspect_length = max_aspect_length

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="sentence"),
            tf.TensorSpec([None], tf.string, name="aspect"),
        ],
        autograph=False,
    )
    def serving_default(self, sentence, aspect):
        inputs, truncated = self._prepare(sentence, aspect)
        logits, attention = self.model.call_with_attention(inputs)
        return self._finish(logits, attention, truncated)

    def _prepare(self, sentence, aspect):
        sentence, cut, aspect, aspect_cut = bound_pair(
            sentence,
            aspect,
            (self.max_length, self.max_aspect_length),
            ("sentence", "aspect"),
        )
        words = aspect_text.split_words(sentence)
        aspect_words = aspect_text.aspect_tokens(aspect, self.level)
        truncated = (
            cut
            | aspect_cut
            | (words.row_lengths() > self.max_length)
            | (aspect_words.row_lengths() > self.max_aspect_length)
        )
        token_ids = aspect_text.encode(words, self.word_table, self.max_length)
        aspect_token_ids = aspect_text.encode(
            aspect_words, self.aspect_table, self.max_aspect_length
        )
        inputs = {"token_ids": token_ids, "aspect_token_ids": aspect_token_ids}
        return inputs, truncated

    def _finish(self, logits, attention, truncated):
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        label = tf.gather(self.label_names, tf.argmax(probabilities, -1))
        return {
            "probabilities": probabilities,
            "label": label,
            "attention": tf.cast(attention, tf.float32),
            "truncated": truncated,
        }

    def serve(self, sentence, aspect):
        """`serving_default` on any Keras backend (see `BackendServing`)."""
        if keras.backend.backend() == "tensorflow":
            return self.serving_default(sentence, aspect)
        return self._backend.serve(sentence, aspect)

    @functools.cached_property
    def _backend(self):
        return BackendServing(self, self.model.call_with_attention)


class SentencePairModule(tf.Module):
    """Two strings in, a match score out: the exported sentence-pair graph.

    `serving_default(sentence1, sentence2)` takes two 1-D string tensors
    and returns `score`: the probability of the positive class (answer
    selection, paraphrase) or, for a 3-way model, that of the predicted
    label, with `probabilities` and `label` as well. The model returns
    logits; the sigmoid or softmax is applied here. Tokenization
    (`s2s_zoo.data.sentence_pairs.PairTokenizer`) runs inside the graph,
    on text made valid UTF-8 and cut to 16 characters per token of the
    model's sentence length; `truncated` (bool per pair) is True where
    either sentence was longer than the model reads. Inputs holding
    different numbers of strings get an `InvalidArgumentError` that says
    so.

    Args:
        model: A trained `s2s_zoo.models.ABCNN`.
        tokenizer: Its `PairTokenizer`.
        label_names (tuple[str]): Names of a 3-way model's classes.
    """

    def __init__(self, model, tokenizer, label_names=()):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.three_way = model.head == "softmax"
        self.label_names = tf.constant(list(label_names) or [""], tf.string)
        self.length_1 = model.sequence_length_1
        self.length_2 = model.sequence_length_2

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="sentence1"),
            tf.TensorSpec([None], tf.string, name="sentence2"),
        ],
        autograph=False,
    )
    def serving_default(self, sentence1, sentence2):
        inputs, truncated = self._prepare(sentence1, sentence2)
        return self._finish(self.model(inputs, training=False), truncated)

    def _prepare(self, sentence1, sentence2):
        sentence1, cut_1, sentence2, cut_2 = bound_pair(
            sentence1,
            sentence2,
            (self.length_1, self.length_2),
            ("sentence1", "sentence2"),
        )
        ids_1, long_1 = self.tokenizer.encode(sentence1, self.length_1)
        ids_2, long_2 = self.tokenizer.encode(sentence2, self.length_2)
        inputs = {"token_ids_1": ids_1, "token_ids_2": ids_2}
        return inputs, cut_1 | cut_2 | long_1 | long_2

    def _finish(self, logits, truncated):
        logits = tf.cast(logits, tf.float32)
        if not self.three_way:
            return {"score": tf.sigmoid(logits), "truncated": truncated}
        probabilities = tf.nn.softmax(logits, axis=-1)
        return {
            "score": tf.reduce_max(probabilities, axis=-1),
            "probabilities": probabilities,
            "label": tf.gather(self.label_names, tf.argmax(logits, axis=-1)),
            "truncated": truncated,
        }

    def serve(self, sentence1, sentence2):
        """`serving_default` on any Keras backend (see `BackendServing`)."""
        if keras.backend.backend() == "tensorflow":
            return self.serving_default(sentence1, sentence2)
        return self._backend.serve(sentence1, sentence2)

    @functools.cached_property
    def _backend(self):
        return BackendServing(
            self, lambda inputs: (self.model(inputs, training=False),)
        )


class BackendServing:
    """A serving module's `serving_default` on the running Keras backend.

    On TensorFlow it is `serving_default` itself, one graph. Elsewhere the
    module's string work (`_prepare`, `_finish`) still runs as TensorFlow
    ops, traced once, and only `model_fn(inputs) -> tuple of outputs`
    runs on the backend (compiled with `jax.jit` on JAX, see
    `backend_function`); the outputs are the same TensorFlow tensors.
    """

    def __init__(self, module, model_fn):
        self.module = module
        self.model_fn = backend_function(module.model, model_fn)
        self.prepare = tf.function(module._prepare, autograph=False)

    def serve(self, *text):
        inputs, truncated = self.prepare(*text)
        inputs = {k: v.numpy() for k, v in inputs.items()}
        outputs = [tf.constant(np.asarray(x)) for x in self.model_fn(inputs)]
        return self.module._finish(*outputs, truncated)


def backend_function(model, fn, static_argnums=()):
    """`fn(*args)`, which calls `model`, compiled for the running backend.

    On JAX it is `jax.jit`-compiled with the model's weights passed in as
    arguments at each call (so a model still being trained is read as it
    is now, and the weights are not folded into the program as
    constants); `static_argnums` are Python values the program depends on
    (a maximum length). On other backends it is `fn` itself.
    """
    if keras.backend.backend() != "jax":
        return fn
    import jax

    variables = list(model.variables)

    def stateless(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return tuple(fn(*args))

    compiled = jax.jit(
        stateless, static_argnums=tuple(1 + i for i in static_argnums)
    )

    def call(*args):
        return compiled([v.value for v in variables], *args)

    return call
