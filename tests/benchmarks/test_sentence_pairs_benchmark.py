"""The sentence-pair benchmark's bookkeeping: seed means, checks, reuse."""

import json

import pytest

from benchmarks.quality import sentence_pairs as bench
from benchmarks.quality import sentence_pairs_ablations as ablations


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
    full = bench.resolved(config, recipe)
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


def test_the_overlap_baseline_gets_a_row_of_its_own():
    baseline = run("overlap_lr", 1, 0.752)
    lines = bench.table(RESULTS, ["bcnn", "abcnn3"], [baseline]).splitlines()
    assert lines[4].startswith(
        "| word-overlap features only (LR, no CNN) |  |  | 75.2 | 75.2 |"
    )
    assert lines[5].startswith("| paper ABCNN-3")
    # Without baselines the table is as before.
    assert len(bench.table(RESULTS, ["bcnn", "abcnn3"]).splitlines()) == 5


def test_an_ablation_changes_one_setting_on_top_of_the_benchmark():
    overrides, _ = ablations.VARIANTS["one block"]
    config = ablations.variant_config(bench, "sick", "bcnn", 2, overrides, "x")
    assert config["model_config"] == {
        **bench.COMMON["model_config"],
        "num_blocks": 1,
    }
    assert config["seed"] == 2 and config["output_dir"] == "x"
    defaults = ablations.variant_config(bench, "sick", "bcnn", 2, {}, "x")
    assert {**defaults, "model_config": config["model_config"]} == config
    adam, _ = ablations.VARIANTS["Adam, lr 1e-3"]
    config = ablations.variant_config(bench, "sick", "bcnn", 2, adam, "x")
    assert (config["optimizer"], config["learning_rate"]) == ("adam", 0.001)


def test_a_variant_equal_to_a_tasks_own_default_is_not_run_again():
    recipe = bench._recipe()
    keras_rows = {"trained_vector_norm": None}
    # WikiQA's trained vectors already start from Keras' rows; SICK's not.
    assert ablations.same_as_defaults(
        bench, recipe, "wikiqa", "bcnn", keras_rows
    )
    assert not ablations.same_as_defaults(
        bench, recipe, "sick", "bcnn", keras_rows
    )
    length_3 = {"trained_vector_norm": 3.0}
    assert ablations.same_as_defaults(bench, recipe, "sick", "abcnn3", length_3)
    assert not ablations.same_as_defaults(
        bench, recipe, "wikiqa", "abcnn3", length_3
    )


def test_ablation_table_has_a_row_per_variant_and_blank_cells():
    results = [
        {**run(m, s, a, task="sick"), "variant": v}
        for v, m, s, a in [
            ("recipe defaults", "bcnn", 1, 0.80),
            ("recipe defaults", "bcnn", 2, 0.78),
            ("recipe defaults", "abcnn3", 1, 0.77),
            ("two attention matrices (paper)", "abcnn3", 1, 0.75),
        ]
    ]
    report = {
        "command": "c",
        "date": "d",
        "machine": {
            "cpu": "cpu",
            "intra_op_threads": 1,
            "inter_op_threads": 1,
            "tensorflow": "t",
            "keras": "k",
        },
        "seeds": [1, 2],
        "run_seconds": 60.0,
        "results": results,
        "tasks": ["sick"],
        "models": ["bcnn", "abcnn3"],
        "variants": ["recipe defaults", "two attention matrices (paper)"],
    }
    text = ablations.markdown(report, bench)
    # fewer seeds than the report's: the count is shown
    assert (
        "| recipe defaults | 79.0 ± 1.4 | 79.0 ± 1.4 | 77.0 (1 seed) | "
        "77.0 (1 seed) |"
    ) in text
    assert (
        "| two attention matrices (paper) |  |  | 75.0 (1 seed) | "
        "75.0 (1 seed) |"
    ) in text
