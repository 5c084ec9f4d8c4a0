"""Training throughput of the default translator on one accelerator, at
several batch sizes: the figure behind the 8-GPU estimate of the Scaling
out page (data parallelism on 8 devices gives each device 1/8 of the
global batch, so what matters is how one device's speed grows with its
own batch).

    KERAS_BACKEND=jax python -m benchmarks.speed.device_throughput \
        --batches 16 128 1024 --json docs/results/device_throughput.json \
        --markdown docs/results/device_throughput.md

It needs Keras and the running backend only (no TensorFlow, no data
files), so it runs on a GPU machine that has JAX and nothing else: the
model is the default recipe's (bahdanau_attention at the `cpu` preset,
the vocabulary sizes the bundled data gives, Adam with global clipping
and the label-smoothed loss, `mixed_bfloat16`), and the batches are
random ids padded to the mean padded lengths of the recipe's bucketed
batches. The vocabulary sizes and lengths are read from `--shapes` (by
default docs/results/recipe_shapes.json), which `--measure-lengths`
writes from the bundled data (that step needs TensorFlow):

    python -m benchmarks.speed.device_throughput --measure-lengths

Each batch size runs `--warmup` untimed steps (compiling) and then
`--steps` timed ones.
"""

import argparse
import json
import os
import time

from benchmarks import common
from benchmarks.common import header

# The recipe's shapes on the bundled data: vocabulary sizes and the mean
# padded lengths of its bucketed training batches, as `--measure-lengths`
# wrote them.
SHAPES = os.path.join(common.RESULTS, "recipe_shapes.json")


def read_shapes(path=SHAPES):
    """`{source_vocabulary, target_vocabulary, source_length,
    target_length}` from `path` (written by `measure_lengths`)."""
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} does not exist: write it with `python -m "
            "benchmarks.speed.device_throughput --measure-lengths` on a "
            "machine with TensorFlow, or pass every size as a flag."
        )
    with open(path) as f:
        return json.load(f)


def measure_lengths():
    """The default recipe's vocabulary sizes and the mean padded lengths of
    its training batches, measured on the bundled data."""
    import numpy as np

    from s2s_zoo.tasks import translation

    config = translation.Config(output_dir="runs/measure_lengths")
    data = translation.prepare(config)
    source, target, sentences = [], [], []
    for inputs, labels in data.train:
        source.append(inputs["encoder_token_ids"].shape[1])
        target.append(labels.shape[1])
        sentences.append(labels.shape[0])
    weights = np.asarray(sentences, "float64")
    return {
        "source_vocabulary": data.source_tokenizer.vocabulary_size,
        "target_vocabulary": data.target_tokenizer.vocabulary_size,
        "source_length": float(np.average(source, weights=weights)),
        "target_length": float(np.average(target, weights=weights)),
    }


def recipe_model(preset, source_vocabulary, target_vocabulary):
    """The recipe's model, compiled as the recipe compiles it (Adam, global
    clipping, the label-smoothed loss), under the current dtype policy."""
    import keras

    import s2s_zoo
    from s2s_zoo import training

    model = s2s_zoo.build(
        "bahdanau_attention",
        preset=preset,
        source_vocabulary_size=source_vocabulary,
        target_vocabulary_size=target_vocabulary,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1.5e-3, global_clipnorm=1.0),
        loss=training.masked_loss(0.1),
    )
    return model


def random_batch(
    batch_size,
    source_length,
    target_length,
    source_vocabulary,
    target_vocabulary,
):
    """`(inputs, targets)` of random ids (no padding), lengths rounded."""
    import numpy as np

    rng = np.random.default_rng(0)
    source = rng.integers(
        4, source_vocabulary, (batch_size, round(source_length))
    ).astype("int32")
    target = rng.integers(
        4, target_vocabulary, (batch_size, round(target_length))
    ).astype("int32")
    return {"encoder_token_ids": source, "decoder_token_ids": target}, target


def time_batch(batch_size, args):
    import keras
    import numpy as np

    keras.config.set_dtype_policy(args.precision)
    keras.utils.set_random_seed(0)
    model = recipe_model(
        args.preset, args.source_vocabulary, args.target_vocabulary
    )
    inputs, target = random_batch(
        batch_size,
        args.source_length,
        args.target_length,
        args.source_vocabulary,
        args.target_vocabulary,
    )
    target_length = target.shape[1]
    for _ in range(args.warmup):
        model.train_on_batch(inputs, target)
    start = time.perf_counter()
    for _ in range(args.steps):
        # train_on_batch returns the loss as a Python float: each step
        # has finished when it returns.
        loss = model.train_on_batch(inputs, target)
    seconds = (time.perf_counter() - start) / args.steps
    return {
        "batch": batch_size,
        "step_ms": 1000 * seconds,
        "sentences_per_second": batch_size / seconds,
        "target_tokens_per_second": batch_size * target_length / seconds,
        "loss": float(loss if np.isscalar(loss) else loss[0]),
    }


def device_name():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return (
            f"{device.device_kind} ({device.platform}, JAX {jax.__version__})"
        )
    return f"{common.machine()['cpu']} ({backend})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 128])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument(
        "--preset",
        default="cpu",
        help="registry preset; `paper` with --source-vocabulary 30000 "
        "--target-vocabulary 30000 is RNNsearch at WMT size",
    )
    parser.add_argument(
        "--shapes",
        default=SHAPES,
        help="JSON of the recipe's vocabulary sizes and mean padded lengths "
        "(default docs/results/recipe_shapes.json); each flag below "
        "overrides its entry",
    )
    parser.add_argument("--source-vocabulary", type=int)
    parser.add_argument("--target-vocabulary", type=int)
    parser.add_argument("--source-length", type=float)
    parser.add_argument("--target-length", type=float)
    parser.add_argument(
        "--measure-lengths",
        action="store_true",
        help="measure the recipe's vocabulary sizes and mean padded "
        "lengths on the bundled data (needs TensorFlow), write them to "
        "--shapes and stop",
    )
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    if args.measure_lengths:
        shapes = {
            **measure_lengths(),
            "command": "python -m benchmarks.speed.device_throughput "
            "--measure-lengths",
            "date": time.strftime("%Y-%m-%d"),
        }
        with open(args.shapes, "w") as f:
            json.dump(shapes, f, indent=2)
        print(json.dumps(shapes, indent=2))
        return
    names = ("source_vocabulary", "target_vocabulary")
    names += ("source_length", "target_length")
    if any(getattr(args, name) is None for name in names):
        shapes = read_shapes(args.shapes)
        for name in names:
            if getattr(args, name) is None:
                setattr(args, name, shapes[name])
    rows = []
    for batch_size in args.batches:
        row = time_batch(batch_size, args)
        rows.append(row)
        print(
            f"batch {row['batch']}: {row['step_ms']:.1f} ms/step, "
            f"{row['sentences_per_second']:,.0f} sentences/s",
            flush=True,
        )
    device = device_name()
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "device": device,
        "precision": args.precision,
        "preset": args.preset,
        "source_vocabulary": args.source_vocabulary,
        "target_vocabulary": args.target_vocabulary,
        "source_length": args.source_length,
        "target_length": args.target_length,
        "steps": args.steps,
        "warmup": args.warmup,
        "rows": rows,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    if args.markdown:
        base = rows[0]
        lines = [
            header("speed.device_throughput"),
            f"Measured on {result['date']}, one {device}: "
            f"bahdanau_attention at the {args.preset} preset, vocabularies "
            f"of {args.source_vocabulary:,} and {args.target_vocabulary:,}, "
            f"{args.precision}, random batches of "
            f"{round(args.source_length)} source and "
            f"{round(args.target_length)} target tokens, {args.steps} timed "
            f"steps after {args.warmup}.",
            "",
            "| batch per device | ms per step | sentences/s | target tokens/s "
            f"| sentences/s vs batch {base['batch']} |",
            "|---:|---:|---:|---:|---:|",
        ]
        for row in rows:
            ratio = row["sentences_per_second"] / base["sentences_per_second"]
            lines.append(
                f"| {row['batch']} | {row['step_ms']:.1f} "
                f"| {row['sentences_per_second']:,.0f} "
                f"| {row['target_tokens_per_second']:,.0f} "
                f"| {ratio:.1f}x |"
            )
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
