"""Sentence-pair modelling with BCNN / ABCNN-1/2/3 (Yin et al. 2016).

Tasks: answer selection on WikiQA (MAP, MRR), paraphrase identification on
MSRP (accuracy, F1) and entailment on SICK (accuracy). Model selection uses
the dev split only (which of `restarts` initialisations trains on, and
which epoch is kept); test figures are computed once, with the selected
weights. Without `--embeddings`, random word vectors train with the
model (`--word-vectors ppmi`: frozen PPMI-SVD vectors of the training
sentences instead). Writes under `--output-dir` (default
`runs/sentence_pairs/TASK`):

- `metrics.json`: dev (and test) figures, per-epoch dev history, the
  restarts' first-epoch dev figures, config.
- `attention_*.png`: attention matrices of sample dev pairs.
- `model.keras` and `saved_model/`, whose `serving_default` takes 1-D
  strings `sentence1`, `sentence2` and returns `score` (the probability of
  the positive class; for 3-way tasks the probability of the predicted
  label) and, for 3-way tasks, `probabilities` and `label`. Tokenization
  runs inside the graph; the SavedModel needs only `tensorflow` and
  `tensorflow_text`.

Usage:
    python recipes/sentence_pairs.py --task wikiqa --model abcnn3
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
from s2s_zoo.data.embeddings import ppmi_svd_vectors
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
    # Without --embeddings: "trained" starts from random vectors and trains
    # them with the model; "ppmi" builds frozen vectors from the training
    # sentences (PPMI + SVD, see s2s_zoo.data.embeddings). Mean dev figure
    # of the four models over 5 seeds, trained against PPMI: SICK 81.2 vs
    # 77.4, WikiQA MAP 0.698 vs 0.683, MSRP 75.6 vs 75.9 (within noise):
    # docs/results/sentence_pairs_ablations.md.
    "word_vectors": "trained",
    "epochs": 8,
    # Initialisations tried for one epoch each; the best on dev trains on.
    "restarts": 3,
    "output_dir": None,  # None: runs/sentence_pairs/TASK
    "seed": 1,
    # Not command-line flags; recipes and tests override them through main().
    "batch_size": 32,
    # The paper's optimizer (AdaGrad, lr 0.05-0.09 in its table; one rate
    # for every task here); docs/results/sentence_pairs_ablations.md
    # compares it with Adam 1e-3.
    "optimizer": "adagrad",  # or "adam"
    "learning_rate": 0.05,
    "initial_accumulator": 1e-8,  # AdaGrad's; the released code starts at 0
    # Length of every frozen vector (PPMI rows, and the random rows of
    # words a vectors file lacks). The match score 1 / (1 + |x - y|) is
    # not scale-free: at length 3 two unrelated (orthogonal) words score
    # 0.19 against 1 for a repeated word, at length 1 they score 0.41.
    "vector_norm": 3.0,
    # Trained vectors start as random directions of this length; None
    # keeps Keras' U(-0.05, 0.05) rows (length 0.29 at 100-d, where any two
    # words score about 0.7: every word matches every other at the start).
    # Tasks may set their own (TASKS): a task's default differs from this
    # one only where its dev figure is clearly better.
    "trained_vector_norm": 3.0,
    "oov_buckets": 1000,
    "model_config": {},  # registry overrides on top of the task's
    "max_train_pairs": None,
    "heatmap_pairs": 2,
    "export": True,
}

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

# Per task: default files, how to read them, the head and the paper's
# filter width (w = 4 for AS, 3 for PI / TE), and the task's own defaults
# of CONFIG keys ("config"; a key the caller sets wins), as the paper's
# hyperparameters are per task too.
TASKS = {
    "wikiqa": {
        "train": f"{DATA_DIR}/wikiqa/WikiQA-train.txt",
        "dev": f"{DATA_DIR}/wikiqa/WikiQA-dev.tsv",
        "test": None,
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
        "train": f"{DATA_DIR}/msrp/msr_paraphrase_train.txt",
        "dev": None,  # carved from train
        "test": None,
        "model_config": {
            "head": "score",
            "kernel_size": 3,
            "sequence_length_1": 40,
            "sequence_length_2": 40,
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
        },
    },
}
MSRP_CARVE = (0.1, 0.1)  # dev, test fractions of the train file
MSRP_CARVE_SEED = 0  # fixed, so every model sees the same split


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--task",
        choices=sorted(TASKS),
        default="wikiqa",
        help="wikiqa: answer selection (MAP, MRR); msrp: paraphrase "
        "(accuracy, F1); sick: 3-way entailment (accuracy).",
    )
    parser.add_argument(
        "--model",
        default=CONFIG["model"],
        choices=registry.model_names(task="sentence_pairs"),
        help="Registry name of the model.",
    )
    parser.add_argument(
        "--train",
        help="Training file in the task's official format (default: the "
        "task's file under $S2S_ZOO_DATA).",
    )
    parser.add_argument(
        "--dev",
        help="Dev file, used for model selection only (MSRP default: 10%% "
        "carved from --train).",
    )
    parser.add_argument(
        "--test",
        help="Test file, scored once with the selected weights (MSRP "
        "default: another 10%% carved from --train).",
    )
    parser.add_argument(
        "--embeddings",
        help="GloVe or word2vec text file of pretrained vectors, frozen "
        "(the paper used word2vec).",
    )
    parser.add_argument(
        "--word-vectors",
        dest="word_vectors",
        choices=("ppmi", "trained"),
        default=CONFIG["word_vectors"],
        help="Without --embeddings: trained (default) learns random vectors "
        "with the model; ppmi builds frozen PPMI-SVD vectors from the "
        "training sentences.",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=CONFIG["epochs"],
        help="Training epochs; the best dev epoch is kept.",
    )
    parser.add_argument(
        "--output-dir",
        dest="output_dir",
        help="Where outputs go (default runs/sentence_pairs/TASK).",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=CONFIG["seed"],
        help="Seeds initialisation, batch order and the vectors' SVD.",
    )
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


## Word vectors


def word_vectors(config, train, vocabulary, model_config, accepted):
    """`(matrix, covered)` for the vocabulary, or None (trained vectors).

    From `--embeddings FILE` when given (the vectors as they are), else
    PPMI-SVD vectors of the training sentences at length `vector_norm`.
    Sets `model_config["embedding_dim"]` to the vectors' size.
    """
    if config["embeddings"]:
        matrix, found, missing = embedding_matrix(
            config["embeddings"], vocabulary
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
    if config["word_vectors"] != "ppmi":
        return None
    dim = model_config.get("embedding_dim", accepted["embedding_dim"])
    sentences = sorted(set(train.sentence1 + train.sentence2))
    matrix, covered = ppmi_svd_vectors(
        data.tokenize_to_lists(sentences),
        vocabulary,
        dim=dim,
        norm=config["vector_norm"],
        seed=config["seed"],
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


def build_model(config, model_config, vectors, statistics):
    """The registry model with its frozen vectors and IDF table, compiled."""
    model = registry.build(config["model"], **model_config)
    if vectors is not None:
        model.set_embeddings(vectors)
    if statistics is not None:
        model.set_word_statistics(statistics)
    if config["optimizer"] == "adagrad":
        optimizer = keras.optimizers.Adagrad(
            config["learning_rate"],
            initial_accumulator_value=config["initial_accumulator"],
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
    return model


## Main


def resolve_config(config=None):
    """`config` over the task's own defaults over CONFIG."""
    config = config or {}
    task = config.get("task", CONFIG["task"])
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; known: {sorted(TASKS)}.")
    return {**CONFIG, **TASKS[task].get("config", {}), **config}


def main(config=None):
    """Trains, selects on dev, evaluates, writes outputs; returns metrics."""
    config = resolve_config(config)
    task = config["task"]
    if config["restarts"] < 1 or config["epochs"] < 1:
        raise ValueError(
            "restarts and epochs must be at least 1; received "
            f"restarts={config['restarts']!r}, epochs={config['epochs']!r}."
        )
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
    accepted = registry.describe(config["model"]).defaults
    frozen = bool(config["embeddings"]) or config["word_vectors"] == "ppmi"
    model_config = {
        **{k: v for k, v in COMMON_MODEL_CONFIG.items() if k in accepted},
        **TASKS[task]["model_config"],
        "vocabulary_size": tokenizer.size,
        "trainable_embeddings": not frozen,
        **config["model_config"],
    }
    vectors = word_vectors(config, train, vocabulary, model_config, accepted)
    if vectors is not None:
        vectors = fill_uncovered_rows(*vectors, tokenizer.size, config["seed"])
    statistics = None
    if model_config.get("overlap_features"):
        statistics = data.word_statistics(
            train.sentence1 + train.sentence2, tokenizer
        )
    three_way = model_config["head"] == "softmax"

    ## Training with model selection on dev
    train_inputs = encode(train, tokenizer, model_config)
    dev_inputs = encode(splits["dev"], tokenizer, model_config)
    labels = train.labels.astype("float32" if not three_way else "int64")
    selection = SELECTION_METRIC[task]

    def train_epoch(model, epoch):
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
        print(
            f"epoch {epoch}: loss {loss:.4f}, dev {selection} "
            f"{dev_metrics[selection]:.4f} ({time.time() - started:.0f} s)"
        )
        return {"epoch": epoch, "loss": loss, **dev_metrics}

    # Restarts (Dodge et al. 2020, "Fine-Tuning Pretrained Language
    # Models: Weight Initializations, Data Orders, and Early Stopping"):
    # some initialisations never get going (on SICK about one seed in five
    # stayed near the word-overlap baseline whatever the optimizer), and
    # one epoch tells them apart. Each restart trains one epoch from its
    # own seed; only the best on dev goes on.
    candidates = []
    for restart in range(config["restarts"]):
        seed = config["seed"] + 1000 * restart
        keras.utils.set_random_seed(seed)
        if vectors is None and config["trained_vector_norm"] is not None:
            # Trained vectors start as random directions at
            # trained_vector_norm, drawn again for each restart.
            start = random_vectors(
                tokenizer.size,
                model_config.get("embedding_dim", accepted["embedding_dim"]),
                config["trained_vector_norm"],
                seed,
            )
        else:
            start = vectors
        model = build_model(config, model_config, start, statistics)
        if config["restarts"] > 1:
            print(f"restart {restart + 1}/{config['restarts']} (seed {seed})")
        candidates.append((seed, model, train_epoch(model, 1)))
    # The best first-epoch dev figure; the earliest restart on a tie.
    chosen_seed, model, first = max(
        candidates, key=lambda c: (c[2][selection], -c[0])
    )
    restarts = [{"seed": c[0], "dev": c[2][selection]} for c in candidates]
    del candidates
    history = [first]
    best, best_epoch = first[selection], 1
    best_weights = model.get_weights()
    for epoch in range(2, config["epochs"] + 1):
        history.append(train_epoch(model, epoch))
        if history[-1][selection] > best:
            best, best_epoch = history[-1][selection], epoch
            best_weights = model.get_weights()
    model.set_weights(best_weights)

    ## Evaluation and outputs
    metrics = {
        "task": task,
        "model": config["model"],
        "best_epoch": best_epoch,
        "restarts": restarts,
        "restart_seed": chosen_seed,
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
