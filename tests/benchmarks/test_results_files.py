"""Published figures come from their results files: the README's results
block and the head of the translation results page are what the report
script writes from docs/results/translation.json, not retyped; and a
measurement records the commit of the code it measured."""

import json
import os
import subprocess

import pytest

from benchmarks import common
from benchmarks.quality import translation_report as report
from tests.helpers import ROOT

RESULTS = os.path.join(ROOT, "docs", "results")


def _runs():
    with open(os.path.join(RESULTS, "translation.json"), encoding="utf-8") as f:
        return json.load(f)["runs"]


def test_the_readme_results_block_is_the_results_files():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    found = report.README_BLOCK.search(readme)
    assert found, "README.md has no results block"
    assert found.group(0) == report.readme_block(_runs()), (
        "README's results block differs from docs/results/translation.json:"
        " run python -m benchmarks.quality.translation_report"
    )


def test_the_translation_page_is_the_results_files():
    with open(os.path.join(RESULTS, "translation.md"), encoding="utf-8") as f:
        page = f.read()
    assert page.startswith(report.page_head(_runs()))


def test_a_measurement_records_the_commit_it_measured():
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    recorded = common.machine()["commit"]
    assert recorded.split("+")[0] == head.stdout.strip()
    assert recorded in (head.stdout.strip(), head.stdout.strip() + "+changes")


def test_a_runs_metrics_are_read_in_the_one_schema():
    # The kept runs were written before the one schema; their task's run
    # class moves their figures to `results` and `training`.
    kept = os.path.join(ROOT, "tests", "fixtures", "finished_runs")
    for task in ("translation", "aspect_sentiment", "sentence_pairs"):
        metrics = common.read_metrics(os.path.join(kept, task))
        assert metrics["task"] == task
        assert {"results", "training", "config"} <= set(metrics)
