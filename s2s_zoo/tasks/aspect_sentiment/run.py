"""A trained aspect classifier as one object, and the task's figures."""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from s2s_zoo.data import aspect_text
from s2s_zoo.data import semeval
from s2s_zoo.metrics import classification
from s2s_zoo.serving.aspect_sentiment import AspectSentimentModule
from s2s_zoo.tasks import base
from s2s_zoo.tasks.aspect_sentiment.config import TASK
from s2s_zoo.tasks.aspect_sentiment.config import Config


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
