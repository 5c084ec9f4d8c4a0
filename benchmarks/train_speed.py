"""Training throughput of the default translation model, per precision.

    python benchmarks/train_speed.py                 # float32 and bfloat16
    python benchmarks/train_speed.py --precision float32 --epochs 2

Builds the default recipe's model and data exactly as `recipes/translate.py`
does (bundled Tatoeba zh-en, character / WordPiece vocabularies, batch 128,
length buckets, optimizer and loss: the recipe's own `train_tokenizers`
and `build_model`), warms up on 20 batches (tracing), then times whole epochs
of `model.fit` without validation and prints target tokens (padding
excluded, END included) per second. Run it on an idle machine: on a shared
2-core VM, epochs of the same run differ by up to 40%, so the best epoch is
reported next to the mean.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "recipes"))

import translate  # noqa: E402

from s2s_zoo import training  # noqa: E402
from s2s_zoo.data import translation as text  # noqa: E402


def measure(precision, epochs):
    args = translate.parse_args([])
    with training.global_dtype_policy(precision):
        keras.utils.set_random_seed(args.seed)
        pairs = text.split_pairs(
            text.load_pairs(args.data, args.source_lang, args.target_lang)
        )["train"]
        source, target = translate.train_tokenizers(args, pairs)
        ids = text.encode_pairs(pairs, source, target, args.max_length)
        data = text.make_dataset(
            *ids,
            args.batch_size,
            shuffle=True,
            seed=args.seed,
            max_length=args.max_length,
        )
        model, _ = translate.build_model(args, source, target)
        tokens = int(np.sum(ids[1].row_lengths()) + len(pairs))
        model.fit(data.take(20), verbose=0)  # trace
        rates = []
        for _ in range(epochs):
            start = time.perf_counter()
            model.fit(data, verbose=0)
            rates.append(tokens / (time.perf_counter() - start))
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["float32", "mixed_bfloat16"],
        choices=["float32", "mixed_bfloat16"],
    )
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    print("| precision | epochs | target tokens/s (mean) | best epoch |")
    print("|---|---|---|---|")
    for precision in args.precision:
        rates = measure(precision, args.epochs)
        print(
            f"| {precision} | {len(rates)} | {np.mean(rates):.0f} | "
            f"{max(rates):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
