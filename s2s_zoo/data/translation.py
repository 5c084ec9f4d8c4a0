"""Parallel text for translation: readers, tokenizers, splits, tf.data.

- Readers for the Tatoeba / manythings.org TSV format (2 or 3 columns:
  English, the other language, optional attribution) and for plain parallel
  text files (line i of one file translates line i of the other). A
  malformed row raises `DataFormatError` naming the file and the line.
- Tokenizers that run inside a TensorFlow graph (so a SavedModel can take
  raw strings): WordPiece (`keras_hub.tokenizers.WordPieceTokenizer`, with
  every CJK character its own word), characters, and SentencePiece unigram
  or BPE models (trained with the `sentencepiece` package, run by
  `keras_hub.tokenizers.SentencePieceTokenizer`, i.e. tensorflow-text's
  `SentencepieceTokenizer`). All share the reserved ids `[PAD]=0,
  [UNK]=1, [START]=2, [END]=3` the models expect.
- A deterministic train / dev / test split that keeps every translation
  of one source sentence in the same split.
- tf.data pipelines that bucket by length and pad each batch only to its
  own longest sequence.
"""

import collections
import os

import keras
import keras_hub
import tensorflow as tf

from s2s_zoo.data import splits
from s2s_zoo.data import vocabulary as vocabulary_files
from s2s_zoo.data.pipelines import without_autotuning
from s2s_zoo.data.translation_files import DataFormatError  # noqa: F401
from s2s_zoo.data.translation_files import read_parallel_files  # noqa: F401
from s2s_zoo.data.translation_files import read_tsv_pairs  # noqa: F401
from s2s_zoo.data.vocabulary import END_ID
from s2s_zoo.data.vocabulary import END_TOKEN
from s2s_zoo.data.vocabulary import PADDING_ID
from s2s_zoo.data.vocabulary import PADDING_TOKEN
from s2s_zoo.data.vocabulary import START_ID
from s2s_zoo.data.vocabulary import START_TOKEN
from s2s_zoo.data.vocabulary import UNKNOWN_ID
from s2s_zoo.data.vocabulary import UNKNOWN_TOKEN
from s2s_zoo.io import atomic_file

RESERVED_TOKENS = [PADDING_TOKEN, UNKNOWN_TOKEN, START_TOKEN, END_TOKEN]
TOKENIZER_KINDS = (
    "wordpiece",
    "character",
    "sentencepiece_unigram",
    "sentencepiece_bpe",
)
#: The SentencePiece kinds and the `model_type` each trains.
SENTENCEPIECE_TYPES = {
    "sentencepiece_unigram": "unigram",
    "sentencepiece_bpe": "bpe",
}


#: Language codes written without spaces between words.
UNSPACED_LANGUAGES = ("zh", "cmn", "ja", "jpn")


def default_tokenizer_kind(lang):
    """Characters for Chinese and Japanese (no spaces), WordPiece otherwise."""
    return "character" if lang in UNSPACED_LANGUAGES else "wordpiece"


def character_coverage(lang):
    """SentencePiece's advised `character_coverage`: 0.9995 for Chinese and
    Japanese (thousands of characters, the rarest left `[UNK]`), 1.0
    otherwise."""
    return 0.9995 if lang in UNSPACED_LANGUAGES else 1.0


# === Splits ===


def split_pairs(pairs, dev_fraction=0.04, test_fraction=0.04):
    """Splits pairs deterministically into train, dev and test.

    The split of a pair is decided by a hash of its SOURCE sentence
    (`s2s_zoo.data.splits.hash_split`), so it does not depend on the file
    order or on Python's hash seed, and all translations of one source
    sentence land in the same split: no test source is ever seen in
    training.

    Returns:
        A dict with keys `"train"`, `"dev"`, `"test"`, each a list of pairs.
    """
    train, test, dev = splits.hash_split(
        [source for source, _ in pairs], [test_fraction, dev_fraction]
    )
    return {
        "train": [pairs[i] for i in train],
        "dev": [pairs[i] for i in dev],
        "test": [pairs[i] for i in test],
    }


def group_references(pairs):
    """Groups pairs by source: `(sources, [[reference, ...], ...])`.

    Tatoeba often has several translations of one sentence; BLEU takes them
    all as references.
    """
    grouped = collections.OrderedDict()
    for source, target in pairs:
        grouped.setdefault(source, []).append(target)
    return list(grouped), list(grouped.values())


# === Tokenizers ===


def _check_reserved(vocabulary):
    if list(vocabulary[:4]) != RESERVED_TOKENS:
        raise ValueError(
            f"vocabulary must start with {RESERVED_TOKENS}; got "
            f"{list(vocabulary[:4])}."
        )


def _check_kind(kind):
    if kind not in TOKENIZER_KINDS:
        raise ValueError(
            f"Unknown tokenizer kind {kind!r}; valid: {TOKENIZER_KINDS}."
        )


class CharacterTokenizer(keras.layers.Layer):
    """One token per Unicode character (spaces included), in-graph.

    Ids follow `vocabulary` (which starts with the reserved tokens);
    characters not in it map to `[UNK]`.
    """

    def __init__(self, vocabulary, lowercase=False, **kwargs):
        super().__init__(**kwargs)
        _check_reserved(vocabulary)
        self.vocabulary = list(vocabulary)
        self.lowercase = lowercase
        self._lookup = keras.layers.StringLookup(
            vocabulary=self.vocabulary[2:],
            mask_token=PADDING_TOKEN,
            oov_token=UNKNOWN_TOKEN,
            output_mode="int",
        )
        self._inverse = tf.constant(self.vocabulary)

    def tokenize(self, inputs):
        inputs = tf.convert_to_tensor(inputs)
        if self.lowercase:
            inputs = tf.strings.lower(inputs, encoding="utf-8")
        chars = tf.strings.unicode_split(inputs, "UTF-8")
        return tf.cast(tf.ragged.map_flat_values(self._lookup, chars), "int32")

    def detokenize(self, inputs):
        if not isinstance(inputs, tf.RaggedTensor):
            inputs = tf.RaggedTensor.from_tensor(inputs, padding=PADDING_ID)
        tokens = tf.gather(self._inverse, inputs)
        return tf.strings.reduce_join(tokens, axis=-1)

    def vocabulary_size(self):
        return len(self.vocabulary)

    def get_vocabulary(self):
        return list(self.vocabulary)

    def call(self, inputs):
        return self.tokenize(inputs)


def _clean_spacing(text):
    """Undoes WordPiece's spaces around punctuation and between CJK chars."""
    text = tf.strings.regex_replace(
        text, r" ([.,!?;:%)\]}。，！？；：、」』）])", r"\1"
    )
    text = tf.strings.regex_replace(text, r"([(\[{¿¡「『（]) ", r"\1")
    text = tf.strings.regex_replace(text, r"(\w) ' (\w)", r"\1'\2")
    text = tf.strings.regex_replace(text, r"(\w) - (\w)", r"\1-\2")
    cjk = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}。，！？；：、]"
    for _ in range(2):  # overlapping pairs need a second pass
        text = tf.strings.regex_replace(text, f"({cjk}) ({cjk})", r"\1\2")
    return text


class Tokenizer:
    """A vocabulary plus an in-graph tokenizer, saved beside the model.

    Args:
        vocabulary (list[str]): Tokens by id; starts with `RESERVED_TOKENS`.
        kind (str): One of `TOKENIZER_KINDS`.
        lowercase (bool): Lowercase before tokenizing.
        proto (bytes): The SentencePiece model (`ModelProto`), for the
            SentencePiece kinds; its pieces must be `vocabulary`.
    """

    def __init__(
        self, vocabulary, kind="wordpiece", lowercase=False, proto=None
    ):
        _check_kind(kind)
        _check_reserved(vocabulary)
        self.vocabulary = list(vocabulary)
        self.kind = kind
        self.lowercase = lowercase
        self.proto = proto
        if kind in SENTENCEPIECE_TYPES:
            if proto is None:
                raise ValueError(f"A {kind} tokenizer needs its model (proto).")
            self.layer = keras_hub.tokenizers.SentencePieceTokenizer(
                proto=proto, dtype="int32"
            )
            model = self.layer._sentence_piece  # tf-text's tokenizer
            model._model_resource = _shared_sentencepiece_model(proto)
            pieces = self.layer.get_vocabulary()
            if pieces != self.vocabulary:
                raise ValueError(
                    f"The {kind} model holds {len(pieces)} pieces that are "
                    f"not the {len(self.vocabulary)} tokens of its "
                    "vocabulary file; the two must come from one training."
                )
        elif kind == "wordpiece":
            self.layer = keras_hub.tokenizers.WordPieceTokenizer(
                vocabulary=self.vocabulary,
                lowercase=lowercase,
                strip_accents=False,
                split_on_cjk=True,
                oov_token="[UNK]",
            )
        else:
            self.layer = CharacterTokenizer(self.vocabulary, lowercase)

    @classmethod
    def train(
        cls,
        texts,
        kind="wordpiece",
        vocabulary_size=8000,
        lowercase=False,
        character_coverage=1.0,
    ):
        """Learns a vocabulary of at most `vocabulary_size` tokens.

        `character_coverage` is the SentencePiece kinds' share of the
        characters (by count) that must be pieces of their own; the rest
        become `[UNK]`. SentencePiece advises 0.9995 for Chinese and
        Japanese, 1.0 for small alphabets.
        """
        _check_kind(kind)
        texts = list(texts)
        if kind in SENTENCEPIECE_TYPES:
            proto = train_sentencepiece(
                [t.lower() for t in texts] if lowercase else texts,
                SENTENCEPIECE_TYPES[kind],
                vocabulary_size,
                character_coverage,
            )
            return cls(
                sentencepiece_pieces(proto),
                kind=kind,
                lowercase=lowercase,
                proto=proto,
            )
        if kind == "wordpiece":
            vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
                without_autotuning(
                    tf.data.Dataset.from_tensor_slices(texts).batch(1024)
                ),
                vocabulary_size,
                lowercase=lowercase,
                strip_accents=False,
                split_on_cjk=True,
                reserved_tokens=RESERVED_TOKENS,
            )
        else:
            counts = collections.Counter()
            for text in texts:
                counts.update(text.lower() if lowercase else text)
            size = vocabulary_size - len(RESERVED_TOKENS)
            vocabulary = RESERVED_TOKENS + [
                c for c, _ in counts.most_common(size)
            ]
        return cls(vocabulary, kind=kind, lowercase=lowercase)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def tokenize(self, texts):
        """Strings `(batch,)` to a ragged int32 tensor of ids."""
        return self._tokenize(tf.convert_to_tensor(texts, tf.string))

    # keras_hub tokenizers take a pure-Python path in eager mode; inside a
    # tf.function they run the TensorFlow ops a SavedModel carries, so
    # eager calls go through the same graph path.
    @tf.function(reduce_retracing=True, autograph=False)
    def _tokenize(self, texts):
        if self.lowercase and self.kind in SENTENCEPIECE_TYPES:
            texts = tf.strings.lower(texts, encoding="utf-8")
        return tf.cast(self.layer.tokenize(texts), "int32")

    def detokenize(self, ids):
        """Ids (dense, 0-padded, or ragged) to strings; special tokens
        dropped and WordPiece's spacing undone."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(tf.convert_to_tensor(ids))
        return self._detokenize(tf.cast(ids, "int32"))

    @tf.function(reduce_retracing=True, autograph=False)
    def _detokenize(self, ids):
        ids = tf.ragged.boolean_mask(ids, ids > END_ID)
        text = self.layer.detokenize(ids)
        if self.kind == "wordpiece":
            text = _clean_spacing(text)
        return tf.strings.strip(text)

    def save(self, directory, name):
        """Writes `name.vocab` and `name.json` (`s2s_zoo.data.vocabulary`),
        and for SentencePiece its model as `name.model`."""
        if self.proto is not None:
            os.makedirs(directory, exist_ok=True)
            with atomic_file(os.path.join(directory, f"{name}.model")) as tmp:
                with open(tmp, "wb") as f:
                    f.write(self.proto)
        vocabulary_files.save(
            directory,
            name,
            self.vocabulary,
            kind=self.kind,
            lowercase=self.lowercase,
        )

    @classmethod
    def load(cls, directory, name):
        vocabulary, options = vocabulary_files.load(directory, name)
        if options.get("kind") in SENTENCEPIECE_TYPES:
            path = os.path.join(directory, f"{name}.model")
            if not os.path.exists(path):
                raise FileNotFoundError(
                    f"No SentencePiece model {path!r}: a {options['kind']} "
                    "tokenizer is saved as NAME.vocab, NAME.json and "
                    "NAME.model."
                )
            with open(path, "rb") as f:
                options["proto"] = f.read()
        return cls(vocabulary, **options)


def _shared_sentencepiece_model(proto):
    """tf-text's SentencePiece model resource, under a shared name.

    tf-text's own resource is private to the op kernel that made it, and
    eager TensorFlow drops every cached kernel when the global seed is set
    (`tf.random.set_seed`, which `keras.utils.set_random_seed` and our
    per-epoch seeds call): a tokenizer made before that then fails with
    "Resource ... SentencepieceResource does not exist". Under a shared
    name the resource outlives the kernel; the name is the model's hash,
    so equal models share one resource and different ones never do.
    (tf-text's own TODO, b/318839908, plans a ref-counted resource.)
    """
    import hashlib

    from tensorflow_text.python.ops import sentencepiece_tokenizer as tf_text

    shared_name = "s2s_zoo_sentencepiece_" + hashlib.sha256(proto).hexdigest()

    class SharedModel(tf_text._SentencepieceModelResource):
        def _create_resource(self):
            with tf.name_scope("SentenceTokenizerInitializer"):
                return tf_text.gen_sentencepiece_tokenizer.sentencepiece_op(
                    model=self._model, shared_name=shared_name
                )

    return SharedModel(proto, None)


def train_sentencepiece(texts, model_type, vocabulary_size, character_coverage):
    """Trains a SentencePiece model on `texts`; returns its serialized
    `ModelProto`, whose first four pieces are `RESERVED_TOKENS` (the ids
    every s2s_zoo model expects).

    The vocabulary may come out smaller than `vocabulary_size` when the
    texts hold fewer pieces (`hard_vocab_limit=False`); every sentence is
    read (no sampling), so the model depends on the texts alone.

    Raises:
        ValueError: When SentencePiece refuses the setting (it names why,
            e.g. a vocabulary smaller than the characters to cover).
    """
    import io

    import sentencepiece

    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            model_type=model_type,
            vocab_size=vocabulary_size,
            character_coverage=character_coverage,
            hard_vocab_limit=False,
            input_sentence_size=0,
            pad_id=PADDING_ID,
            unk_id=UNKNOWN_ID,
            bos_id=START_ID,
            eos_id=END_ID,
            pad_piece=PADDING_TOKEN,
            unk_piece=UNKNOWN_TOKEN,
            bos_piece=START_TOKEN,
            eos_piece=END_TOKEN,
            num_threads=os.cpu_count() or 1,
            minloglevel=2,
        )
    except RuntimeError as error:
        raise ValueError(
            f"SentencePiece ({model_type}, {vocabulary_size} pieces) could "
            f"not be trained on {len(texts)} sentences: {error}"
        ) from error
    return model.getvalue()


def sentencepiece_pieces(proto):
    """The pieces of a serialized SentencePiece model, by id."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


# === tf.data ===


def encode_pairs(pairs, source_tokenizer, target_tokenizer, max_length=None):
    """Tokenizes pairs; returns ragged `(source_ids, target_ids)`.

    Sequences are cut to `max_length` tokens (the target keeps room for
    `[END]`).
    """
    sources = [s for s, _ in pairs]
    targets = [t for _, t in pairs]
    source_ids = source_tokenizer.tokenize(sources)
    target_ids = target_tokenizer.tokenize(targets)
    if max_length is not None:
        source_ids = source_ids[:, :max_length]
        target_ids = target_ids[:, : max_length - 1]
    return source_ids, target_ids


def bucket_batch_sizes(boundaries, max_length, batch_size, batch_tokens):
    """Sentences per batch in each length bucket of `make_dataset`.

    A bucket holds the pairs whose longer side (the decoder's, with its
    start marker, or the source's) is below its boundary and at least the
    one before it; the last one everything longer, up to `max_length`
    (`encode_pairs` keeps at most `max_length` source tokens and
    `max_length - 1` target tokens, so the decoder reads at most
    `max_length`).
    Without `batch_tokens` every bucket takes `batch_size`.
    """
    if batch_tokens is None:
        return [batch_size] * (len(boundaries) + 1)
    longest = [edge - 1 for edge in boundaries] + [max_length]
    return [max(1, batch_tokens // length) for length in longest]


def make_dataset(
    source_ids,
    target_ids,
    batch_size=64,
    shuffle=False,
    seed=0,
    bucket_width=4,
    max_length=64,
    epochs=None,
    batch_tokens=None,
):
    """A batched `tf.data.Dataset` for teacher forcing.

    Elements are `({"encoder_token_ids", "decoder_token_ids"}, targets)`:
    the decoder reads `[START] y_1 .. y_n` and predicts `y_1 .. y_n [END]`.
    Sentences are bucketed by length (buckets `bucket_width` tokens wide) and
    each batch is padded with 0 only to its own longest sequence.

    Args:
        source_ids, target_ids: Ragged int32 tensors from `encode_pairs`.
        batch_size (int): Sentences per batch.
        shuffle (bool): Shuffle every epoch (with `seed`).
        seed (int): Shuffle seed.
        bucket_width (int): Width of the length buckets.
        batch_tokens (int): Instead of `batch_size` sentences, batches of
            at most this many padded tokens (sentences times the bucket's
            longest length, counting the longer side of each pair), at
            least one sentence each: batches of short sentences hold more
            of them (OpenNMT-tf's `batch_type: tokens`).
        max_length (int): Longest length to bucket for; longer sequences go
            to the last bucket.
        epochs (range): With `shuffle`, the epochs (0-based) to produce one
            after another, each in an order drawn from `(seed, epoch)`
            alone, so a run resumed at epoch k (`range(k, total)`) sees
            what the uninterrupted run saw there; fit it with
            `steps_per_epoch` = the batches of one epoch. None: one epoch,
            reshuffled at each pass in an order that depends on the passes
            before.
    """
    examples = tf.data.Dataset.from_tensor_slices((source_ids, target_ids))

    def add_markers(source, target):
        start = tf.constant([START_ID], tf.int32)
        end = tf.constant([END_ID], tf.int32)
        return (
            source,
            tf.concat([start, target], 0),
            tf.concat([target, end], 0),
        )

    boundaries = list(range(bucket_width + 1, max_length + 1, bucket_width))
    batch_sizes = bucket_batch_sizes(
        boundaries, max_length, batch_size, batch_tokens
    )

    def batched(dataset):
        dataset = dataset.map(add_markers, num_parallel_calls=tf.data.AUTOTUNE)
        dataset = dataset.bucket_by_sequence_length(
            lambda s, d, t: tf.maximum(tf.shape(s)[0], tf.shape(d)[0]),
            bucket_boundaries=boundaries,
            bucket_batch_sizes=batch_sizes,
            padded_shapes=([None], [None], [None]),
            padding_values=(PADDING_ID, PADDING_ID, PADDING_ID),
        )

        def to_inputs(source, decoder, target):
            inputs = {"encoder_token_ids": source, "decoder_token_ids": decoder}
            return inputs, target

        return dataset.map(to_inputs, num_parallel_calls=tf.data.AUTOTUNE)

    if shuffle and epochs is not None:
        size = int(source_ids.nrows())

        def epoch_order(epoch):
            order = splits.epoch_permutation(size, seed, epoch)
            return batched(
                tf.data.Dataset.from_tensor_slices(
                    (tf.gather(source_ids, order), tf.gather(target_ids, order))
                )
            )

        epochs = tf.data.Dataset.range(epochs.start, epochs.stop)
        return without_autotuning(
            epochs.flat_map(epoch_order).prefetch(tf.data.AUTOTUNE)
        )
    if shuffle:
        examples = examples.shuffle(
            int(source_ids.nrows()), seed=seed, reshuffle_each_iteration=True
        )
    dataset = batched(examples)
    # Bucketing hides the number of batches from Keras (no progress bar
    # total, "ran out of data" warnings); count them once and state it.
    batches = int(dataset.reduce(0, lambda n, _: n + 1))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return without_autotuning(dataset.prefetch(tf.data.AUTOTUNE))
