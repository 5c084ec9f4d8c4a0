"""Luong et al.'s global, local-m and local-p attention on the bundled data,
as one table.

    for type in global local-m local-p; do
      s2s-zoo train translation --model luong_attention \
          --set attention_score=general --set attention_type=$type \
          --max-minutes 10 --output-dir runs/luong_$type
    done
    python -m benchmarks.quality.local_attention runs/luong_global \
        runs/luong_local-m runs/luong_local-p \
        --json docs/results/local_attention.json \
        --markdown docs/results/local_attention.md

Reads each run's `metrics.json` and its test split: test BLEU (beam
search with the run's setting, sacreBLEU against all references), chrF,
best dev BLEU (greedy), epochs fitted into the budget, training speed,
and the share of test sources of at most `D + 1` tokens (for which a
local window, wherever it is placed on the source, holds all of it).
"""

import json
import os

from benchmarks import common as results


def describe(run):
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import common
    from s2s_zoo.tasks import translation

    with open(os.path.join(run, "metrics.json")) as f:
        metrics = json.load(f)
    config = common.from_dict(translation.Config, metrics["config"])
    tokenizer = text.Tokenizer.load(os.path.join(run, "vocabulary"), "source")
    sources = sorted({s for s, _ in translation.test_pairs(config)})
    lengths = tokenizer.tokenize(sources).row_lengths()
    window = metrics["model_config"].get("window", 10)
    test, training = metrics["results"], metrics["training"]
    return {
        "run": os.path.basename(run.rstrip("/")),
        "attention_type": metrics["model_config"]["attention_type"],
        "attention_score": metrics["model_config"]["attention_score"],
        "window": window,
        "sources_within_window": float((lengths.numpy() <= window + 1).mean()),
        "test_bleu": test["bleu"],
        "test_chrf": test["chrf"],
        "best_dev_bleu": training["best_dev_bleu"],
        "epochs": training["epochs_completed"],
        "train_sentences_per_second": training["train_sentences_per_second"],
        "parameters": training["parameters"],
        "command": metrics.get("command"),
        "date": metrics.get("date"),
    }


def main(argv=None):
    args = results.parse_runs(__doc__, argv)
    rows = [describe(run) for run in args.runs]
    base = rows[0]
    lines = [
        "| attention | test BLEU | vs first row | test chrF | best dev BLEU "
        "(greedy) | epochs | train sentences/s | parameters |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        name = row["attention_type"]
        if name != "global":
            name += f", D = {row['window']}"
        lines.append(
            f"| {name} ({row['attention_score']} score) "
            f"| {row['test_bleu']:.2f} "
            f"| {row['test_bleu'] - base['test_bleu']:+.2f} "
            f"| {row['test_chrf']:.2f} | {row['best_dev_bleu']:.2f} "
            f"| {row['epochs']} | {row['train_sentences_per_second']:.0f} "
            f"| {row['parameters']:,} |"
        )
    print("\n".join(lines))
    local = [r for r in rows if r["attention_type"] != "global"]
    intro = results.runs_intro("local_attention", rows) + (
        " Test BLEU is beam search with the run's setting, sacreBLEU "
        "against all references."
    )
    if local:
        intro += (
            f" {100 * local[0]['sources_within_window']:.0f}% of the test "
            f"sources have at most D + 1 = {local[0]['window'] + 1} tokens "
            "(characters): for them a window of the paper's size, wherever "
            "it is placed, holds the whole source."
        )
    results.save(args, "local_attention", intro, lines, {"runs": rows})


if __name__ == "__main__":
    main()
