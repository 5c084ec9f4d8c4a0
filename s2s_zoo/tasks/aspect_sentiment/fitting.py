"""The model of an aspect-sentiment run and its resumable fit."""

import functools
import os

from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.data import aspect_text
from s2s_zoo.models.atae_lstm import paper_optimizer
from s2s_zoo.tasks.aspect_sentiment.data import encode


def model_config(config, data, embedding_dim=None):
    """The registry overrides of a run: preset, `--set`, vocabularies."""
    info = registry.describe(config.model)
    overrides = {
        **info.preset(config.preset),
        "vocabulary_size": len(data.vocabulary),
        "num_classes": len(data.names),
    }
    if "aspect_vocabulary_size" in info.defaults:
        overrides["aspect_vocabulary_size"] = len(data.aspect_vocabulary)
    if embedding_dim is not None:
        overrides["embedding_dim"] = embedding_dim
        if "aspect_embedding_dim" in info.defaults:
            overrides["aspect_embedding_dim"] = embedding_dim
    # --set comes last, and an unknown key fails with the valid ones.
    return registry.check_config(
        config.model, {**overrides, **config.model_config}
    )


def build(config, data, matrices=None):
    """The model, its pretrained vectors assigned, compiled for the run.

    The paper's training setup (AdaGrad, lr `config.learning_rate`,
    accumulator 0) on the model's logits.
    """
    embedding_dim = None
    if matrices:
        embedding_dim = matrices["embedding"].shape[1]
    model = registry.build(
        config.model, **model_config(config, data, embedding_dim)
    )
    for key, matrix in (matrices or {}).items():
        layer = getattr(model, key, None)
        if layer is not None:
            layer.embeddings.assign(matrix)
    model.compile(
        optimizer=paper_optimizer(config.learning_rate),
        loss="auto",
        metrics=["accuracy"],
    )
    return model


def fit(config, model, data, say=print, extra_callbacks=()):
    """Trains with the epoch chosen on dev accuracy
    (`training.resumable_fit`); returns the history (`{log: [one value
    per epoch]}`, every epoch of the run, those before a resume
    included).

    Resumable: with `config.resume` after a kill, the run ends where the
    uninterrupted run ends (see `training.resumable_fit`).

    Args:
        extra_callbacks: Run first (tests use one to stop at an epoch).
    """
    train_inputs, train_labels = encode(data.train, data, config)
    validation = None
    if data.dev:
        dev_inputs, dev_labels = encode(data.dev, data, config)
        validation = aspect_text.aspect_dataset(
            dev_inputs, dev_labels, batch_size=100
        )
    result = training.resumable_fit(
        model,
        functools.partial(
            aspect_text.aspect_dataset,
            train_inputs,
            train_labels,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
        ),
        directory=config.output_dir,
        tensorboard=os.path.join(config.output_dir, "logs")
        if config.tensorboard
        else None,
        epochs=config.epochs,
        steps_per_epoch=aspect_text.dataset_steps(
            len(data.train), config.batch_size
        ),
        seed=config.seed,
        resume=config.resume,
        validation_data=validation,
        # EarlyStopping(restore_best_weights=True) keeps its best epoch
        # and patience in memory only; KeepBest persists both.
        monitor="val_accuracy" if data.dev else None,
        patience=config.patience,
        first=extra_callbacks,
        verbose=2 if config.verbose else 0,
        say=say,
    )
    return result.run_history
