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
import os
import time
import typing

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo import export as export_lib
from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.data import aspect_text
from s2s_zoo.data import semeval
from s2s_zoo.data import splits as splits_lib
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.metrics import classification
from s2s_zoo.models.atae_lstm import TRAINING_DEFAULTS
from s2s_zoo.models.atae_lstm import paper_optimizer
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


class AspectSentimentRun:
    """A trained aspect classifier: model, vocabularies, label names, config.

    Returned by `train` and `load`; `run.predict(sentences, aspects)` takes
    raw strings.
    """

    task = TASK

    def __init__(
        self, model, vocabulary, aspect_vocabulary, names, config, metrics=None
    ):
        self.model = model
        self.vocabulary = vocabulary
        self.aspect_vocabulary = aspect_vocabulary
        self.names = tuple(names)
        self.config = config
        self.metrics = metrics or {}
        self._module = None

    @property
    def module(self):
        """The in-graph `s2s_zoo.export.AspectSentimentModule`."""
        if self._module is None:
            self._module = export_lib.AspectSentimentModule(
                self.model,
                self.vocabulary,
                self.aspect_vocabulary,
                self.names,
                level=self.config.level,
                max_length=self.config.max_length,
            )
        return self._module

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

    def export(self, path=None):
        """Writes the string-in SavedModel (default `<output_dir>/
        saved_model`) atomically; returns the path."""
        path = path or os.path.join(self.config.output_dir, "saved_model")
        if not common.on_tensorflow():
            return common.export_through_tensorflow(self, path)
        export_lib.export_module(self.module, path)
        return path

    def save(self, run_dir=None):
        """Writes `model.keras`, the vocabularies and `run.json`."""
        run_dir = run_dir or self.config.output_dir
        os.makedirs(run_dir, exist_ok=True)
        export_lib.save_keras(self.model, os.path.join(run_dir, "model.keras"))
        directory = os.path.join(run_dir, "vocabulary")
        self.vocabulary.save(directory, "words")
        self.aspect_vocabulary.save(directory, "aspects")
        common.write_run_file(
            run_dir, TASK, self.config, label_names=list(self.names)
        )
        return run_dir


def load(run_dir):
    """Loads a finished run directory; returns an `AspectSentimentRun`."""
    import s2s_zoo.models  # noqa: F401  (registers the model classes)

    info = common.read_run_file(run_dir)
    if info["task"] != TASK:
        raise ValueError(
            f"{run_dir!r} holds a {info['task']!r} run, not an aspect "
            f"sentiment run; load it with s2s_zoo.tasks.{info['task']}.load."
        )
    directory = os.path.join(run_dir, "vocabulary")
    metrics_path = os.path.join(run_dir, "metrics.json")
    return AspectSentimentRun(
        keras.saving.load_model(os.path.join(run_dir, "model.keras")),
        aspect_text.Vocabulary.load(directory, "words"),
        aspect_text.Vocabulary.load(directory, "aspects"),
        info["label_names"],
        common.from_dict(Config, info["config"]),
        common.read_json(metrics_path) if os.path.exists(metrics_path) else {},
    )


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


RUN_STATE = ("best.weights.h5", "best.weights.h5.json")


def fit(config, model, data, say=print, extra_callbacks=()):
    """Trains with the epoch chosen on dev accuracy; returns the history
    (`{log: [one value per epoch]}`, every epoch of the run, those before a
    resume included).

    Resumable: `keras.callbacks.BackupAndRestore` checkpoints weights and
    optimizer after each epoch (the previous one kept, for a kill that
    truncates the latest), `KeepBest` persists the best dev epoch and its
    patience, and each epoch draws its data order and dropout masks from
    `(seed, epoch)` alone, so `config.resume` after a kill ends where the
    uninterrupted run ends.

    Args:
        extra_callbacks: Run first (tests use one to stop at an epoch).
    """
    backup = os.path.join(config.output_dir, "backup")
    state = [os.path.join(config.output_dir, name) for name in RUN_STATE]
    history_path = os.path.join(config.output_dir, "history.csv")
    resume = config.resume
    if resume and not os.path.exists(backup):
        say(f"nothing to resume in {backup}: training from the start.")
        resume = False
    # A fresh run must not pick up an earlier run's checkpoint or best; its
    # CSVLogger starts history.csv anew.
    resumed = training.start_or_resume(backup, [state], resume, say)
    first_epoch = training.resume_epoch(backup) if resumed else 0
    if resumed:
        say(f"resuming after epoch {first_epoch} from {backup}")
    train_inputs, train_labels = encode(data.train, data, config)
    batches = aspect_text.aspect_dataset(
        train_inputs,
        train_labels,
        batch_size=config.batch_size,
        shuffle=True,
        seed=config.seed,
        epochs=range(first_epoch, config.epochs),
    )
    callbacks = [
        *extra_callbacks,
        training.EpochSeeds(config.seed),
        training.StopOnNonFinite("a lower --learning-rate"),
    ]
    validation = None
    if data.dev:
        dev_inputs, dev_labels = encode(data.dev, data, config)
        validation = aspect_text.aspect_dataset(
            dev_inputs, dev_labels, batch_size=100
        )
        # EarlyStopping(restore_best_weights=True) keeps its best epoch
        # and patience in memory only; KeepBest persists both.
        callbacks.append(
            training.KeepBest(
                "val_accuracy", "max", path=state[0], patience=config.patience
            )
        )
    callbacks += [
        keras.callbacks.CSVLogger(history_path, append=resumed),
        # Last: an epoch's checkpoint is written after its best weights
        # and its history row, so a kill between them repeats the epoch
        # rather than losing what it decided.
        keras.callbacks.BackupAndRestore(backup, double_checkpoint=True),
    ]
    model.fit(
        batches,
        epochs=config.epochs,
        steps_per_epoch=aspect_text.dataset_steps(
            len(data.train), config.batch_size
        ),
        validation_data=validation,
        callbacks=callbacks,
        shuffle=False,  # the dataset draws each epoch's order itself
        verbose=2 if config.verbose else 0,
    )
    return training.read_history(history_path)


def train(config=None, **overrides):
    """Trains, selects on dev, evaluates on test, saves and exports.

    Returns:
        An `AspectSentimentRun` whose `metrics` hold the test figures.
    """
    config = common.replace(config or Config(), **overrides)
    started = time.time()
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
    metrics = {
        "task": TASK,
        "model": config.model,
        "level": config.level,
        "classes": list(data.names),
        **report,
        "counts": {
            "train": len(data.train),
            "dev": len(data.dev),
            "test": len(data.test),
            "train_per_class": class_counts(data.train, data.names),
            "test_per_class": class_counts(data.test, data.names),
            "vocabulary": len(data.vocabulary),
            "aspect_vocabulary": len(data.aspect_vocabulary),
        },
        "best_epoch": best_epoch,
        "epochs_run": len(history["loss"]),
        "dev_accuracy": (
            float(max(history["val_accuracy"])) if data.dev else None
        ),
        "train_seconds": round(time.time() - started, 1),
        "config": common.to_dict(config),
        "model_config": {
            k: v for k, v in model.get_config().items() if k != "name"
        },
    }
    if config.embeddings:
        metrics["embedding_coverage"] = {
            key: {k: v for k, v in counts.items() if k != "examples"}
            for key, counts in coverage.items()
        }
    say(
        f"test accuracy {metrics['accuracy']:.4f}, macro-F1 "
        f"{metrics['macro_f1']:.4f} (best dev epoch {best_epoch})"
    )
    metrics["heatmaps"] = []
    if model.use_attention:  # the others' attention is all zeros
        metrics["heatmaps"] = write_heatmaps(
            run,
            data.test,
            predicted,
            os.path.join(config.output_dir, "heatmaps"),
            config.heatmap_sentences,
        )
    if config.export:
        run.save()
        run.export()
    run.metrics = metrics
    common.write_json(os.path.join(config.output_dir, "metrics.json"), metrics)
    return run
