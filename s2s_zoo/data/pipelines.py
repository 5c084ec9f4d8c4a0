"""The `tf.data` options every pipeline of the package runs with."""

import tensorflow as tf


def without_autotuning(dataset):
    """`dataset` with `tf.data`'s autotuning off (`Options.autotune`).

    With autotuning on (the default), deleting an iterator waits for the
    autotuning thread's next wake-up, and the periods between wake-ups
    double from 10 ms: an iterator made t seconds ago blocks its deletion
    until the first wake-up after t (about 5 s, 10 s, 20 s, 41 s, ...
    after it was made). Keras makes a new iterator at each `fit`,
    `evaluate` and `predict` call and for every validation pass, so each
    could end up to twice as late as its last batch. With autotuning off
    no epoch waited and the batches took as long (`python -m
    benchmarks.speed.iterator_wait`, results in
    `docs/results/iterator_wait.md`). The package's pipelines are a few
    maps and a prefetch, with nothing left to tune.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
