"""Published figures come from their results files: the README's results
block and the head of the translation results page are what the report
script writes from docs/results/translation.json, not retyped; the
hand-written pages quote no figure that no results file holds; and every
results file records the commit of the code it measured, one of this
history."""

import json
import os
import re
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


# ---------------------------------------------------------------------------
# Hand-written pages quote only figures that a results file holds.
#
# A page's figures are decimal numbers ("27.45", "0.6903", "1.25x"). On the
# hand-written pages (README, docs/*.md, the model cards) each must appear,
# as written, in a results file (docs/results/*.json or the pages the
# benchmarks write from them), unless it is one of the page's numbers below
# that are not measurements: paper identifiers, settings, worked examples.
# A figure retyped by hand and then measured again, or a difference worked
# out by hand, is caught.

NOT_FIGURES = {
    "README.md": set(),
    "docs/index.md": {"3.10"},  # the Python version
    "docs/averaging_and_ensembles.md": {"0.99", "0.9995"},  # settings
    "docs/benchmarks.md": {"0.25"},  # one MSRP test pair, in points
    # The attention worked example, computed in the text.
    "docs/concepts.md": {"0.422", "0.155", "0.845", "0.578"},
    "docs/models/bahdanau_attention.md": {"1409.0473", "0.95"},
    "docs/models/rnn_encoder_decoder.md": {"1406.1078", "0.95"},
    "docs/models/deep_lstm_seq2seq.md": {"1409.3215"},
    "docs/models/luong_attention.md": {"1508.04025"},
    # arXiv and DOI of Yin et al.; the length of Keras' initial rows.
    **{
        f"docs/models/{name}.md": {"1512.05193", "10.1162", "0.29"}
        for name in ("bcnn", "abcnn1", "abcnn2", "abcnn3")
    },
}
DECIMAL = re.compile(r"(?<![\w.\-/])(\d+\.\d+)(?![\w.])")


def _hand_written_pages():
    pages = ["README.md"]
    for folder in ("docs", os.path.join("docs", "models")):
        pages += sorted(
            os.path.join(folder, name)
            for name in os.listdir(os.path.join(ROOT, folder))
            if name.endswith(".md")
        )
    return pages


def _held_by_results_files():
    held = set()
    for name in os.listdir(RESULTS):
        if name.endswith((".json", ".md")):
            with open(os.path.join(RESULTS, name), encoding="utf-8") as f:
                held.update(re.findall(r"\d+\.\d+", f.read()))
    return held


def _generated_blocks_removed(text):
    # Lines a benchmark wrote into the page (between its markers) and
    # includes of results files are the results files themselves.
    text = re.sub(
        r"<!-- benchmark:start -->.*?<!-- benchmark:end -->",
        "",
        text,
        flags=re.S,
    )
    text = report.README_BLOCK.sub("", text)
    return re.sub(r"--8<--.*", "", text)


def unheld_figures(page, text, held):
    """The decimal numbers of `text` that no results file holds."""
    allowed = NOT_FIGURES.get(page, set())
    return sorted(
        {
            number
            for number in DECIMAL.findall(_generated_blocks_removed(text))
            if number not in held and number not in allowed
        }
    )


def test_hand_written_pages_quote_only_figures_of_results_files():
    held = _held_by_results_files()
    problems = {}
    for page in _hand_written_pages():
        with open(os.path.join(ROOT, page), encoding="utf-8") as f:
            missing = unheld_figures(page, f.read(), held)
        if missing:
            problems[page] = missing
    assert not problems, (
        "figures no results file holds (retyped or worked out by hand; "
        f"include the results file instead): {problems}"
    )


def test_a_figure_typed_into_a_page_is_caught():
    held = _held_by_results_files()
    text = "The default recipe scores 31.17 BLEU (27.45 in the block)."
    assert unheld_figures("README.md", text, held) == ["31.17"]
    assert unheld_figures("docs/index.md", "Python 3.10 or newer", held) == []


# ---------------------------------------------------------------------------
# A results file is no older than the code it measured, by this rule: the
# commit it records (benchmarks.common.machine()["commit"], "+changes" for
# a work tree that differed from it) is an ancestor of the checked-out
# commit, i.e. it measured code of this history. Files written before
# commits were recorded are listed here by name and must gain one when they
# are written again (and then leave this list).

BEFORE_COMMITS_WERE_RECORDED = {
    "aspect_sentiment.json",
    "backends.json",
    "bottleneck.json",
    "decoding_options.json",
    "device_throughput.json",
    "device_throughput_paper.json",
    "ensemble.json",
    "local_attention.json",
    "recipe_shapes.json",
    "sentence_pairs.json",
    "sentence_pairs_ablations.json",
    "serving_fuzz.json",
    "tokenizers.json",
    "translation.json",
    "weight_averaging.json",
}


def _recorded_commits(name):
    with open(os.path.join(RESULTS, name), encoding="utf-8") as f:
        return set(re.findall(r'"commit": "([0-9a-f]{7,40}|unknown)', f.read()))


def _git(*args):
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_every_results_file_measured_code_of_this_history():
    if _git("rev-parse", "HEAD").returncode != 0:
        pytest.skip("not a git checkout")
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("a shallow clone has no history to check against")
    problems = []
    for name in sorted(os.listdir(RESULTS)):
        if not name.endswith(".json"):
            continue
        commits = _recorded_commits(name)
        if name in BEFORE_COMMITS_WERE_RECORDED:
            assert not commits, (
                f"{name} records a commit now: remove it from "
                "BEFORE_COMMITS_WERE_RECORDED"
            )
            continue
        if not commits:
            problems.append(f"{name}: records no commit")
        for commit in commits:
            if (
                commit == "unknown"
                or _git(
                    "merge-base", "--is-ancestor", commit, "HEAD"
                ).returncode
            ):
                problems.append(f"{name}: {commit} is not of this history")
    assert not problems, problems
