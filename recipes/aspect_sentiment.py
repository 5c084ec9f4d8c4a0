"""Aspect-level sentiment on SemEval-2014 Task 4 with the ATAE-LSTM family.

Trains one of `lstm_sentiment`, `ae_lstm`, `at_lstm`, `atae_lstm` (Wang et
al., EMNLP 2016) on a SemEval-2014 XML file, selects the epoch on a dev
split carved from train (never on test), and writes to `--output-dir`:

- `metrics.json`: test accuracy, macro-F1, per-class precision / recall /
  F1, confusion matrix, counts, the dev score and the config;
- `heatmaps/*.png`: attention over sample test sentences, one row per
  aspect;
- `model.keras`, `vocabulary.txt`, `aspect_vocabulary.txt`;
- `saved_model/`: `serving_default(sentence, aspect)` -> `probabilities`,
  `label`, `attention`, tokenization inside the graph.

Usage:

    python recipes/aspect_sentiment.py --model atae_lstm \\
        --train Restaurants_Train_v2.xml --test Restaurants_Test_Gold.xml
"""

import argparse
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo import registry
from s2s_zoo.data import aspect_text
from s2s_zoo.data import semeval
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.export import atomic_directory
from s2s_zoo.export import atomic_file
from s2s_zoo.export import save_keras
from s2s_zoo.metrics import classification
from s2s_zoo.models.atae_lstm import TRAINING_DEFAULTS
from s2s_zoo.models.atae_lstm import paper_optimizer

## Config

DEFAULTS = {
    # Flags.
    "model": "atae_lstm",
    "train": None,
    "test": None,
    "level": "term",
    "classes": 3,
    "embeddings": None,
    "epochs": 25,
    "dev_fraction": 0.1,
    "output_dir": "runs/aspect_sentiment",
    "seed": 0,
    # Not flags: set them when calling main() (tests, benchmarks).
    "batch_size": TRAINING_DEFAULTS["batch_size"],
    "learning_rate": TRAINING_DEFAULTS["learning_rate"],
    "patience": 5,  # epochs without a better dev accuracy
    "min_count": None,  # None: 1 with --embeddings, else 2 (trains [UNK])
    "max_length": 100,  # sentence tokens read, in training and serving
    "model_overrides": {},  # e.g. {"hidden_dim": 8}
    "heatmap_sentences": 4,
    "export": True,  # model.keras and the SavedModel
    "verbose": 1,
}

MODELS = ("lstm_sentiment", "ae_lstm", "at_lstm", "atae_lstm")


def parse_args(argv=None):
    """The config: `DEFAULTS` updated with the command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, default=DEFAULTS["model"])
    parser.add_argument("--train", required=True, help="SemEval XML file")
    parser.add_argument("--test", required=True, help="SemEval XML file")
    parser.add_argument(
        "--level", choices=semeval.LEVELS, default=DEFAULTS["level"]
    )
    parser.add_argument(
        "--classes", type=int, choices=(3, 2), default=DEFAULTS["classes"]
    )
    parser.add_argument(
        "--embeddings", default=None, help="GloVe / word2vec text file"
    )
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument(
        "--dev-fraction", type=float, default=DEFAULTS["dev_fraction"]
    )
    parser.add_argument("--output-dir", default=DEFAULTS["output_dir"])
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    args = parser.parse_args(argv)
    return {**DEFAULTS, **vars(args)}


## Data


def split_dev(examples, fraction, seed):
    """Carves a dev split from train by SENTENCE, so no sentence is in both.

    Returns `(train, dev)`; `dev` is empty when `fraction` is 0.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1); got {fraction}.")
    ids = sorted({e.sentence_id for e in examples})
    rng = np.random.default_rng(seed)
    rng.shuffle(ids)
    dev_ids = set(ids[: int(round(fraction * len(ids)))])
    train = [e for e in examples if e.sentence_id not in dev_ids]
    dev = [e for e in examples if e.sentence_id in dev_ids]
    return train, dev


def tokenize(examples, level):
    words = aspect_text.to_lists(
        aspect_text.split_words([e.text for e in examples])
    )
    aspects = aspect_text.to_lists(
        aspect_text.aspect_tokens([e.aspect for e in examples], level)
    )
    return words, aspects


def encode(examples, vocabularies, config, names):
    words, aspects = tokenize(examples, config["level"])
    inputs = {
        "token_ids": aspect_text.encode_numpy(
            words, vocabularies[0], config["max_length"]
        ),
        "aspect_token_ids": aspect_text.encode_numpy(aspects, vocabularies[1]),
    }
    return inputs, np.asarray(semeval.labels(examples, names), "int32")


def load_vectors(path, vocabularies, seed):
    """Embedding matrices for both vocabularies, reading the file once.

    Returns `(matrices, coverage)`: matrices keyed by the model's layer
    names (`embedding`, `aspect_embedding`), and found / missing counts.
    """
    words, aspects = vocabularies
    tokens = words.tokens + [t for t in aspects.tokens if t not in words.index]
    matrix, _, missing = embedding_matrix(path, tokens, seed=seed)
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
    return {name: sum(e.polarity == name for e in examples) for name in names}


## Evaluation


def predict(model, inputs, batch_size=100):
    """Probabilities `(n, C)` and per-example attention over real tokens."""
    spec = tf.TensorSpec((None, None), tf.int32)
    step = tf.function(
        model.call_with_attention,
        input_signature=[{"token_ids": spec, "aspect_token_ids": spec}],
    )
    all_logits, attention = [], []
    for batch in aspect_text.aspect_dataset(inputs, batch_size=batch_size):
        logits, weights = step(batch)
        all_logits.append(logits.numpy())
        lengths = tf.reduce_sum(tf.cast(batch["token_ids"] != 0, tf.int32), 1)
        attention.extend(
            w[:n] for w, n in zip(weights.numpy(), lengths.numpy())
        )
    logits = np.concatenate(all_logits)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities, attention


def classification_report(labels, predictions, names):
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


def write_heatmaps(examples, attention, probabilities, names, directory, k):
    """One PNG per sample test sentence with 2+ aspects; rows = aspects."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_sentence = {}
    for i, example in enumerate(examples):
        by_sentence.setdefault(example.sentence_id, []).append(i)
    chosen = [rows for rows in by_sentence.values() if len(rows) > 1][:k]
    paths = []
    for rows in chosen:
        sentence = examples[rows[0]]
        words = aspect_text.to_lists(aspect_text.split_words([sentence.text]))
        width = len(attention[rows[0]])
        words = words[0][:width]
        matrix = np.stack([attention[i] for i in rows])
        labels = [
            f"{examples[i].aspect} ({examples[i].polarity} / "
            f"{names[int(np.argmax(probabilities[i]))]})"
            for i in rows
        ]
        fig, ax = plt.subplots(
            figsize=(max(4, 0.5 * width + 3), 0.5 * len(rows) + 1.5)
        )
        image = ax.imshow(matrix, cmap="Reds", aspect="auto", vmin=0, vmax=1)
        for (row, column), value in np.ndenumerate(matrix):
            ax.text(
                column,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > 0.5 else "black",
            )
        fig.colorbar(image, ax=ax, fraction=0.03)
        ax.set_xticks(range(width), words, rotation=60, ha="right")
        ax.set_yticks(range(len(rows)), labels)
        ax.set_title("attention per aspect (gold / predicted)")
        fig.tight_layout()
        safe_id = "".join(
            c if c.isalnum() else "_" for c in sentence.sentence_id
        )
        path = os.path.join(directory, f"sentence_{safe_id}.png")
        with atomic_file(path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=80)
        plt.close(fig)
        paths.append(path)
    return paths


## Main


def main(config=None):
    """Trains, evaluates and exports; returns the metrics dict."""
    config = parse_args() if config is None else {**DEFAULTS, **config}
    started = time.time()
    keras.utils.set_random_seed(config["seed"])
    say = print if config["verbose"] else (lambda *a, **k: None)
    output_dir = config["output_dir"]
    os.makedirs(output_dir, exist_ok=True)

    # Data.
    read = dict(level=config["level"], classes=config["classes"])
    train_all = semeval.read_semeval(config["train"], **read)
    test = semeval.read_semeval(config["test"], **read)
    train, dev = split_dev(train_all, config["dev_fraction"], config["seed"])
    names = semeval.label_names(config["classes"])
    min_count = config["min_count"]
    if min_count is None:
        min_count = 1 if config["embeddings"] else 2
    words, aspects = tokenize(train, config["level"])
    # Count words once per sentence, not once per aspect of the sentence.
    first = {e.sentence_id: i for i, e in reversed(list(enumerate(train)))}
    vocabularies = (
        aspect_text.Vocabulary.build(
            [words[i] for i in first.values()], min_count
        ),
        aspect_text.Vocabulary.build(aspects, min_count),
    )
    train_inputs, train_labels = encode(train, vocabularies, config, names)
    test_inputs, test_labels = encode(test, vocabularies, config, names)
    say(
        f"train {len(train)}, dev {len(dev)}, test {len(test)} examples; "
        f"vocabulary {len(vocabularies[0])}, aspects {len(vocabularies[1])}"
    )

    # Model.
    info = registry.describe(config["model"])
    overrides = {
        "vocabulary_size": len(vocabularies[0]),
        "aspect_vocabulary_size": len(vocabularies[1]),
        "num_classes": len(names),
    }
    matrices = {}
    if config["embeddings"]:
        matrices, coverage = load_vectors(
            config["embeddings"], vocabularies, config["seed"]
        )
        for key, counts in coverage.items():
            say(
                f"{key} coverage: {counts['found']} found, "
                f"{counts['missing']} missing (e.g. {counts['examples']})"
            )
        overrides["embedding_dim"] = matrices["embedding"].shape[1]
        overrides["aspect_embedding_dim"] = matrices["embedding"].shape[1]
    overrides.update(config["model_overrides"])
    overrides = {k: v for k, v in overrides.items() if k in info.defaults}
    model = registry.build(config["model"], **overrides)
    for key, matrix in matrices.items():
        layer = getattr(model, key, None)
        if layer is not None:
            layer.embeddings.assign(matrix)

    # Training, with the epoch chosen on dev accuracy.
    model.compile(
        optimizer=paper_optimizer(config["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    batches = aspect_text.aspect_dataset(
        train_inputs,
        train_labels,
        batch_size=config["batch_size"],
        shuffle=True,
        seed=config["seed"],
    )
    callbacks, validation = [], None
    if dev:
        dev_inputs, dev_labels = encode(dev, vocabularies, config, names)
        validation = aspect_text.aspect_dataset(
            dev_inputs, dev_labels, batch_size=100
        )
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                mode="max",
                patience=config["patience"],
                restore_best_weights=True,
            )
        )
    history = model.fit(
        batches,
        epochs=config["epochs"],
        validation_data=validation,
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself every epoch
        verbose=2 if config["verbose"] else 0,
    ).history
    best_epoch = len(history["loss"])
    if dev:
        best_epoch = int(np.argmax(history["val_accuracy"])) + 1

    # Evaluation on test.
    probabilities, attention = predict(model, test_inputs)
    predictions = probabilities.argmax(axis=1)
    metrics = {
        "model": config["model"],
        "level": config["level"],
        "classes": list(names),
        **classification_report(test_labels, predictions, names),
        "counts": {
            "train": len(train),
            "dev": len(dev),
            "test": len(test),
            "train_per_class": class_counts(train, names),
            "test_per_class": class_counts(test, names),
            "vocabulary": len(vocabularies[0]),
            "aspect_vocabulary": len(vocabularies[1]),
        },
        "best_epoch": best_epoch,
        "epochs_run": len(history["loss"]),
        "dev_accuracy": (float(max(history["val_accuracy"])) if dev else None),
        "train_seconds": round(time.time() - started, 1),
        "config": {k: v for k, v in config.items() if k != "verbose"},
        "model_config": {
            k: v for k, v in model.get_config().items() if k != "name"
        },
    }
    if config["embeddings"]:
        metrics["embedding_coverage"] = {
            key: {k: v for k, v in counts.items() if k != "examples"}
            for key, counts in coverage.items()
        }
    say(
        f"test accuracy {metrics['accuracy']:.4f}, "
        f"macro-F1 {metrics['macro_f1']:.4f} (best dev epoch {best_epoch})"
    )

    # Outputs.
    metrics["heatmaps"] = []
    if model.use_attention:  # the others' attention is all zeros
        metrics["heatmaps"] = write_heatmaps(
            test,
            attention,
            probabilities,
            names,
            os.path.join(output_dir, "heatmaps"),
            config["heatmap_sentences"],
        )
    if config["export"]:
        for vocabulary, name in zip(
            vocabularies, ("vocabulary.txt", "aspect_vocabulary.txt")
        ):
            with atomic_file(os.path.join(output_dir, name)) as tmp:
                vocabulary.save(tmp)
        save_keras(model, os.path.join(output_dir, "model.keras"))
        module = aspect_text.AspectSentimentModule(
            model,
            vocabularies[0],
            vocabularies[1],
            names,
            level=config["level"],
            max_length=config["max_length"],
        )
        with atomic_directory(os.path.join(output_dir, "saved_model")) as tmp:
            tf.saved_model.save(
                module,
                tmp,
                signatures={"serving_default": module.serving_default},
            )
    with atomic_file(os.path.join(output_dir, "metrics.json")) as tmp:
        with open(tmp, "w") as f:
            json.dump(metrics, f, indent=2)
    return metrics


if __name__ == "__main__":
    main()
