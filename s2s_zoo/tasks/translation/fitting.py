"""The model of a translation run and its resumable fit."""

import dataclasses
import os
import sys
import time
import typing

import keras

from s2s_zoo import distributed
from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.data import translation as text
from s2s_zoo.serving.translation import make_translator


def model_config(config, source_tokenizer, target_tokenizer):
    """The registry overrides of a run: preset, `--set`, vocabularies."""
    overrides = {
        **registry.describe(config.model).preset(config.preset),
        **config.model_config,
        "source_vocabulary_size": source_tokenizer.vocabulary_size,
        "target_vocabulary_size": target_tokenizer.vocabulary_size,
        "start_token_id": text.START_ID,
        "end_token_id": text.END_ID,
    }
    return registry.check_config(config.model, overrides)


def build(config, data):
    """The model of a run, compiled with the task's training setup.

    Adam at `config.learning_rate` with the global gradient norm clipped at
    1 and the label-smoothed masked loss, each batch cut into
    `--batch-slices` (`training.slices`). This is the setup measured for the
    CPU recipe (docs/results/translation.md); the paper's own optimizer is
    what `model.compile()` with no arguments gives.
    """
    setup = distributed.current()
    slices = training.resolve_batch_slices(
        config.batch_slices,
        threads=training.current_threads(),
        distributed=setup.strategy != "none",
    )
    # Under MirroredStrategy, the weights are created as mirrored ones.
    with setup.scope():
        model = registry.build(
            config.model,
            **model_config(
                config, data.source_tokenizer, data.target_tokenizer
            ),
        )
        model.compile(
            optimizer=training.FusedAdam(
                config.learning_rate, global_clipnorm=1.0
            ),
            loss=training.masked_loss(config.label_smoothing),
            batch_slices=slices,
        )
    return model


@dataclasses.dataclass
class FitResult:
    """What `fit` returns: the Keras history of the epochs this call
    trained, every epoch's (`run_history`, those before a resume
    included), the clock and throughput callbacks, and the kept (1-based)
    epoch with its dev figure."""

    history: dict
    run_history: dict
    budget: training.TimeBudget
    throughput: training.Throughput
    best_epoch: typing.Optional[int]
    best_dev: typing.Optional[float]


def _path(config, name):
    return os.path.join(config.output_dir, name)


def state_files(config):
    """The files a run's callbacks persist besides the checkpoint, in
    groups that belong together: the clock, the schedule's counters."""
    return [
        [_path(config, "train_state.json")],
        [_path(config, "schedule_state.json")],
    ]


def scratch(config):
    """What a fresh run removes besides: the last epochs' weights."""
    return [_path(config, "last_epochs")]


def callbacks(config, model, data, clock=time.perf_counter, resume_epoch=0):
    """The task's own training callbacks, in the order their logs need;
    `training.resumable_fit` puts them between the per-epoch seeds and
    the non-finite stop before them and `KeepBest`, `CSVLogger` and
    `BackupAndRestore` after them.

    1. `DevBleu` (writes `val_bleu`), before everything that reads it;
    2. the schedule: `BudgetDecay` over the time budget, or
       `ReduceLROnPlateau` and `EarlyStopping` without one (a budgeted run
       never stops early: it would stop before its annealing), with their
       counters persisted by `CallbackState`;
    3. with TensorBoard logs, `AttentionImages` (a few dev sentences'
       attention every `ATTENTION_IMAGES_EVERY` epochs);
    4. `TimeBudget` (adds `train_minutes`) and `Throughput` (adds the
       epoch's `train_sentences_per_second`).

    Returns:
        `(callbacks, budget, throughput)`.
    """
    budget = training.TimeBudget(
        config.max_minutes or None,
        state_path=_path(config, "train_state.json"),
        clock=clock,
    )
    throughput = training.Throughput(
        data.train_tokens, data.batches, data.train_pairs
    )
    monitor, mode = _selection(config)
    # Greedy over the live weights: dev BLEU and the attention images
    # share it (and its traced graph).
    greedy = make_translator(
        model,
        data.source_tokenizer,
        data.target_tokenizer,
        beam_width=1,
        max_source_length=config.max_length * 2,
    )
    result = []
    if config.select_on == "bleu":
        sources, references = text.group_references(data.splits["dev"])
        result.append(
            training.DevBleu(
                greedy,
                sources,
                references,
                config.batch_size,
            )
        )
    if budget.max_seconds is not None:
        # Anneal by the end of the time budget: every halving of the rate
        # raised dev BLEU by 1.5-3 points, and a budgeted run used to end
        # before a plateau schedule had lowered it much.
        result.append(
            training.BudgetDecay(
                budget, config.learning_rate, start=config.decay_start
            )
        )
    else:
        schedule = [
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5
            ),
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode=mode, patience=config.patience
            ),
        ]
        result += [
            *schedule,
            training.CallbackState(
                _path(config, "schedule_state.json"), schedule, resume_epoch
            ),
        ]
    if config.tensorboard and model.has_attention:
        result.append(
            training.AttentionImages(
                greedy,
                _image_sentences(data.splits["dev"]),
                data.source_tokenizer.vocabulary,
                data.target_tokenizer.vocabulary,
                _path(config, os.path.join("logs", "attention")),
                every=ATTENTION_IMAGES_EVERY,
            )
        )
    return [*result, budget, throughput], budget, throughput


# TensorBoard's attention images: how many dev sentences, how often.
ATTENTION_IMAGES = 4
ATTENTION_IMAGES_EVERY = 2


def _image_sentences(pairs):
    """The first `ATTENTION_IMAGES` distinct dev sources (a fixed set)."""
    found = []
    for source, _ in pairs:
        if source not in found:
            found.append(source)
        if len(found) == ATTENTION_IMAGES:
            break
    return found


def _selection(config):
    if config.select_on == "bleu":
        return "val_bleu", "max"
    return "val_loss", "min"


def averaging_callbacks(config):
    """The EMA and last-epochs callbacks `config` asks for (maybe none)."""
    found = []
    if config.ema_decay:
        found.append(training.ExponentialMovingAverage(config.ema_decay))
    if config.average_last:
        found.append(
            training.KeepLastCheckpoints(
                _path(config, "last_epochs"), config.average_last
            )
        )
    return found


def fit(config, model, data, clock=time.perf_counter, extra_callbacks=()):
    """Trains `model` on `data` with `training.resumable_fit`; returns a
    `FitResult`.

    With a time budget the run trains until the budget is spent (or
    `config.epochs`, when set), whatever dev BLEU does; the weights of the
    best dev epoch are restored at the end.

    Args:
        clock: Seconds, for the time budget (tests pass a fake one).
        extra_callbacks: Run first (tests use one to advance a fake clock).
    """
    made = {}

    def task_callbacks(first_epoch):
        found, made["budget"], made["throughput"] = callbacks(
            config, model, data, clock, first_epoch
        )
        return found

    epochs = config.epochs
    if epochs is None:
        epochs = 100_000 if config.max_minutes else 40
    monitor, mode = _selection(config)
    result = training.resumable_fit(
        model,
        data.train_epochs,
        directory=config.output_dir,
        tensorboard=os.path.join(config.output_dir, "logs")
        if config.tensorboard
        else None,
        epochs=epochs,
        steps_per_epoch=data.batches,
        seed=config.seed,
        resume=config.resume,
        validation_data=data.dev,
        monitor=monitor,
        mode=mode,
        callbacks=task_callbacks,
        first=extra_callbacks,
        state_files=state_files(config),
        scratch=scratch(config),
        non_finite_hint="a lower --learning-rate, or --precision float32",
        verbose=1 if sys.stdout.isatty() else 2,
    )
    return FitResult(
        history=result.history,
        run_history=result.run_history,
        budget=made["budget"],
        throughput=made["throughput"],
        best_epoch=result.best_epoch,
        best_dev=result.best,
    )


def prepare_resume(config, say=print):
    """Readies `config.output_dir` before a job's workers copy its state:
    `training.prepare_resume` with the task's files."""
    return training.prepare_resume(
        config.output_dir,
        config.resume,
        state_files(config),
        scratch(config),
        say=say,
    )
