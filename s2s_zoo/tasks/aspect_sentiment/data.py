"""The data of an aspect-sentiment run: SemEval files, splits, vocabularies."""

import dataclasses

import numpy as np

from s2s_zoo.data import aspect_text
from s2s_zoo.data import semeval
from s2s_zoo.data import splits as splits_lib
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.tasks import common
from s2s_zoo.tasks.aspect_sentiment.config import WHERE


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the three splits as `AspectExample`s, the
    class names and the two vocabularies (built on train only)."""

    train: list
    dev: list
    test: list
    names: tuple
    vocabulary: aspect_text.Vocabulary
    aspect_vocabulary: aspect_text.Vocabulary


def split_dev(examples, fraction, seed):
    """Carves a dev split from train by SENTENCE, so no sentence is in both.

    Returns `(train, dev)`; `dev` is empty when `fraction` is 0.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1); got {fraction}.")
    train, dev = splits_lib.group_split(
        [e.sentence_id for e in examples], [fraction], seed
    )
    return [examples[i] for i in train], [examples[i] for i in dev]


def tokenize(examples, level):
    """Word lists of the sentences and of the aspects of `examples`."""
    words = aspect_text.to_lists(
        aspect_text.split_words([e.text for e in examples])
    )
    aspects = aspect_text.to_lists(
        aspect_text.aspect_tokens([e.aspect for e in examples], level)
    )
    return words, aspects


def read_examples(path):
    """Your own examples from a file: TSV lines `sentence<TAB>aspect<TAB>
    polarity`, or JSON lines `{"sentence", "aspect" (or "start" and
    "end"), "polarity"}` (a `.jsonl` file). Returns `(items, places)`,
    `places` naming each item's file and line.

    Raises:
        ValueError: Naming the file and line of a malformed line.
    """

    def from_json(row):
        aspect = row.get("aspect")
        if aspect is None:
            aspect = (row["start"], row["end"])
        return (row["sentence"], aspect, row["polarity"])

    return common.read_item_lines(
        path,
        "the examples file",
        WHERE,
        "sentence, aspect and polarity",
        "sentence, aspect (or start and end) and polarity",
        from_json,
    )


def examples_from_items(items, names, places=None):
    """`AspectExample`s from your own `(sentence, aspect, polarity)` items.

    The aspect is a term of the sentence (found at its first occurrence)
    or its character offsets `(start, end)`; the polarity is one of
    `names`. Items with the same sentence share its id, so that a split
    never cuts a sentence's aspects apart.

    Raises:
        ValueError: Naming the first bad item by its index.
    """
    examples, ids = [], {}
    for index, item in enumerate(items):
        where = places[index] if places else f"item {index} ({item!r:.80})"
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(
                f"{where}: expected (sentence, aspect, polarity), where the "
                "aspect is a term of the sentence or (start, end) offsets."
            )
        sentence, aspect, polarity = item
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f"{where}: the sentence is empty.")
        if polarity not in names:
            raise ValueError(
                f"{where}: unknown polarity {polarity!r}; valid: "
                f"{', '.join(names)}."
            )
        if isinstance(aspect, (tuple, list)):
            if (
                len(aspect) != 2
                or not all(isinstance(k, int) for k in aspect)
                or not 0 <= aspect[0] < aspect[1] <= len(sentence)
            ):
                raise ValueError(
                    f"{where}: offsets {aspect!r} are not (start, end) "
                    f"inside the sentence's {len(sentence)} characters."
                )
            start, end = aspect
        elif isinstance(aspect, str) and aspect.strip():
            start = sentence.find(aspect)
            if start < 0:
                raise ValueError(
                    f"{where}: the aspect {aspect!r} is not in the sentence."
                )
            end = start + len(aspect)
        else:
            raise ValueError(f"{where}: the aspect is empty.")
        sentence_id = ids.setdefault(sentence, str(len(ids)))
        examples.append(
            semeval.AspectExample(
                sentence_id, sentence, sentence[start:end], polarity, start, end
            )
        )
    return examples


# Your own examples are split by sentence like the bundled data's
# sentence-level splits: a test share, and dev carved from the rest.
OWN_TEST_FRACTION = 0.1


def prepare(config, examples=None):
    """Reads and splits the SemEval files (or your own `examples`, see
    `examples_from_items`) and builds the vocabularies."""
    names = tuple(semeval.label_names(config.classes))
    places = None
    if examples is None and config.examples:
        examples, places = read_examples(config.examples)
    if examples is not None:
        own = examples_from_items(examples, names, places)
        rest, test = splits_lib.group_split(
            [e.sentence_id for e in own], [OWN_TEST_FRACTION], config.seed
        )
        train_all, test = [own[i] for i in rest], [own[i] for i in test]
        train, dev = split_dev(train_all, config.dev_fraction, config.seed)
        if not train or not test:
            raise ValueError(
                f"{len(own)} examples are too few to split into train, dev "
                "and test; give more."
            )
        return _data(config, train, dev, test, names)
    train_path = common.require_file(
        config.train
        or common.data_path("semeval14", "Restaurants_Train_v2.xml"),
        "the SemEval-2014 training file",
        WHERE,
    )
    test_path = common.require_file(
        config.test
        or common.data_path("semeval14", "Restaurants_Test_Gold.xml"),
        "the SemEval-2014 test file",
        WHERE,
    )
    read = dict(
        level=config.level,
        classes=config.classes,
        strict=config.strict_offsets or config.strict_data,
    )
    train_all = semeval.read_semeval(train_path, **read)
    test = semeval.read_semeval(test_path, **read)
    train, dev = split_dev(train_all, config.dev_fraction, config.seed)
    return _data(config, train, dev, test, names)


def _data(config, train, dev, test, names):
    min_count = config.min_count
    if min_count is None:
        min_count = 1 if config.embeddings else 2
    words, aspects = tokenize(train, config.level)
    # Count words once per sentence, not once per aspect of the sentence.
    first = {e.sentence_id: i for i, e in reversed(list(enumerate(train)))}
    return Data(
        train=train,
        dev=dev,
        test=test,
        names=names,
        vocabulary=aspect_text.Vocabulary.build(
            [words[i] for i in first.values()], min_count
        ),
        aspect_vocabulary=aspect_text.Vocabulary.build(aspects, min_count),
    )


def encode(examples, data, config):
    """Model inputs (`token_ids`, `aspect_token_ids`) and label ids."""
    words, aspects = tokenize(examples, config.level)
    inputs = {
        "token_ids": aspect_text.encode_numpy(
            words, data.vocabulary, config.max_length
        ),
        "aspect_token_ids": aspect_text.encode_numpy(
            aspects, data.aspect_vocabulary
        ),
    }
    return inputs, np.asarray(semeval.labels(examples, data.names), "int32")


def load_vectors(path, vocabularies, seed, strict=False):
    """Embedding matrices for both vocabularies, reading the file once.

    Returns `(matrices, coverage)`: matrices keyed by the model's layer
    names (`embedding`, `aspect_embedding`), and found / missing counts.
    """
    words, aspects = vocabularies
    tokens = words.tokens + [t for t in aspects.tokens if t not in words.index]
    matrix, _, missing = embedding_matrix(
        path, tokens, seed=seed, strict=strict
    )
    missing = set(missing)
    row = {token: i for i, token in enumerate(tokens)}
    matrices, coverage = {}, {}
    for key, vocabulary in (
        ("embedding", words),
        ("aspect_embedding", aspects),
    ):
        matrices[key] = matrix[[row[t] for t in vocabulary.tokens]]
        matrices[key][0] = 0.0  # padding
        absent = [t for t in vocabulary.tokens[1:] if t in missing]
        coverage[key] = {
            "found": len(vocabulary) - 1 - len(absent),
            "missing": len(absent),
            "examples": absent[:5],
        }
    return matrices, coverage


def class_counts(examples, names):
    """How many examples each class has."""
    return {name: sum(e.polarity == name for e in examples) for name in names}
