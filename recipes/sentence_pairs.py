"""Sentence-pair modelling with BCNN / ABCNN-1/2/3 (Yin et al. 2016).

Tasks: answer selection on WikiQA (MAP, MRR), paraphrase identification on
MSRP (accuracy, F1) and entailment on SICK (accuracy). Model selection uses
the dev split only; test figures are computed once, with the selected
weights. Writes under `--output-dir` (default `runs/sentence_pairs/TASK`):

- `metrics.json`: dev (and test) figures, per-epoch dev history, config.
- `attention_*.png`: attention matrices of sample dev pairs.
- `model.keras` and `saved_model/`, whose `serving_default` takes 1-D
  strings `sentence1`, `sentence2` and returns `score` (the probability of
  the positive class; for 3-way tasks the probability of the predicted
  label) and, for 3-way tasks, `probabilities` and `label`. Tokenization
  runs inside the graph; the SavedModel needs only `tensorflow` and
  `tensorflow_text`.

Usage:
    python recipes/sentence_pairs.py --task wikiqa --model abcnn3 --epochs 4
"""

import argparse
import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo import registry
from s2s_zoo.data import sentence_pairs as data
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.export import atomic_directory
from s2s_zoo.export import atomic_file
from s2s_zoo.export import save_keras
from s2s_zoo.metrics import classification
from s2s_zoo.metrics import ranking

## Config

DATA_DIR = os.environ.get("S2S_ZOO_DATA", "/work/shared/data")

CONFIG = {
    "task": "wikiqa",
    "model": "abcnn3",
    "train": None,  # None: the task's default file below
    "dev": None,
    "test": None,
    "embeddings": None,  # GloVe / word2vec text file; frozen when given
    "epochs": 4,
    "output_dir": None,  # None: runs/sentence_pairs/TASK
    "seed": 1,
    # Not command-line flags; recipes and tests override them through main().
    "batch_size": 32,
    "optimizer": "adam",  # "adam" or "adagrad" (the paper's)
    "learning_rate": 0.001,
    "oov_buckets": 1000,
    "model_config": {},  # registry overrides on top of the task's
    "max_train_pairs": None,
    "heatmap_pairs": 2,
    "export": True,
}

# Per task: default files, how to read them, the head and the paper's
# filter width (w = 4 for AS, 3 for PI / TE).
TASKS = {
    "wikiqa": {
        "train": f"{DATA_DIR}/wikiqa/WikiQA-train.txt",
        "dev": f"{DATA_DIR}/wikiqa/WikiQA-dev.tsv",
        "test": None,
        "model_config": {
            "head": "score",
            "kernel_size": 4,
            "sequence_length_1": 24,
            "sequence_length_2": 40,
            "overlap_features": True,
        },
    },
    "msrp": {
        "train": f"{DATA_DIR}/msrp/msr_paraphrase_train.txt",
        "dev": None,  # carved from train
        "test": None,
        "model_config": {
            "head": "score",
            "kernel_size": 3,
            "sequence_length_1": 40,
            "sequence_length_2": 40,
            "overlap_features": True,
        },
    },
    "sick": {
        "train": f"{DATA_DIR}/sick/SICK.txt",
        "dev": f"{DATA_DIR}/sick/SICK.txt",
        "test": f"{DATA_DIR}/sick/SICK.txt",
        "model_config": {
            "head": "softmax",
            "num_classes": 3,
            "kernel_size": 3,
            "sequence_length_1": 32,
            "sequence_length_2": 32,
            "overlap_features": True,
        },
    },
}
MSRP_CARVE = (0.1, 0.1)  # dev, test fractions of the train file
MSRP_CARVE_SEED = 0  # fixed, so every model sees the same split


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="wikiqa")
    parser.add_argument(
        "--model",
        default=CONFIG["model"],
        choices=registry.model_names(task="sentence_pairs"),
    )
    parser.add_argument("--train")
    parser.add_argument("--dev")
    parser.add_argument("--test")
    parser.add_argument("--embeddings")
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument("--output-dir", dest="output_dir")
    parser.add_argument("--seed", type=int, default=CONFIG["seed"])
    return vars(parser.parse_args(argv))


## Data


def load_splits(config):
    """Returns `{"train", "dev", "test"}` -> `SentencePairs` (test: None ok)."""
    task = config["task"]
    paths = {
        split: config[split] or TASKS[task][split]
        for split in ("train", "dev", "test")
    }
    if task == "wikiqa":
        splits = {
            split: data.read_wikiqa(path) if path else None
            for split, path in paths.items()
        }
        # Train on questions with at least one correct answer (the
        # authors' filtered files); dev/test MAP skip the others anyway.
        train = splits["train"]
        answered = {g for g, y in zip(train.groups, train.labels) if y}
        splits["train"] = train.subset(
            [i for i, g in enumerate(train.groups) if g in answered]
        )
        return splits
    if task == "msrp":
        train = data.read_msrp(paths["train"])
        dev = data.read_msrp(paths["dev"]) if paths["dev"] else None
        test = data.read_msrp(paths["test"]) if paths["test"] else None
        if dev is None:
            fractions = MSRP_CARVE if test is None else MSRP_CARVE[:1]
            carved = data.carve_splits(len(train), fractions, MSRP_CARVE_SEED)
            train, dev, *rest = [train.subset(i) for i in carved]
            test = rest[0] if test is None else test
        return {"train": train, "dev": dev, "test": test}
    return {
        "train": data.read_sick(paths["train"], split="TRAIN"),
        "dev": data.read_sick(paths["dev"], split="TRIAL"),
        "test": data.read_sick(paths["test"], split="TEST"),
    }


def encode(pairs, tokenizer, model_config):
    return {
        "token_ids_1": tokenizer(
            pairs.sentence1, model_config["sequence_length_1"]
        ).numpy(),
        "token_ids_2": tokenizer(
            pairs.sentence2, model_config["sequence_length_2"]
        ).numpy(),
    }


## Evaluation


def evaluate(task, model, pairs, inputs):
    predictions = model.predict(inputs, batch_size=256, verbose=0)
    if task == "wikiqa":
        return {
            "map": ranking.mean_average_precision(
                pairs.groups, pairs.labels, predictions
            ),
            "mrr": ranking.mean_reciprocal_rank(
                pairs.groups, pairs.labels, predictions
            ),
            "questions": len(
                ranking.ranking_scores(pairs.groups, pairs.labels, predictions)
            ),
            "pairs": len(pairs),
        }
    if task == "msrp":
        predicted = (predictions >= 0.5).astype("int64")
        return {
            "accuracy": classification.accuracy(pairs.labels, predicted),
            "f1": classification.binary_f1(pairs.labels, predicted),
            "pairs": len(pairs),
        }
    predicted = np.argmax(predictions, axis=-1)
    return {
        "accuracy": classification.accuracy(pairs.labels, predicted),
        "macro_f1": classification.precision_recall_f1(
            pairs.labels, predicted, len(data.SICK_LABELS)
        )["macro_f1"],
        "pairs": len(pairs),
    }


SELECTION_METRIC = {"wikiqa": "map", "msrp": "accuracy", "sick": "accuracy"}


## Outputs


def write_json(path, value):
    with atomic_file(path, suffix=".json") as tmp:
        with open(tmp, "w") as f:
            json.dump(value, f, indent=2, sort_keys=True)


def plot_attention(model, pairs, inputs, tokenizer, output_dir, count):
    """Writes one heatmap per sample dev pair and attention matrix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    positives = [i for i, y in enumerate(pairs.labels) if y == 1] or [0]
    written = []
    for n, i in enumerate(positives[:count]):
        ids_1 = inputs["token_ids_1"][i : i + 1]
        ids_2 = inputs["token_ids_2"][i : i + 1]
        tokens_1 = data.tokenize_to_lists([pairs.sentence1[i]])[0]
        tokens_2 = data.tokenize_to_lists([pairs.sentence2[i]])[0]
        length_1 = int((ids_1 != 0).sum())
        length_2 = int((ids_2 != 0).sum())
        for name, matrix in model.attention_matrices(ids_1, ids_2).items():
            border = 0 if name.endswith("input") else model.kernel_size - 1
            matrix = matrix[0, : length_1 + border, : length_2 + border]
            fig, ax = plt.subplots(
                figsize=(2 + 0.25 * matrix.shape[1], 2 + 0.25 * matrix.shape[0])
            )
            image = ax.imshow(matrix, cmap="viridis", aspect="auto")
            if not border:
                ax.set_yticks(range(length_1), tokens_1[:length_1], fontsize=7)
                ax.set_xticks(
                    range(length_2),
                    tokens_2[:length_2],
                    fontsize=7,
                    rotation=90,
                )
            ax.set_title(f"pair {i}: {name}", fontsize=8)
            fig.colorbar(image, ax=ax)
            fig.tight_layout()
            path = os.path.join(output_dir, f"attention_{n}_{name}.png")
            with atomic_file(path, suffix=".png") as tmp:
                fig.savefig(tmp, dpi=80)
            plt.close(fig)
            written.append(os.path.basename(path))
    return written


def export_saved_model(model, tokenizer, model_config, path):
    """SavedModel: `serving_default(sentence1, sentence2)`, atomic write."""
    three_way = model_config["head"] == "softmax"
    module = tf.Module()
    module.model = model
    module.tokenizer = tokenizer
    module.label_names = tf.constant(list(data.SICK_LABELS))
    length_1 = model_config["sequence_length_1"]
    length_2 = model_config["sequence_length_2"]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="sentence1"),
            tf.TensorSpec([None], tf.string, name="sentence2"),
        ]
    )
    def serve(sentence1, sentence2):
        inputs = {
            "token_ids_1": module.tokenizer(sentence1, length_1),
            "token_ids_2": module.tokenizer(sentence2, length_2),
        }
        outputs = module.model(inputs, training=False)
        if not three_way:
            return {"score": outputs}
        label_ids = tf.argmax(outputs, axis=-1)
        return {
            "score": tf.reduce_max(outputs, axis=-1),
            "probabilities": outputs,
            "label": tf.gather(module.label_names, label_ids),
        }

    module.serve = serve
    with atomic_directory(path) as tmp:
        tf.saved_model.save(module, tmp, signatures={"serving_default": serve})


## Main


def main(config=None):
    """Trains, selects on dev, evaluates, writes outputs; returns metrics."""
    config = {**CONFIG, **(config or {})}
    task = config["task"]
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; known: {sorted(TASKS)}.")
    output_dir = config["output_dir"] or os.path.join(
        "runs", "sentence_pairs", task
    )
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(config["seed"])
    started = time.time()

    splits = load_splits(config)
    train = splits["train"]
    if config["max_train_pairs"]:
        train = train.subset(range(min(len(train), config["max_train_pairs"])))
    vocabulary = data.build_vocabulary(train.sentence1 + train.sentence2)
    tokenizer = data.PairTokenizer(vocabulary, config["oov_buckets"])
    print(
        f"{task}: train {len(train)}, dev {len(splits['dev'])}, test "
        f"{len(splits['test']) if splits['test'] else 0} pairs; vocabulary "
        f"{len(vocabulary)} words + {config['oov_buckets']} OOV buckets"
    )

    ## Model
    model_config = {
        **TASKS[task]["model_config"],
        "vocabulary_size": tokenizer.size,
        "trainable_embeddings": not config["embeddings"],
        **config["model_config"],
    }
    if config["embeddings"]:
        matrix, found, missing = embedding_matrix(
            config["embeddings"], vocabulary
        )
        print(
            f"embeddings: found {found}, missing {len(missing)} of "
            f"{len(vocabulary) - 1} words"
        )
        model_config["embedding_dim"] = int(matrix.shape[1])
    model = registry.build(config["model"], **model_config)
    if config["embeddings"]:
        full = np.random.default_rng(config["seed"]).uniform(
            -0.01, 0.01, (tokenizer.size, matrix.shape[1])
        )
        full[: len(vocabulary)] = matrix
        model.set_embeddings(full.astype("float32"))
    if model_config.get("overlap_features"):
        model.set_word_statistics(
            data.word_statistics(train.sentence1 + train.sentence2, tokenizer)
        )
    if config["optimizer"] == "adagrad":
        optimizer = keras.optimizers.Adagrad(
            config["learning_rate"], initial_accumulator_value=1e-8
        )
    else:
        optimizer = keras.optimizers.Adam(config["learning_rate"])
    three_way = model_config["head"] == "softmax"
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy"
        if three_way
        else "binary_crossentropy",
    )

    ## Training with model selection on dev
    train_inputs = encode(train, tokenizer, model_config)
    dev_inputs = encode(splits["dev"], tokenizer, model_config)
    labels = train.labels.astype("float32" if not three_way else "int64")
    selection = SELECTION_METRIC[task]
    best, best_weights, history = -1.0, None, []
    for epoch in range(1, config["epochs"] + 1):
        fit = model.fit(
            train_inputs,
            labels,
            batch_size=config["batch_size"],
            epochs=1,
            shuffle=True,
            verbose=0,
        )
        dev_metrics = evaluate(task, model, splits["dev"], dev_inputs)
        loss = float(fit.history["loss"][-1])
        history.append({"epoch": epoch, "loss": loss, **dev_metrics})
        print(
            f"epoch {epoch}: loss {loss:.4f}, dev {selection} "
            f"{dev_metrics[selection]:.4f} ({time.time() - started:.0f} s)"
        )
        if dev_metrics[selection] > best:
            best, best_epoch = dev_metrics[selection], epoch
            best_weights = model.get_weights()
    if best_weights is not None:
        model.set_weights(best_weights)

    ## Evaluation and outputs
    metrics = {
        "task": task,
        "model": config["model"],
        "best_epoch": best_epoch if best_weights is not None else 0,
        "dev": evaluate(task, model, splits["dev"], dev_inputs),
        "history": history,
        "train_pairs": len(train),
        "vocabulary_words": len(vocabulary),
        "seconds": None,
        "config": {k: v for k, v in config.items() if k != "model_config"},
        "model_config": model_config,
    }
    if splits["test"] is not None:
        test_inputs = encode(splits["test"], tokenizer, model_config)
        metrics["test"] = evaluate(task, model, splits["test"], test_inputs)
    if config["heatmap_pairs"]:
        metrics["heatmaps"] = plot_attention(
            model,
            splits["dev"],
            dev_inputs,
            tokenizer,
            output_dir,
            config["heatmap_pairs"],
        )
    if config["export"]:
        save_keras(model, os.path.join(output_dir, "model.keras"))
        export_saved_model(
            model,
            tokenizer,
            model_config,
            os.path.join(output_dir, "saved_model"),
        )
    metrics["seconds"] = round(time.time() - started, 1)
    write_json(os.path.join(output_dir, "metrics.json"), metrics)
    print(json.dumps({k: metrics[k] for k in ("dev", "test") if k in metrics}))
    return metrics


if __name__ == "__main__":
    main(parse_args(sys.argv[1:]))
