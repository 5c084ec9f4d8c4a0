"""A trained pair model as one object, and the task's figures."""

import dataclasses
import os
import typing

import numpy as np
import tensorflow as tf

from s2s_zoo.data import sentence_pairs as data_lib
from s2s_zoo.metrics import classification
from s2s_zoo.metrics import ranking
from s2s_zoo.serving.sentence_pairs import SentencePairModule
from s2s_zoo.tasks import base
from s2s_zoo.tasks.sentence_pairs.config import TASK
from s2s_zoo.tasks.sentence_pairs.config import Config


def task_figures(task, model, pairs, inputs):
    """The task's figures of `model` on `pairs` (encoded as `inputs`):
    MAP and MRR (WikiQA), accuracy and F1 (MSRP), accuracy and macro-F1
    (SICK)."""
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


class SentencePairRun(base.Run):
    """A trained pair model: model, tokenizer and config, on raw strings."""

    task = TASK
    Config = Config
    LEGACY_RESULTS = ("dev", "test")
    LEGACY_TRAINING = (
        "best_epoch",
        "restarts",
        "restart_seed",
        "history",
        "train_pairs",
        "vocabulary_words",
    )

    def __init__(self, model, tokenizer, config, metrics=None):
        super().__init__(model, config, metrics)
        self.tokenizer = tokenizer

    def save_assets(self, directory):
        self.tokenizer.save(directory, "words")

    @classmethod
    def load_assets(cls, directory, info):
        return {"tokenizer": data_lib.PairTokenizer.load(directory)}

    def serving_module(self):
        """The in-graph `s2s_zoo.serving.SentencePairModule`."""
        return SentencePairModule(
            self.model, self.tokenizer, data_lib.SICK_LABELS
        )

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


def load(run_dir):
    """Loads a finished run directory; returns a `SentencePairRun`."""
    return SentencePairRun.load(run_dir)


def evaluate(run, pairs):
    """The task's figures of a run on `pairs` (`SentencePairs` of its
    task, e.g. from `load_splits`), through the model the run holds."""
    from s2s_zoo.tasks.sentence_pairs.data import encode

    settings = {
        "sequence_length_1": run.model.sequence_length_1,
        "sequence_length_2": run.model.sequence_length_2,
    }
    inputs = encode(pairs, run.tokenizer, settings)
    return task_figures(run.config.task, run.model, pairs, inputs)


def export(run, path=None):
    """Writes the run's string-in SavedModel (default `<output_dir>/
    saved_model`) atomically; returns the path."""
    return run.export(path)
