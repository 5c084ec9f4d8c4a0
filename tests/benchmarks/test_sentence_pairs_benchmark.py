"""The sentence-pair benchmark's bookkeeping: seed means, checks, reuse."""

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load(
    "sentence_pairs_benchmark",
    os.path.join(ROOT, "benchmarks", "sentence_pairs.py"),
)


def run(model, seed, accuracy, task="msrp"):
    figures = {"accuracy": accuracy, "f1": 0.8, "pairs": 408}
    return {
        "task": task,
        "model": model,
        "seed": seed,
        "best_epoch": 1,
        "history": [{}],
        "train_pairs": 10,
        "seconds": 1.0,
        "dev": dict(figures),
        "test": dict(figures),
    }


RESULTS = [
    run("bcnn", 1, 0.70),
    run("abcnn3", 1, 0.75),
    run("bcnn", 2, 0.74),
    run("abcnn3", 2, 0.71),
    run("bcnn", 3, 0.72),
    run("abcnn3", 3, 0.73),
]


def test_aggregate_gives_mean_and_sample_std_per_model():
    rows = {r["model"]: r for r in bench.aggregate(RESULTS)}
    assert rows["bcnn"]["seeds"] == 3
    assert rows["bcnn"]["test"]["accuracy"] == pytest.approx(0.72)
    # sqrt(((-0.02)^2 + 0.02^2 + 0) / (3 - 1)) = 0.02
    assert rows["bcnn"]["test_std"]["accuracy"] == pytest.approx(0.02)
    assert rows["abcnn3"]["test"]["accuracy"] == pytest.approx(0.73)
    assert "pairs" not in rows["bcnn"]["test"]


def test_one_seed_has_no_std_and_the_table_shows_plain_figures():
    rows = bench.aggregate(RESULTS[:2])
    assert "test_std" not in rows[0]
    assert "| bcnn |  |  | 70.0 | 70.0 | 80.0 |  |  |" in bench.table(
        RESULTS[:2], ["bcnn", "abcnn3"]
    )


def test_table_shows_mean_plus_minus_std():
    line = bench.table(RESULTS, ["bcnn", "abcnn3"]).splitlines()[2]
    assert line.startswith("| bcnn |  |  | 72.0 ± 2.0 | 72.0 ± 2.0 |")


def test_checks_compare_means_over_seeds():
    # Seed 2 alone would rank BCNN first; the means rank ABCNN-3 first.
    assert bench.checks(RESULTS) == {"abcnn3_above_bcnn_msrp": True}
    assert bench.checks(RESULTS[2:4]) == {"abcnn3_above_bcnn_msrp": False}


def test_finished_run_is_reused_only_with_the_same_config(tmp_path):
    recipe = bench._recipe()
    config = {
        **bench.COMMON,
        **bench.SETTINGS["msrp"],
        "task": "msrp",
        "model": "bcnn",
        "seed": 2,
        "output_dir": str(tmp_path),
    }
    assert bench._finished_run(str(tmp_path), config, recipe) is None
    full = {**recipe.CONFIG, **config}
    metrics = {
        "config": {k: v for k, v in full.items() if k != "model_config"},
        "model_config": {"head": "score", **bench.COMMON["model_config"]},
    }
    with open(tmp_path / "metrics.json", "w") as f:
        json.dump(metrics, f)
    assert bench._finished_run(str(tmp_path), config, recipe) == metrics
    assert (
        bench._finished_run(str(tmp_path), {**config, "seed": 3}, recipe)
        is None
    )
    other = {
        **config,
        "model_config": {**config["model_config"], "dropout": 0.1},
    }
    assert bench._finished_run(str(tmp_path), other, recipe) is None
