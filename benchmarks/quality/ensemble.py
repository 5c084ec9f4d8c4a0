"""BLEU of an ensemble of translation runs against each of its members,
as one table.

    s2s-zoo ensemble runs/averaging_0 runs/averaging_1 runs/averaging_2 \
        --output-dir runs/ensemble
    python -m benchmarks.quality.ensemble runs/ensemble \
        --json docs/results/ensemble.json --markdown docs/results/ensemble.md

`s2s-zoo ensemble` scores every member and the ensemble on the dev and
test splits itself (`s2s_zoo.tasks.translation.assemble`: beam search
with the first run's setting, sacreBLEU against all references); this
script reads its `metrics.json` and writes the table, adding each pair
of members as an ensemble of two when `--pairs` is given (decoded here).
"""

import argparse
import itertools
import os
import statistics
import time

from benchmarks import common as results


def pair_scores(members):
    """Dev and test BLEU of every ensemble of two of `members`."""
    from s2s_zoo.tasks import translation

    found = []
    for first, second in itertools.combinations(members, 2):
        combined = translation.ensemble([first, second])
        pairs = translation.load_pairs(
            combined.config.data,
            combined.config.source_lang,
            combined.config.target_lang,
        )
        splits = translation.split(combined.config, pairs)
        found.append(
            {
                "runs": [first, second],
                "dev_bleu": combined.evaluate(splits["dev"])["bleu"],
                "test_bleu": combined.evaluate(splits["test"])["bleu"],
            }
        )
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ensemble", help="an `s2s-zoo ensemble` directory")
    parser.add_argument(
        "--pairs",
        action="store_true",
        help="also decode every ensemble of two members",
    )
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    # Figures under "results" (an ensemble written before the one schema
    # kept them at the top; read_metrics moves them).
    record = results.read_metrics(args.ensemble)
    metrics = record["results"]
    settings = record.get("config") or record
    members = metrics["members"]
    best = max(members, key=lambda m: m["dev_bleu"])
    mean_test = statistics.mean(m["test_bleu"] for m in members)
    lines = [
        "| decoder | dev BLEU | test BLEU | test chrF | test vs mean member "
        "| beam-5 sentences/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for member in members:
        lines.append(
            f"| `{os.path.basename(member['run'].rstrip('/'))}` "
            f"| {member['dev_bleu']:.2f} | {member['test_bleu']:.2f} "
            f"| {member['test_chrf']:.2f} "
            f"| {member['test_bleu'] - mean_test:+.2f} "
            f"| {member['decode_sentences_per_second']:.0f} |"
        )
    pairs = pair_scores([m["run"] for m in members]) if args.pairs else []
    for pair in pairs:
        names = " + ".join(
            f"`{os.path.basename(r.rstrip('/'))}`" for r in pair["runs"]
        )
        lines.append(
            f"| ensemble of {names} | {pair['dev_bleu']:.2f} "
            f"| {pair['test_bleu']:.2f} | | "
            f"{pair['test_bleu'] - mean_test:+.2f} | |"
        )
    together = metrics["ensemble"]
    lines.append(
        f"| **ensemble of all {len(members)}** "
        f"| {together['dev_bleu']:.2f} | {together['test_bleu']:.2f} "
        f"| {together['test_chrf']:.2f} "
        f"| {together['test_bleu'] - mean_test:+.2f} "
        f"| {together['decode_sentences_per_second']:.0f} |"
    )
    print("\n".join(lines))
    intro = (
        f"Written by `python -m benchmarks.quality.ensemble"
        f"{' --pairs' if args.pairs else ''}` on "
        f"{time.strftime('%Y-%m-%d')} from `{record['command']}` "
        f"({record['date']}): {metrics['test_sentences']} test sources, "
        f"beam {settings['beam_width']}, length penalty "
        f"{settings['length_penalty']}, sacreBLEU against all references. "
        f"The best member on dev is `{os.path.basename(best['run'])}`; the "
        "ensemble's test BLEU is "
        f"{together['test_bleu'] - best['test_bleu']:+.2f} against it."
    )
    results.save(
        args, "ensemble", intro, lines, {"ensemble": record, "pairs": pairs}
    )


if __name__ == "__main__":
    main()
