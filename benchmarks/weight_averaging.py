"""Dev and test BLEU of a translation run's selected epoch, its
exponential moving average and its average of the last epochs, as one
table.

    s2s-zoo translate --ema-decay 0.999 --average-last 3 \
        --output-dir runs/translate_averaging
    python -m benchmarks.weight_averaging runs/translate_averaging \
        --json docs/results/weight_averaging.json \
        --markdown docs/results/weight_averaging.md

The run scores each set of weights itself at the end of training (beam
search with the run's setting, sacreBLEU against all references); this
script only reads its `metrics.json` and writes the table.
"""

import argparse
import json
import os
import time

from benchmarks.decoding_options import describe_run
from benchmarks.decoding_options import write_table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a finished translation run directory")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    with open(os.path.join(args.run, "metrics.json")) as f:
        metrics = json.load(f)
    scores = metrics["results"].get("weight_averaging")
    if not scores:
        raise SystemExit(
            f"{args.run}: this run kept no weight average; train it with "
            "--ema-decay and/or --average-last."
        )
    base = scores["selected"]
    lines = [
        "| weights | dev BLEU | test BLEU | test vs selected |",
        "|---|---|---|---|",
    ]
    for name, figures in scores.items():
        label = (
            f"selected epoch ({metrics['training']['best_epoch']}, by "
            f"{metrics['training']['selected_on']})"
            if name == "selected"
            else name
        )
        lines.append(
            f"| {label} | {figures['dev_bleu']:.2f} "
            f"| {figures['test_bleu']:.2f} "
            f"| {figures['test_bleu'] - base['test_bleu']:+.2f} |"
        )
    print("\n".join(lines))
    if args.markdown:
        write_table(
            args.markdown, "weight_averaging", describe_run(metrics), lines
        )
    training = metrics["training"]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "date": time.strftime("%Y-%m-%d"),
                    "run_command": metrics.get("command"),
                    "training": training,
                    "weight_averaging": scores,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
