"""Turns translation recipe runs into the docs' results table and figures.

    python recipes/translate.py --output-dir runs/translate       # the run
    python -m benchmarks.translation_report runs/translate [more runs...]

The first run is the default recipe's: README.md shows it alone; the docs
show every run given (the others as ablations), each with its per-epoch
history. The comparison with the peer toolkit, which is only valid
within one session, is `benchmarks/versus_peer.py`'s page.

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

from s2s_zoo.tasks.common import scrub_paths

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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


def table(reports):
    lines = [
        "| model | setup | test BLEU | BLEU (lowercased) | chrF | train min "
        "| epochs | train sentences/s | train tokens/s | beam-5 sentences/s "
        "| parameters |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        res, tr = r["results"], r["training"]
        beam = r["config"]["beam_width"]
        cells = [
            f"`{r['model']}`",
            setup(r),
            f"{res['bleu']:.2f}",
            f"{res['bleu_lowercase']:.2f}",
            f"{res['chrf']:.2f}",
            f"{tr['train_seconds'] / 60:.1f}",
            f"{tr['epochs_completed']}",
            f"{tr['train_sentences_per_second']:.0f}"
            if "train_sentences_per_second" in tr
            else "",
            f"{tr['target_tokens_per_second']:.0f}",
            f"{res['decode_sentences_per_second']:.0f} (beam {beam})",
            f"{tr['parameters']:,}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def history(run):
    """The run's history.csv as a markdown table (dev BLEU where logged)."""
    path = os.path.join(run, "history.csv")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return ""
    has_bleu = "val_bleu" in rows[0]
    lines = [
        "  | epoch | learning rate | train loss | dev loss"
        + (" | dev BLEU (greedy) |" if has_bleu else " |"),
        "  |---|---|---|---" + ("|---|" if has_bleu else "|"),
    ]
    for row in rows:
        cells = [
            str(int(row["epoch"]) + 1),
            f"{float(row['learning_rate']):.2e}"
            if row.get("learning_rate")
            else "",
            f"{float(row['loss']):.3f}",
            f"{float(row['val_loss']):.3f}",
        ]
        if has_bleu:
            cells.append(f"{float(row['val_bleu']):.2f}")
        lines.append("  | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(reports, with_history=True):
    out = []
    for r in reports:
        res = r["results"]
        out.append(
            f"- `{scrub_paths(_command(r))}` on "
            f"{r.get('date') or r['machine']['date']}, "
            f"{r['machine']['cpus']} CPUs "
            f"({r['machine']['platform']}, TensorFlow "
            f"{r['machine']['tensorflow']}, Keras {r['machine']['keras']}): "
            f"{res['test_sentences']} test source sentences "
            f"({res['test_pairs']} pairs, all references used), wall time "
            f"{r['wall_seconds'] / 60:.1f} min."
        )
        epochs = history(r["run"]) if with_history else ""
        if epochs:
            out += ["", epochs]
        samples = r.get("samples", [])
        if samples:
            out.append("")
            out.append("  | source | translation |")
            out.append("  |---|---|")
            for s in samples:
                out.append(f"  | {s['source']} | {s['translation']} |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+", help="recipe output directories")
    parser.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    parser.add_argument(
        "--keep-earlier",
        action="store_true",
        help="keep the runs of the current translation.json (made with "
        "earlier code) in a section of their own below the new ones",
    )
    args = parser.parse_args(argv)
    reports = [load(run) for run in args.runs]
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
    markdown = (
        "<!-- generated by python -m benchmarks.translation_report; do not "
        "edit -->\n" + table(reports) + "\n\n" + details(reports) + "\n"
    )
    if earlier:
        markdown += (
            "\n### Earlier runs, with earlier code\n\n"
            "Kept for the record: these ran with earlier code (the "
            "newest of them differ from the code above only in the order "
            "each epoch's batches are drawn in), on other days (the "
            "machine's speed differs between days), so they compare with "
            "each other, not with the rows above.\n\n"
            + table(earlier)
            + "\n\n"
            + details(earlier, with_history=False)
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
        readme = open(args.readme).read()
        # The README shows the first run (the default recipe's) only.
        block = (
            "<!-- results:start -->\n"
            "<!-- generated by python -m benchmarks.translation_report; do not "
            "edit -->\n"
            + table(reports[:1])
            + "\n\n"
            + details(reports[:1], with_history=False)
            + "\n<!-- results:end -->"
        )
        readme = re.sub(
            r"<!-- results:start -->.*<!-- results:end -->",
            lambda _: block,
            readme,
            flags=re.S,
        )
        with open(args.readme, "w") as f:
            f.write(readme)
    print(markdown)


if __name__ == "__main__":
    main()
