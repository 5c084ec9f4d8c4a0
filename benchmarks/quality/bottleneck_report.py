"""Turns bottleneck recipe runs into the docs' table and figures.

    python recipes/bottleneck.py --quick --output-dir runs/bottleneck_quick
    python -m benchmarks.quality.bottleneck_report runs/bottleneck_quick \
        [more runs]

For each run (named by its directory), writes a section of
docs/results/bottleneck.md: BLEU per source-length bucket for every model,
sentence counts, parameter counts, training time and the exact command; and
copies bleu_by_length.png and the attention plots to docs/results/figures/.
Nothing is typed by hand.
"""

import argparse
import json
import os
import shutil

from benchmarks.common import ROOT
from benchmarks.common import header
from benchmarks.figure_text import describe
from s2s_zoo.tasks.common import scrub_paths

RESULTS = os.path.join(ROOT, "docs", "results")


def section(run, report, figures):
    models = list(report["models"])
    lines = [
        f"### {report['task']} (`{os.path.basename(os.path.normpath(run))}`)",
        "",
        f"`{scrub_paths(report['command'])}` on {report['date']}, "
        f"{report['machine']['cpus']} CPUs, wall time "
        f"{report['wall_seconds'] / 60:.1f} min.",
        "",
        "| source length | sentences | "
        + " | ".join(f"`{m}`" for m in models)
        + " |",
        "|---|---|" + "---|" * len(models),
    ]
    for k, bucket in enumerate(report["buckets"]):
        cells = [bucket, str(report["sentences_per_bucket"][k])]
        for m in models:
            value = report["models"][m]["bleu_by_length"][k]
            cells.append("" if value is None else f"{value:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    overall = ["all", str(sum(report["sentences_per_bucket"]))]
    overall += [f"{report['models'][m]['bleu']:.1f}" for m in models]
    lines.append("| " + " | ".join(overall) + " |")
    lines += [
        "",
        "| model | parameters | training min | epochs | best dev loss |",
        "|---|---|---|---|---|",
    ]
    for m in models:
        r = report["models"][m]
        lines.append(
            f"| `{m}` | {r['parameters']:,} | {r['train_seconds'] / 60:.1f} "
            f"| {r['epochs']} | {r['best_dev_loss']:.3f} |"
        )
    lines.append("")
    for name in figures:
        alt, caption = describe(name)
        lines.append(f"![{alt}](figures/{name})")
        lines.append("")
        lines.append(f"*{caption}*")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args(argv)
    os.makedirs(os.path.join(RESULTS, "figures"), exist_ok=True)
    sections, summary = [], {}
    for run in args.runs:
        with open(os.path.join(run, "metrics.json")) as f:
            report = json.load(f)
        tag = os.path.basename(os.path.normpath(run))
        figures = []
        for name in sorted(os.listdir(run)):
            if name.endswith(".png"):
                target = f"bottleneck_{tag}_{name}"
                shutil.copy(
                    os.path.join(run, name),
                    os.path.join(RESULTS, "figures", target),
                )
                figures.append(target)
        figures.sort(key=lambda n: "bleu_by_length" not in n)
        sections.append(section(run, report, figures))
        summary[tag] = report
    markdown = (
        header("quality.bottleneck_report")
        + "\n"
        + "\n\n".join(sections)
        + "\n"
    )
    with open(os.path.join(RESULTS, "bottleneck.md"), "w") as f:
        f.write(markdown)
    # The runs' own metrics hold the paths they were given: cut them to
    # file names (a reader's clone has none of this machine's folders).
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    with open(os.path.join(RESULTS, "bottleneck.json"), "w") as f:
        f.write(scrub_paths(text) + "\n")
    print(markdown)


if __name__ == "__main__":
    main()
