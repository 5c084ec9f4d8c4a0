"""Saving: `.keras` files and SavedModels, each written atomically.

A crash or a kill while writing never leaves a half-written model where a
good one was: everything is written to a temporary sibling first and then
moved into place with `os.replace` (atomic on POSIX for a file, and for a
directory when the target does not exist; an existing directory is first
moved aside and removed only after the new one is in place).
"""

import contextlib
import os
import shutil
import tempfile
import time

import tensorflow as tf


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


def save_keras(model, path):
    """Saves `model` to the `.keras` file `path` atomically."""
    if not str(path).endswith(".keras"):
        raise ValueError(
            f"A Keras model file must end in .keras; got {path!r}."
        )
    with atomic_file(path, suffix=".keras") as tmp:
        model.save(tmp)


class Translator(tf.Module):
    """Raw strings in, translations out: tokenize, beam search, detokenize.

    Everything runs inside the TensorFlow graph, so the exported SavedModel
    needs neither s2s_zoo nor Keras to serve; only `tensorflow` and
    `tensorflow_text` (whose import registers the text ops).

    Inputs are stripped of control characters by the tokenizer, cut to
    `max_source_length` tokens, and a batch in which every string is empty
    or unknown still gets one (padding) position, so any string gets an
    answer (possibly empty) instead of an error.

    Args:
        model: A `s2s_zoo.models.Seq2SeqModel`.
        source_tokenizer, target_tokenizer: `s2s_zoo.data.translation.
            Tokenizer`s the model was trained with.
        beam_width (int): Beams; 1 for greedy.
        length_penalty (float): GNMT alpha.
        max_source_length (int): Longer inputs are truncated.
        max_output_length (int): Most output tokens.
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

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name="text")]
    )
    def translate(self, text):
        source = self._source.tokenize(text)[:, : self.max_source_length]
        source = source.to_tensor(default_value=0)
        # An all-empty batch tokenizes to (batch, 0): give it one position.
        source = tf.pad(
            source, [[0, 0], [0, tf.maximum(1 - tf.shape(source)[1], 0)]]
        )
        max_length = tf.minimum(
            2 * tf.shape(source)[1] + 10, self.max_output_length
        )
        out = self.model.generate(
            source,
            max_length=max_length,
            beam_width=self.beam_width,
            length_penalty=self.length_penalty,
        )
        best_ids = out.token_ids[:, 0]
        translation = self._target.detokenize(best_ids)
        return {
            "translation": translation,
            "score": out.scores[:, 0],
            "attention": out.attention[:, 0],
        }


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
    (`tf.string`), `score` and `attention` `(batch, output_len, source_len)`.

    Keyword arguments go to `Translator`. Returns the `Translator`.

    Examples:
    >>> loaded = tf.saved_model.load(path)
    >>> serve = loaded.signatures["serving_default"]
    >>> serve(text=tf.constant(["我喜欢中国美食"]))["translation"]
    """
    translator = Translator(model, source_tokenizer, target_tokenizer, **kwargs)
    signature = translator.translate.get_concrete_function()
    with atomic_directory(path) as tmp:
        tf.saved_model.save(
            translator, tmp, signatures={"serving_default": signature}
        )
    return translator
