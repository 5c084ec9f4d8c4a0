"""`train`: an aspect-sentiment run from files to a served model."""

import time

import keras
import numpy as np

from s2s_zoo.tasks import base
from s2s_zoo.tasks import common
from s2s_zoo.tasks.aspect_sentiment.config import TASK
from s2s_zoo.tasks.aspect_sentiment.config import Config
from s2s_zoo.tasks.aspect_sentiment.data import class_counts
from s2s_zoo.tasks.aspect_sentiment.data import load_vectors
from s2s_zoo.tasks.aspect_sentiment.data import prepare
from s2s_zoo.tasks.aspect_sentiment.fitting import build
from s2s_zoo.tasks.aspect_sentiment.fitting import fit
from s2s_zoo.tasks.aspect_sentiment.run import AspectSentimentRun
from s2s_zoo.tasks.aspect_sentiment.run import write_heatmaps


def train(config=None, examples=None, **overrides):
    """Trains, selects on dev, evaluates on test, saves and exports.

    Args:
        config (Config): Settings; default `Config()`.
        examples (list): Your own `(sentence, aspect, polarity)` items
            instead of the SemEval files (`config.train` / `.test`): the
            aspect a term of the sentence or its `(start, end)` character
            offsets, the polarity one of the run's classes. Split by
            sentence: 10% test, then `config.dev_fraction` of the rest
            for dev.
        **overrides: `Config` fields.

    Returns:
        An `AspectSentimentRun` whose `metrics` hold the test figures.
    """
    config = common.replace(config or Config(), **overrides)
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    say = print if config.verbose else (lambda *a, **k: None)
    base.claim_output_dir(config.output_dir, config.resume)
    data = prepare(config, examples)
    say(
        f"train {len(data.train)}, dev {len(data.dev)}, test "
        f"{len(data.test)} examples; vocabulary {len(data.vocabulary)}, "
        f"aspects {len(data.aspect_vocabulary)}"
    )
    matrices, coverage = {}, {}
    if config.embeddings:
        matrices, coverage = load_vectors(
            config.embeddings,
            (data.vocabulary, data.aspect_vocabulary),
            config.seed,
            config.strict_data,
        )
        for key, counts in coverage.items():
            say(
                f"{key} coverage: {counts['found']} found, "
                f"{counts['missing']} missing (e.g. {counts['examples']})"
            )
    model = build(config, data, matrices)
    history = fit(config, model, data, say)
    best_epoch = len(history["loss"])
    if data.dev:
        best_epoch = int(np.argmax(history["val_accuracy"])) + 1
    run = AspectSentimentRun(
        model, data.vocabulary, data.aspect_vocabulary, data.names, config
    )
    report, predicted = run.evaluate(data.test)
    say(
        f"test accuracy {report['accuracy']:.4f}, macro-F1 "
        f"{report['macro_f1']:.4f} (best dev epoch {best_epoch})"
    )
    heatmaps = []
    if model.use_attention:  # the others' attention is all zeros
        heatmaps = write_heatmaps(
            run,
            data.test,
            predicted,
            run.path("heatmaps"),
            config.heatmap_sentences,
        )
    if config.export:
        run.save()
        run.export()
    counts = {
        "train": len(data.train),
        "dev": len(data.dev),
        "test": len(data.test),
        "train_per_class": class_counts(data.train, data.names),
        "test_per_class": class_counts(data.test, data.names),
        "vocabulary": len(data.vocabulary),
        "aspect_vocabulary": len(data.aspect_vocabulary),
    }
    figures = {
        "best_epoch": best_epoch,
        "epochs_run": len(history["loss"]),
        "dev_accuracy": (
            float(max(history["val_accuracy"])) if data.dev else None
        ),
        "train_seconds": round(time.perf_counter() - started, 1),
        "counts": counts,
    }
    if config.embeddings:
        figures["embedding_coverage"] = {
            key: {k: v for k, v in counts.items() if k != "examples"}
            for key, counts in coverage.items()
        }
    run.write_metrics(
        base.metrics_record(
            TASK,
            config,
            {k: v for k, v in model.get_config().items() if k != "name"},
            {"classes": list(data.names), "level": config.level, **report},
            time.perf_counter() - started,
            common.command_line("train aspect-sentiment", config),
            training=figures,
            heatmaps=heatmaps,
        )
    )
    return run
