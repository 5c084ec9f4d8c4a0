"""Training speed of RNNsearch: sentences/s, tokens/s, FLOPs and their share
of this machine's matmul peak, measured in one run.

    python -m benchmarks.speed.train_speed    # OpenNMT-tf sizes
    python -m benchmarks.speed.train_speed --preset cpu --batch-sizes 128
    python -m benchmarks.speed.train_speed --peer runs/peer/peer_12min.json

Builds `bahdanau_attention` at a registry preset (default `opennmt`, the
peer's sizes: embeddings 256, bi-GRU 2 x 128, GRU 256, attention 256; its
attention layer is our readout of 2l = 256 maxout units) on the bundled
data exactly as `s2s_zoo.tasks.translation` does, trains one warm-up epoch
(tracing), then times `--epochs` whole epochs of `model.fit` (no
validation) and prints, per precision and batch size:

- training sentences/s and target tokens/s (padding excluded, [END]
  included), and the ratio to the peer's sentences/s when `--peer` gives
  the JSON `benchmarks.peer.opennmt` wrote in the same session;
- FLOPs per training target token, counted from the layer shapes (see
  `flops_per_sentence`), the achieved FLOP/s, and its share of the dense
  matmul peak of this machine at the same precision, measured in the same
  run (`matmul_peak`: square products of 2048, the best of 5, in a fresh
  process with TensorFlow's default thread pools: every core).

It runs with the recipe's thread pools (`--threads auto`, see
`s2s_zoo.training.threads`) and records them in each row (`threads`).

Run it on an idle machine: anything else on the cores slows it.
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from benchmarks.common import ROOT


def flops_per_sentence(config, source_length, target_length):
    """Forward FLOPs of RNNsearch for one sentence pair (2 per multiply-add).

    With embeddings `E`, decoder state `n`, encoder state `e` per
    direction, alignment width `a`, maxout width `l`, target vocabulary
    `V`, `T_x` source and `T_y` target tokens:

        encoder, per source token:  2 * E * 6e          input projections
                                  + 2 * 2 * 3e^2        recurrences
                                  + 2 * 2e * a          keys U_a h_j
                                  + 2 * 2e * 3n         C h_j
        bridge, once:               2 * e * n
        decoder, per target token:  2 * E * 3n          input projection
                                  + 2 * 3n^2            recurrence
                                  + 2 * n * a           W_a s_{i-1}
                                  + T_x * (3a + 2 * 3n + 2 * 2e)
                                                        scores, C c_i, c_i
                                  + 2 * (n + E + 2e) * 2l   readout
                                  + 2 * l * V           logits

    Softmaxes, gates and losses are elementwise and left out. A training
    step costs about three forward passes (the backward pass two).
    """
    E = config["embedding_dim"]
    n = config["hidden_dim"]
    e = config.get("encoder_hidden_dim") or n
    a = config["attention_dim"]
    l = config["maxout_dim"]  # noqa: E741
    V = config["target_vocabulary_size"]
    encoder = source_length * (
        2 * E * 6 * e + 4 * 3 * e * e + 2 * 2 * e * a + 2 * 2 * e * 3 * n
    )
    decoder = target_length * (
        2 * E * 3 * n
        + 2 * 3 * n * n
        + 2 * n * a
        + source_length * (3 * a + 6 * n + 4 * e)
        + 2 * (n + E + 2 * e) * 2 * l
        + 2 * l * V
    )
    return encoder + 2 * e * n + decoder


def peer_flops_per_sentence(source_length, target_length, target_vocabulary):
    """The same count for the peer's model (`benchmarks.peer.opennmt`): bi-GRU
    2 x 128 over embeddings 256, a GRU 256 decoder fed `[E y; attention]`
    (input feeding), Bahdanau attention of 256 scored with the new state,
    an attention layer `W [c; h]` of 256 and the output layer."""
    E, e, n, a = 256, 128, 256, 256
    encoder = source_length * (2 * E * 6 * e + 4 * 3 * e * e + 2 * 2 * e * a)
    decoder = target_length * (
        2 * (E + n) * 3 * n  # the cell's input kernel
        + 2 * 3 * n * n  # its recurrent kernel
        + 2 * n * a  # query layer
        + source_length * (3 * a + 2 * 2 * e)  # scores and context
        + 2 * (2 * e + n) * n  # attention layer
        + 2 * n * target_vocabulary  # output layer
    )
    return encoder + decoder


def machine_matmul_peak(dtype):
    """`matmul_peak` in a fresh process with TensorFlow's default thread
    pools (one thread per core), whatever `--threads` this one runs with:
    the peak of the whole machine."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    }
    code = (
        "from benchmarks.speed.train_speed import matmul_peak; "
        f"print(matmul_peak({dtype!r}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output.split()[-1])


def matmul_peak(dtype, size=2048, repeats=5):
    """Best dense matmul FLOP/s of this machine at `dtype`, right now."""
    x = tf.cast(tf.random.normal((size, size)), dtype)
    product = tf.function(lambda a: tf.matmul(a, a))
    product(x).numpy()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(4):
            result = product(x)
        result.numpy()
        seconds = (time.perf_counter() - start) / 4
        best = max(best, 2 * size**3 / seconds)
    return best


def measure(
    preset,
    batch_size,
    precision,
    epochs,
    bucket_width,
    peer_vocabulary,
    batch_tokens=None,
    optimizer="fused",
    batch_slices="auto",
):
    import keras

    from s2s_zoo import training
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import translation

    with training.global_dtype_policy(precision):
        keras.utils.set_random_seed(0)
        config = translation.Config(
            preset=preset,
            # With a token budget the sentence count is unused in training.
            batch_size=batch_size or 64,
            batch_tokens=batch_tokens,
            bucket_width=bucket_width,
            batch_slices=batch_slices,
            output_dir=os.path.join(ROOT, "runs", "train_speed"),
        )
        data = translation.prepare(config)
        model = translation.build(config, data)
        if optimizer == "keras":  # Keras' own Adam, to time the fused one
            model.compile(
                optimizer=keras.optimizers.Adam(
                    config.learning_rate, global_clipnorm=1.0
                ),
                loss=model.loss,
                batch_slices=model.batch_slices,
            )
        model_config = translation.model_config(
            config, data.source_tokenizer, data.target_tokenizer
        )
        sources, targets = text.encode_pairs(
            data.splits["train"],
            data.source_tokenizer,
            data.target_tokenizer,
            config.max_length,
        )
        source_lengths = sources.row_lengths().numpy()
        target_lengths = targets.row_lengths().numpy() + 1  # [END]
        forward = sum(
            flops_per_sentence(model_config, s, t)
            for s, t in zip(source_lengths, target_lengths)
        )
        tokens = int(target_lengths.sum())
        model.fit(data.train, verbose=0)  # warm-up epoch: tracing
        seconds = []
        for _ in range(epochs):
            start = time.perf_counter()
            model.fit(data.train, verbose=0)
            seconds.append(time.perf_counter() - start)
    best = min(seconds)
    return {
        "preset": preset,
        "batch_size": None if batch_tokens else batch_size,
        "batch_tokens": batch_tokens,
        "optimizer": optimizer,
        "batch_slices": model.batch_slices,
        "batches_per_epoch": data.batches,
        "mean_batch_sentences": data.train_pairs / data.batches,
        "precision": precision,
        "bucket_width": bucket_width,
        "parameters": model.count_params(),
        "model_config": model_config,
        "epoch_seconds": seconds,
        "train_sentences_per_second": data.train_pairs / best,
        "mean_train_sentences_per_second": data.train_pairs
        * len(seconds)
        / sum(seconds),
        "target_tokens_per_second": tokens / best,
        "mean_source_tokens": float(source_lengths.mean()),
        "mean_target_tokens": float(target_lengths.mean()),
        "training_flops_per_target_token": 3 * forward / tokens,
        "achieved_flops_per_second": 3 * forward / best,
        "peer_target_vocabulary": peer_vocabulary,
        "peer_training_flops_per_target_token": 3
        * sum(
            peer_flops_per_sentence(s, t, peer_vocabulary)
            for s, t in zip(source_lengths, target_lengths)
        )
        / tokens,
    }


OPTIMIZERS = {"fused": "FusedAdam", "keras": "Keras' Adam"}


def batch_label(row):
    """A row's batch: its sentences, or its token budget and the mean
    sentences that gave."""
    if row.get("batch_tokens"):
        return (
            f"{row['batch_tokens']} tokens (mean "
            f"{row['mean_batch_sentences']:.0f} pairs)"
        )
    return str(row["batch_size"])


def page(report, epochs):
    """The results page of `--markdown`: the columns that differ between
    rows, under a line saying what was measured, when and where."""
    from benchmarks import common

    rows = report["rows"]
    lines = [
        common.header("speed.train_speed"),
        f"Measured by `{report['command']}` on {report['machine']['date']} "
        f"({common.machine_line(report['machine'])}): `bahdanau_attention` "
        f"at the `{rows[0]['preset']}` preset, whole epochs of the bundled "
        f"data without validation, the best of {epochs} after a warm-up "
        "epoch; one row after the other.",
        "",
        "| precision | batch | optimizer | sentences/s | target tokens/s | "
        "share of the matmul peak |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['precision']} | {batch_label(row)} | "
            f"{OPTIMIZERS[row.get('optimizer', 'fused')]} | "
            f"{row['train_sentences_per_second']:.0f} | "
            f"{row['target_tokens_per_second']:.0f} | "
            f"{100 * row['peak_share']:.1f}% |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--preset", default="opennmt")
    parser.add_argument(
        "--batch-sizes", nargs="+", type=int, default=[64, 128, 256]
    )
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["auto"],
        choices=["auto", "float32", "mixed_bfloat16"],
    )
    parser.add_argument(
        "--batch-tokens",
        nargs="+",
        type=int,
        default=[],
        help="also time batches of at most this many padded tokens (the "
        "recipe's --batch-tokens), one row each",
    )
    parser.add_argument(
        "--optimizers",
        nargs="+",
        default=["fused"],
        choices=["fused", "keras"],
        help="the task's Adam (training.FusedAdam) and/or Keras' own, "
        "timed one after the other for each batch setting",
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--bucket-width", type=int, default=2)
    parser.add_argument(
        "--peer",
        default=None,
        help="the JSON benchmarks.peer.opennmt wrote on the same machine, "
        "just before",
    )
    parser.add_argument(
        "--output", default=os.path.join(ROOT, "runs", "train_speed.json")
    )
    parser.add_argument(
        "--markdown", default=None, help="also write the table to this page"
    )
    parser.add_argument(
        "--threads",
        default="auto",
        help="TensorFlow's thread pools, as the recipe's --threads",
    )
    parser.add_argument(
        "--batch-slices",
        default="auto",
        help="slices of a batch side by side, as the recipe's --batch-slices",
    )
    args = parser.parse_args(argv)
    from benchmarks import common as bench_common
    from s2s_zoo import training
    from s2s_zoo.tasks import common

    # Before any TensorFlow op, as the recipe does.
    threads = training.use_threads(args.threads)

    peer = None
    if args.peer:
        with open(args.peer) as f:
            peer = json.load(f)
    precisions = [training.resolve_precision(p) for p in args.precision]
    peaks = {}
    rows = []
    lines = [
        "| preset | precision | batch | Adam | sentences/s | target "
        "tokens/s | vs peer | training FLOPs/token | achieved GFLOP/s | "
        "matmul peak GFLOP/s | share |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines))
    for precision in precisions:
        dtype = "bfloat16" if "bfloat16" in precision else "float32"
        settings = [(size, None) for size in args.batch_sizes]
        settings += [(None, tokens) for tokens in args.batch_tokens]
        settings = [
            (size, tokens, optimizer)
            for size, tokens in settings
            for optimizer in args.optimizers
        ]
        for batch_size, batch_tokens, optimizer in settings:
            row = measure(
                args.preset,
                batch_size,
                precision,
                args.epochs,
                args.bucket_width,
                # The peer's target vocabulary as it built it (its
                # lowercased words seen twice: 4,101 on the bundled split).
                peer["target_vocabulary"] if peer else 4101,
                batch_tokens=batch_tokens,
                optimizer=optimizer,
                batch_slices=args.batch_slices,
            )
            # The peak right after the run, at the precision it computed in,
            # with every core (the run's own thread pools may use fewer
            # threads per op).
            peaks[dtype] = max(
                peaks.get(dtype, 0.0), machine_matmul_peak(dtype)
            )
            row["threads"] = threads
            row["matmul_peak_flops_per_second"] = peaks[dtype]
            row["peak_share"] = row["achieved_flops_per_second"] / peaks[dtype]
            if peer:
                row["peer_train_sentences_per_second"] = peer[
                    "train_sentences_per_second"
                ]
                row["ratio_to_peer"] = (
                    row["train_sentences_per_second"]
                    / peer["train_sentences_per_second"]
                )
            rows.append(row)
            ratio = f"{row['ratio_to_peer']:.2f}x" if peer else ""
            lines.append(
                f"| {args.preset} | {precision} | {batch_label(row)} | "
                f"{optimizer} | "
                f"{row['train_sentences_per_second']:.0f} | "
                f"{row['target_tokens_per_second']:.0f} | {ratio} | "
                f"{row['training_flops_per_target_token'] / 1e6:.2f} M | "
                f"{row['achieved_flops_per_second'] / 1e9:.1f} | "
                f"{peaks[dtype] / 1e9:.0f} | {100 * row['peak_share']:.1f}% |",
            )
            print(lines[-1], flush=True)
    report = {
        "command": "python -m benchmarks.speed.train_speed "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "rows": rows,
        "machine": bench_common.machine(),
    }
    common.write_json(args.output, report)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(page(report, args.epochs))
    return report


if __name__ == "__main__":
    main()
