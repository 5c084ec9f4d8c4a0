"""The settings of a sentence-pair run and each task's own defaults."""

import dataclasses
import os
import typing

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
    pairs: typing.Optional[str] = option(
        None,
        "your own pairs instead of the task's files: a TSV file (first TAB "
        "second TAB label) or JSON lines (first, second, label); split "
        "80/10/10",
    )
    tensorboard: bool = option(
        True,
        "write TensorBoard logs (losses, dev figures, learning rate) into "
        "OUTPUT_DIR/logs: tensorboard --logdir OUTPUT_DIR/logs",
    )
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
