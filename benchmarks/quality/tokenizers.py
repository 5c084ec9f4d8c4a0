"""Translation runs that differ in their tokenizers, as one table.

    s2s-zoo train translation --source-tokenizer sentencepiece_unigram \
        --target-tokenizer sentencepiece_unigram \
        --source-vocabulary-size 4000 --target-vocabulary-size 2000 \
        --output-dir runs/spm_unigram
    python -m benchmarks.quality.tokenizers runs/averaging_0 runs/averaging_1 \
        runs/averaging_2 runs/spm_unigram runs/spm_bpe \
        --json docs/results/tokenizers.json \
        --markdown docs/results/tokenizers.md

Reads each run's `metrics.json`, its vocabularies and its test
hypotheses: test BLEU (beam search, sacreBLEU against all references),
chrF, vocabulary sizes, the mean tokens per training sentence on each
side (how long the sequences the model reads and writes are), epochs
fitted into the budget and training speed. Runs with the same tokenizers
(seeds) are shown as their mean and spread.
"""

import collections
import json
import os
import statistics

from benchmarks import common as results


def describe(run):
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import common
    from s2s_zoo.tasks import translation

    with open(os.path.join(run, "metrics.json")) as f:
        metrics = json.load(f)
    vocabulary = os.path.join(run, "vocabulary")
    source = text.Tokenizer.load(vocabulary, "source")
    target = text.Tokenizer.load(vocabulary, "target")
    config = common.from_dict(translation.Config, metrics["config"])
    pairs = translation.load_pairs(
        config.data, config.source_lang, config.target_lang
    )
    train = text.split_pairs(pairs)["train"]
    lengths = [
        float(tokenizer.tokenize(side).row_lengths().numpy().mean())
        for tokenizer, side in (
            (source, [s for s, _ in train]),
            (target, [t for _, t in train]),
        )
    ]
    test, training = metrics["results"], metrics["training"]
    return {
        "run": os.path.basename(run.rstrip("/")),
        "tokenizers": (
            f"{source.kind} {source.vocabulary_size} / "
            f"{target.kind} {target.vocabulary_size}"
        ),
        "source_tokens_per_sentence": lengths[0],
        "target_tokens_per_sentence": lengths[1],
        "test_bleu": test["bleu"],
        "test_chrf": test["chrf"],
        "epochs": training["epochs_completed"],
        "train_sentences_per_second": training["train_sentences_per_second"],
        "parameters": training["parameters"],
        "command": metrics.get("command"),
        "date": metrics.get("date"),
    }


def spread(values, digits=2):
    mean = statistics.mean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main(argv=None):
    args = results.parse_runs(__doc__, argv)
    rows = [describe(run) for run in args.runs]
    groups = collections.OrderedDict()
    for row in rows:
        groups.setdefault(row["tokenizers"], []).append(row)
    lines = [
        "| source / target tokenizer (tokens) | runs | test BLEU | test chrF "
        "| tokens per sentence (source / target) | epochs | train "
        "sentences/s | parameters |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, group in groups.items():

        def mean(key, group=group):
            return statistics.mean(r[key] for r in group)

        lines.append(
            f"| {name} | {len(group)} "
            f"| {spread([r['test_bleu'] for r in group])} "
            f"| {spread([r['test_chrf'] for r in group])} "
            f"| {mean('source_tokens_per_sentence'):.1f} / "
            f"{mean('target_tokens_per_sentence'):.1f} "
            f"| {spread([r['epochs'] for r in group], 0)} "
            f"| {mean('train_sentences_per_second'):.0f} "
            f"| {group[0]['parameters']:,} |"
        )
    print("\n".join(lines))
    intro = results.runs_intro("tokenizers", rows) + (
        " Mean ± standard deviation over runs that differ only in their "
        "seed. Test BLEU is beam search with the run's setting, sacreBLEU "
        "against all references."
    )
    results.save(args, "tokenizers", intro, lines, {"runs": rows})


if __name__ == "__main__":
    main()
