"""Turns translation recipe runs into the docs' results table and figures.

    python recipes/translate.py --output-dir runs/translate       # the run
    python -m benchmarks.quality.translation_report runs/translate \
        [more runs...]

The first run is the default recipe's: README.md shows it alone; the docs
show every run given (the others as ablations) and the default run's
training curves, drawn from its history.csv by
`s2s_zoo.plotting.training_curves`. The comparison with the peer toolkit,
which is only valid within one session, is `benchmarks/peer/versus_peer.py`'s
page.

Reads each run's metrics.json and writes docs/results/translation.json,
docs/results/translation.md (the table the docs and README show) and copies
each run's attention heatmaps to docs/results/figures/. It also refreshes
the block between the `results` markers in README.md. Nothing is typed by
hand: every figure comes from a metrics.json a real run wrote.
"""

import argparse
import csv
import json
import os
import re
import shutil

from benchmarks.common import ROOT
from benchmarks.common import header
from benchmarks.common import slice_words
from s2s_zoo.tasks.common import scrub_paths

RESULTS = os.path.join(ROOT, "docs", "results")


def _command(report):
    """The run's command; for runs that did not record one, the `s2s-zoo`
    command its config gives."""
    if "command" in report:
        return report["command"]
    from s2s_zoo.tasks import common
    from s2s_zoo.tasks import translation

    config = translation.Config(**report["config"])
    return common.command_line("translate", config)


def load(run):
    with open(os.path.join(run, "metrics.json")) as f:
        report = json.load(f)
    report["run"] = run
    return report


def setup(report):
    """Precision, learning-rate schedule and checkpoint choice of a run.

    Runs made before an option existed ran what it now calls the other
    choice: float32, no label smoothing, halving on a dev-loss plateau,
    kept on dev loss.
    """
    config, training = report["config"], report["training"]
    precision = training.get("precision", "float32")
    if config.get("decay_start") is not None and config.get("max_minutes"):
        schedule = f"linear decay after {config['decay_start']:.0%} of budget"
    else:
        schedule = "halved on dev-loss plateau"
    kept = f"kept on dev {config.get('select_on', 'loss')}"
    smoothing = config.get("label_smoothing", 0.0)
    smoothing = f"label smoothing {smoothing}" if smoothing else "no smoothing"
    dropout = report.get("model_config", {}).get("dropout") or 0.0
    dropout = f"dropout {dropout:g}" if dropout else "no dropout"
    budget = f"{config['max_minutes']:g}-minute budget"
    return f"{budget}, {dropout}, {precision}, {smoothing}, {schedule}, {kept}"


def _label(r):
    date = (r.get("date") or r["machine"]["date"])[:16]
    slices = slice_words(r["training"].get("batch_slices"))
    return f"`{r['model']}`, {date}{slices}"


def table(reports):
    """Two narrow tables (quality, then speed): one row per run."""
    quality = [
        "| run | test BLEU | BLEU (lowercased) | chrF | epochs | train min |",
        "|---|---|---|---|---|---|",
    ]
    speed = [
        "| run | train sentences/s | train target tokens/s "
        "| beam-5 sentences/s | parameters |",
        "|---|---|---|---|---|",
    ]
    for r in reports:
        res, tr = r["results"], r["training"]
        quality.append(
            f"| {_label(r)} | {res['bleu']:.2f} | "
            f"{res['bleu_lowercase']:.2f} | {res['chrf']:.2f} | "
            f"{tr['epochs_completed']} | {tr['train_seconds'] / 60:.1f} |"
        )
        sentences = tr.get("train_sentences_per_second")
        speed.append(
            f"| {_label(r)} | "
            + (f"{sentences:.0f}" if sentences else "")
            + f" | {tr['target_tokens_per_second']:.0f} | "
            f"{res['decode_sentences_per_second']:.0f} | "
            f"{tr['parameters']:,} |"
        )
    setups = sorted({setup(r) for r in reports})
    notes = "\n".join(f"- Setup: {s}." for s in setups)
    return "\n".join(quality) + "\n\n" + "\n".join(speed) + "\n\n" + notes


def read_history(run):
    """The rows of the run's history.csv as dicts of numbers ([] if none)."""
    path = os.path.join(run, "history.csv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [
            {k: float(v) for k, v in row.items() if v not in ("", None)}
            for row in csv.DictReader(f)
        ]


def curves(report, target):
    """Draws the run's training curves to `target`; returns the alt text."""
    from s2s_zoo import plotting

    rows = report["history"]
    metric = "val_bleu" if "val_bleu" in rows[0] else "val_loss"
    plotting.training_curves(
        rows,
        target,
        metric=metric,
        metric_label="dev BLEU (greedy)"
        if metric == "val_bleu"
        else "dev loss",
    )
    best = max(rows, key=lambda row: row.get(metric, 0))
    rates = [row["learning_rate"] for row in rows]
    flat = sum(1 for rate in rates if rate == rates[0])
    return (
        f"Six panels for the default run: train and dev loss, dev BLEU and "
        f"the learning rate, against epoch (top) and training minutes "
        f"(bottom). Over {len(rows)} epochs in "
        f"{rows[-1].get('train_minutes', 0):.0f} minutes the train loss falls "
        f"from {rows[0]['loss']:.2f} to {rows[-1]['loss']:.2f} and the dev "
        f"loss from {rows[0]['val_loss']:.2f} to {rows[-1]['val_loss']:.2f}; "
        f"dev BLEU climbs to {best.get(metric, 0):.1f} at epoch "
        f"{int(best['epoch']) + 1}; the learning rate stays at "
        f"{rates[0]:.1e} for {flat} epochs, then falls linearly to "
        f"{rates[-1]:.1e}."
    )


def details(reports):
    out = []
    for r in reports:
        res = r["results"]
        out.append(
            f"- {_label(r)}: `{scrub_paths(_command(r))}` on "
            f"{r.get('date') or r['machine']['date']}, "
            f"{r['machine']['cpus']} CPUs "
            f"({r['machine']['platform']}, TensorFlow "
            f"{r['machine']['tensorflow']}, Keras {r['machine']['keras']}): "
            f"{res['test_sentences']} test source sentences "
            f"({res['test_pairs']} pairs, all references used), wall time "
            f"{r['wall_seconds'] / 60:.1f} min."
        )
    return "\n".join(out)


def samples(report):
    rows = report.get("samples", [])
    if not rows:
        return ""
    lines = ["| source | translation |", "|---|---|"]
    lines += [f"| {s['source']} | {s['translation']} |" for s in rows]
    return "\n".join(lines)


def page_head(reports):
    """The top of docs/results/translation.md: header, table, details."""
    return (
        header("quality.translation_report")
        + "\n"
        + table(reports)
        + "\n"
        + details(reports)
        + "\n"
    )


def seed_spread(path=None):
    """The line of README's block on the spread over seeds: the default
    recipe's test BLEU over the seeds of `docs/results/versus_peer.json`
    (mean ± standard deviation), with the peer's; None without that file."""
    path = path or os.path.join(RESULTS, "versus_peer.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        versus = json.load(f)
    summary = versus["summary"]
    ours, peer = summary["ours_bleu"], summary["peer_bleu_lowercase"]
    mine = summary["ours_bleu_lowercase"]
    return (
        f"- Seeds: the same recipe at {versus['minutes']:g} minutes, "
        f"{ours['n']} seeds: test BLEU {ours['mean']:.2f} ± "
        f"{ours['std']:.2f} (lowercased {mine['mean']:.2f} ± "
        f"{mine['std']:.2f}; OpenNMT-tf, lowercased, side by side: "
        f"{peer['mean']:.2f} ± {peer['std']:.2f}), "
        "[docs/results/versus_peer.md](docs/results/versus_peer.md)."
    )


def readme_block(reports, spread=None):
    """README's results block: the first run (the default recipe's) only,
    between its `results:start` and `results:end` marks, and the spread
    over seeds (`seed_spread`, read from its results file by default)."""
    spread = spread if spread is not None else seed_spread()
    return (
        "<!-- results:start -->\n"
        + header("quality.translation_report")
        + "\n"
        + table(reports[:1])
        + "\n"
        + details(reports[:1])
        + (f"\n{spread}" if spread else "")
        + "\n<!-- results:end -->"
    )


README_BLOCK = re.compile(r"<!-- results:start -->.*<!-- results:end -->", re.S)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="*", help="recipe output directories")
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="rewrite only README's block, from the current "
        "translation.json and versus_peer.json (no runs needed)",
    )
    parser.add_argument(
        "--keep-earlier",
        action="store_true",
        help="keep the runs of the current translation.json (made with "
        "earlier code) in a section of their own below the new ones",
    )
    args = parser.parse_args(argv)
    if args.readme_only:
        with open(os.path.join(RESULTS, "translation.json")) as f:
            reports = json.load(f)["runs"]
        _write_readme_block(args.readme, reports)
        return
    if not args.runs:
        parser.error("give the recipe output directories (or --readme-only)")
    reports = [load(run) for run in args.runs]
    for r in reports:
        r["history"] = read_history(r["run"])
    earlier = []
    previous = os.path.join(RESULTS, "translation.json")
    if args.keep_earlier and os.path.exists(previous):
        with open(previous, encoding="utf-8") as f:
            old = json.load(f)

        # Idempotent: the runs given now are not "earlier" runs; a run
        # directory trained again (another date) keeps its old figures here.
        def key(r):
            return os.path.basename(os.path.normpath(r["run"])), r.get("date")

        given = {key(r) for r in reports}
        earlier = old.get("earlier", []) + [
            {**r, "code": r.get("code", "earlier")}
            for r in old["runs"]
            if key(r) not in given
        ]
    os.makedirs(os.path.join(RESULTS, "figures"), exist_ok=True)
    figures = []
    for r in reports[:1]:  # the default run's heatmaps; ablations add none
        for name in sorted(os.listdir(r["run"])):
            if name.startswith("attention_") and name.endswith(".png"):
                target = f"translation_{r['model']}_{name}"
                shutil.copy(
                    os.path.join(r["run"], name),
                    os.path.join(RESULTS, "figures", target),
                )
                figures.append(target)
    markdown = page_head(reports)
    if reports[0]["history"]:
        name = "translation_curves.png"
        alt = curves(reports[0], os.path.join(RESULTS, "figures", name))
        markdown += (
            f"\n![{alt}](figures/{name})\n\n*Training curves of the "
            f"default run ({_label(reports[0])}), drawn from its "
            "history.csv.*\n"
        )
    if samples(reports[0]):
        markdown += (
            "\nA few translations of the default run (beam 5):\n\n"
            + samples(reports[0])
            + "\n"
        )
    if earlier:
        markdown += (
            "\n### Earlier runs\n\n"
            "Kept for the record: earlier runs of the same recipe, on "
            "other days and most of them with earlier code. The machine's "
            "speed differs between days (a faster day fits more epochs into "
            "the same budget), so these compare with each other, not with "
            "the rows above.\n\n"
            + table(earlier)
            + "\n"
            + details(earlier)
            + "\n"
        )
    with open(os.path.join(RESULTS, "translation.md"), "w") as f:
        f.write(markdown)
    with open(os.path.join(RESULTS, "translation.json"), "w") as f:
        json.dump(
            {"runs": reports, "figures": figures, "earlier": earlier},
            f,
            indent=2,
            ensure_ascii=False,
        )
    if os.path.exists(args.readme):
        _write_readme_block(args.readme, reports)
    print(markdown)


def _write_readme_block(path, reports):
    with open(path, encoding="utf-8") as f:
        readme = f.read()
    block = readme_block(reports)
    with open(path, "w", encoding="utf-8") as f:
        f.write(README_BLOCK.sub(lambda _: block, readme))


if __name__ == "__main__":
    main()
