"""BLEU against source length, with and without attention.

Trains the four translation models with matched parameter counts and equal
training-time budgets on the same data, then scores corpus BLEU per
source-length bucket (Bahdanau et al. 2015, Figure 2; Cho et al. 2014b).

    python recipes/bottleneck.py --quick                  # synthetic, <10 min
    python recipes/bottleneck.py --data ../shared/data/tatoeba/fra.txt \\
        --source-lang fr --target-lang en --minutes-per-model 10

Writes into --output-dir: bleu_by_length.csv, bleu_by_length.png,
attention_<model>_<k>.png for long test sentences, metrics.json.
"""

import argparse
import csv
import json
import os
import platform
import sys
import time

import keras
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import s2s_zoo  # noqa: E402
from s2s_zoo import export  # noqa: E402
from s2s_zoo import plotting  # noqa: E402
from s2s_zoo import training  # noqa: E402
from s2s_zoo.data import synthetic  # noqa: E402
from s2s_zoo.data import translation as text  # noqa: E402
from s2s_zoo.metrics import translation as metrics  # noqa: E402

## Config

MODELS = [
    "rnn_encoder_decoder",
    "deep_lstm_seq2seq",
    "bahdanau_attention",
    "luong_attention",
]
# Fixed shape of each model; hidden_dim is searched to match parameters.
SHAPES = {
    "rnn_encoder_decoder": dict(output_rank=None),
    "deep_lstm_seq2seq": dict(num_layers=2),
    "bahdanau_attention": dict(),
    "luong_attention": dict(num_layers=2, dropout=0.0),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--data",
        nargs="+",
        default=None,
        help="a manythings TSV (e.g. fra.txt) or two parallel files; "
        "default: the synthetic task generated in code",
    )
    parser.add_argument("--source-lang", default="fr")
    parser.add_argument("--target-lang", default="en")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument(
        "--quick", action="store_true", help="synthetic, <10 min"
    )
    parser.add_argument("--minutes-per-model", type=float, default=None)
    parser.add_argument(
        "--train-max-length",
        type=int,
        default=None,
        help="longest training source in words (the -30/-50 of the paper)",
    )
    parser.add_argument("--test-max-length", type=int, default=None)
    parser.add_argument("--bucket-width", type=int, default=5)
    parser.add_argument("--train-pairs", type=int, default=None)
    parser.add_argument("--test-pairs", type=int, default=None)
    parser.add_argument(
        "--parameters",
        type=int,
        default=None,
        help="parameter budget each model is matched to",
    )
    parser.add_argument("--embedding-dim", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="Adam learning rate; default 1e-2 on the synthetic task (the "
        "small models need it to learn within minutes), 1e-3 on real data",
    )
    parser.add_argument("--beam-width", type=int, default=1)
    parser.add_argument("--output-dir", default="runs/bottleneck")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    synthetic_task = not args.data
    defaults = dict(
        # quick / synthetic / real data
        minutes_per_model=(1.5 if args.quick else 4.0)
        if synthetic_task
        else 10,
        train_max_length=(15 if args.quick else 25) if synthetic_task else 15,
        test_max_length=(30 if args.quick else 50) if synthetic_task else 40,
        learning_rate=1e-2 if synthetic_task else 1e-3,
        train_pairs=(12000 if args.quick else 30000)
        if synthetic_task
        else None,
        test_pairs=(600 if args.quick else 1500) if synthetic_task else 3000,
        parameters=(60000 if args.quick else 150000)
        if synthetic_task
        else 2000000,
        embedding_dim=32 if synthetic_task else 128,
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def length(sentence):
    return len(sentence.split())


def load_data(args):
    """Training pairs up to the length cap; test pairs of every length."""
    if not args.data:
        train = synthetic.synthetic_pairs(
            args.train_pairs, 3, args.train_max_length, seed=args.seed
        )
        dev = synthetic.synthetic_pairs(
            500, 3, args.train_max_length, seed=args.seed + 1
        )
        test = synthetic.synthetic_pairs(
            args.test_pairs, 3, args.test_max_length, seed=args.seed + 2
        )
        return train, dev, test
    pairs = text.load_pairs(args.data, args.source_lang, args.target_lang)
    splits = text.split_pairs(pairs)
    train = [
        p for p in splits["train"] if length(p[0]) <= args.train_max_length
    ]
    rng = np.random.default_rng(args.seed)
    if args.train_pairs and len(train) > args.train_pairs:
        # A random sample: the manythings files are sorted by length.
        keep = sorted(rng.choice(len(train), args.train_pairs, replace=False))
        train = [train[i] for i in keep]
    dev = [p for p in splits["dev"] if length(p[0]) <= args.train_max_length]
    # Long sentences are rare: keep every long test pair, sample the rest.
    test = [p for p in splits["test"] if length(p[0]) <= args.test_max_length]
    long = [p for p in test if length(p[0]) > args.train_max_length]
    short = [p for p in test if length(p[0]) <= args.train_max_length]
    keep = max(args.test_pairs - len(long), 0)
    if len(short) > keep:
        short = [short[i] for i in sorted(rng.choice(len(short), keep, False))]
    return train, dev, long + short


def matched_config(name, args, source_size, target_size):
    """The hidden size whose parameter count is closest to the budget.

    Parameters grow monotonically with `hidden_dim`, so a binary search over
    even sizes finds the two sizes around the budget; the closer one wins.
    """

    def config_for(hidden):
        config = dict(
            SHAPES[name],
            source_vocabulary_size=source_size,
            target_vocabulary_size=target_size,
            embedding_dim=args.embedding_dim,
            hidden_dim=hidden,
        )
        if name == "bahdanau_attention":
            config.update(attention_dim=hidden, maxout_dim=max(hidden // 2, 1))
        elif name == "rnn_encoder_decoder":
            config.update(maxout_dim=max(hidden // 2, 1))
        elif name == "luong_attention":
            config.update(attention_dim=hidden)
        return config

    def count(hidden):
        return s2s_zoo.build(name, **config_for(hidden)).count_params()

    low, high = 1, 512  # hidden = 2 * k
    while low < high:
        mid = (low + high) // 2
        if count(2 * mid) < args.parameters:
            low = mid + 1
        else:
            high = mid
    candidates = [2 * k for k in (low - 1, low) if k >= 1]
    hidden = min(candidates, key=lambda h: abs(count(h) - args.parameters))
    return config_for(hidden), count(hidden)


def buckets(args):
    edges = list(range(0, args.test_max_length + 1, args.bucket_width))
    return [(lo + 1, lo + args.bucket_width) for lo in edges[:-1]]


## Main


def main(argv=None):
    args = parse_args(argv)
    wall_start = time.perf_counter()
    os.makedirs(args.output_dir, exist_ok=True)
    out = lambda name: os.path.join(args.output_dir, name)  # noqa: E731
    keras.utils.set_random_seed(args.seed)

    train, dev, test = load_data(args)
    print(f"pairs: train {len(train)}, dev {len(dev)}, test {len(test)}")
    source_tok = text.Tokenizer.train([s for s, _ in train], "wordpiece", 8000)
    target_tok = text.Tokenizer.train([t for _, t in train], "wordpiece", 8000)
    max_tokens = 3 * args.test_max_length
    train_data = text.make_dataset(
        *text.encode_pairs(train, source_tok, target_tok, max_tokens),
        args.batch_size,
        shuffle=True,
        seed=args.seed,
        max_length=max_tokens,
    )
    dev_data = text.make_dataset(
        *text.encode_pairs(dev, source_tok, target_tok, max_tokens),
        args.batch_size,
        max_length=max_tokens,
    )
    sources, references = text.group_references(test)
    bucket_list = buckets(args)
    in_bucket = [
        [i for i, s in enumerate(sources) if lo <= length(s) <= hi]
        for lo, hi in bucket_list
    ]

    results = {}
    for name in args.models:
        config, parameters = matched_config(
            name, args, source_tok.vocabulary_size, target_tok.vocabulary_size
        )
        keras.utils.set_random_seed(args.seed)
        model = s2s_zoo.build(name, **config)
        model.compile(
            optimizer=keras.optimizers.Adam(
                args.learning_rate, global_clipnorm=1.0
            ),
            loss=training.masked_loss(),
        )
        print(f"== {name}: {parameters:,} parameters, {config}")
        budget = training.TimeBudget(args.minutes_per_model)
        # The time budget ends training; the best dev epoch is kept.
        best = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=10_000, restore_best_weights=True
        )
        history = model.fit(
            train_data,
            validation_data=dev_data,
            epochs=10_000,
            callbacks=[budget, best],
            shuffle=False,
            verbose=2,
        )
        translator = export.Translator(
            model,
            source_tok,
            target_tok,
            beam_width=args.beam_width,
            length_penalty=0.0,
            max_source_length=max_tokens,
            max_output_length=max_tokens + 10,
        )
        hypotheses, seconds = export.translate_corpus(
            translator, sources, args.batch_size
        )
        by_bucket = []
        for (lo, hi), index in zip(bucket_list, in_bucket):
            bleu = (
                metrics.corpus_bleu(
                    [hypotheses[i] for i in index],
                    [references[i] for i in index],
                )
                if index
                else None
            )
            by_bucket.append(bleu)
        results[name] = {
            "parameters": parameters,
            "config": config,
            "epochs": len(history.history["loss"]),
            "train_seconds": budget.spent,
            "best_dev_loss": float(min(history.history["val_loss"])),
            "bleu": metrics.corpus_bleu(hypotheses, references),
            "bleu_by_length": by_bucket,
            "decode_seconds": seconds,
        }
        print(
            f"   BLEU {results[name]['bleu']:.2f}; by length: "
            + ", ".join(
                f"{lo}-{hi}: {b:.1f}"
                for (lo, hi), b in zip(bucket_list, by_bucket)
                if b is not None
            )
        )
        if model.has_attention:
            longest = sorted(
                range(len(sources)), key=lambda i: -length(sources[i])
            )
            for k, i in enumerate(longest[:2]):
                ids = source_tok.tokenize([sources[i]])[0].numpy()[:max_tokens]
                output = model.generate(ids[None], max_length=max_tokens + 10)
                n = int(output.lengths[0, 0])
                plotting.attention_heatmap(
                    output.attention[0, 0, :n, : len(ids)],
                    [source_tok.vocabulary[t] for t in ids],
                    [
                        target_tok.vocabulary[t]
                        for t in output.token_ids[0, 0, :n]
                    ],
                    out(f"attention_{name}_{k}.png"),
                    title=f"{name}: a {length(sources[i])}-word test sentence",
                )

    # Table, figure and metrics.
    counts = [len(index) for index in in_bucket]
    with open(out("bleu_by_length.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source_length", "sentences", *args.models])
        for k, (lo, hi) in enumerate(bucket_list):
            row = [f"{lo}-{hi}", counts[k]]
            for name in args.models:
                bleu = results[name]["bleu_by_length"][k]
                row.append("" if bleu is None else f"{bleu:.2f}")
            writer.writerow(row)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    centers = [(lo + hi) / 2 for lo, hi in bucket_list]
    for name in args.models:
        values = results[name]["bleu_by_length"]
        xs = [c for c, v in zip(centers, values) if v is not None]
        ys = [v for v in values if v is not None]
        ax.plot(xs, ys, marker="o", label=name)
    ax.axvline(args.train_max_length + 0.5, color="grey", linestyle=":")
    ax.text(
        args.train_max_length + 1,
        0.97,
        "longest training sentence",
        color="grey",
        va="top",
        transform=ax.get_xaxis_transform(),
    )
    ax.set_xticks(centers)
    ax.set_xticklabels(
        [f"{lo}-{hi}\n(n={n})" for (lo, hi), n in zip(bucket_list, counts)],
        fontsize=7,
    )
    ax.set_xlabel("source sentence length (words)")
    ax.set_ylabel("BLEU")
    task = "synthetic task" if not args.data else os.path.basename(args.data[0])
    ax.set_title(
        f"BLEU by source length, {task}, {args.minutes_per_model:g} min per "
        f"model, ~{args.parameters:,} parameters each"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out("bleu_by_length.png"))
    plt.close(fig)
    report = {
        "task": task,
        "buckets": [f"{lo}-{hi}" for lo, hi in bucket_list],
        "sentences_per_bucket": counts,
        "models": results,
        "config": vars(args),
        "wall_seconds": time.perf_counter() - wall_start,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "python recipes/bottleneck.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    with open(out("metrics.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(
        f"wall {report['wall_seconds'] / 60:.1f} min; wrote {args.output_dir}"
    )
    return report


if __name__ == "__main__":
    main()
