"""The bottleneck study's plumbing on a tiny synthetic run."""

import csv
import json

from s2s_zoo import cli
from s2s_zoo.tasks import bottleneck


def parse(flags):
    arguments = cli.parser().parse_args(["bottleneck", *flags])
    return cli.config_from_args(bottleneck, arguments)


def test_bottleneck_writes_table_figure_and_metrics(tmp_path):
    report = bottleneck.run(
        parse(
            [
                "--quick",
                "--models",
                "rnn_encoder_decoder",
                "bahdanau_attention",
                "--minutes-per-model",
                "0.02",
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
