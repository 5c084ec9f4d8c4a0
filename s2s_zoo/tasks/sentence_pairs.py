"""Sentence pairs with BCNN / ABCNN-1/2/3 (Yin et al. 2016).

    from s2s_zoo.tasks import sentence_pairs as task

    run = task.train(task.Config(task="sick", train="SICK.txt",
                                 dev="SICK.txt", test="SICK.txt"))
    run.score(["A dog runs"], ["An animal is running"]).labels

Three tasks: answer selection on WikiQA (MAP, MRR), paraphrase
identification on MSRP (accuracy, F1) and entailment on SICK (accuracy).
Model selection uses the dev split only (which of `restarts`
initialisations trains on, and which epoch is kept); test figures are
computed once, with the selected weights. Without `embeddings`, random word
vectors train with the model (`word_vectors="ppmi"`: frozen PPMI-SVD
vectors of the training sentences instead). Files default to
`$S2S_ZOO_DATA/{wikiqa,msrp,sick}/`; without the variable they must be
given.

Writes under `output_dir` (default `runs/sentence_pairs/TASK`):
`metrics.json`, attention heatmaps of dev pairs, `model.keras`, the
vocabulary and a SavedModel whose `serving_default(sentence1, sentence2)`
returns `score` (the probability of the positive class; for 3-way tasks
that of the predicted label) and, for 3-way tasks, `probabilities` and
`label`.
"""

import dataclasses
import json
import os
import time
import typing

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo import export as export_lib
from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.data import sentence_pairs as data_lib
from s2s_zoo.data import splits as splits_lib
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.data.embeddings import ppmi_svd_vectors
from s2s_zoo.metrics import classification
from s2s_zoo.metrics import ranking
from s2s_zoo.tasks import common
from s2s_zoo.tasks.common import option

TASK = "sentence_pairs"
AUTO = "auto"

# Model settings of every task, kept when the model has the key (BCNN has
# no attention weights to share):
# - the output layer reads the per-level cosines and the word-overlap
#   features, not the pooled vectors themselves, as in the released code;
#   the pooled vectors (100-600 inputs on 3,000-9,000 pairs) overfit;
# - those features are standardized (`standardize_features`): the cosines
#   of mean-pooled tanh maps all sit near 1, and a logistic regression on
#   them learns slowly without it;
# - ABCNN-1/3 share one attention-feature matrix between the sentences
#   (released code), which keeps the two CNNs symmetric: a pair and its
#   swap get swapped representations.
# docs/results/sentence_pairs_ablations.md measures each of these.
COMMON_MODEL_CONFIG = {
    "pooled_features": False,
    "similarity_features": True,
    "standardize_features": True,
    "share_attention_weights": True,
    "overlap_features": True,
    "dropout": 0.0,
    "l2": 0.0005,
}

# Per task: default files under $S2S_ZOO_DATA, the head and the paper's
# filter width (w = 4 for AS, 3 for PI / TE), and the task's own defaults
# of `Config` fields left at "auto", as the paper's hyperparameters are
# per task too.
TASKS = {
    "wikiqa": {
        "files": {
            "train": ("wikiqa", "WikiQA-train.txt"),
            "dev": ("wikiqa", "WikiQA-dev.tsv"),
            "test": None,
        },
        "where": "WikiQA (https://aka.ms/WikiQA): WikiQA-train.txt and "
        "WikiQA-dev.tsv",
        # Mean dev MAP of the four models over 5 seeds: 0.698 from Keras'
        # small rows, 0.685 from length 3 (SICK 81.2 vs 80.9 and MSRP 75.6
        # vs 75.4 from length 3, within noise):
        # docs/results/sentence_pairs_ablations.md.
        "config": {"trained_vector_norm": None},
        "model_config": {
            "head": "score",
            "kernel_size": 4,
            "sequence_length_1": 24,
            "sequence_length_2": 40,
        },
    },
    "msrp": {
        "files": {
            "train": ("msrp", "msr_paraphrase_train.txt"),
            "dev": None,  # carved from train
            "test": None,
        },
        "where": "the Microsoft Research Paraphrase Corpus "
        "(https://www.microsoft.com/en-us/download/details.aspx?id=52398): "
        "msr_paraphrase_train.txt",
        "config": {"trained_vector_norm": 3.0},
        "model_config": {
            "head": "score",
            "kernel_size": 3,
            "sequence_length_1": 40,
            "sequence_length_2": 40,
        },
    },
    "sick": {
        "files": {
            "train": ("sick", "SICK.txt"),
            "dev": ("sick", "SICK.txt"),
            "test": ("sick", "SICK.txt"),
        },
        "where": "SICK (https://marcobaroni.org/composes/sick.html): SICK.txt",
        "config": {"trained_vector_norm": 3.0},
        "model_config": {
            "head": "softmax",
            "num_classes": 3,
            "kernel_size": 3,
            "sequence_length_1": 32,
            "sequence_length_2": 32,
        },
    },
}
MSRP_CARVE = (0.1, 0.1)  # dev, test fractions of the train file
MSRP_CARVE_SEED = 0  # fixed, so every model sees the same split
SELECTION_METRIC = {"wikiqa": "map", "msrp": "accuracy", "sick": "accuracy"}


@dataclasses.dataclass
class Config:
    """Settings of a sentence-pair run; the defaults are the recipe's."""

    task: str = option(
        "wikiqa",
        "wikiqa: answer selection (MAP, MRR); msrp: paraphrase (accuracy, "
        "F1); sick: 3-way entailment (accuracy)",
        choices=tuple(sorted(TASKS)),
    )
    model: str = option(
        "abcnn3",
        "registry name of the model",
        choices=("abcnn1", "abcnn2", "abcnn3", "bcnn"),
    )
    preset: str = option("paper", "registry size preset: paper, cpu, tiny")
    model_config: dict = option(
        {},
        "override a model hyperparameter over the task's (e.g. --set "
        "embedding_dim=100)",
        flag="--set",
    )
    train: typing.Optional[str] = option(
        None, "training file in the task's official format"
    )
    dev: typing.Optional[str] = option(
        None, "dev file, for model selection only (MSRP: carved from train)"
    )
    test: typing.Optional[str] = option(
        None, "test file, scored once (MSRP: carved from train)"
    )
    embeddings: typing.Optional[str] = option(
        None, "GloVe or word2vec text file of pretrained vectors, frozen"
    )
    word_vectors: str = option(
        "trained",
        "without embeddings: trained learns random vectors with the model; "
        "ppmi builds frozen PPMI-SVD vectors from the training sentences",
        choices=("trained", "ppmi"),
    )
    epochs: int = option(8, "training epochs; the best dev epoch is kept")
    restarts: int = option(
        3,
        "initialisations tried for one epoch each; the best on dev trains on",
    )
    output_dir: typing.Optional[str] = option(
        None, "where outputs go (default runs/sentence_pairs/TASK)"
    )
    seed: int = option(1, "seeds initialisation, batch order, SVD")
    batch_size: int = option(32, "pairs per batch")
    optimizer: str = option(
        "adagrad", "adagrad (the paper's) or adam", choices=("adagrad", "adam")
    )
    learning_rate: float = option(0.05, "learning rate")
    initial_accumulator: float = option(
        1e-8, "AdaGrad's starting accumulator (the released code: 0)"
    )
    vector_norm: float = option(
        3.0,
        "length of every frozen vector: the match score 1 / (1 + |x - y|) "
        "is not scale-free",
    )
    trained_vector_norm: typing.Optional[float] = option(
        AUTO,
        "trained vectors start as random directions of this length; none: "
        "Keras' U(-0.05, 0.05) rows; auto: the task's own (none for "
        "WikiQA, 3.0 otherwise)",
    )
    oov_buckets: int = option(1000, "hash buckets for unseen words")
    max_train_pairs: typing.Optional[int] = option(
        None, "use only the first N training pairs (smoke tests)"
    )
    heatmap_pairs: int = option(2, "dev pairs whose attention is drawn")
    export: bool = option(True, "write model.keras and the SavedModel")
    resume: bool = option(False, "continue an interrupted run in --output-dir")
    strict_data: bool = option(
        False,
        "stop at the first malformed row of a data file (default: skip it "
        "with a warning naming the file and line)",
    )


def resolve(config):
    """`config` with its "auto" fields set to the task's own defaults."""
    if config.task not in TASKS:
        raise ValueError(
            f"Unknown task {config.task!r}; known: {sorted(TASKS)}."
        )
    values = {
        key: value
        for key, value in TASKS[config.task]["config"].items()
        if getattr(config, key) == AUTO
    }
    if config.output_dir is None:
        values["output_dir"] = os.path.join(
            "runs", "sentence_pairs", config.task
        )
    return dataclasses.replace(config, **values)


# === Data ===


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


# === Word vectors ===


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


# === Model ===


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


def build(config, model_settings, vectors, statistics):
    """The registry model with its vectors and IDF table, compiled."""
    model = registry.build(config.model, **model_settings)
    if vectors is not None:
        model.set_embeddings(vectors)
    if statistics is not None:
        model.set_word_statistics(statistics)
    if config.optimizer == "adagrad":
        optimizer = keras.optimizers.Adagrad(
            config.learning_rate,
            initial_accumulator_value=config.initial_accumulator,
        )
    else:
        optimizer = keras.optimizers.Adam(config.learning_rate)
    model.compile(optimizer=optimizer, loss="auto")
    return model


# === Evaluate ===


def evaluate(task, model, pairs, inputs):
    """The task's figures of `model` on `pairs` (encoded as `inputs`)."""
    probabilities = model.predict_probabilities(inputs)
    if task == "wikiqa":
        return {
            "map": ranking.mean_average_precision(
                pairs.groups, pairs.labels, probabilities
            ),
            "mrr": ranking.mean_reciprocal_rank(
                pairs.groups, pairs.labels, probabilities
            ),
            "questions": len(
                ranking.ranking_scores(
                    pairs.groups, pairs.labels, probabilities
                )
            ),
            "pairs": len(pairs),
        }
    if task == "msrp":
        predicted = (probabilities >= 0.5).astype("int64")
        return {
            "accuracy": classification.accuracy(pairs.labels, predicted),
            "f1": classification.binary_f1(pairs.labels, predicted),
            "pairs": len(pairs),
        }
    predicted = np.argmax(probabilities, axis=-1)
    return {
        "accuracy": classification.accuracy(pairs.labels, predicted),
        "macro_f1": classification.precision_recall_f1(
            pairs.labels, predicted, len(data_lib.SICK_LABELS)
        )["macro_f1"],
        "pairs": len(pairs),
    }


def plot_attention(model, pairs, inputs, output_dir, count):
    """Writes one heatmap per sample dev pair and attention matrix."""
    from s2s_zoo import plotting

    positives = [i for i, y in enumerate(pairs.labels) if y == 1] or [0]
    written = []
    for n, i in enumerate(positives[:count]):
        ids_1 = inputs["token_ids_1"][i : i + 1]
        ids_2 = inputs["token_ids_2"][i : i + 1]
        tokens_1 = data_lib.tokenize_to_lists([pairs.sentence1[i]])[0]
        tokens_2 = data_lib.tokenize_to_lists([pairs.sentence2[i]])[0]
        length_1 = int((ids_1 != 0).sum())
        length_2 = int((ids_2 != 0).sum())
        for name, matrix in model.attention_matrices(ids_1, ids_2).items():
            border = 0 if name.endswith("input") else model.kernel_size - 1
            matrix = matrix[0, : length_1 + border, : length_2 + border]
            path = os.path.join(output_dir, f"attention_{n}_{name}.png")
            plotting.pair_heatmap(
                matrix,
                path,
                f"pair {i}: {name}",
                None if border else tokens_1[:length_1],
                None if border else tokens_2[:length_2],
            )
            written.append(os.path.basename(path))
    return written


# === The run ===


@dataclasses.dataclass
class Scores:
    """What `SentencePairRun.score` returns, one entry per pair.

    Attributes:
        scores (np.ndarray): The probability of the positive class (WikiQA,
            MSRP), or of the predicted label (SICK).
        labels (list): The predicted label: 0/1, or a SICK label name.
        probabilities (np.ndarray): `(n, 3)` for 3-way tasks, else None.
    """

    scores: np.ndarray
    labels: list
    probabilities: typing.Optional[np.ndarray] = None

    def __len__(self):
        return len(self.labels)


class SentencePairRun:
    """A trained pair model: model, tokenizer and config, on raw strings."""

    task = TASK

    def __init__(self, model, tokenizer, config, metrics=None):
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.metrics = metrics or {}
        self._module = None

    @property
    def module(self):
        """The in-graph `s2s_zoo.export.SentencePairModule`."""
        if self._module is None:
            self._module = export_lib.SentencePairModule(
                self.model, self.tokenizer, data_lib.SICK_LABELS
            )
        return self._module

    def score(self, first_sentences, second_sentences, batch_size=256):
        """Scores pairs of raw strings; returns `Scores`.

        Raises:
            ValueError: If the two lists differ in length.
        """
        if isinstance(first_sentences, str):
            first_sentences = [first_sentences]
            second_sentences = [second_sentences]
        first, second = list(first_sentences), list(second_sentences)
        if len(first) != len(second):
            raise ValueError(
                "score takes one second sentence per first sentence; "
                f"received {len(first)} and {len(second)}."
            )
        scores, labels, probabilities = [], [], []
        for offset in range(0, len(first), batch_size):
            batch = slice(offset, offset + batch_size)
            out = self.module.serve(
                tf.constant(first[batch], tf.string),
                tf.constant(second[batch], tf.string),
            )
            scores.append(out["score"].numpy())
            if "label" in out:
                labels += [x.decode("utf-8") for x in out["label"].numpy()]
                probabilities.append(out["probabilities"].numpy())
            else:
                labels += [int(x >= 0.5) for x in out["score"].numpy()]
        return Scores(
            np.concatenate(scores) if scores else np.zeros((0,), "float32"),
            labels,
            np.concatenate(probabilities) if probabilities else None,
        )

    def export(self, path=None):
        """Writes the string-in SavedModel (default `<output_dir>/
        saved_model`) atomically; returns the path."""
        path = path or os.path.join(self.config.output_dir, "saved_model")
        if not common.on_tensorflow():
            return common.export_through_tensorflow(self, path)
        export_lib.export_module(self.module, path)
        return path

    def save(self, run_dir=None):
        """Writes `model.keras`, the tokenizer and `run.json`."""
        run_dir = run_dir or self.config.output_dir
        os.makedirs(run_dir, exist_ok=True)
        export_lib.save_keras(self.model, os.path.join(run_dir, "model.keras"))
        self.tokenizer.save(os.path.join(run_dir, "vocabulary"), "words")
        common.write_run_file(run_dir, TASK, self.config)
        return run_dir


def load(run_dir):
    """Loads a finished run directory; returns a `SentencePairRun`."""
    import s2s_zoo.models  # noqa: F401  (registers the model classes)

    info = common.read_run_file(run_dir)
    if info["task"] != TASK:
        raise ValueError(
            f"{run_dir!r} holds a {info['task']!r} run, not a sentence-pair "
            f"run; load it with s2s_zoo.tasks.{info['task']}.load."
        )
    metrics_path = os.path.join(run_dir, "metrics.json")
    return SentencePairRun(
        keras.saving.load_model(os.path.join(run_dir, "model.keras")),
        data_lib.PairTokenizer.load(os.path.join(run_dir, "vocabulary")),
        common.from_dict(Config, info["config"]),
        common.read_json(metrics_path) if os.path.exists(metrics_path) else {},
    )


# === Train ===


class RunState:
    """The files a sentence-pair run resumes from, in `output_dir`:
    `train_state.json` (the restarts and epochs finished, their figures,
    the chosen restart, the best epoch) and the `.weights.h5` files it
    names (each checkpoint under its own name, written before the state
    that points at it)."""

    STATE = "train_state.json"

    def __init__(self, output_dir):
        self.output_dir = output_dir
        self.path = os.path.join(output_dir, self.STATE)

    def _weights(self):
        return [
            name
            for name in os.listdir(self.output_dir)
            if name.startswith("checkpoint_") and name.endswith(".weights.h5")
        ]

    def clear(self):
        for name in [self.STATE, *self._weights()]:
            if os.path.exists(os.path.join(self.output_dir, name)):
                os.remove(os.path.join(self.output_dir, name))

    def save(self, model, name):
        """Writes `model`'s weights and optimizer state; returns the file's
        name."""
        name = f"checkpoint_{name}.weights.h5"
        path = os.path.join(self.output_dir, name)
        with export_lib.atomic_file(path, suffix=".weights.h5") as tmp:
            model.save_weights(tmp)
        return name

    def commit(self, state):
        """Replaces the state file, then removes checkpoints it no longer
        names."""
        common.write_json(self.path, state)
        for name in set(self._weights()) - set(state["files"].values()):
            os.remove(os.path.join(self.output_dir, name))

    def resume(self):
        """The saved state, or None (said why) when there is nothing whole
        to resume from: the run then starts clean."""
        if not os.path.exists(self.path):
            print(f"nothing to resume in {self.output_dir}: starting clean.")
            return None
        bad, reason = self.path, training.unreadable(self.path)
        if reason is None:
            with open(self.path) as f:
                state = json.load(f)
            for name in state["files"].values():
                bad = os.path.join(self.output_dir, name)
                reason = training.unreadable(bad)
                if reason is not None:
                    break
        if reason is not None:
            print(f"warning: {bad} is {reason}; starting clean.")
            return None
        print(
            f"resuming from {self.path}: {len(state['restarts'])} restarts "
            f"and {len(state['history'])} epochs finished."
        )
        return state


def train(config=None, **overrides):
    """Trains with restarts, selects on dev, evaluates, saves, exports.

    Returns:
        A `SentencePairRun` whose `metrics` hold the dev and test figures.
    """
    config = resolve(common.replace(config or Config(), **overrides))
    task = config.task
    if config.restarts < 1 or config.epochs < 1:
        raise ValueError(
            "restarts and epochs must be at least 1; received "
            f"restarts={config.restarts!r}, epochs={config.epochs!r}."
        )
    output_dir = config.output_dir
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    started = time.time()

    splits = load_splits(config)
    train_pairs = splits["train"]
    if config.max_train_pairs:
        train_pairs = train_pairs.subset(
            range(min(len(train_pairs), config.max_train_pairs))
        )
    vocabulary = data_lib.build_vocabulary(
        train_pairs.sentence1 + train_pairs.sentence2
    )
    tokenizer = data_lib.PairTokenizer(vocabulary, config.oov_buckets)
    print(
        f"{task}: train {len(train_pairs)}, dev {len(splits['dev'])}, test "
        f"{len(splits['test']) if splits['test'] else 0} pairs; vocabulary "
        f"{len(vocabulary)} words + {config.oov_buckets} OOV buckets"
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

    train_inputs = encode(train_pairs, tokenizer, settings)
    dev_inputs = encode(splits["dev"], tokenizer, settings)
    labels = train_pairs.labels.astype("float32" if not three_way else "int64")
    selection = SELECTION_METRIC[task]

    def train_epoch(model, seed, epoch):
        # The batch order and dropout masks of an epoch come from (seed,
        # epoch) alone, so a resumed run repeats the uninterrupted one.
        order = np.random.default_rng(
            training.epoch_seed(seed, epoch - 1)
        ).permutation(len(labels))
        training.seed_epoch(model, seed, epoch - 1)
        fit = model.fit(
            {k: v[order] for k, v in train_inputs.items()},
            labels[order],
            batch_size=config.batch_size,
            epochs=1,
            shuffle=False,
            callbacks=[
                training.StopOnNonFinite(
                    "a lower --learning-rate", first_epoch=epoch
                )
            ],
            verbose=0,
        )
        dev_metrics = evaluate(task, model, splits["dev"], dev_inputs)
        loss = float(fit.history["loss"][-1])
        print(
            f"epoch {epoch}: loss {loss:.4f}, dev {selection} "
            f"{dev_metrics[selection]:.4f} ({time.time() - started:.0f} s)"
        )
        return {"epoch": epoch, "loss": loss, **dev_metrics}

    def start_vectors(seed):
        if vectors is None and config.trained_vector_norm is not None:
            # Trained vectors start as random directions at
            # trained_vector_norm, drawn again for each restart.
            return random_vectors(
                tokenizer.size,
                settings.get("embedding_dim", accepted["embedding_dim"]),
                config.trained_vector_norm,
                seed,
            )
        return vectors

    def new_model(seed, weights=None):
        keras.utils.set_random_seed(seed)
        model = build(config, settings, start_vectors(seed), statistics)
        if weights is not None:  # weights and optimizer state
            model.optimizer.build(model.trainable_variables)
            model.load_weights(os.path.join(output_dir, weights))
        return model

    # Resumable: after every epoch the model (with its optimizer state) is
    # saved under a new name, then `train_state.json` is replaced to point
    # at it, so a kill at any moment leaves a consistent state one epoch
    # back at most.
    checkpoints = RunState(output_dir)
    # What the checkpoints must have been trained with to be resumed.
    trained_with = json.loads(
        json.dumps({"model": config.model, "model_config": settings})
    )
    state = checkpoints.resume() if config.resume else None
    if state is not None and state.get("trained_with") != trained_with:
        print(
            f"warning: {checkpoints.path} was written by a run of another "
            "model or model settings; starting clean."
        )
        state = None
    if state is None:
        checkpoints.clear()
        state = {
            "restarts": [],
            "history": [],
            "files": {},
            "trained_with": trained_with,
        }

    # Restarts (Dodge et al. 2020, "Fine-Tuning Pretrained Language
    # Models: Weight Initializations, Data Orders, and Early Stopping"):
    # some initialisations never get going (on SICK about one seed in five
    # stayed near the word-overlap baseline whatever the optimizer), and
    # one epoch tells them apart. Each restart trains one epoch from its
    # own seed; only the best on dev goes on.
    model = None
    built = {}  # the restarts trained in this process, by index
    while not state["history"] and len(state["restarts"]) < config.restarts:
        restart = len(state["restarts"])
        seed = config.seed + 1000 * restart
        candidate = built[restart] = new_model(seed)
        if config.restarts > 1:
            print(f"restart {restart + 1}/{config.restarts} (seed {seed})")
        row = train_epoch(candidate, seed, 1)
        name = checkpoints.save(candidate, f"restart{restart}")
        state["restarts"].append({"seed": seed, "row": row})
        state["files"][f"restart{restart}"] = name
        checkpoints.commit(state)
    if not state["history"]:
        # The best first-epoch dev figure; the earliest restart on a tie.
        index, chosen = max(
            enumerate(state["restarts"]),
            key=lambda c: (c[1]["row"][selection], -c[1]["seed"]),
        )
        model = built.get(index)
        name = state["files"][f"restart{index}"]
        state.update(
            chosen_seed=chosen["seed"],
            history=[chosen["row"]],
            best=chosen["row"][selection],
            best_epoch=1,
            files={"latest": name, "best": name},
        )
        checkpoints.commit(state)
    chosen_seed = state["chosen_seed"]
    restarts = [
        {"seed": c["seed"], "dev": c["row"][selection]}
        for c in state["restarts"]
    ]
    if model is None:  # trained by an earlier process: from its checkpoint
        model = new_model(chosen_seed, state["files"]["latest"])
    del built
    for epoch in range(len(state["history"]) + 1, config.epochs + 1):
        row = train_epoch(model, chosen_seed, epoch)
        state["history"].append(row)
        state["files"]["latest"] = checkpoints.save(model, f"epoch{epoch}")
        if row[selection] > state["best"]:
            state["best"], state["best_epoch"] = row[selection], epoch
            state["files"]["best"] = state["files"]["latest"]
        checkpoints.commit(state)
    history, best_epoch = state["history"], state["best_epoch"]
    model.load_weights(os.path.join(output_dir, state["files"]["best"]))

    run = SentencePairRun(model, tokenizer, config)
    metrics = {
        "task": task,
        "model": config.model,
        "best_epoch": best_epoch,
        "restarts": restarts,
        "restart_seed": chosen_seed,
        "dev": evaluate(task, model, splits["dev"], dev_inputs),
        "history": history,
        "train_pairs": len(train_pairs),
        "vocabulary_words": len(vocabulary),
        "seconds": None,
        "config": {
            k: v
            for k, v in common.to_dict(config).items()
            if k != "model_config"
        },
        "model_config": settings,
    }
    if splits["test"] is not None:
        test_inputs = encode(splits["test"], tokenizer, settings)
        metrics["test"] = evaluate(task, model, splits["test"], test_inputs)
    if config.heatmap_pairs:
        metrics["heatmaps"] = plot_attention(
            model,
            splits["dev"],
            dev_inputs,
            output_dir,
            config.heatmap_pairs,
        )
    if config.export:
        run.save()
        run.export()
    metrics["seconds"] = round(time.time() - started, 1)
    run.metrics = metrics
    common.write_json(os.path.join(output_dir, "metrics.json"), metrics)
    print({k: metrics[k] for k in ("dev", "test") if k in metrics})
    return run
