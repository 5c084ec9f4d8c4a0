"""Training epochs with the time loops' hand-written gradients and with
TensorFlow's own, alternating.

    python -m benchmarks.speed.loop_gradients              # 4 epochs each
    python -m benchmarks.speed.loop_gradients --epochs 6 \\
        --output docs/results/loop_gradients

Trains `bahdanau_attention` at the `opennmt` preset (the peer's sizes) on
the bundled data (batch 64, the translation task's pipeline and Adam, the
precision `auto` picks) twice in one process: one model whose training
step was traced with the hand-written gradients of the decoder's and the
encoder's time loops (`s2s_zoo/models/attention_seq2seq/training_loop.py`,
`s2s_zoo/layers/gru_loop.py`: the package's default on TensorFlow), one
traced with TensorFlow's own gradient of the same loops. After a warm-up
epoch each (tracing), their epochs alternate, each its own `fit`, so that
the machine's drift over minutes falls on both alike.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import common  # noqa: E402

SETTINGS = {
    "hand-written": "hand-written (the package's)",
    "tensorflow": "TensorFlow's own",
}


def measure(epochs, batch_size, preset):
    from s2s_zoo.layers import gru_loop
    from s2s_zoo.models.attention_seq2seq import training_loop
    from s2s_zoo.tasks import translation

    setup = common.translation_setup(batch_size, preset, "loop_gradients")
    with setup as (precision, config, data):
        models = {}
        try:
            for setting in SETTINGS:
                # Read when the training step is traced, by the first fit.
                hand_written = setting == "hand-written"
                training_loop.HAND_WRITTEN_GRADIENT = hand_written
                gru_loop.HAND_WRITTEN_GRADIENT = hand_written
                models[setting] = translation.build(config, data)
                models[setting].fit(data.train, verbose=0)  # warm-up
        finally:
            training_loop.HAND_WRITTEN_GRADIENT = True
            gru_loop.HAND_WRITTEN_GRADIENT = True
        rows = []
        for epoch in range(epochs):
            for setting, model in models.items():
                start = time.perf_counter()
                model.fit(data.train, verbose=0)
                seconds = time.perf_counter() - start
                rows.append(
                    {
                        "setting": setting,
                        "epoch": epoch,
                        "seconds": seconds,
                        "sentences_per_second": data.train_pairs / seconds,
                    }
                )
                print(
                    f"{setting:>12} epoch {epoch}: {seconds:.2f} s, "
                    f"{rows[-1]['sentences_per_second']:.0f} sentences/s",
                    flush=True,
                )
    return {"precision": precision, "train_pairs": data.train_pairs}, rows


def page(report):
    """The results page: per setting, the mean and best epoch, and the
    ratio of the means."""
    lines = [
        common.header("speed.loop_gradients"),
        f"Measured by `{report['command']}` on {report['machine']['date']} "
        f"({common.machine_line(report['machine'])}): `bahdanau_attention` "
        f"at the `{report['preset']}` preset, batch {report['batch_size']}, "
        f"{report['precision']}, {report['train_pairs']:,} training pairs "
        "of the bundled data; each epoch its own `fit` call, the two "
        "models' epochs alternating after a warm-up epoch each.",
        "",
        "| time loops' gradient | epochs | s per epoch: mean | best | "
        "sentences/s: mean | vs TensorFlow's own |",
        "|---|---|---|---|---|---|",
    ]
    means = {}
    for setting in SETTINGS:
        rows = [r for r in report["rows"] if r["setting"] == setting]
        means[setting] = sum(r["sentences_per_second"] for r in rows) / len(
            rows
        )
    for setting, label in SETTINGS.items():
        rows = [r for r in report["rows"] if r["setting"] == setting]
        seconds = [r["seconds"] for r in rows]
        lines.append(
            f"| {label} | {len(rows)} | "
            f"{sum(seconds) / len(seconds):.1f} | {min(seconds):.1f} | "
            f"{means[setting]:.0f} | "
            f"{means[setting] / means['tensorflow']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    return common.epochs_benchmark(
        "speed.loop_gradients", __doc__, measure, page, argv
    )


if __name__ == "__main__":
    main()
