"""Test-split BLEU of one trained translator under each decoding option.

    python -m benchmarks.quality.decoding_options runs/translate \
        --json docs/results/decoding_options.json \
        --markdown docs/results/decoding_options.md

Loads a finished translation run (the default recipe: `s2s-zoo
translate`), and scores its test split (sacreBLEU, all references of each
source) once per row: the run's own setting (beam 5, GNMT length penalty
1.0, no other option), then that setting with one option changed, then
greedy search and sampling. Every row decodes the same model, so the rows
differ only by the option. Also printed: the mean output length in words
and the share of outputs holding a repeated word bigram, what n-gram
blocking and the length bounds act on. Decoding speed is printed too, but
timed rows on a shared machine are only indicative; run it alone.
"""

import argparse
import json
import os
import sys
import time

from benchmarks.common import write_table

#: (label, options): options are `TranslationRun.evaluate` keywords on top
#: of the run's own setting.
ROWS = (
    ("the run's setting (beam 5, length penalty 1.0)", {}),
    ("coverage penalty beta 0.2", {"coverage_penalty": 0.2}),
    ("coverage penalty beta 0.4", {"coverage_penalty": 0.4}),
    ("no repeated bigram", {"no_repeat_ngram_size": 2}),
    ("no repeated trigram", {"no_repeat_ngram_size": 3}),
    ("at least 0.5 words per source character", {"min_length_ratio": 0.5}),
    ("at most 1.0 word per source character", {"max_length_ratio": 1.0}),
    ("greedy search", {"beam_width": 1}),
    (
        "sampling, top-k 10, seed 0",
        {"beam_width": 1, "sample": True, "top_k": 10},
    ),
    (
        "sampling, top-p 0.9, seed 0",
        {"beam_width": 1, "sample": True, "top_p": 0.9},
    ),
    (
        "sampling, top-p 0.9, temperature 0.5, seed 0",
        {"beam_width": 1, "sample": True, "top_p": 0.9, "temperature": 0.5},
    ),
)


def repeats_a_bigram(sentence):
    words = sentence.split()
    bigrams = list(zip(words, words[1:]))
    return len(bigrams) != len(set(bigrams))


def table(rows):
    """The markdown table of the rows, BLEU against the first row's."""
    base = rows[0]["bleu"]
    lines = [
        "| decoding | BLEU | vs the run's | chrF | words per output "
        "| outputs with a repeated bigram | sentences/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['setting']} | {row['bleu']:.2f} "
            f"| {row['bleu'] - base:+.2f} | {row['chrf']:.2f} "
            f"| {row['mean_words']:.2f} "
            f"| {100 * row['repeated_bigram_share']:.1f}% "
            f"| {row['sentences_per_second']:.0f} |"
        )
    return lines


def describe_run(metrics):
    """One sentence on how a run was trained, from its metrics.json."""
    training = metrics["training"]
    best = training.get("best_dev_bleu")
    return (
        f"The run: `{metrics.get('command')}` on {metrics.get('date')}, "
        f"{training['epochs_completed']} epochs in "
        f"{training['train_seconds'] / 60:.1f} minutes"
        + (f", best dev BLEU {best:.2f} (greedy)." if best else ".")
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a finished translation run directory")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)

    from s2s_zoo import tasks

    run = tasks.load(args.run)
    rows = []
    for label, options in ROWS:
        options = dict(options)
        beam_width = options.pop("beam_width", None)
        start = time.perf_counter()
        result = run.evaluate(beam_width=beam_width, **options)
        seconds = time.perf_counter() - start
        hypotheses = result.pop("hypotheses")
        rows.append(
            {
                "setting": label,
                "options": dict(options, beam_width=beam_width or 5),
                "bleu": result["bleu"],
                "chrf": result["chrf"],
                "mean_words": sum(len(h.split()) for h in hypotheses)
                / len(hypotheses),
                "repeated_bigram_share": sum(map(repeats_a_bigram, hypotheses))
                / len(hypotheses),
                "sentences_per_second": result["decode_sentences_per_second"],
                "seconds": seconds,
                "test_sentences": result["test_sentences"],
            }
        )
        print(
            f"{label}: BLEU {result['bleu']:.2f} chrF {result['chrf']:.2f}",
            flush=True,
        )

    lines = table(rows)
    command = "python -m benchmarks.quality.decoding_options " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    print("\n".join(lines))
    intro = (
        f"Written by `{command}` on {time.strftime('%Y-%m-%d')} "
        f"({os.cpu_count()} CPUs). {describe_run(run.metrics)} "
        f"{rows[0]['test_sentences']} test sources."
    )
    if args.markdown:
        write_table(args.markdown, "decoding_options", intro, lines)
    metrics = run.metrics
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "command": command,
                    "date": time.strftime("%Y-%m-%d"),
                    "cpus": os.cpu_count(),
                    "run": {
                        "command": metrics.get("command"),
                        "training": metrics.get("training"),
                        "results": metrics.get("results"),
                    },
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
