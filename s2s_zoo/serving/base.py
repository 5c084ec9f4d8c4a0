"""What every serving module shares: bounded string inputs, one way to
run on any Keras backend, and one way to be written as a SavedModel.

A serving module is a `tf.Module` whose `serving_default` takes raw
strings and runs tokenization, the model and the post-processing inside
one TensorFlow graph, so the exported SavedModel needs only `tensorflow`
and `tensorflow_text` to serve. `ServingModule` is their base: a task's
module says how strings become model inputs (`_prepare`), what the model
returns (`_model_outputs`) and how outputs become answers (`_finish`);
the base runs them on TensorFlow as one graph and on JAX or PyTorch with
only the model on the backend (`BackendServing`), and writes the
SavedModel atomically (`export`).
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo.io import atomic_directory
from s2s_zoo.io import atomic_file

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


class ServingModule(tf.Module):
    """The base of the serving modules: `serve` on any backend, `export`.

    Subclasses define `serving_default` (a `tf.function` with a string
    `input_signature`), `_prepare(*text) -> (inputs, truncated)`,
    `_model_outputs(inputs) -> tuple` and `_finish(*outputs, truncated)`.
    """

    def _model_outputs(self, inputs):
        raise NotImplementedError

    def signatures(self):
        """The SavedModel's signatures: `serving_default` by default."""
        return {"serving_default": self.serving_default.get_concrete_function()}

    def serve(self, *text):
        """`serving_default` on any Keras backend (see `BackendServing`)."""
        if keras.backend.backend() == "tensorflow":
            return self.serving_default(*text)
        return self._backend.serve(*text)

    @functools.cached_property
    def _backend(self):
        return BackendServing(self, self._model_outputs)

    def export(self, path):
        """Writes this module as a SavedModel to `path`, atomically;
        returns the path."""
        signatures = self.signatures()
        with atomic_directory(path) as tmp:
            tf.saved_model.save(self, tmp, signatures=signatures)
        return path


def export_module(module, path):
    """Writes a serving module as a SavedModel to `path`, atomically
    (`module.export(path)`). Returns the path."""
    return module.export(path)


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
