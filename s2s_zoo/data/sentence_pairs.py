"""Sentence-pair data: WikiQA, MSRP and SICK readers, tokenization, ids.

Readers return a `SentencePairs` (two lists of strings, integer labels and,
where the format has them, question ids and relatedness scores). Every
format error names the file and the line.

Tokenization is a TensorFlow graph (`tokenize`: lowercase, split on white
space, punctuation and symbols kept as tokens, one token per CJK
character, via `tensorflow_text.regex_split`), so the exact same function
runs when the vocabulary is built and inside an exported SavedModel.
`PairTokenizer` maps tokens to ids with a `tf.lookup.StaticVocabularyTable`:
0 pads, 1 is the reserved unknown id, words seen in training follow, and
unseen words hash into `oov_buckets` extra ids, so two occurrences of the
same unseen word still get the same id (the word-overlap features count
them as a match).
"""

import collections
import csv
import dataclasses
import math

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from s2s_zoo.data import vocabulary as vocabulary_files
from s2s_zoo.data.problems import skip_or_raise
from s2s_zoo.data.vocabulary import PADDING_ID
from s2s_zoo.data.vocabulary import PADDING_TOKEN
from s2s_zoo.data.vocabulary import UNKNOWN_TOKEN

WIKIQA_TSV_HEADER = (
    "QuestionID",
    "Question",
    "DocumentID",
    "DocumentTitle",
    "SentenceID",
    "Sentence",
    "Label",
)
MSRP_HEADER = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")
SICK_HEADER = (
    "pair_ID",
    "sentence_A",
    "sentence_B",
    "entailment_label",
    "relatedness_score",
    "entailment_AB",
    "entailment_BA",
    "sentence_A_original",
    "sentence_B_original",
    "sentence_A_dataset",
    "sentence_B_dataset",
    "SemEval_set",
)
SICK_LABELS = ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")
SICK_SPLITS = ("TRAIN", "TRIAL", "TEST")

# A short English stopword list for the word-overlap features (Yang et al.
# 2015 count "non-stopwords"); punctuation tokens are skipped separately.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be
    because been before being below between both but by can could did do
    does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself
    me more most my myself no nor not of off on once only or other our ours
    ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves""".split()
)


class SentencePairFileError(ValueError):
    """A malformed line in a sentence-pair file (names the file and line)."""


@dataclasses.dataclass
class SentencePairs:
    """Sentence pairs of one split.

    Attributes:
        sentence1 (list[str]): First sentences (question, `#1 String`,
            `sentence_A`).
        sentence2 (list[str]): Second sentences (candidate answer, ...).
        labels (np.ndarray): int64 labels: 0/1 for WikiQA and MSRP, the
            index in `SICK_LABELS` for SICK.
        groups (list[str] | None): Question ids (WikiQA), for MAP and MRR.
        relatedness (np.ndarray | None): SICK relatedness scores, 1 to 5.
    """

    sentence1: list
    sentence2: list
    labels: np.ndarray
    groups: list = None
    relatedness: np.ndarray = None

    def __len__(self):
        return len(self.labels)

    def subset(self, indices):
        """Returns the pairs at `indices`, in that order."""
        indices = list(indices)
        return SentencePairs(
            sentence1=[self.sentence1[i] for i in indices],
            sentence2=[self.sentence2[i] for i in indices],
            labels=self.labels[indices],
            groups=None
            if self.groups is None
            else [self.groups[i] for i in indices],
            relatedness=None
            if self.relatedness is None
            else self.relatedness[indices],
        )


def _rows(path, encoding="utf-8"):
    """Yields `(line_number, fields)`; TAB-separated, quoting off, CRLF ok."""
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(
            f, delimiter="\t", quoting=csv.QUOTE_NONE, strict=True
        )
        for fields in reader:
            if not fields or fields == [""]:
                continue  # a blank line, e.g. a final newline
            yield reader.line_num, [field.rstrip("\r") for field in fields]


def _error(path, line_number, message):
    return SentencePairFileError(f"{path}:{line_number}: {message}")


def _binary_label(path, line_number, value, column):
    if value not in ("0", "1"):
        raise _error(
            path, line_number, f"{column} must be 0 or 1; found {value!r}."
        )
    return int(value)


def _check_any(path, rows):
    if not rows:
        raise SentencePairFileError(f"{path}: no valid row.")


def _check_width(path, line_number, fields, width, what):
    if len(fields) != width:
        raise _error(
            path,
            line_number,
            f"expected {width} TAB-separated columns ({what}); "
            f"found {len(fields)}.",
        )


def read_wikiqa(path, strict=False):
    """Reads WikiQA, the 7-column TSV or the 3-column tokenized TXT.

    The TSV has the header `QuestionID, Question, DocumentID,
    DocumentTitle, SentenceID, Sentence, Label`; groups are its question
    ids. The TXT (`question, sentence, label`, no header) has no ids: a new
    group starts whenever the question text changes, which matches the
    corpus, where each question's candidates are consecutive.

    Args:
        path (str): A `.tsv` or `.txt` WikiQA file (chosen by the first
            line: the TSV header or three columns).
        strict (bool): Raise at a row with a wrong column count or label;
            by default it is skipped with a `MalformedRowWarning` naming
            the file and line.

    Returns:
        `SentencePairs` with `groups`.

    Raises:
        SentencePairFileError: With `strict`, on a wrong column count or
            label; always, for a file without one valid row.
    """
    sentence1, sentence2, labels, groups = [], [], [], []
    tsv = None
    group = -1
    previous_question = None
    for line_number, fields in _rows(path):
        if tsv is None:
            tsv = tuple(fields) == WIKIQA_TSV_HEADER
            if tsv:
                continue
        try:
            if tsv:
                _check_width(path, line_number, fields, 7, "WikiQA TSV")
                question_id, question, sentence, label = (
                    fields[0],
                    fields[1],
                    fields[5],
                    fields[6],
                )
            else:
                _check_width(
                    path,
                    line_number,
                    fields,
                    3,
                    "WikiQA TXT: question, sentence, label",
                )
                question, sentence, label = fields
            label = _binary_label(path, line_number, label, "Label")
        except SentencePairFileError as error:
            skip_or_raise(error, strict)
            continue
        if not tsv:
            if question != previous_question:
                group += 1
                previous_question = question
            question_id = f"q{group}"
        labels.append(label)
        sentence1.append(question)
        sentence2.append(sentence)
        groups.append(question_id)
    _check_any(path, labels)
    return SentencePairs(
        sentence1, sentence2, np.asarray(labels, "int64"), groups=groups
    )


def read_msrp(path, strict=False):
    """Reads the MSR Paraphrase Corpus (`msr_paraphrase_{train,test}.txt`).

    Header `Quality, #1 ID, #2 ID, #1 String, #2 String`, TAB-separated.
    The official files start with a UTF-8 BOM and end lines with CRLF, and
    sentences contain `"`: the BOM is dropped, CRLF accepted and quote
    handling is off.

    Args:
        path (str): The file.
        strict (bool): Raise at a row with a wrong column count or a label
            other than 0/1; by default it is skipped with a
            `MalformedRowWarning` naming the file and line.

    Returns:
        `SentencePairs`; label 1 = paraphrase.

    Raises:
        SentencePairFileError: On a missing header or a file without one
            valid row; with `strict`, on a malformed row.
    """
    sentence1, sentence2, labels = [], [], []
    header_seen = False
    for line_number, fields in _rows(path, encoding="utf-8-sig"):
        if not header_seen:
            if tuple(fields) != MSRP_HEADER:
                raise _error(
                    path,
                    line_number,
                    f"expected the MSRP header {list(MSRP_HEADER)}; "
                    f"found {fields}.",
                )
            header_seen = True
            continue
        try:
            _check_width(path, line_number, fields, 5, "MSRP")
            label = _binary_label(path, line_number, fields[0], "Quality")
        except SentencePairFileError as error:
            skip_or_raise(error, strict)
            continue
        labels.append(label)
        sentence1.append(fields[3])
        sentence2.append(fields[4])
    _check_any(path, labels)
    return SentencePairs(sentence1, sentence2, np.asarray(labels, "int64"))


def read_sick(path, split=None, strict=False):
    """Reads SICK (`SICK.txt`, 12 TAB-separated columns with a header).

    Args:
        path (str): The whole-corpus file.
        split (str): `"TRAIN"`, `"TRIAL"` (dev) or `"TEST"` to keep one
            official SemEval-2014 split (the `SemEval_set` column); `None`
            keeps all pairs.
        strict (bool): Raise at a malformed row (a wrong column count, an
            unknown label or split, a relatedness that is not a number);
            by default it is skipped with a `MalformedRowWarning` naming
            the file and line.

    Returns:
        `SentencePairs` with labels indexing `SICK_LABELS` and
        `relatedness`.

    Raises:
        ValueError: For an unknown `split`.
        SentencePairFileError: On a missing header or a file without one
            valid row; with `strict`, on a malformed row.
    """
    if split is not None and split not in SICK_SPLITS:
        raise ValueError(
            f"split must be one of {list(SICK_SPLITS)} or None; "
            f"received {split!r}."
        )
    sentence1, sentence2, labels, relatedness = [], [], [], []
    header_seen = False
    for line_number, fields in _rows(path, encoding="utf-8-sig"):
        if not header_seen:
            if tuple(fields) != SICK_HEADER:
                raise _error(
                    path,
                    line_number,
                    "expected the SICK header starting "
                    f"{list(SICK_HEADER[:5])}; found {fields[:5]}.",
                )
            header_seen = True
            continue
        try:
            _check_width(path, line_number, fields, 12, "SICK")
            label, score, row_split = fields[3], fields[4], fields[11]
            if label not in SICK_LABELS:
                raise _error(
                    path,
                    line_number,
                    f"entailment_label must be one of {list(SICK_LABELS)}; "
                    f"found {label!r}.",
                )
            if row_split not in SICK_SPLITS:
                raise _error(
                    path,
                    line_number,
                    f"SemEval_set must be one of {list(SICK_SPLITS)}; "
                    f"found {row_split!r}.",
                )
            try:
                score = float(score)
            except ValueError:
                raise _error(
                    path,
                    line_number,
                    f"relatedness_score must be a number; found {score!r}.",
                ) from None
        except SentencePairFileError as error:
            skip_or_raise(error, strict)
            continue
        if split is not None and row_split != split:
            continue
        sentence1.append(fields[1])
        sentence2.append(fields[2])
        labels.append(SICK_LABELS.index(label))
        relatedness.append(score)
    if split is None:
        _check_any(path, labels)
    return SentencePairs(
        sentence1,
        sentence2,
        np.asarray(labels, "int64"),
        relatedness=np.asarray(relatedness, "float32"),
    )


# === Tokenization (a TensorFlow graph) ===

_SPLIT_PATTERN = r"\s+|\p{P}|\p{S}|\p{Han}"
_KEEP_PATTERN = r"\p{P}|\p{S}|\p{Han}"


def tokenize(strings):
    """Lowercases and splits a batch of strings into tokens.

    White space separates tokens; each punctuation or symbol character and
    each CJK character is a token of its own. Runs eagerly and inside
    `tf.function` (the SavedModel uses this exact function).

    Args:
        strings: 1-D string tensor or list of str.

    Returns:
        A `tf.RaggedTensor` of strings, `(batch_size, None)`.

    Examples:
    >>> tokenize(["Glacier caves, formed?"]).to_list()
    [[b'glacier', b'caves', b',', b'formed', b'?']]
    """
    strings = tf.convert_to_tensor(strings, tf.string)
    lowered = tf.strings.lower(strings, encoding="utf-8")
    return tf_text.regex_split(
        lowered,
        delim_regex_pattern=_SPLIT_PATTERN,
        keep_delim_regex_pattern=_KEEP_PATTERN,
    )


def tokenize_to_lists(strings):
    """`tokenize`, as Python lists of str."""
    return [
        [token.decode("utf-8") for token in row]
        for row in tokenize(list(strings)).to_list()
    ]


def build_vocabulary(sentences, min_count=1, max_size=None):
    """Words by id: `["", "[UNK]", most frequent word, ...]`.

    Args:
        sentences (list[str]): Training sentences (untokenized).
        min_count (int): Keep words seen at least this often. Default 1.
        max_size (int): Optional cap on the vocabulary size, reserved ids
            included.

    Returns:
        A list of str; ties in frequency are broken alphabetically.
    """
    counts = collections.Counter()
    for tokens in tokenize_to_lists(sentences):
        counts.update(tokens)
    words = sorted(
        (w for w, c in counts.items() if c >= min_count and w),
        key=lambda w: (-counts[w], w),
    )
    vocabulary = [PADDING_TOKEN, UNKNOWN_TOKEN] + [
        w for w in words if w not in (PADDING_TOKEN, UNKNOWN_TOKEN)
    ]
    if max_size is not None:
        vocabulary = vocabulary[:max_size]
    return vocabulary


class PairTokenizer(tf.Module):
    """Strings to fixed-length id matrices, inside or outside a graph.

    Ids: 0 pads, 1 is reserved for unknown, `vocabulary[i]` gets `i`, and
    a word not in the vocabulary gets one of `oov_buckets` ids from
    `len(vocabulary)` on (by a hash of the word). Sequences longer than
    `sequence_length` are truncated; an empty string gives all padding.

    Args:
        vocabulary (list[str]): From `build_vocabulary`.
        oov_buckets (int): Hash buckets for unseen words. Default 1000.

    Attributes:
        size (int): `len(vocabulary) + oov_buckets`, the model's
            `vocabulary_size`.
    """

    def __init__(self, vocabulary, oov_buckets=1000, name=None):
        super().__init__(name=name)
        if list(vocabulary[:2]) != [PADDING_TOKEN, UNKNOWN_TOKEN]:
            raise ValueError(
                "vocabulary must start with the padding and unknown tokens "
                f"{[PADDING_TOKEN, UNKNOWN_TOKEN]}; received "
                f"{list(vocabulary[:2])}."
            )
        if oov_buckets < 1:
            raise ValueError(
                f"oov_buckets must be at least 1; received {oov_buckets!r}."
            )
        self.vocabulary = list(vocabulary)
        self.oov_buckets = oov_buckets
        self.size = len(vocabulary) + oov_buckets
        # The padding token is never produced by `tokenize` (it lowercases
        # and splits off brackets), so it is left out of the table; every
        # other word maps to its index.
        initializer = tf.lookup.KeyValueTensorInitializer(
            tf.constant(self.vocabulary[1:]),
            tf.range(1, len(self.vocabulary), dtype=tf.int64),
        )
        self.table = tf.lookup.StaticVocabularyTable(initializer, oov_buckets)

    def __call__(self, strings, sequence_length):
        """Returns int32 ids `(batch_size, sequence_length)`, right-padded."""
        return self.encode(strings, sequence_length)[0]

    def encode(self, strings, sequence_length):
        """`(ids, truncated)`: the ids of `__call__`, and a bool per string,
        True where it had more than `sequence_length` tokens."""
        tokens = tokenize(strings)
        truncated = tokens.row_lengths() > sequence_length
        ids = tf.ragged.map_flat_values(self.table.lookup, tokens)
        ids = ids[:, :sequence_length]
        # An all-empty batch tokenizes to (batch_size, 0): the explicit
        # shape pads it (and every shorter row) to the full length.
        dense = ids.to_tensor(
            default_value=PADDING_ID,
            shape=tf.stack([tf.shape(ids.row_lengths())[0], sequence_length]),
        )
        return tf.cast(dense, tf.int32), truncated

    def save(self, directory, name="words"):
        """Writes `name.vocab` and `name.json` (`s2s_zoo.data.vocabulary`)."""
        vocabulary_files.save(
            directory,
            name,
            self.vocabulary,
            kind="pair_words",
            oov_buckets=self.oov_buckets,
        )

    @classmethod
    def load(cls, directory, name="words"):
        tokens, options = vocabulary_files.load(directory, name)
        return cls(tokens, oov_buckets=options["oov_buckets"])


def word_statistics(sentences, tokenizer, stopwords=STOPWORDS):
    """Per-id weights of the word-overlap features, from training text.

    Column 0 is 1 for ids that count as content words (not padding, not
    the unknown id, not a stopword, not punctuation or a symbol) and 0
    otherwise. Column 1 is that indicator times the IDF,
    `log(N / (1 + df))` over the `N` sentences given, with unseen words and
    hash buckets at the largest IDF, `log(N)`.

    Args:
        sentences (list[str]): Training sentences (both sides of the pairs).
        tokenizer (PairTokenizer): Gives the ids.
        stopwords: Words that never count.

    Returns:
        float32 `(tokenizer.size, 2)`.
    """
    document_frequency = collections.Counter()
    for tokens in tokenize_to_lists(sentences):
        document_frequency.update(set(tokens))
    n = max(len(sentences), 1)
    statistics = np.zeros((tokenizer.size, 2), "float32")
    largest = math.log(n) if n > 1 else 1.0
    for i, word in enumerate(tokenizer.vocabulary):
        if i < 2 or word in stopwords or not any(c.isalnum() for c in word):
            continue
        idf = math.log(n / (1 + document_frequency.get(word, 0)))
        statistics[i] = (1.0, max(idf, 0.0))
    statistics[len(tokenizer.vocabulary) :] = (1.0, largest)
    return statistics
