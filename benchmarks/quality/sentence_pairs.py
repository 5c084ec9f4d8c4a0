"""Quality benchmark of BCNN and ABCNN-1/2/3 on WikiQA, MSRP and SICK.

Trains every model on every task with `s2s_zoo.tasks.sentence_pairs` (model
selection on dev only), then writes what it measured, untouched by hand:

- `docs/results/sentence_pairs.json`: every figure, the per-epoch dev
  history, the settings, the command, the date and the machine;
- `docs/results/sentence_pairs.md`: the same as tables, next to the
  paper's ABCNN-3 figures;
- the "Measured results" block of `docs/models/{bcnn,abcnn1,abcnn2,
  abcnn3}.md` (between `<!-- benchmark:start -->` and
  `<!-- benchmark:end -->`).

Splits: WikiQA dev (the benchmark reads WikiQA's train and dev files
only; MAP and MRR over the 126 questions with a correct answer), MSRP
dev/test carved 80/10/10 from the official train file (the benchmark
reads that file only), SICK official TRAIN / TRIAL / TEST. No pretrained
vectors: embeddings are random vectors trained with each model (the
recipe's default; frozen PPMI-SVD vectors of the training sentences are
one of the ablations in `benchmarks/quality/sentence_pairs_ablations.py`).
Word-overlap features are on
for every model, and a logistic regression on those features alone is
reported beside the models.

Every (task, model) pair is trained once per seed (`--seeds`, default
1 2 3 4 5) and the tables show the mean ± std over seeds: on MSRP's 408 test
pairs one pair is 0.25 points, so a single seed cannot rank the models.

The data files are read from `$S2S_ZOO_DATA/{wikiqa,msrp,sick}/`.

Usage (one core, in the background):
    TF_NUM_INTEROP_THREADS=1 TF_NUM_INTRAOP_THREADS=1 \\
        nohup python -m benchmarks.quality.sentence_pairs \
            > abcnn_bench.log 2>&1 &

On two cores, run subsets side by side, then assemble the report from the
finished runs (`--reuse` takes a run whose metrics.json has the same
config instead of training it again):
    export TF_NUM_INTEROP_THREADS=1 TF_NUM_INTRAOP_THREADS=1
    python -m benchmarks.quality.sentence_pairs --tasks wikiqa &
    python -m benchmarks.quality.sentence_pairs --tasks msrp sick &
    wait; python -m benchmarks.quality.sentence_pairs --reuse
"""

import argparse
import dataclasses
import datetime
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks import common
from benchmarks.common import ROOT
from benchmarks.common import header

MODELS = ("bcnn", "abcnn1", "abcnn2", "abcnn3")
TASKS = ("wikiqa", "msrp", "sick")

# The recipe's defaults (random word vectors trained with the model,
# similarity-only standardized output layer with word-overlap
# features, shared ABCNN-1 matrices, AdaGrad lr 0.05, 8 epochs with the
# best dev epoch kept), with 100-d vectors instead of 300 to fit about 25
# minutes on two cores.
SETTINGS = {"wikiqa": {}, "msrp": {}, "sick": {}}
# How the tables describe the recipe's `word_vectors` setting.
VECTORS = {
    "trained": "random vectors trained with each model",
    "ppmi": "frozen PPMI-SVD vectors of each task's training sentences",
}
COMMON = {
    "export": False,
    "heatmap_pairs": 0,
    "preset": "cpu",  # 100-d vectors: the registry's CPU sizes
    "model_config": {},
}

# What the recipe selects on, per task (its SELECTION_METRIC).
SELECTION = {"wikiqa": "map", "msrp": "accuracy", "sick": "accuracy"}

# Yin et al. 2016, ABCNN-3 two-conv, test sets, word2vec + extra features.
PAPER = {"wikiqa_map": 0.6921, "msrp_accuracy": 0.789, "sick_accuracy": 0.862}


def _recipe():
    """The task module every run goes through."""
    from s2s_zoo.tasks import sentence_pairs

    return sentence_pairs


def resolved(config, recipe):
    """The full config (task defaults filled in) of a benchmark run, as
    the task writes it to metrics.json."""
    return dataclasses.asdict(recipe.resolve(recipe.Config(**config)))


def overlap_baseline(task, recipe, seed=1, epochs=30):
    """The word-overlap features alone, in a logistic regression.

    What the 8 lexical features that every model also reads give without
    any CNN: same splits, tokenizer and IDF table as the recipe, features
    standardized with the training mean and std, a logistic regression
    (softmax for SICK) trained with Adam (lr 0.01, batch 64) for `epochs`
    epochs. Returned in the shape of a recipe run (model "overlap_lr").
    """
    from s2s_zoo.data import sentence_pairs as data
    from s2s_zoo.models.abcnn import NUM_OVERLAP_FEATURES
    from s2s_zoo.models.abcnn import _LexicalOverlap

    started = time.time()
    config = recipe.resolve(recipe.Config(task=task))
    splits = recipe.load_splits(config)
    train = splits["train"]
    vocabulary = data.build_vocabulary(train.sentence1 + train.sentence2)
    tokenizer = data.PairTokenizer(vocabulary, config.oov_buckets)
    model_config = recipe.TASKS[task]["model_config"]
    overlap = _LexicalOverlap(tokenizer.size)
    overlap.build()
    overlap.word_statistics.assign(
        data.word_statistics(train.sentence1 + train.sentence2, tokenizer)
    )

    def features(pairs):
        ids = recipe.encode(pairs, tokenizer, model_config)
        return np.asarray(overlap(ids["token_ids_1"], ids["token_ids_2"]))

    x_train = features(train)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    three_way = model_config["head"] == "softmax"
    keras.utils.set_random_seed(seed)
    classifier = keras.Sequential(
        [
            keras.Input((NUM_OVERLAP_FEATURES,)),
            keras.layers.Dense(
                3 if three_way else 1,
                activation="softmax" if three_way else "sigmoid",
            ),
        ]
    )
    classifier.compile(
        keras.optimizers.Adam(0.01),
        "sparse_categorical_crossentropy"
        if three_way
        else "binary_crossentropy",
    )
    classifier.fit(
        (x_train - mean) / std,
        train.labels,
        epochs=epochs,
        batch_size=64,
        verbose=0,
    )

    class Scores:  # the task's task_figures() asks for probabilities
        def predict_probabilities(self, x, **kwargs):
            p = classifier.predict((x - mean) / std, verbose=0)
            return p if three_way else p[:, 0]

    result = {"task": task, "model": "overlap_lr", "seed": seed}
    for split in ("dev", "test"):
        if splits[split] is not None:
            result[split] = recipe.task_figures(
                task, Scores(), splits[split], features(splits[split])
            )
    result["seconds"] = round(time.time() - started, 1)
    return result


def _pct(value):
    return f"{100 * value:.1f}"


def _cell(aggregate, split, metric, percent):
    """`mean` or `mean ± std` over seeds of one figure."""
    mean = aggregate[split][metric]
    std = aggregate.get(f"{split}_std", {}).get(metric)
    if percent:
        text = _pct(mean)
        return text if std is None else f"{text} ± {_pct(std)}"
    return f"{mean:.4f}" if std is None else f"{mean:.4f} ± {std:.4f}"


def _row(results, model):
    by_task = {r["task"]: r for r in aggregate(results) if r["model"] == model}
    cells = []
    w = by_task.get("wikiqa")
    cells += (
        [_cell(w, "dev", "map", False), _cell(w, "dev", "mrr", False)]
        if w
        else ["", ""]
    )
    m = by_task.get("msrp")
    cells += (
        [
            _cell(m, "dev", "accuracy", True),
            _cell(m, "test", "accuracy", True),
            _cell(m, "test", "f1", True),
        ]
        if m
        else ["", "", ""]
    )
    s = by_task.get("sick")
    cells += (
        [_cell(s, "dev", "accuracy", True), _cell(s, "test", "accuracy", True)]
        if s
        else ["", ""]
    )
    return cells


def aggregate(results):
    """Means (and, over several seeds, sample std) per task and model.

    Returns one dict per (task, model) in first-seen order, shaped like a
    single run's result: `dev`/`test` hold the means, `dev_std`/`test_std`
    the standard deviations when there is more than one seed.
    """
    groups = {}
    for r in results:
        groups.setdefault((r["task"], r["model"]), []).append(r)
    out = []
    for (task, model), runs in groups.items():
        row = {"task": task, "model": model, "seeds": len(runs)}
        for split in ("dev", "test"):
            if not all(split in r for r in runs):
                continue
            metrics = [
                k
                for k, v in runs[0][split].items()
                if isinstance(v, float) and k != "pairs"
            ]
            values = {k: np.array([r[split][k] for r in runs]) for k in metrics}
            row[split] = {k: float(v.mean()) for k, v in values.items()}
            if len(runs) > 1:
                row[f"{split}_std"] = {
                    k: float(v.std(ddof=1)) for k, v in values.items()
                }
        out.append(row)
    return out


HEADER = (
    "| model | WikiQA dev MAP | WikiQA dev MRR | MSRP dev acc | MSRP test acc "
    "| MSRP test F1 | SICK dev acc | SICK test acc |\n"
    "|---|---|---|---|---|---|---|---|"
)


BASELINE_NAME = "word-overlap features only (LR, no CNN)"


def table(results, models, baselines=()):
    lines = [HEADER]
    for model in models:
        lines.append("| " + " | ".join([model] + _row(results, model)) + " |")
    if baselines:
        cells = _row(list(baselines), "overlap_lr")
        lines.append("| " + " | ".join([BASELINE_NAME] + cells) + " |")
    lines.append(
        f"| paper ABCNN-3 (test, word2vec + features) | "
        f"{PAPER['wikiqa_map']:.4f} (test) | | | {_pct(PAPER['msrp_accuracy'])}"
        f" | | | {_pct(PAPER['sick_accuracy'])} |"
    )
    return "\n".join(lines)


def checks(results):
    """The issue's aims, on the means over seeds."""

    def get(task, model, split, metric):
        for r in aggregate(results):
            if r["task"] == task and r["model"] == model:
                return r[split][metric]
        return None

    out = {}
    pairs = [
        ("wikiqa", "dev", "map"),
        ("msrp", "test", "accuracy"),
        ("sick", "test", "accuracy"),
    ]
    for task, split, metric in pairs:
        a, b = (
            get(task, "abcnn3", split, metric),
            get(task, "bcnn", split, metric),
        )
        if a is not None and b is not None:
            out[f"abcnn3_above_bcnn_{task}"] = bool(a > b)
    w = get("wikiqa", "abcnn3", "dev", "map")
    if w is not None:
        out["abcnn3_wikiqa_map_at_least_0.65"] = bool(w >= 0.65)
    return out


def markdown(report):
    lines = [
        header("quality.sentence_pairs"),
        "# Sentence-pair benchmark: BCNN and ABCNN-1/2/3",
        "",
        f"- Command: `{report['command']}`",
        f"- Date: {report['date']}",
        f"- Machine: {common.machine_line(report['machine'])}",
        f"- Time: {report['run_seconds'] / 60:.1f} min of training and "
        f"evaluation, summed over the {len(report['results'])} runs (one "
        "core each)",
        "",
        "## Results",
        "",
        "MAP / MRR on the WikiQA dev questions that have a correct answer "
        "(the benchmark reads WikiQA's train and dev files only); MSRP "
        "dev/test carved 80/10/10 from the official train file; SICK "
        "official TRIAL (dev) "
        "and TEST. Accuracy and F1 in %. Best dev epoch selected. Each "
        f"cell is the mean ± sample standard deviation over "
        f"{len(report['seeds'])} seeds ({', '.join(map(str, report['seeds']))})"
        ": initialisation and batch order change, the splits do not. No "
        "pretrained vectors (the paper used word2vec): "
        f"{VECTORS[report['word_vectors']]}; word-overlap features on.",
        "",
        table(report["results"], report["models"], report["baselines"]),
        "",
        "The last model row is a logistic regression on the 8 word-overlap "
        "features that every model also reads, without any CNN "
        "(`overlap_baseline`): the part of each figure the lexical features "
        "give on their own.",
        "",
        "## Checks",
        "",
    ]
    for key, value in report["checks"].items():
        lines.append(f"- {key}: {'yes' if value else 'no'}")
    lines += [
        "",
        "## Settings",
        "",
        "```json",
        json.dumps(
            {"common": report["common"], "per_task": report["settings"]},
            indent=2,
            sort_keys=True,
        ),
        "```",
        "",
        "## Per run",
        "",
        "| task | model | seed | selected on dev | dev | test "
        "| best epoch / epochs | train pairs | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        metric = SELECTION[r["task"]]
        test = r.get("test", {}).get(metric)
        lines.append(
            f"| {r['task']} | {r['model']} | {r['seed']} | {metric} | "
            f"{r['dev'][metric]:.4f} | "
            f"{'' if test is None else f'{test:.4f}'} | {r['best_epoch']} / "
            f"{len(r['history'])} | {r['train_pairs']} | {r['seconds']} |"
        )
    return "\n".join(lines) + "\n"


def update_model_card(path, report, model):
    if not os.path.exists(path):
        return
    with open(path) as f:
        text = f.read()
    start, end = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
    if start not in text or end not in text:
        return
    rows = [
        HEADER,
        "| " + " | ".join([model] + _row(report["results"], model)) + " |",
    ]
    block = "\n".join(
        [
            start,
            "",
            f"Measured by `{report['command']}` on {report['date']} "
            f"({report['machine']['cpu']}, TF intra-op threads "
            f"{report['machine']['intra_op_threads']}; "
            f"{report['run_seconds'] / 60:.1f} min summed over all runs). "
            f"No pretrained vectors ({VECTORS[report['word_vectors']]}), "
            "word-overlap features on; see "
            "[the benchmark page](../benchmarks.md#sentence-pairs) for all "
            "models and settings.",
            "",
            *rows,
            "",
            end,
        ]
    )
    before = text.split(start)[0]
    after = text.split(end, 1)[1]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(before + block + after)
    os.replace(tmp, path)


def run_config(task, model, seed, output_dir):
    """The recipe config of one benchmark run."""
    return {
        **COMMON,
        **SETTINGS[task],
        "task": task,
        "model": model,
        "seed": seed,
        "output_dir": output_dir,
    }


def _finished_run(output_dir, config, recipe):
    """A run's metrics.json if it finished with exactly `config`."""
    path = os.path.join(output_dir, "metrics.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        metrics = json.load(f)
    full = resolved(config, recipe)
    expected = {k: v for k, v in full.items() if k != "model_config"}
    saved_config = {
        k: v
        for k, v in metrics.get("config", {}).items()
        if k != "model_config"
    }
    if saved_config != json.loads(json.dumps(expected)):
        return None
    # The saved model_config also holds task defaults and vocabulary
    # sizes; the benchmark's overrides must all match it.
    saved = metrics.get("model_config", {})
    if any(saved.get(k) != v for k, v in full["model_config"].items()):
        return None
    return metrics


def run_figures(metrics):
    """What the tables read of one run, from its metrics.json (in the one
    schema of every task, or written before it): the sentence-pair task,
    the model, dev and test figures, the kept epoch, the history, the
    training pairs, the seconds and the model settings."""
    from s2s_zoo.tasks.sentence_pairs import SentencePairRun

    metrics = SentencePairRun.upgrade_metrics(metrics)
    training = metrics.get("training", {})
    return {
        "task": metrics["config"]["task"],
        "model": metrics["model"],
        **metrics.get("results", {}),
        **{
            k: training[k]
            for k in ("best_epoch", "history", "train_pairs")
            if k in training
        },
        "seconds": metrics.get("wall_seconds", metrics.get("seconds")),
        "model_config": metrics.get("model_config"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[1, 2, 3, 4, 5],
        help="one run per seed; tables show the mean and std over seeds",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take a run's figures from its metrics.json in --runs-dir when "
        "it finished with the same config (to resume an interrupted "
        "benchmark, or to assemble runs made in parallel)",
    )
    parser.add_argument(
        "--runs-dir", default=os.path.join(ROOT, "runs", "benchmarks")
    )
    parser.add_argument(
        "--results-dir", default=os.path.join(ROOT, "docs", "results")
    )
    args = parser.parse_args(argv)
    recipe = _recipe()
    started = time.time()
    results = []
    for task in args.tasks:
        for model in args.models:
            for seed in args.seeds:
                output_dir = os.path.join(
                    args.runs_dir, f"{task}_{model}_seed{seed}"
                )
                config = run_config(task, model, seed, output_dir)
                metrics = _finished_run(output_dir, config, recipe)
                if metrics is None or not args.reuse:
                    print(f"=== {task} / {model} / seed {seed}", flush=True)
                    metrics = recipe.train(recipe.Config(**config)).metrics
                    keras.backend.clear_session()
                else:
                    print(f"=== {task} / {model} / seed {seed}: reused")
                result = run_figures(metrics)
                results.append({**result, "seed": seed})
            print(table(results, args.models), flush=True)
    baselines = [overlap_baseline(task, recipe) for task in args.tasks]
    report = {
        "command": "TF_NUM_INTEROP_THREADS=1 TF_NUM_INTRAOP_THREADS=1 "
        "python -m benchmarks.quality.sentence_pairs"
        + ("" if argv is None and len(sys.argv) == 1 else " ")
        + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now()
        .astimezone()
        .isoformat(timespec="seconds"),
        "machine": common.machine(),
        "seconds": round(time.time() - started, 1),
        "run_seconds": round(sum(r["seconds"] for r in results), 1),
        "models": args.models,
        "seeds": args.seeds,
        "tasks": args.tasks,
        "common": COMMON,
        "settings": SETTINGS,
        "word_vectors": recipe.Config().word_vectors,
        "paper_abcnn3": PAPER,
        "results": results,
        "baselines": baselines,
        "checks": checks(results),
    }
    report["command"] = report["command"].rstrip()
    os.makedirs(args.results_dir, exist_ok=True)
    for name, text in (
        ("sentence_pairs.json", json.dumps(report, indent=2, sort_keys=True)),
        ("sentence_pairs.md", markdown(report)),
    ):
        path = os.path.join(args.results_dir, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    for model in args.models:
        update_model_card(
            os.path.join(ROOT, "docs", "models", f"{model}.md"), report, model
        )
    print(table(results, args.models, baselines))
    print(json.dumps(report["checks"], indent=2))
    return report


if __name__ == "__main__":
    main()
