"""Resuming after a kill: per-epoch seeds, the checkpoint's epoch and
history, checks that a checkpoint reads whole, and the choice between
resuming and starting clean. `resumable_fit` (in `s2s_zoo.training.fit`)
puts them together."""

import json
import os
import time

import keras
from keras import ops


def epoch_seed(seed, epoch):
    """The seed of epoch `epoch` (0-based) of a run seeded `seed`: what an
    epoch draws (its dropout masks; the sentence-pair task's batch order)
    depends on these two numbers alone, so a run resumed at any epoch
    draws what the uninterrupted run drew there. The tf.data pipelines
    draw their order with `s2s_zoo.data.splits.epoch_permutation`."""
    return (int(seed) * 1_000_003 + int(epoch)) % 2**31


def seed_generators(model):
    """Every `keras.random.SeedGenerator` of `model`'s layers (dropout,
    recurrent dropout)."""
    found = []
    for layer in model._flatten_layers(include_self=True):
        found.extend(getattr(layer, "_seed_generators", ()))
    return found


def seed_epoch(model, seed, epoch):
    """Sets the global seeds and each of `model`'s seed generators from
    `epoch_seed(seed, epoch)`.

    Keras keeps the state of a layer's `SeedGenerator` in memory only
    (`save_weights` leaves it out), so a run resumed from a checkpoint
    would otherwise draw the first epoch's dropout masks again.
    """
    value = epoch_seed(seed, epoch)
    keras.utils.set_random_seed(value)
    for index, generator in enumerate(seed_generators(model)):
        state = generator.state
        generator.state.assign(
            ops.cast(ops.convert_to_tensor([value, index]), state.dtype)
        )


def resume_epoch(backup_dir):
    """The epoch a run resumes at from its `BackupAndRestore` directory
    (0 with none): the number of finished epochs Keras recorded."""
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


def read_history(path):
    """A `CSVLogger` file as `{column: [values]}`, one value per epoch;
    where an epoch was logged twice (trained again after a kill), its last
    row counts. `CSVLogger`'s "NA" (a log missing that epoch) reads as
    NaN."""
    import csv

    rows = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            rows[int(row["epoch"])] = row
    history = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if key != "epoch":
                value = float("nan") if value in ("NA", "") else float(value)
                history.setdefault(key, []).append(value)
    return history


def _readable_weights(path):
    """None if `path` is a whole `.weights.h5` file, else why not."""
    import h5py

    try:
        with h5py.File(path, "r") as f:

            def read(name, item):
                if isinstance(item, h5py.Dataset):
                    item[()]  # every value: a truncated file fails here

            f.visititems(read)
    except Exception as error:  # noqa: BLE001 (the reason is reported)
        return f"{type(error).__name__}: {str(error)[:160]}"
    return None


def _readable_json(path):
    try:
        with open(path) as f:
            json.load(f)
    except (OSError, ValueError) as error:
        return f"{type(error).__name__}: {str(error)[:160]}"
    return None


def check_checkpoint(backup_dir, say=print):
    """Checks a run's `BackupAndRestore` directory before resuming from it.

    Keras writes the checkpoint in place, so a kill during a save leaves a
    truncated file, and resuming from it fails deep inside Keras. With
    `double_checkpoint=True` Keras keeps the previous checkpoint as
    `.bkp`. This check reads every value of both: when the latest is
    unreadable and the previous one is whole, the previous one is put back
    (the run resumes one epoch earlier); when neither is, the directory is
    moved aside and the run must start clean. Each case is said, naming
    the file and what is wrong with it.

    Returns:
        True when the run can resume (a whole checkpoint or none at all
        yet), False when it must start clean.
    """
    import shutil

    weights = os.path.join(backup_dir, "latest.weights.h5")
    metadata = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(weights) and not os.path.exists(metadata):
        return True

    def problem(weights_path, metadata_path):
        if not os.path.exists(weights_path):
            return f"{weights_path} is missing"
        reason = _readable_weights(weights_path)
        if reason:
            return f"{weights_path} is unreadable ({reason})"
        if os.path.exists(metadata_path):
            reason = _readable_json(metadata_path)
            if reason:
                return f"{metadata_path} is unreadable ({reason})"
        return None

    latest = problem(weights, metadata)
    if latest is None:
        return True
    previous = problem(weights + ".bkp", metadata + ".bkp")
    if previous is None:
        say(
            f"warning: {latest}; resuming from the previous checkpoint "
            f"({weights}.bkp), one epoch earlier."
        )
        shutil.copyfile(weights + ".bkp", weights)
        if os.path.exists(metadata + ".bkp"):
            shutil.copyfile(metadata + ".bkp", metadata)
        return True
    aside = backup_dir.rstrip("/") + f".corrupt-{int(time.time())}"
    os.replace(backup_dir, aside)
    say(
        f"warning: {latest}, and no earlier checkpoint is whole ({previous})."
        f" Starting clean; the broken checkpoint was moved to {aside}."
    )
    return False


def _read_error(path):
    """None if the existing file `path` reads whole (every value of a
    `.h5` file, or a JSON file), else the error."""
    check = _readable_weights if path.endswith(".h5") else _readable_json
    return check(path)


def unreadable(path):
    """None if `path` reads whole (every value of a `.h5` file, or a JSON
    file), else what is wrong: "missing" or "unreadable (<error>)"."""
    if not os.path.exists(path):
        return "missing"
    reason = _read_error(path)
    return None if reason is None else f"unreadable ({reason})"


def drop_unreadable(paths, say=print):
    """Removes every file of `paths` that exists and does not read whole
    (`.h5` weights or JSON), saying which and why; returns True if any was
    removed. For the run files a resume reads besides the checkpoint (the
    kept best epoch, the time spent), which belong together: when one is
    bad, all of `paths` go."""
    bad = []
    for path in paths:
        if not os.path.exists(path):
            continue
        reason = _read_error(path)
        if reason:
            bad.append(f"{path} ({reason})")
    if not bad:
        return False
    for path in paths:
        if os.path.exists(path):
            os.remove(path)
    say(f"warning: unreadable, so removed: {'; '.join(bad)}.")
    return True


def start_or_resume(backup_dir, groups, resume, say=print):
    """Readies a run's files before `fit`: resumes, or starts clean.

    Args:
        backup_dir (str): The run's `BackupAndRestore` directory.
        groups (list[list[str]]): The other files a resume reads (the kept
            best epoch, the time spent, counters), in groups of files that
            belong together.
        resume (bool): Whether the caller asked to resume.

    With `resume` and a usable checkpoint (`check_checkpoint`), a group
    holding a file that does not read whole is removed (`drop_unreadable`)
    and the run resumes. Otherwise the checkpoint and every file of the
    groups are removed, so a fresh run picks up nothing of an earlier one.

    Returns:
        True when the run resumes.
    """
    import shutil

    if resume and check_checkpoint(backup_dir, say):
        for group in groups:
            drop_unreadable(group, say)
        return True
    shutil.rmtree(backup_dir, ignore_errors=True)
    for group in groups:
        for path in group:
            if os.path.exists(path):
                os.remove(path)
    return False
