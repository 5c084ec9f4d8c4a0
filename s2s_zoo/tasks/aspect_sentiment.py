"""Aspect-level sentiment (SemEval-2014 Task 4) with the ATAE-LSTM family.

    from s2s_zoo.tasks import aspect_sentiment as task

    run = task.train(task.Config(train="Restaurants_Train_v2.xml",
                                 test="Restaurants_Test_Gold.xml"))
    run.predict(["The staff was horrible but the food was great."],
                ["food"]).labels                      # ['positive']

Trains one of `lstm_sentiment`, `ae_lstm`, `at_lstm`, `atae_lstm` (Wang et
al., EMNLP 2016) on a SemEval-2014 XML file, keeps the epoch with the best
accuracy on a dev split carved from train by sentence (never on test), and
writes to `output_dir`: `metrics.json` (accuracy, macro-F1, per-class
figures, confusion matrix, counts, config), attention heatmaps of test
sentences, `model.keras`, the vocabularies and a SavedModel whose
`serving_default(sentence, aspect)` returns `probabilities`, `label` and
`attention` from raw strings. Without `train` / `test` the files are read
from `$S2S_ZOO_DATA/semeval14/`.
"""

import dataclasses
import functools
import os
import time
import typing

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.data import aspect_text
from s2s_zoo.data import semeval
from s2s_zoo.data import splits as splits_lib
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.metrics import classification
from s2s_zoo.models.atae_lstm import TRAINING_DEFAULTS
from s2s_zoo.models.atae_lstm import paper_optimizer
from s2s_zoo.serving.aspect_sentiment import AspectSentimentModule
from s2s_zoo.tasks import base
from s2s_zoo.tasks import common
from s2s_zoo.tasks.common import option

TASK = "aspect_sentiment"
MODELS = ("lstm_sentiment", "ae_lstm", "at_lstm", "atae_lstm")
WHERE = (
    "Get the SemEval-2014 Task 4 XML files (Restaurants_Train_v2.xml, "
    "Restaurants_Test_Gold.xml; https://alt.qcri.org/semeval2014/task4/) "
    "and pass them with --train / --test, or put them in "
    f"${common.DATA_DIR_VARIABLE}/semeval14/."
)


@dataclasses.dataclass
class Config:
    """Settings of an aspect-sentiment run; the defaults are the recipe's."""

    model: str = option("atae_lstm", "registry name", choices=MODELS)
    preset: str = option("paper", "registry size preset: paper, cpu, tiny")
    model_config: dict = option(
        {},
        "override a model hyperparameter, e.g. --set hidden_dim=100",
        flag="--set",
    )
    train: typing.Optional[str] = option(
        None,
        "SemEval-2014 training XML (default: $S2S_ZOO_DATA/semeval14/"
        "Restaurants_Train_v2.xml)",
    )
    test: typing.Optional[str] = option(
        None,
        "SemEval-2014 test XML (default: $S2S_ZOO_DATA/semeval14/"
        "Restaurants_Test_Gold.xml)",
    )
    level: str = option(
        "term", "aspect terms or categories", choices=semeval.LEVELS
    )
    classes: int = option(
        3,
        "3: positive/negative/neutral; 2: positive/negative",
        choices=(3, 2),
    )
    strict_offsets: bool = option(
        False,
        "stop at a term whose from/to offsets miss it, or any malformed "
        "sentence of the SemEval files (default: find the term in the text "
        "again, skip what cannot be read, with a warning naming the file "
        "and sentence)",
    )
    embeddings: typing.Optional[str] = option(
        None, "GloVe / word2vec text file of pretrained word vectors"
    )
    strict_data: bool = option(
        False,
        "stop at the first malformed sentence of the SemEval files or line "
        "of the embeddings file (default: skip it with a warning naming "
        "the file and sentence or line)",
    )
    epochs: int = option(25, "most epochs (the best dev epoch is kept)")
    resume: bool = option(False, "continue an interrupted run in --output-dir")
    dev_fraction: float = option(
        0.1, "share of the training sentences carved out for dev"
    )
    output_dir: str = option(
        "runs/aspect_sentiment", "where every output is written"
    )
    seed: int = option(0, "random seed")
    batch_size: int = option(TRAINING_DEFAULTS["batch_size"], "batch size")
    learning_rate: float = option(
        TRAINING_DEFAULTS["learning_rate"], "AdaGrad learning rate"
    )
    patience: int = option(5, "epochs without a better dev accuracy")
    min_count: typing.Optional[int] = option(
        None,
        "least count of a kept word (default 1 with --embeddings, else 2, "
        "which trains [UNK])",
    )
    max_length: int = option(
        100, "sentence tokens read, in training and serving"
    )
    heatmap_sentences: int = option(4, "test sentences drawn")
    export: bool = option(True, "write model.keras and the SavedModel")
    verbose: int = option(1, "0: quiet; 1: one line per epoch", cli=False)


# === Data ===


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


def prepare(config):
    """Reads and splits the SemEval files and builds the vocabularies."""
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
        names=tuple(semeval.label_names(config.classes)),
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


# === Model ===


def model_config(config, data, embedding_dim=None):
    """The registry overrides of a run: preset, `--set`, vocabularies."""
    info = registry.describe(config.model)
    overrides = {
        **info.preset(config.preset),
        "vocabulary_size": len(data.vocabulary),
        "num_classes": len(data.names),
    }
    if "aspect_vocabulary_size" in info.defaults:
        overrides["aspect_vocabulary_size"] = len(data.aspect_vocabulary)
    if embedding_dim is not None:
        overrides["embedding_dim"] = embedding_dim
        if "aspect_embedding_dim" in info.defaults:
            overrides["aspect_embedding_dim"] = embedding_dim
    # --set comes last, and an unknown key fails with the valid ones.
    return registry.check_config(
        config.model, {**overrides, **config.model_config}
    )


def build(config, data, matrices=None):
    """The model, its pretrained vectors assigned, compiled for the run.

    The paper's training setup (AdaGrad, lr `config.learning_rate`,
    accumulator 0) on the model's logits.
    """
    embedding_dim = None
    if matrices:
        embedding_dim = matrices["embedding"].shape[1]
    model = registry.build(
        config.model, **model_config(config, data, embedding_dim)
    )
    for key, matrix in (matrices or {}).items():
        layer = getattr(model, key, None)
        if layer is not None:
            layer.embeddings.assign(matrix)
    model.compile(
        optimizer=paper_optimizer(config.learning_rate),
        loss="auto",
        metrics=["accuracy"],
    )
    return model


# === The run ===


@dataclasses.dataclass
class Predictions:
    """What `AspectSentimentRun.predict` returns, one entry per pair.

    Attributes:
        labels (list[str]): The predicted class names.
        probabilities (np.ndarray): `(n, num_classes)`.
        attention (list[np.ndarray]): Weights over each sentence's tokens
            (zeros for the models without attention).
        tokens (list[list[str]]): How each sentence was tokenized.
    """

    labels: list
    probabilities: np.ndarray
    attention: list
    tokens: list

    def __len__(self):
        return len(self.labels)


class AspectSentimentRun(base.Run):
    """A trained aspect classifier: model, vocabularies, label names, config.

    Returned by `train` and `load`; `run.predict(sentences, aspects)` takes
    raw strings.
    """

    task = TASK
    Config = Config
    LEGACY_RESULTS = (
        "classes",
        "level",
        "accuracy",
        "macro_f1",
        "per_class",
        "confusion_matrix",
    )
    LEGACY_TRAINING = (
        "best_epoch",
        "epochs_run",
        "dev_accuracy",
        "train_seconds",
        "counts",
        "embedding_coverage",
    )

    def __init__(
        self, model, vocabulary, aspect_vocabulary, names, config, metrics=None
    ):
        super().__init__(model, config, metrics)
        self.vocabulary = vocabulary
        self.aspect_vocabulary = aspect_vocabulary
        self.names = tuple(names)

    def save_assets(self, directory):
        self.vocabulary.save(directory, "words")
        self.aspect_vocabulary.save(directory, "aspects")

    @classmethod
    def load_assets(cls, directory, info):
        return {
            "vocabulary": aspect_text.Vocabulary.load(directory, "words"),
            "aspect_vocabulary": aspect_text.Vocabulary.load(
                directory, "aspects"
            ),
            "names": info["label_names"],
        }

    def run_info(self):
        return {"label_names": list(self.names)}

    def serving_module(self):
        """The in-graph `s2s_zoo.serving.AspectSentimentModule`."""
        return AspectSentimentModule(
            self.model,
            self.vocabulary,
            self.aspect_vocabulary,
            self.names,
            level=self.config.level,
            max_length=self.config.max_length,
        )

    def predict(self, sentences, aspects, batch_size=100):
        """Classifies `(sentence, aspect)` pairs given as raw strings.

        Raises:
            ValueError: If the two lists differ in length.
        """
        if isinstance(sentences, str):
            sentences, aspects = [sentences], [aspects]
        sentences, aspects = list(sentences), list(aspects)
        if len(sentences) != len(aspects):
            raise ValueError(
                f"predict takes one aspect per sentence; received "
                f"{len(sentences)} sentences and {len(aspects)} aspects."
            )
        labels, probabilities, attention, tokens = [], [], [], []
        for offset in range(0, len(sentences), batch_size):
            batch = slice(offset, offset + batch_size)
            out = self.module.serve(
                tf.constant(sentences[batch], tf.string),
                tf.constant(aspects[batch], tf.string),
            )
            words = aspect_text.to_lists(
                aspect_text.split_words(sentences[batch])
            )
            for k, label in enumerate(out["label"].numpy()):
                labels.append(label.decode("utf-8"))
                row_tokens = words[k][: self.config.max_length]
                tokens.append(row_tokens)
                attention.append(out["attention"][k].numpy()[: len(row_tokens)])
            probabilities.append(out["probabilities"].numpy())
        return Predictions(
            labels,
            np.concatenate(probabilities)
            if probabilities
            else np.zeros((0, len(self.names)), "float32"),
            attention,
            tokens,
        )

    def evaluate(self, examples):
        """Accuracy, macro-F1, per-class figures and the confusion matrix
        of `examples` (`s2s_zoo.data.semeval.AspectExample`s)."""
        predicted = self.predict(
            [e.text for e in examples], [e.aspect for e in examples]
        )
        index = {name: i for i, name in enumerate(self.names)}
        gold = semeval.labels(examples, self.names)
        return classification_report(
            gold, [index[label] for label in predicted.labels], self.names
        ), predicted


def load(run_dir):
    """Loads a finished run directory; returns an `AspectSentimentRun`."""
    return AspectSentimentRun.load(run_dir)


def evaluate(run, examples):
    """Accuracy, macro-F1, per-class figures and the confusion matrix of
    `run` on `examples`, with its predictions: `run.evaluate`."""
    return run.evaluate(examples)


def export(run, path=None):
    """Writes the run's string-in SavedModel (default `<output_dir>/
    saved_model`) atomically; returns the path."""
    return run.export(path)


# === Evaluate ===


def classification_report(labels, predictions, names):
    """Accuracy, macro-F1, per-class precision / recall / F1 / support and
    the confusion matrix, keyed by class name."""
    scores = classification.precision_recall_f1(labels, predictions, len(names))
    return {
        "accuracy": classification.accuracy(labels, predictions),
        "macro_f1": scores["macro_f1"],
        "per_class": {
            name: {
                "precision": scores["precision"][i],
                "recall": scores["recall"][i],
                "f1": scores["f1"][i],
                "support": int(scores["support"][i]),
            }
            for i, name in enumerate(names)
        },
        "confusion_matrix": classification.confusion_matrix(
            labels, predictions, len(names)
        ).tolist(),
    }


def write_heatmaps(run, examples, predicted, directory, count):
    """One PNG per sample test sentence with 2+ aspects; rows = aspects."""
    from s2s_zoo import plotting

    by_sentence = {}
    for i, example in enumerate(examples):
        by_sentence.setdefault(example.sentence_id, []).append(i)
    chosen = [rows for rows in by_sentence.values() if len(rows) > 1][:count]
    paths = []
    for rows in chosen:
        sentence = examples[rows[0]]
        words = predicted.tokens[rows[0]]
        labels = [
            f"{examples[i].aspect} ({examples[i].polarity} / "
            f"{predicted.labels[i]})"
            for i in rows
        ]
        safe_id = "".join(
            c if c.isalnum() else "_" for c in sentence.sentence_id
        )
        paths.append(
            plotting.aspect_heatmap(
                np.stack([predicted.attention[i] for i in rows]),
                words,
                labels,
                os.path.join(directory, f"sentence_{safe_id}.png"),
            )
        )
    return paths


# === Train ===


def fit(config, model, data, say=print, extra_callbacks=()):
    """Trains with the epoch chosen on dev accuracy
    (`training.resumable_fit`); returns the history (`{log: [one value
    per epoch]}`, every epoch of the run, those before a resume
    included).

    Resumable: with `config.resume` after a kill, the run ends where the
    uninterrupted run ends (see `training.resumable_fit`).

    Args:
        extra_callbacks: Run first (tests use one to stop at an epoch).
    """
    train_inputs, train_labels = encode(data.train, data, config)
    validation = None
    if data.dev:
        dev_inputs, dev_labels = encode(data.dev, data, config)
        validation = aspect_text.aspect_dataset(
            dev_inputs, dev_labels, batch_size=100
        )
    result = training.resumable_fit(
        model,
        functools.partial(
            aspect_text.aspect_dataset,
            train_inputs,
            train_labels,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
        ),
        directory=config.output_dir,
        epochs=config.epochs,
        steps_per_epoch=aspect_text.dataset_steps(
            len(data.train), config.batch_size
        ),
        seed=config.seed,
        resume=config.resume,
        validation_data=validation,
        # EarlyStopping(restore_best_weights=True) keeps its best epoch
        # and patience in memory only; KeepBest persists both.
        monitor="val_accuracy" if data.dev else None,
        patience=config.patience,
        first=extra_callbacks,
        verbose=2 if config.verbose else 0,
        say=say,
    )
    return result.run_history


def train(config=None, **overrides):
    """Trains, selects on dev, evaluates on test, saves and exports.

    Returns:
        An `AspectSentimentRun` whose `metrics` hold the test figures.
    """
    config = common.replace(config or Config(), **overrides)
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    say = print if config.verbose else (lambda *a, **k: None)
    os.makedirs(config.output_dir, exist_ok=True)
    data = prepare(config)
    say(
        f"train {len(data.train)}, dev {len(data.dev)}, test "
        f"{len(data.test)} examples; vocabulary {len(data.vocabulary)}, "
        f"aspects {len(data.aspect_vocabulary)}"
    )
    matrices, coverage = {}, {}
    if config.embeddings:
        matrices, coverage = load_vectors(
            config.embeddings,
            (data.vocabulary, data.aspect_vocabulary),
            config.seed,
            config.strict_data,
        )
        for key, counts in coverage.items():
            say(
                f"{key} coverage: {counts['found']} found, "
                f"{counts['missing']} missing (e.g. {counts['examples']})"
            )
    model = build(config, data, matrices)
    history = fit(config, model, data, say)
    best_epoch = len(history["loss"])
    if data.dev:
        best_epoch = int(np.argmax(history["val_accuracy"])) + 1
    run = AspectSentimentRun(
        model, data.vocabulary, data.aspect_vocabulary, data.names, config
    )
    report, predicted = run.evaluate(data.test)
    say(
        f"test accuracy {report['accuracy']:.4f}, macro-F1 "
        f"{report['macro_f1']:.4f} (best dev epoch {best_epoch})"
    )
    heatmaps = []
    if model.use_attention:  # the others' attention is all zeros
        heatmaps = write_heatmaps(
            run,
            data.test,
            predicted,
            run.path("heatmaps"),
            config.heatmap_sentences,
        )
    if config.export:
        run.save()
        run.export()
    counts = {
        "train": len(data.train),
        "dev": len(data.dev),
        "test": len(data.test),
        "train_per_class": class_counts(data.train, data.names),
        "test_per_class": class_counts(data.test, data.names),
        "vocabulary": len(data.vocabulary),
        "aspect_vocabulary": len(data.aspect_vocabulary),
    }
    figures = {
        "best_epoch": best_epoch,
        "epochs_run": len(history["loss"]),
        "dev_accuracy": (
            float(max(history["val_accuracy"])) if data.dev else None
        ),
        "train_seconds": round(time.perf_counter() - started, 1),
        "counts": counts,
    }
    if config.embeddings:
        figures["embedding_coverage"] = {
            key: {k: v for k, v in counts.items() if k != "examples"}
            for key, counts in coverage.items()
        }
    run.write_metrics(
        base.metrics_record(
            TASK,
            config,
            {k: v for k, v in model.get_config().items() if k != "name"},
            {"classes": list(data.names), "level": config.level, **report},
            time.perf_counter() - started,
            common.command_line("aspect-sentiment", config),
            training=figures,
            heatmaps=heatmaps,
        )
    )
    return run
