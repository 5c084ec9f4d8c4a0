"""The data of a sentence-pair run: files, vocabulary, word vectors."""

import dataclasses
import typing

import numpy as np

from s2s_zoo import registry
from s2s_zoo.data import sentence_pairs as data_lib
from s2s_zoo.data import splits as splits_lib
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.data.embeddings import ppmi_svd_vectors
from s2s_zoo.tasks import common
from s2s_zoo.tasks.sentence_pairs.config import COMMON_MODEL_CONFIG
from s2s_zoo.tasks.sentence_pairs.config import MSRP_CARVE
from s2s_zoo.tasks.sentence_pairs.config import MSRP_CARVE_SEED
from s2s_zoo.tasks.sentence_pairs.config import TASKS


def _path(config, split):
    """The file of `split`: given, or under `$S2S_ZOO_DATA`; None for a
    split the task carves (MSRP dev and test) or lacks (WikiQA test)."""
    given = getattr(config, split)
    default = TASKS[config.task]["files"][split]
    if given is None and default is None:
        return None
    where = (
        f"Get {TASKS[config.task]['where']} and pass it with --{split}, or "
        f"set ${common.DATA_DIR_VARIABLE} to a folder holding "
        f"{config.task}/."
    )
    return common.require_file(
        given or common.data_path(*default),
        f"the {config.task} {split} file",
        where,
    )


def load_splits(config):
    """Returns `{"train", "dev", "test"}` -> `SentencePairs` (test may be
    None)."""
    task = config.task
    paths = {split: _path(config, split) for split in ("train", "dev", "test")}
    if task == "wikiqa":
        splits = {
            split: data_lib.read_wikiqa(path, strict=config.strict_data)
            if path
            else None
            for split, path in paths.items()
        }
        if splits["dev"] is None:
            raise ValueError("WikiQA needs a dev file for model selection.")
        # Train on questions with at least one correct answer (the
        # authors' filtered files); dev/test MAP skip the others anyway.
        train = splits["train"]
        answered = {g for g, y in zip(train.groups, train.labels) if y}
        splits["train"] = train.subset(
            [i for i, g in enumerate(train.groups) if g in answered]
        )
        return splits
    if task == "msrp":
        train = data_lib.read_msrp(paths["train"], strict=config.strict_data)
        dev = (
            data_lib.read_msrp(paths["dev"], strict=config.strict_data)
            if paths["dev"]
            else None
        )
        test = (
            data_lib.read_msrp(paths["test"], strict=config.strict_data)
            if paths["test"]
            else None
        )
        if dev is None:
            fractions = MSRP_CARVE if test is None else MSRP_CARVE[:1]
            carved = splits_lib.random_split(
                len(train), fractions, MSRP_CARVE_SEED
            )
            train, dev, *rest = [train.subset(i) for i in carved]
            test = rest[0] if test is None else test
        return {"train": train, "dev": dev, "test": test}
    return {
        "train": data_lib.read_sick(
            paths["train"], split="TRAIN", strict=config.strict_data
        ),
        "dev": data_lib.read_sick(
            paths["dev"], split="TRIAL", strict=config.strict_data
        ),
        "test": data_lib.read_sick(
            paths["test"], split="TEST", strict=config.strict_data
        ),
    }


def encode(pairs, tokenizer, model_config):
    """Fixed-length id matrices `token_ids_1`, `token_ids_2` of `pairs`."""
    return {
        "token_ids_1": tokenizer(
            pairs.sentence1, model_config["sequence_length_1"]
        ).numpy(),
        "token_ids_2": tokenizer(
            pairs.sentence2, model_config["sequence_length_2"]
        ).numpy(),
    }


def word_vectors(config, train, vocabulary, model_config, accepted):
    """`(matrix, covered)` for the vocabulary, or None (trained vectors).

    From `config.embeddings` when given (the vectors as they are), else
    PPMI-SVD vectors of the training sentences at length `vector_norm`.
    Sets `model_config["embedding_dim"]` to the vectors' size.
    """
    if config.embeddings:
        matrix, found, missing = embedding_matrix(
            config.embeddings, vocabulary, strict=config.strict_data
        )
        print(
            f"embeddings: found {found}, missing {len(missing)} of "
            f"{len(vocabulary) - 1} words"
        )
        missing = set(missing)
        covered = np.array(
            [i > 0 and w not in missing for i, w in enumerate(vocabulary)]
        )
        model_config["embedding_dim"] = int(matrix.shape[1])
        return matrix, covered
    if config.word_vectors != "ppmi":
        return None
    dim = model_config.get("embedding_dim", accepted["embedding_dim"])
    sentences = sorted(set(train.sentence1 + train.sentence2))
    matrix, covered = ppmi_svd_vectors(
        data_lib.tokenize_to_lists(sentences),
        vocabulary,
        dim=dim,
        norm=config.vector_norm,
        seed=config.seed,
    )
    print(
        f"word vectors: PPMI-SVD, {dim}-d, from {len(sentences)} training "
        f"sentences; {int(covered.sum())} of {len(vocabulary) - 1} words"
    )
    return matrix, covered


def fill_uncovered_rows(matrix, covered, size, seed):
    """The full `(size, dim)` embedding table for frozen vectors.

    Rows without a vector (words a file lacks, the OOV hash buckets) get
    random directions at the mean length of the known rows, so an unseen
    word is as far from every other word as two unrelated known words, and
    a repeated unseen word (one bucket) still matches itself. The usual
    tiny U(-0.01, 0.01) rows would put all unseen words at one point,
    where the attention matrix scores any two of them as a match. Row 0
    (padding) stays zero.
    """
    known = np.linalg.norm(matrix[covered], axis=1)
    length = float(known.mean()) if known.size else 1.0
    full = random_vectors(size, matrix.shape[1], length, seed)
    full[np.flatnonzero(covered)] = matrix[covered]
    return full


def random_vectors(size, dim, length, seed):
    """A `(size, dim)` table of random directions at `length`; row 0 zero."""
    full = np.random.default_rng(seed).standard_normal((size, dim))
    full *= length / np.linalg.norm(full, axis=1, keepdims=True)
    full[0] = 0.0
    return full.astype("float32")


def model_config(config, tokenizer, frozen):
    """Registry overrides: preset, the common and task settings, `--set`."""
    info = registry.describe(config.model)
    return {
        **info.preset(config.preset),
        **{k: v for k, v in COMMON_MODEL_CONFIG.items() if k in info.defaults},
        **TASKS[config.task]["model_config"],
        "vocabulary_size": tokenizer.size,
        "trainable_embeddings": not frozen,
        **config.model_config,
    }


@dataclasses.dataclass
class Data:
    """What `prepare` returns: the splits (`SentencePairs`; test may be
    None), the tokenizer, the model settings, the frozen word vectors (or
    None), the IDF table (or None), each split's encoded inputs and the
    training labels."""

    splits: dict
    vocabulary: list
    tokenizer: data_lib.PairTokenizer
    model_config: dict
    vectors: typing.Optional[np.ndarray]
    statistics: typing.Optional[dict]
    inputs: dict
    labels: np.ndarray

    @property
    def train(self):
        return self.splits["train"]

    @property
    def dev(self):
        return self.splits["dev"]


def pairs_from_items(items, task, places=None):
    """`SentencePairs` from your own `(first, second, label)` items: the
    label 0/1 for `wikiqa` (is the second an answer to the first, a
    question; pairs of one question form a group) and `msrp` (paraphrase),
    and ENTAILMENT / NEUTRAL / CONTRADICTION for `sick`.

    Raises:
        ValueError: Naming the first bad item (its index, or its file and
            line in `places`).
    """
    first, second, labels = [], [], []
    for index, item in enumerate(items):
        where = places[index] if places else f"item {index} ({item!r:.80})"
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(f"{where}: expected (first, second, label).")
        a, b, label = item
        for sentence in (a, b):
            if not isinstance(sentence, str) or not sentence.strip():
                raise ValueError(f"{where}: a sentence is empty.")
        if task == "sick":
            if label not in data_lib.SICK_LABELS:
                raise ValueError(
                    f"{where}: unknown label {label!r}; valid: "
                    f"{', '.join(data_lib.SICK_LABELS)}."
                )
            label = data_lib.SICK_LABELS.index(label)
        elif label in (0, 1, "0", "1"):
            label = int(label)
        else:
            raise ValueError(
                f"{where}: unknown label {label!r}; {task} labels are 0 and 1."
            )
        first.append(a)
        second.append(b)
        labels.append(label)
    return data_lib.SentencePairs(
        sentence1=first,
        sentence2=second,
        labels=np.array(labels, dtype="int64"),
        groups=list(first) if task == "wikiqa" else None,
    )


def read_pairs(path, task):
    """Your own pairs from a file: TSV lines `first<TAB>second<TAB>label`
    or JSON lines `{"first", "second", "label"}` (a `.jsonl` file)."""
    items, places = common.read_item_lines(
        path,
        "the pairs file",
        "Give a TSV or JSONL file.",
        "first, second and label",
        "first, second and label",
        lambda row: (row["first"], row["second"], row["label"]),
    )
    return pairs_from_items(items, task, places)


# Your own pairs: 80 / 10 / 10, by question for WikiQA.
OWN_FRACTIONS = (0.1, 0.1)


def own_splits(pairs, task, seed):
    """Train / dev / test of your own pairs."""
    if task == "wikiqa":
        parts = splits_lib.group_split(pairs.groups, list(OWN_FRACTIONS), seed)
    else:
        parts = splits_lib.random_split(len(pairs), list(OWN_FRACTIONS), seed)
    train, dev, test = [pairs.subset(p) for p in parts]
    if not len(train) or not len(dev) or not len(test):
        raise ValueError(
            f"{len(pairs)} pairs are too few to split into train, dev and "
            "test; give more."
        )
    return {"train": train, "dev": dev, "test": test}


def prepare(config, pairs=None):
    """Reads the task's files (or your own `pairs`, see `pairs_from_items`),
    builds the vocabulary on train, the word vectors and the model
    settings, and encodes every split."""
    if pairs is None and config.pairs:
        pairs = read_pairs(config.pairs, config.task)
    elif pairs is not None:
        pairs = pairs_from_items(pairs, config.task)
    if pairs is not None:
        splits = own_splits(pairs, config.task, config.seed)
    else:
        splits = load_splits(config)
    train_pairs = splits["train"]
    if config.max_train_pairs:
        splits["train"] = train_pairs = train_pairs.subset(
            range(min(len(train_pairs), config.max_train_pairs))
        )
    vocabulary = data_lib.build_vocabulary(
        train_pairs.sentence1 + train_pairs.sentence2
    )
    tokenizer = data_lib.PairTokenizer(vocabulary, config.oov_buckets)
    print(
        f"{config.task}: train {len(train_pairs)}, dev {len(splits['dev'])}, "
        f"test {len(splits['test']) if splits['test'] else 0} pairs; "
        f"vocabulary {len(vocabulary)} words + {config.oov_buckets} OOV "
        "buckets"
    )
    accepted = registry.describe(config.model).defaults
    frozen = bool(config.embeddings) or config.word_vectors == "ppmi"
    settings = model_config(config, tokenizer, frozen)
    vectors = word_vectors(config, train_pairs, vocabulary, settings, accepted)
    if vectors is not None:
        vectors = fill_uncovered_rows(*vectors, tokenizer.size, config.seed)
    statistics = None
    if settings.get("overlap_features"):
        statistics = data_lib.word_statistics(
            train_pairs.sentence1 + train_pairs.sentence2, tokenizer
        )
    three_way = settings["head"] == "softmax"
    return Data(
        splits=splits,
        vocabulary=vocabulary,
        tokenizer=tokenizer,
        model_config=settings,
        vectors=vectors,
        statistics=statistics,
        inputs={
            name: encode(pairs, tokenizer, settings)
            for name, pairs in splits.items()
            if pairs is not None
        },
        labels=train_pairs.labels.astype("int64" if three_way else "float32"),
    )
