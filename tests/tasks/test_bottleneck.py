"""The bottleneck study's plumbing on a tiny synthetic run."""

import csv
import json
import os
import sys

from s2s_zoo.tasks import bottleneck
from tests import helpers
from tests.helpers import ROOT
from tests.helpers import kill_when

# A tiny synthetic study: two models, 200 training and 40 test pairs.
QUICK = [
    "--quick",
    "--models",
    "rnn_encoder_decoder",
    "bahdanau_attention",
    "--train-pairs",
    "200",
    "--test-pairs",
    "40",
    "--test-max-length",
    "30",
    "--train-max-length",
    "10",
    "--parameters",
    "12000",
]


def parse(flags):
    return helpers.parse("bottleneck", bottleneck, flags)


def test_bottleneck_writes_table_figure_and_metrics(tmp_path):
    report = bottleneck.run(
        parse(
            [
                *QUICK,
                "--minutes-per-model",
                "0.02",
                "--output-dir",
                str(tmp_path),
            ]
        )
    )
    for name in ("bleu_by_length.csv", "bleu_by_length.png", "metrics.json"):
        assert (tmp_path / name).exists()
    assert (tmp_path / "attention_bahdanau_attention_0.png").exists()
    with open(tmp_path / "bleu_by_length.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "source_length",
        "sentences",
        "rnn_encoder_decoder",
        "bahdanau_attention",
    ]
    assert [r[0] for r in rows[1:]] == [
        "1-5",
        "6-10",
        "11-15",
        "16-20",
        "21-25",
        "26-30",
    ]
    assert sum(int(r[1]) for r in rows[1:]) == 40
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["sentences_per_bucket"] == report["sentences_per_bucket"]
    # Matched parameter budgets: within 25% of the target at this tiny size.
    for name in ("rnn_encoder_decoder", "bahdanau_attention"):
        assert abs(saved["models"][name]["parameters"] - 12000) < 3000


def test_matched_config_tracks_the_budget():
    args = bottleneck.resolve(parse(["--quick", "--parameters", "50000"]))
    counts = [
        bottleneck.matched_config(name, args, 100, 100)[1]
        for name in bottleneck.MODELS
    ]
    assert max(counts) / min(counts) < 1.05


def test_resume_after_kill_keeps_the_finished_models(tmp_path):
    # The study as a recipe process, killed with SIGKILL once its first
    # model is finished and scored, then resumed here.
    output_dir = str(tmp_path / "study")
    done = os.path.join(output_dir, "models_done.json")

    def models_done():
        try:
            with open(done) as f:
                return len(json.load(f))
        except (OSError, ValueError):
            return 0

    script = os.path.join(ROOT, "recipes", "bottleneck.py")
    finished = kill_when(
        [
            sys.executable,
            script,
            *QUICK,
            "--minutes-per-model",
            "0.1",
            "--output-dir",
            output_dir,
        ],
        models_done,
        1,
    )
    assert finished == 1
    with open(done) as f:
        first = json.load(f)["rnn_encoder_decoder"]
    report = bottleneck.run(
        parse(
            [
                *QUICK,
                "--minutes-per-model",
                "0.1",
                "--output-dir",
                output_dir,
                "--resume",
            ]
        )
    )
    # The finished model was kept as it was, not trained again; the other
    # one trained to its own budget.
    assert report["models"]["rnn_encoder_decoder"] == first
    second = report["models"]["bahdanau_attention"]
    assert second["train_seconds"] >= 0.1 * 60
    assert second["epochs"] >= 1
