"""Text to ids for aspect-level sentiment, in TensorFlow graph ops.

The same functions turn text into ids during training (eagerly) and inside
the exported SavedModel, so serving cannot drift from training:

- `split_words`: lowercase, split on whitespace, keep every punctuation or
  symbol character as its own token (`tensorflow_text.regex_split`).
- `aspect_tokens`: an aspect term is split like the sentence; a category
  (`"anecdotes/miscellaneous"`) is one token.
- `Vocabulary`: words by id, 0 = `[PAD]`, 1 = `[UNK]`; `encode` maps a
  batch of token lists to right-padded ids with a `tf.lookup` table.

The serving graph that runs them on raw strings is
`s2s_zoo.serving.AspectSentimentModule`.
"""

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from s2s_zoo.data import vocabulary as vocabulary_files
from s2s_zoo.data.pipelines import without_autotuning
from s2s_zoo.data.splits import epoch_permutation
from s2s_zoo.data.vocabulary import PADDING_ID
from s2s_zoo.data.vocabulary import PADDING_TOKEN
from s2s_zoo.data.vocabulary import UNKNOWN_ID
from s2s_zoo.data.vocabulary import UNKNOWN_TOKEN

_PUNCTUATION = r"[\p{P}\p{S}]"
_DELIMITERS = r"\s+|" + _PUNCTUATION


def split_words(texts):
    """Lowercased word and punctuation tokens, `(batch_size, None)` ragged.

    Examples:
    >>> split_words(["The pizza's great!"]).to_list()
    [[b'the', b'pizza', b"'", b's', b'great', b'!']]
    """
    texts = tf.strings.lower(tf.convert_to_tensor(texts, tf.string), "utf-8")
    return tf_text.regex_split(texts, _DELIMITERS, _PUNCTUATION)


def aspect_tokens(aspects, level):
    """Tokens of aspects: split like sentences (`"term"`) or one token.

    At the `"category"` level the whole lowercased, stripped category is a
    single token; an empty aspect has no token.

    Raises:
        ValueError: For an unknown `level`.
    """
    if level == "term":
        return split_words(aspects)
    if level != "category":
        raise ValueError(
            f"level must be 'term' or 'category'; received {level!r}."
        )
    aspects = tf.strings.strip(
        tf.strings.lower(tf.convert_to_tensor(aspects, tf.string), "utf-8")
    )
    lengths = tf.cast(tf.strings.length(aspects) > 0, tf.int64)
    return tf.RaggedTensor.from_row_lengths(
        tf.boolean_mask(aspects, lengths > 0), lengths
    )


def to_lists(tokens):
    """A ragged string tensor as Python lists of `str`."""
    return [[t.decode("utf-8") for t in row] for row in tokens.to_list()]


class Vocabulary:
    """Tokens by id: 0 is `[PAD]`, 1 is `[UNK]`, then the rest.

    Args:
        tokens (list[str]): All tokens by id, the two reserved ones first.

    Raises:
        ValueError: If the reserved tokens are not first, or a token
            repeats.
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tokens[:2] != [PADDING_TOKEN, UNKNOWN_TOKEN]:
            raise ValueError(
                f"A vocabulary starts with {PADDING_TOKEN!r}, "
                f"{UNKNOWN_TOKEN!r}; received {tokens[:2]!r}."
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError("A vocabulary must not repeat a token.")
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def build(cls, token_lists, min_count=1):
        """Tokens seen at least `min_count` times, most frequent first.

        Ties are broken alphabetically, so the result is deterministic.
        """
        counts = {}
        for tokens in token_lists:
            for token in tokens:
                counts[token] = counts.get(token, 0) + 1
        kept = sorted(
            (t for t, c in counts.items() if c >= min_count),
            key=lambda t: (-counts[t], t),
        )
        reserved = {PADDING_TOKEN, UNKNOWN_TOKEN}
        return cls(
            [PADDING_TOKEN, UNKNOWN_TOKEN]
            + [t for t in kept if t not in reserved]
        )

    def __len__(self):
        return len(self.tokens)

    def table(self):
        """A `tf.lookup.StaticHashTable` token -> id (unknown -> 1)."""
        return tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.tokens, tf.string),
                tf.range(len(self.tokens), dtype=tf.int64),
            ),
            default_value=UNKNOWN_ID,
        )

    def save(self, directory, name):
        """Writes `name.vocab` and `name.json` (`s2s_zoo.data.vocabulary`)."""
        vocabulary_files.save(directory, name, self.tokens, kind="words")

    @classmethod
    def load(cls, directory, name):
        tokens, _ = vocabulary_files.load(directory, name)
        return cls(tokens)


def encode(tokens, table, max_length=None):
    """Right-padded int32 ids `(batch_size, max(1, longest))` of `tokens`.

    Works eagerly and inside a `tf.function`. Rows longer than
    `max_length` are cut. At least one column is returned, so a batch of
    empty strings gives `(batch_size, 1)` zeros rather than
    `(batch_size, 0)`.
    """
    ids = table.lookup(tokens)
    if max_length is not None:
        ids = ids[:, :max_length]
    dense = tf.cast(ids.to_tensor(default_value=PADDING_ID), tf.int32)
    width = tf.shape(dense)[1]
    return tf.pad(dense, [[0, 0], [0, tf.maximum(1 - width, 0)]])


def encode_numpy(tokens, vocabulary, max_length=None):
    """Like `encode`, for Python token lists, as a NumPy array."""
    index = vocabulary.index
    rows = [[index.get(t, UNKNOWN_ID) for t in row] for row in tokens]
    if max_length is not None:
        rows = [row[:max_length] for row in rows]
    width = max([1] + [len(row) for row in rows])
    out = np.zeros((len(rows), width), dtype="int32")
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def aspect_dataset(
    inputs, labels=None, batch_size=25, shuffle=False, seed=0, epochs=None
):
    """A `tf.data.Dataset` of batches, each cut to its own longest row.

    Padding every batch to the longest sentence of the data set would make
    the LSTM run ~5x more steps on SemEval restaurants; cutting per batch
    changes no result (padding is masked) and keeps training fast. The
    time axes have shape `None`, so any batch width is accepted.

    Args:
        inputs (dict): Arrays `(num_examples, T)` (e.g. `token_ids`,
            `aspect_token_ids`), right-padded with 0.
        labels: Optional int array `(num_examples,)`.
        batch_size (int): Default 25, the paper's.
        shuffle (bool): Reshuffle every epoch. Default False.
        seed (int): Seed of the shuffling.
        epochs (range): With `shuffle`, the epochs (0-based) to produce,
            one after another, each in an order drawn from `(seed, epoch)`
            alone: a run resumed
            at epoch k (`range(k, total)`) sees what the uninterrupted run
            saw there. Fit it with `steps_per_epoch=dataset_steps(...)`.
            None: one epoch, reshuffled at each pass, in an order that
            depends on how many passes came before.

    Returns:
        Batches `inputs` or `(inputs, labels)`.
    """

    def trim(array):
        lengths = tf.reduce_sum(tf.cast(array != PADDING_ID, tf.int32), 1)
        width = tf.maximum(tf.reduce_max(lengths), 1)
        return array[:, :width]

    def trim_all(batch, *rest):
        batch = {k: trim(v) for k, v in batch.items()}
        return (batch, *rest) if rest else batch

    inputs = {k: np.asarray(v, "int32") for k, v in inputs.items()}
    elements = inputs if labels is None else (inputs, np.asarray(labels))
    size = len(next(iter(inputs.values())))
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle and epochs is not None:
        tensors = tf.nest.map_structure(tf.constant, elements)

        def epoch_order(epoch):
            order = epoch_permutation(size, seed, epoch)
            shuffled = tf.nest.map_structure(
                lambda t: tf.gather(t, order), tensors
            )
            return tf.data.Dataset.from_tensor_slices(shuffled).batch(
                batch_size
            )

        epochs = tf.data.Dataset.range(epochs.start, epochs.stop)
        return without_autotuning(epochs.flat_map(epoch_order).map(trim_all))
    if shuffle:
        dataset = dataset.shuffle(
            size, seed=seed, reshuffle_each_iteration=True
        )

    return without_autotuning(dataset.batch(batch_size).map(trim_all))


def dataset_steps(num_examples, batch_size):
    """Batches in one epoch of `aspect_dataset`."""
    return -(-num_examples // batch_size)
