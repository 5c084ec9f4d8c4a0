"""One resumable fit for every task.

`resumable_fit` is `model.fit` with what makes a run survive a kill and
end, once resumed, with the weights of a run that was never stopped:

- each epoch draws its data order (the caller's `train_epochs(epochs=
  range(first, last))`) and its dropout masks (`EpochSeeds`) from
  `(seed, epoch)` alone;
- `keras.callbacks.BackupAndRestore` checkpoints weights and optimizer
  after every epoch, the previous checkpoint kept for a kill that
  truncates the latest (`check_checkpoint`);
- `KeepBest` persists the best dev epoch (and its patience), `CSVLogger`
  the history, and the caller's callbacks their own files
  (`state_files`: a time budget's clock, schedule counters);
- a fresh run removes every file of an earlier one first, so it picks up
  nothing of it (`start_or_resume`).

The callbacks run in the order their logs need: the caller's `first`
callbacks, `EpochSeeds`, `StopOnNonFinite`, the caller's callbacks (which
add dev figures and drive the schedule), `KeepBest`, `CSVLogger` (which
writes every log the others added) and last `BackupAndRestore`, so an
epoch's checkpoint is written after everything else of that epoch and a
kill in between repeats the epoch instead of losing what it decided.
"""

import dataclasses
import importlib.util
import os
import shutil
import typing

import keras
import tensorflow as tf

from s2s_zoo import distributed
from s2s_zoo.data.pipelines import without_autotuning
from s2s_zoo.training.callbacks import EpochSeeds
from s2s_zoo.training.callbacks import KeepBest
from s2s_zoo.training.callbacks import StopOnNonFinite
from s2s_zoo.training.resume import read_history
from s2s_zoo.training.resume import resume_epoch
from s2s_zoo.training.resume import start_or_resume

BACKUP = "backup"
BEST = "best.weights.h5"
HISTORY = "history.csv"


@dataclasses.dataclass
class FitResult:
    """What `resumable_fit` returns.

    Attributes:
        history (dict): Keras' `{log: [one value per epoch]}` of the
            epochs this call trained.
        run_history (dict): The same over every epoch of the run, those
            before a resume included (read from `history.csv`; an epoch
            trained again after a kill counts once).
        best_epoch (int): The kept epoch, 1-based; None without a monitor
            (or before any epoch).
        best (float): Its dev figure.
        first_epoch (int): Epochs already done when this call started
            (0 for a fresh run).
    """

    history: dict
    run_history: dict
    best_epoch: typing.Optional[int]
    best: typing.Optional[float]
    first_epoch: int


def run_files(directory, prefix=""):
    """The paths `resumable_fit` writes in `directory`: `backup`, `best`
    (its `.json` beside it) and `history`, each name after `prefix`."""
    return {
        "backup": os.path.join(directory, prefix + BACKUP),
        "best": os.path.join(directory, prefix + BEST),
        "history": os.path.join(directory, prefix + HISTORY),
    }


def prepare_resume(
    directory, resume, state_files=(), scratch=(), prefix="", say=print
):
    """Readies `directory` before a fit: returns the epoch it resumes at
    (0 for a fresh start), saying which.

    With `resume` and a whole checkpoint it resumes (a state file that
    does not read whole is dropped with its group); otherwise every file
    of an earlier run (checkpoint, best epoch, history, `state_files`) is
    removed. Process 0 calls it before the workers of a job copy its
    state; `resumable_fit` calls it again, which changes nothing then.

    Args:
        state_files (list[list[str]]): The caller's other files, in groups
            that belong together.
        scratch (list[str]): Files or folders of an earlier run that a
            fresh start removes and a resume keeps as they are.
    """
    files = run_files(directory, prefix)
    backup = files["backup"]
    if resume and not os.path.exists(backup):
        say(f"nothing to resume in {backup}: training from the start.")
        resume = False
    groups = [[files["best"], files["best"] + ".json"], *state_files]
    resumed = start_or_resume(backup, groups, resume, say)
    if not resumed:
        for path in [files["history"], *scratch]:
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
    first_epoch = resume_epoch(backup) if resumed else 0
    if resumed:
        say(f"resuming after epoch {first_epoch} from {backup}")
    return first_epoch


def resumable_fit(
    model,
    train_epochs,
    *,
    directory,
    epochs,
    steps_per_epoch,
    seed,
    resume=False,
    validation_data=None,
    monitor=None,
    mode="max",
    patience=None,
    callbacks=(),
    first=(),
    state_files=(),
    scratch=(),
    prefix="",
    keep_checkpoint=False,
    non_finite_hint="a lower --learning-rate",
    verbose=2,
    say=print,
    tensorboard=None,
):
    """Trains `model` resumably; returns a `FitResult`.

    Args:
        model: A compiled Keras model.
        train_epochs: `train_epochs(epochs=range(first, last))` returns
            the training batches of those epochs, each in an order drawn
            from `(seed, epoch)`, one epoch after another.
        directory (str): Where the run's files go (see `run_files`).
        epochs (int): Most epochs.
        steps_per_epoch (int): Batches per epoch.
        seed (int): The run's seed (data order and dropout per epoch).
        resume (bool): Continue from `directory`'s checkpoint.
        validation_data: Dev batches for Keras' `val_` logs, or None.
        monitor (str): The epoch log `KeepBest` keeps the best epoch by
            (`"val_bleu"`, `"val_accuracy"`, ...); None keeps the last.
        mode (str): `"max"` or `"min"`, for `monitor`.
        patience (int): Stop after this many epochs without a better
            `monitor`; None never stops for it.
        callbacks: A list, or `callbacks(first_epoch) -> list` for
            callbacks that need the epoch a run resumes at; they run
            after the non-finite stop and before `KeepBest`.
        first: Callbacks that run before all others (tests use them to
            advance a fake clock or stop at an epoch).
        state_files (list[list[str]]): Files the caller's callbacks
            persist, in groups that belong together: removed by a fresh
            start, checked by a resume.
        scratch (list[str]): Files or folders a fresh start removes (see
            `prepare_resume`).
        prefix (str): Before every file name, for several runs in one
            directory.
        keep_checkpoint (bool): Keep the checkpoint when training ends
            (Keras deletes it), so that a later call with more `epochs`
            and `resume` continues the run.
        non_finite_hint (str): What to try, when the loss is not finite.
        verbose (int): Keras' `fit` verbosity.
        say: Prints the resume messages.
        tensorboard (str): A folder for TensorBoard logs of every epoch
            (the losses, the dev figures, the learning rate and whatever
            else the epoch logs hold); None writes none.

    Raises:
        RuntimeError: When the processes of a job would resume at
            different epochs.
    """
    os.makedirs(directory, exist_ok=True)
    files = run_files(directory, prefix)
    first_epoch = prepare_resume(
        directory, resume, state_files, scratch, prefix, say
    )
    if distributed.agree(first_epoch) != first_epoch:
        raise RuntimeError(
            f"Process {distributed.current().process_id} would resume at "
            f"epoch {first_epoch}, process 0 at "
            f"{distributed.agree(first_epoch)}: the processes of a job "
            "must read the same --output-dir."
        )
    if callable(callbacks):
        callbacks = callbacks(first_epoch)
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        say(
            "warning: no TensorBoard logs: the tensorboard package is not "
            "installed (pip install tensorboard)."
        )
        tensorboard = None
    keep_best = None
    if monitor is not None:
        keep_best = KeepBest(
            monitor, mode, path=files["best"], patience=patience
        )
    found = [
        *first,
        EpochSeeds(seed),
        StopOnNonFinite(non_finite_hint),
        *callbacks,
        *([keep_best] if keep_best else []),
        keras.callbacks.CSVLogger(files["history"], append=first_epoch > 0),
        *(
            [
                keras.callbacks.TensorBoard(
                    tensorboard,
                    write_graph=False,
                    update_freq="epoch",
                    profile_batch=0,
                )
            ]
            if tensorboard
            else []
        ),
        keras.callbacks.BackupAndRestore(
            files["backup"],
            double_checkpoint=True,
            delete_checkpoint=not keep_checkpoint,
        ),
    ]
    # A finished run (a resume with no epoch left) trains nothing: `fit`
    # still restores its checkpoint and best epoch, and may read a batch
    # of the last epoch to build the model.
    remaining = range(first_epoch, epochs) or range(epochs - 1, epochs)
    # Pipelines made elsewhere get the package's own options too.
    train = train_epochs(epochs=remaining)
    if isinstance(train, tf.data.Dataset):
        train = without_autotuning(train)
    if isinstance(validation_data, tf.data.Dataset):
        validation_data = without_autotuning(validation_data)
    fitted = model.fit(
        train,
        validation_data=validation_data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the data set draws each epoch's order itself
        callbacks=found,
        verbose=verbose,
    )
    run_history = (
        read_history(files["history"])
        if os.path.exists(files["history"])
        else {}
    )
    best_epoch = best = None
    if keep_best is not None and keep_best.best_epoch is not None:
        best_epoch, best = keep_best.best_epoch + 1, keep_best.best
    return FitResult(fitted.history, run_history, best_epoch, best, first_epoch)
