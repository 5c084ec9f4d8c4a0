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


def prepare(config):
    """Reads the task's files, builds the vocabulary on train, the word
    vectors and the model settings, and encodes every split."""
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
