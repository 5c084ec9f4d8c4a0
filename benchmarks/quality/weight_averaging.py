"""Dev and test BLEU of translation runs' selected epochs, their exponential
moving averages and their averages of the last epochs, as one table.

    for seed in 0 1 2; do
      s2s-zoo train translation --ema-decay 0.999 --average-last 3 \
          --seed $seed \
          --output-dir runs/averaging_$seed
    done
    python -m benchmarks.quality.weight_averaging \
        runs/averaging_0 runs/averaging_1 \
        runs/averaging_2 --json docs/results/weight_averaging.json \
        --markdown docs/results/weight_averaging.md

Each run scores each set of its weights itself at the end of training
(beam search with the run's setting, sacreBLEU against all references);
this script only reads their `metrics.json` files and writes the table:
one row per run and set of weights, then the mean change against the
selected epoch over the runs.
"""

import argparse
import json
import os
import statistics
import time

from benchmarks import common as results


def read_scores(run):
    with open(os.path.join(run, "metrics.json")) as f:
        metrics = json.load(f)
    scores = metrics["results"].get("weight_averaging")
    if not scores:
        raise SystemExit(
            f"{run}: this run kept no weight average; train it with "
            "--ema-decay and/or --average-last."
        )
    return metrics, scores


def ema_cost(steps=30, batch_size=128):
    """Milliseconds of one training step of the default translator and of
    one update of its moving average, on random batches of the recipe's
    mean padded lengths (`device_throughput.read_shapes`)."""
    from benchmarks.speed import device_throughput
    from s2s_zoo import training

    with training.global_dtype_policy(training.resolve_precision("auto")):
        shapes = device_throughput.read_shapes()
        model = device_throughput.recipe_model(
            "cpu", shapes["source_vocabulary"], shapes["target_vocabulary"]
        )
        inputs, target = device_throughput.random_batch(
            batch_size,
            shapes["source_length"],
            shapes["target_length"],
            shapes["source_vocabulary"],
            shapes["target_vocabulary"],
        )
        ema = training.ExponentialMovingAverage(0.999)
        ema.set_model(model)
        ema.on_train_begin()

        def mean_ms(function):
            for _ in range(3):
                function()
            start = time.perf_counter()
            for _ in range(steps):
                function()
            return 1000 * (time.perf_counter() - start) / steps

        step = mean_ms(lambda: model.train_on_batch(inputs, target))
        update = mean_ms(lambda: ema.on_train_batch_end(0))
    return step, update


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", help="finished translation runs")
    parser.add_argument(
        "--ema-cost",
        action="store_true",
        help="time one training step of the default translator and one "
        "update of its moving average (batch 128), and stop",
    )
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    if args.ema_cost:
        step, update = ema_cost()
        print(
            f"training step {step:.1f} ms, moving-average update "
            f"{update:.1f} ms ({100 * update / step:.1f}% of a step)"
        )
        return
    if not args.runs:
        parser.error("give the runs to tabulate (or --ema-cost)")
    lines = [
        "| run | weights | dev BLEU | test BLEU | test vs selected |",
        "|---|---|---:|---:|---:|",
    ]
    changes = {}
    runs = []
    for run in args.runs:
        metrics, scores = read_scores(run)
        training = metrics["training"]
        seed = metrics["config"]["seed"]
        base = scores["selected"]
        runs.append(
            {
                "seed": seed,
                "command": metrics.get("command"),
                "date": metrics.get("date"),
                "training": training,
                "weight_averaging": scores,
            }
        )
        for name, figures in scores.items():
            label = (
                f"selected epoch ({training['best_epoch']} of "
                f"{training['epochs_completed']}, by "
                f"{training['selected_on']})"
                if name == "selected"
                else name
            )
            change = figures["test_bleu"] - base["test_bleu"]
            if name != "selected":
                changes.setdefault(name, []).append(
                    (figures["dev_bleu"] - base["dev_bleu"], change)
                )
            lines.append(
                f"| seed {seed} | {label} | {figures['dev_bleu']:.2f} "
                f"| {figures['test_bleu']:.2f} | {change:+.2f} |"
            )
    summary = [
        "| weights | mean dev change | mean test change | runs |",
        "|---|---:|---:|---:|",
    ]
    for name, pairs in changes.items():
        summary.append(
            f"| {name} | {statistics.mean(d for d, _ in pairs):+.2f} "
            f"| {statistics.mean(t for _, t in pairs):+.2f} | {len(pairs)} |"
        )
    print("\n".join(lines + [""] + summary))
    first = runs[0]
    minutes = [r["training"]["train_seconds"] / 60 for r in runs]
    epochs = [r["training"]["epochs_completed"] for r in runs]
    intro = (
        f"Written by `python -m benchmarks.quality.weight_averaging` on "
        f"{time.strftime('%Y-%m-%d')} from {len(runs)} runs of "
        f"`{first['command']}` (seeds "
        f"{', '.join(str(r['seed']) for r in runs)}; "
        f"{min(epochs)}-{max(epochs)} epochs in "
        f"{min(minutes):.1f}-{max(minutes):.1f} minutes, {first['date']} and "
        "after). Beam search with the run's setting, sacreBLEU against all "
        "references."
    )
    results.save(
        args, "weight_averaging", intro, lines + [""] + summary, {"runs": runs}
    )


if __name__ == "__main__":
    main()
