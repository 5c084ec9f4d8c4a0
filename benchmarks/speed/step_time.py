"""Time one RNNsearch training step on fixed shapes, and its parts.

    python -m benchmarks.speed.step_time      # batch 128, bfloat16
    python -m benchmarks.speed.step_time --batch-size 64 --precision float32

The tool behind the per-lever figures of docs/benchmarks.md: builds
`bahdanau_attention` at a preset (default `opennmt`), feeds random ids of
fixed lengths (`--source-length`, `--target-length`) and prints the mean
milliseconds of the forward pass, the encoder alone, the full gradient and
the encoder's gradient, each a `tf.function`, after two untimed calls.
Fixed shapes take the data pipeline and the length buckets out of the
comparison, so two versions of a layer can be timed against each other.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def _time(function, repeats):
    function()
    function()
    start = time.perf_counter()
    for _ in range(repeats):
        result = function()
    tf.nest.map_structure(
        lambda x: x.numpy() if hasattr(x, "numpy") else x, result
    )
    return 1000 * (time.perf_counter() - start) / repeats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="opennmt")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--source-length", type=int, default=13)
    parser.add_argument("--target-length", type=int, default=13)
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    import s2s_zoo
    from s2s_zoo import training

    with training.global_dtype_policy(args.precision):
        model = s2s_zoo.build(
            "bahdanau_attention",
            preset=args.preset,
            source_vocabulary_size=3000,
            target_vocabulary_size=2000,
        )
        batch, tx, ty = args.batch_size, args.source_length, args.target_length
        inputs = {
            "encoder_token_ids": tf.random.uniform(
                (batch, tx), 4, 3000, "int32"
            ),
            "decoder_token_ids": tf.random.uniform(
                (batch, ty), 4, 2000, "int32"
            ),
        }
        labels = tf.random.uniform((batch, ty), 4, 2000, "int32")
        loss = training.masked_loss(0.1)
        encoder_weights = [
            w
            for w in model.trainable_weights
            if w.path.startswith(("source_embedding", "encoder"))
        ]

        @tf.function
        def gradient():
            with tf.GradientTape() as tape:
                value = loss(labels, model(inputs, training=True))
            return tape.gradient(value, model.trainable_weights)

        @tf.function
        def encoder_gradient():
            with tf.GradientTape() as tape:
                state, memory = model._encode(inputs["encoder_token_ids"])
                value = tf.reduce_sum(state) + tf.reduce_sum(memory["values"])
            return tape.gradient(value, encoder_weights)

        rows = {
            "forward": tf.function(lambda: model(inputs)),
            "encoder forward": tf.function(
                lambda: model._encode(inputs["encoder_token_ids"])[0]
            ),
            "gradient": gradient,
            "encoder gradient": encoder_gradient,
        }
        print(
            f"{args.preset}, batch {batch}, T_x {tx}, T_y {ty}, "
            f"{args.precision}, keras {keras.__version__}"
        )
        for name, function in rows.items():
            print(f"{name}: {_time(function, args.repeats):.1f} ms")


if __name__ == "__main__":
    main()
