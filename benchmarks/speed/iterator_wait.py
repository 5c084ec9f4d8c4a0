"""Training epochs with and without `tf.data`'s autotuning: the wait after
the last batch.

    python -m benchmarks.speed.iterator_wait              # 4 epochs each
    python -m benchmarks.speed.iterator_wait --epochs 6 \\
        --output docs/results/iterator_wait

Trains `bahdanau_attention` at the `opennmt` preset on the bundled data
(batch 64, the translation task's pipeline, the precision `auto` picks),
each epoch its own `model.fit` call, as Keras makes a new iterator for
each `fit`, `evaluate` and validation pass. The epochs alternate between
the package's pipeline (autotuning off:
`s2s_zoo.data.pipelines.without_autotuning`) and the same pipeline
without that option (`tf.data`'s default: autotuning on), after one
warm-up epoch. Per epoch: the seconds up to the end of its last batch,
and from there to the return of `fit`, which is where deleting an
autotuned iterator waits for the autotuning thread.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import common  # noqa: E402

SETTINGS = {
    "off": "autotuning off (the package's pipelines)",
    "on": "autotuning on (tf.data's default)",
}


def measure(epochs, batch_size, preset):
    from unittest import mock

    import keras

    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import translation

    setup = common.translation_setup(batch_size, preset, "iterator_wait")
    with setup as (precision, config, data):
        # The same pipeline as `make_dataset` built it before the package
        # turned autotuning off, with no options of its own.
        with mock.patch.object(text, "without_autotuning", lambda d: d):
            default = translation.prepare(config).train
        assert default.options().autotune.enabled is not False
        model = translation.build(config, data)
        pipelines = {"off": data.train, "on": default}
        model.fit(data.train, verbose=0)  # warm-up: tracing
        rows = []
        for epoch in range(epochs):
            for setting, dataset in pipelines.items():
                ends = []
                last_batch = keras.callbacks.LambdaCallback(
                    on_train_batch_end=lambda batch, logs: ends.append(
                        time.perf_counter()
                    )
                )
                start = time.perf_counter()
                model.fit(dataset, verbose=0, callbacks=[last_batch])
                end = time.perf_counter()
                rows.append(
                    {
                        "setting": setting,
                        "epoch": epoch,
                        "batches": len(ends),
                        "seconds_to_last_batch": ends[-1] - start,
                        "seconds_after_last_batch": end - ends[-1],
                        "sentences_per_second": data.train_pairs
                        / (end - start),
                    }
                )
                print(
                    f"{setting:>3} epoch {epoch}: "
                    f"{rows[-1]['seconds_to_last_batch']:.2f} s to the last "
                    f"batch, {rows[-1]['seconds_after_last_batch']:.2f} s "
                    f"after it, {rows[-1]['sentences_per_second']:.0f} "
                    "sentences/s",
                    flush=True,
                )
    return {"precision": precision, "train_pairs": data.train_pairs}, rows


def page(report):
    """The results page: per setting, the mean and largest figures."""
    lines = [
        common.header("speed.iterator_wait"),
        f"Measured by `{report['command']}` on {report['machine']['date']} "
        f"({common.machine_line(report['machine'])}): `bahdanau_attention` "
        f"at the `{report['preset']}` preset, batch {report['batch_size']}, "
        f"{report['precision']}, {report['train_pairs']:,} training pairs "
        "of the bundled data; each epoch its own `fit` call, the two "
        "settings alternating after a warm-up epoch.",
        "",
        "| pipeline | epochs | s to the last batch | s after it: mean | "
        "largest | sentences/s: mean |",
        "|---|---|---|---|---|---|",
    ]
    for setting, label in SETTINGS.items():
        rows = [r for r in report["rows"] if r["setting"] == setting]

        def mean(key, rows=rows):
            return sum(r[key] for r in rows) / len(rows)

        waits = [r["seconds_after_last_batch"] for r in rows]
        lines.append(
            f"| {label} | {len(rows)} | "
            f"{mean('seconds_to_last_batch'):.1f} | "
            f"{mean('seconds_after_last_batch'):.2f} | {max(waits):.2f} | "
            f"{mean('sentences_per_second'):.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    return common.epochs_benchmark(
        "speed.iterator_wait", __doc__, measure, page, argv
    )


if __name__ == "__main__":
    main()
