"""What each default of the sentence-pair recipe is worth, measured.

Trains BCNN and ABCNN-3 with the recipe's defaults (as in
`benchmarks/quality/sentence_pairs.py`) and with one default changed at a time,
then writes the mean ± std over seeds to
`docs/results/sentence_pairs_ablations.md` (and `.json`):

- the pooled vectors themselves in the output layer
  (`pooled_features=True`, the builder's default) instead of the
  released code's similarities only;
- no standardization of the output layer's input;
- two ABCNN-1 attention matrices, one per sentence (the paper) instead of
  one shared (the released code);
- ABCNN-2 pooling weights renormalized to sum to 1 (the released code)
  instead of the paper's raw row and column sums;
- frozen PPMI-SVD vectors of the training sentences instead of random
  vectors trained with the model;
- trained vectors that start as Keras' U(-0.05, 0.05) rows (length 0.29 at
  100-d, where every word matches every other) instead of random
  directions at length 3;
- Adam (lr 1e-3) instead of the paper's AdaGrad (lr 0.05);
- one convolution-pooling block instead of two.

SICK by default: its official test split has 4,906 pairs, so a point of
accuracy is 49 pairs, where MSRP's carved test split has 408.

Usage (two cores: run the variants side by side, then assemble):
    export TF_NUM_INTEROP_THREADS=1 TF_NUM_INTRAOP_THREADS=1
    python -m benchmarks.quality.sentence_pairs_ablations --models bcnn &
    python -m benchmarks.quality.sentence_pairs_ablations --models abcnn3 &
    wait; python -m benchmarks.quality.sentence_pairs_ablations --assemble
"""

import argparse
import datetime
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from benchmarks import common
from benchmarks.common import ROOT
from benchmarks.common import header


def _benchmark():
    from benchmarks.quality import sentence_pairs

    return sentence_pairs


# name -> (overrides of the recipe config, models it applies to or None)
VARIANTS = {
    "recipe defaults": ({}, None),
    "pooled vectors in the output layer": (
        {"model_config": {"pooled_features": True}},
        None,
    ),
    "no standardization": (
        {"model_config": {"standardize_features": False}},
        None,
    ),
    "two attention matrices (paper)": (
        {"model_config": {"share_attention_weights": False}},
        ("abcnn1", "abcnn3"),
    ),
    "renormalized pooling weights (released code)": (
        {"model_config": {"normalize_pool_weights": True}},
        ("abcnn2", "abcnn3"),
    ),
    "frozen PPMI-SVD vectors": ({"word_vectors": "ppmi"}, None),
    "trained vectors start at length 3": (
        {"trained_vector_norm": 3.0},
        None,
    ),
    "trained vectors start as Keras' U(-0.05, 0.05) rows": (
        {"trained_vector_norm": None},
        None,
    ),
    "Adam, lr 1e-3": ({"optimizer": "adam", "learning_rate": 0.001}, None),
    "one block": ({"model_config": {"num_blocks": 1}}, None),
}


def variant_config(bench, task, model, seed, overrides, output_dir):
    """The benchmark's config for (task, model, seed) with `overrides`."""
    config = bench.run_config(task, model, seed, output_dir)
    return {
        **config,
        **{k: v for k, v in overrides.items() if k != "model_config"},
        "model_config": {
            **config["model_config"],
            **overrides.get("model_config", {}),
        },
    }


def same_as_defaults(bench, recipe, task, model, overrides):
    """Whether `overrides` leave the recipe's config for `task` unchanged."""
    configs = [
        bench.resolved(variant_config(bench, task, model, 1, o, None), recipe)
        for o in (overrides, {})
    ]
    return configs[0] == configs[1]


def _slug(name):
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def markdown(report, bench):
    metric = bench.SELECTION
    lines = [
        header("quality.sentence_pairs_ablations"),
        "# Sentence-pair ablations: one recipe default changed at a time",
        "",
        f"- Command: `{report['command']}`",
        f"- Date: {report['date']}",
        f"- Machine: {common.machine_line(report['machine'])}",
        f"- Seeds: {', '.join(map(str, report['seeds']))}; each cell is the "
        "mean ± sample std over them, or over the seeds in brackets where "
        "fewer ran (dev: the selection split; test: scored once with the "
        "selected epoch). "
        f"{report['run_seconds'] / 60:.1f} min summed over "
        f"{len(report['results'])} runs.",
        "",
    ]
    for task in report["tasks"]:
        name = metric[task]
        lines += [
            f"## {task}: {name}",
            "",
            "| variant | "
            + " | ".join(f"{m} dev | {m} test" for m in report["models"])
            + " |",
            "|---|" + "---|---|" * len(report["models"]),
        ]
        for variant in report["variants"]:
            if not any(
                r["variant"] == variant and r["task"] == task
                for r in report["results"]
            ):
                continue
            cells = []
            for model in report["models"]:
                rows = [
                    r
                    for r in bench.aggregate(
                        [
                            r
                            for r in report["results"]
                            if r["variant"] == variant and r["task"] == task
                        ]
                    )
                    if r["model"] == model
                ]
                for split in ("dev", "test"):
                    if rows and split in rows[0]:
                        cell = bench._cell(rows[0], split, name, name != "map")
                        n = rows[0]["seeds"]
                        if n < len(report["seeds"]):
                            cell += f" ({n} seed{'s' if n > 1 else ''})"
                        cells.append(cell)
                    else:
                        cells.append("")
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["bcnn", "abcnn3"])
    parser.add_argument("--tasks", nargs="+", default=["sick"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument(
        "--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take finished runs with the same config from --runs-dir (the "
        "defaults also from the main benchmark's runs)",
    )
    parser.add_argument(
        "--assemble",
        action="store_true",
        help="like --reuse, but never train: runs not found are left out "
        "(to write one report from subsets run separately)",
    )
    parser.add_argument(
        "--runs-dir", default=os.path.join(ROOT, "runs", "ablations")
    )
    parser.add_argument(
        "--results-dir", default=os.path.join(ROOT, "docs", "results")
    )
    args = parser.parse_args(argv)
    bench = _benchmark()
    recipe = bench._recipe()
    results, started = [], time.time()
    reuse = args.reuse or args.assemble
    for task in args.tasks:
        for variant in args.variants:
            overrides, applies_to = VARIANTS[variant]
            for model in args.models:
                if applies_to is not None and model not in applies_to:
                    continue
                if overrides and same_as_defaults(
                    bench, recipe, task, model, overrides
                ):
                    continue  # the task's own default already
                for seed in args.seeds:
                    output_dir = os.path.join(
                        args.runs_dir, f"{task}_{model}_{_slug(variant)}_{seed}"
                    )
                    config = variant_config(
                        bench, task, model, seed, overrides, output_dir
                    )
                    metrics = None
                    if reuse:
                        metrics = bench._finished_run(
                            output_dir, config, recipe
                        )
                    if metrics is None and reuse and not overrides:
                        # the defaults: the main benchmark's run
                        main_dir = os.path.join(
                            ROOT,
                            "runs",
                            "benchmarks",
                            f"{task}_{model}_seed{seed}",
                        )
                        metrics = bench._finished_run(
                            main_dir, {**config, "output_dir": main_dir}, recipe
                        )
                    if metrics is None and args.assemble:
                        continue
                    if metrics is None:
                        print(f"=== {task} / {variant} / {model} / {seed}")
                        metrics = recipe.train(recipe.Config(**config)).metrics
                        keras.backend.clear_session()
                    keys = ("task", "model", "best_epoch", "dev", "test")
                    figures = bench.run_figures(metrics)
                    result = {k: figures[k] for k in (*keys, "seconds")}
                    results.append({**result, "seed": seed, "variant": variant})
    report = {
        "command": " ".join(
            ["TF_NUM_INTEROP_THREADS=1 TF_NUM_INTRAOP_THREADS=1 python"]
            + ["-m", "benchmarks.quality.sentence_pairs_ablations"]
            + (sys.argv[1:] if argv is None else list(argv))
        ),
        "date": datetime.datetime.now()
        .astimezone()
        .isoformat(timespec="seconds"),
        "machine": common.machine(),
        "seconds": round(time.time() - started, 1),
        "run_seconds": round(sum(r["seconds"] for r in results), 1),
        "models": args.models,
        "tasks": args.tasks,
        "seeds": args.seeds,
        "variants": args.variants,
        "overrides": {v: VARIANTS[v][0] for v in args.variants},
        "common": bench.COMMON,
        "results": results,
    }
    os.makedirs(args.results_dir, exist_ok=True)
    text = markdown(report, bench)
    for name, body in (
        ("sentence_pairs_ablations.json", json.dumps(report, indent=2)),
        ("sentence_pairs_ablations.md", text + "\n"),
    ):
        path = os.path.join(args.results_dir, name)
        with open(path + ".tmp", "w") as f:
            f.write(body)
        os.replace(path + ".tmp", path)
    print(text)
    return report


if __name__ == "__main__":
    main()
