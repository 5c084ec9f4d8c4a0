"""Training helpers shared by the recipes: time budget, throughput, losses."""

import contextlib
import json
import os
import time

import keras
from keras import ops

from s2s_zoo import distributed


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `max_minutes` of training time are spent.

    The elapsed time is stored in `state_path` at every epoch end, so a run
    that is killed and resumed (with `keras.callbacks.BackupAndRestore`)
    counts the time it already spent instead of starting the budget anew.
    It also adds `train_minutes` (spent so far) to the epoch logs, for
    curves of a dev figure against time.

    Args:
        max_minutes (float): The budget; None for no limit.
        state_path (str): JSON file for the elapsed time; None to keep it in
            memory only.
        clock: A callable returning seconds, `time.perf_counter` by
            default; tests pass a fake clock to play a fast and a slow
            machine.
    """

    def __init__(self, max_minutes, state_path=None, clock=time.perf_counter):
        super().__init__()
        self.max_seconds = None if max_minutes is None else 60.0 * max_minutes
        self.state_path = state_path
        self.clock = clock
        self.spent = 0.0
        if state_path and os.path.exists(state_path):
            with open(state_path) as f:
                self.spent = float(json.load(f).get("train_seconds", 0.0))
        self.stopped_early = False

    def _elapsed(self):
        return self.spent + (self.clock() - self._start)

    def fraction_spent(self):
        """Share of the budget spent so far, in [0, 1]; 0 without a budget."""
        if self.max_seconds is None or not hasattr(self, "_start"):
            return 0.0
        return min(1.0, self._elapsed() / self.max_seconds)

    def on_train_begin(self, logs=None):
        self._start = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        if self.max_seconds is None:
            return
        # In a job of several processes, process 0's clock decides for all.
        if distributed.agree(self._elapsed() >= self.max_seconds):
            self.stopped_early = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["train_minutes"] = self._elapsed() / 60.0
        if self.state_path:
            tmp = self.state_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"train_seconds": self._elapsed(), "epoch": epoch}, f)
            os.replace(tmp, self.state_path)

    def on_train_end(self, logs=None):
        self.spent = self._elapsed()


class BudgetDecay(keras.callbacks.Callback):
    """Anneals the learning rate linearly to `min_lr` by the end of a budget.

    The rate stays at `peak` for the first `start` share of the time budget,
    then falls linearly with the time spent, reaching `min_lr` when the
    budget runs out, so a time-budgeted run ends annealed however many
    epochs fit (linear decay to zero is the schedule Li et al. 2020,
    "Budgeted Training", found best under a fixed budget). It reads the
    clock of a `TimeBudget`, so a resumed run continues the schedule.

    Args:
        budget (TimeBudget): Whose `max_minutes` must be set.
        peak (float): The learning rate before the decay.
        start (float): Share of the budget before the decay starts.
        min_lr (float): The rate at the end of the budget.
    """

    def __init__(self, budget, peak, start=0.5, min_lr=1e-5):
        super().__init__()
        if budget.max_seconds is None:
            raise ValueError("BudgetDecay needs a TimeBudget with a limit.")
        if not 0 <= start < 1:
            raise ValueError(f"start must be in [0, 1); received {start!r}.")
        self.budget = budget
        self.peak = peak
        self.start = start
        self.min_lr = min_lr

    def rate(self, fraction):
        """The learning rate after `fraction` of the budget."""
        if fraction <= self.start:
            return self.peak
        left = (1.0 - fraction) / (1.0 - self.start)
        return self.min_lr + (self.peak - self.min_lr) * max(left, 0.0)

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(
            self.rate(self.budget.fraction_spent())
        )

    def on_epoch_end(self, epoch, logs=None):
        # For CSVLogger and History, as ReduceLROnPlateau does.
        if logs is not None:
            logs["learning_rate"] = float(
                ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )


class Throughput(keras.callbacks.Callback):
    """Measures training throughput in target tokens and sentences per second.

    Only the time inside training batches counts (not validation), and the
    very first batch is left out: it includes tracing the graph.

    Args:
        tokens_per_epoch (int): Target tokens (padding excluded) per epoch.
        batches_per_epoch (int): Batches per epoch; each batch is counted
            as the average share of tokens and sentences.
        sentences_per_epoch (int): Training sentence pairs per epoch.
    """

    def __init__(
        self, tokens_per_epoch, batches_per_epoch, sentences_per_epoch=0
    ):
        super().__init__()
        self.tokens_per_batch = tokens_per_epoch / max(batches_per_epoch, 1)
        self.sentences_per_batch = sentences_per_epoch / max(
            batches_per_epoch, 1
        )
        self.batches = 0
        self.seconds = 0.0
        self._first = True

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self._first:
            self._first = False
            return
        self.seconds += time.perf_counter() - self._batch_start
        self.batches += 1

    @property
    def tokens_per_second(self):
        if self.seconds == 0:
            return 0.0
        return self.batches * self.tokens_per_batch / self.seconds

    @property
    def sentences_per_second(self):
        if self.seconds == 0:
            return 0.0
        return self.batches * self.sentences_per_batch / self.seconds


class KeepBest(keras.callbacks.Callback):
    """Keeps the weights of the best epoch by a dev figure; never stops.

    `keras.callbacks.EarlyStopping(restore_best_weights=True)` couples
    keeping the best epoch with stopping early, and keeps the best weights
    in memory only. A time-budgeted run must not stop before its learning
    rate schedule ends (a fast machine would otherwise stop before the
    annealing that earns the most), and a resumed run must still know its
    best epoch. This callback only keeps: at every epoch end it compares
    `logs[monitor]` with the best so far, writes the weights of a new best
    to `path` (atomically) and its figure to `path + ".json"`, and restores
    the best weights when training ends.

    Args:
        monitor (str): The epoch log to compare, e.g. `"val_bleu"`.
        mode (str): `"max"` or `"min"`.
        path (str): A `.weights.h5` file for the best weights; None keeps
            them in memory only (no resume).
        patience (int): Stop once this many epochs followed the best one
            without beating it (as `EarlyStopping(patience=...)`, but
            counted from the persisted best epoch, so a resumed run stops
            where the uninterrupted one would); None never stops.
    """

    def __init__(
        self, monitor="val_bleu", mode="max", path=None, patience=None
    ):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min'; received {mode!r}.")
        if path is not None and not path.endswith(".weights.h5"):
            raise ValueError(
                f"path must end in .weights.h5; received {path!r}."
            )
        self.monitor = monitor
        self.mode = mode
        self.path = path
        self.patience = patience
        self.best = None
        self.best_epoch = None
        self._weights = None
        if path and os.path.exists(path + ".json"):
            with open(path + ".json") as f:
                state = json.load(f)
            self.best, self.best_epoch = state["best"], state["epoch"]

    def _better(self, value):
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(
                f"KeepBest monitors {self.monitor!r}, which is not in the "
                f"epoch logs ({', '.join(sorted(logs or {}))}); put the "
                "callback that writes it first."
            )
        value = float(value)
        if not self._better(value):
            if (
                self.patience is not None
                and epoch - self.best_epoch >= self.patience
            ):
                self.model.stop_training = True
            return
        self.best, self.best_epoch = value, epoch
        if self.path is None:
            self._weights = self.model.get_weights()
            return
        from s2s_zoo.export import atomic_file

        with atomic_file(self.path, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        with atomic_file(self.path + ".json") as tmp:
            with open(tmp, "w") as f:
                json.dump({"best": value, "epoch": epoch}, f)

    def on_train_end(self, logs=None):
        if self._weights is not None:
            self.model.set_weights(self._weights)
        elif self.path and os.path.exists(self.path):
            self.model.load_weights(self.path)


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


class EpochSeeds(keras.callbacks.Callback):
    """Calls `seed_epoch(model, seed, epoch)` as every epoch begins.

    Put it first, before any callback that draws random numbers. With a
    data set whose order is also drawn per epoch
    (`s2s_zoo.data.aspect_text.aspect_dataset(..., epochs=...)`), a run
    that resumes after a kill ends with the weights of one that was never
    stopped.
    """

    def __init__(self, seed):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        seed_epoch(self.model, self.seed, epoch)


class CallbackState(keras.callbacks.Callback):
    """Persists the counters of other callbacks across a kill.

    `EarlyStopping` and `ReduceLROnPlateau` keep their patience counters
    and best figure in memory only, so a resumed run would count its
    patience anew (and lower the rate or stop at other epochs than the
    uninterrupted run). At every epoch end this writes their `wait`,
    `best`, `best_epoch` and `cooldown_counter` to `path` (atomically),
    keyed by the epoch, for the last two epochs: a kill after this write
    but before the epoch's checkpoint makes the resumed run repeat that
    epoch, which must start from the counters of the epoch before it.
    When training begins it puts back the counters of the epoch the
    checkpoint ends with. Place it after the callbacks it keeps: they reset
    the counters in their own `on_train_begin`.

    Args:
        path (str): A JSON file.
        callbacks (list): The callbacks whose counters are kept.
        resume_epoch (int): Epochs the checkpoint holds
            (`resume_epoch(backup_dir)`); 0 starts with fresh counters.
    """

    ATTRIBUTES = ("wait", "best", "best_epoch", "cooldown_counter")

    def __init__(self, path, callbacks, resume_epoch=0):
        super().__init__()
        self.path = path
        self.callbacks = list(callbacks)
        self.resume_epoch = resume_epoch
        self.saved = {}

    def on_train_begin(self, logs=None):
        if not self.resume_epoch or not os.path.exists(self.path):
            return
        with open(self.path) as f:
            self.saved = json.load(f)
        states = self.saved.get(str(self.resume_epoch - 1), [])
        for callback, state in zip(self.callbacks, states):
            for key, value in state.items():
                setattr(callback, key, value)

    def on_epoch_end(self, epoch, logs=None):
        from s2s_zoo.export import atomic_file

        self.saved[str(epoch)] = [
            {
                key: float(getattr(callback, key))
                if key == "best"
                else int(getattr(callback, key))
                for key in self.ATTRIBUTES
                if getattr(callback, key, None) is not None
            }
            for callback in self.callbacks
        ]
        self.saved = {
            key: self.saved[key] for key in sorted(self.saved, key=int)[-2:]
        }
        with atomic_file(self.path) as tmp:
            with open(tmp, "w") as f:
                json.dump(self.saved, f)


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


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; nothing was exported."""


class StopOnNonFinite(keras.callbacks.TerminateOnNaN):
    """Stops at the first batch whose loss is NaN or infinite, saying where
    and what to try.

    `keras.callbacks.TerminateOnNaN(raise_error=True)` is the mechanism: it
    raises at once, so `on_train_end` does not run, `BackupAndRestore`
    keeps the last finished epoch's checkpoint (its `on_train_end` would
    delete it) and the recipe never reaches save or export. Its message
    names only the batch; this one raises `TrainingDiverged` with the epoch,
    the step and advice.

    Args:
        advice (str): What to try, for the message.
        first_epoch (int): The number the message gives the first epoch of
            this `fit` (for loops that call `fit` once per epoch).
    """

    def __init__(
        self, advice="a lower learning rate or float32 precision", first_epoch=1
    ):
        super().__init__(raise_error=True)
        self.advice = advice
        self.first_epoch = first_epoch
        self.epoch = first_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = self.first_epoch + epoch

    def on_batch_end(self, batch, logs=None):
        try:
            super().on_batch_end(batch, logs)
        except RuntimeError:
            loss = float((logs or {})["loss"])
            raise TrainingDiverged(
                f"The training loss became {loss} at epoch {self.epoch}, "
                f"step {batch + 1}: training stopped, and nothing was saved "
                "or exported. The last finished epoch's checkpoint is kept "
                f"(--resume starts from it). Try {self.advice}."
            ) from None


class DevBleu(keras.callbacks.Callback):
    """Adds the dev set's corpus BLEU to the epoch logs as `val_bleu`, and
    its lowercased BLEU as `val_bleu_lowercase` (the figure toolkits that
    lowercase their training data report, for curves beside theirs).

    Dev loss is a poor guide to BLEU for these models: it bottoms out
    early and rises as the model grows confident, while translations keep
    improving (of two of our runs, the one with the lower best dev loss
    scored 2.5 BLEU less). Put this callback before
    `EarlyStopping(monitor="val_bleu",
    mode="max")`, `CSVLogger` and the like, which read the same logs.

    Args:
        translator: An `s2s_zoo.export.Translator` over the model being
            trained (it reads the live weights; greedy search is cheap).
        sources (list[str]): Dev source sentences.
        references (list[list[str]]): Their references.
        batch_size (int): Sentences per translation call.
    """

    def __init__(self, translator, sources, references, batch_size=128):
        super().__init__()
        self.translator = translator
        self.sources = sources
        self.references = references
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        # Imported here: the BLEU metric loads keras_hub, which recipes that
        # never score translations should not pay for at start-up.
        from s2s_zoo import export
        from s2s_zoo.metrics import translation as metrics

        hypotheses, _ = export.translate_corpus(
            self.translator, self.sources, self.batch_size
        )
        bleu = metrics.corpus_bleu(hypotheses, self.references)
        lowercase = metrics.corpus_bleu(hypotheses, self.references, True)
        if logs is not None:
            logs["val_bleu"] = bleu
            logs["val_bleu_lowercase"] = lowercase
        print(
            f"epoch {epoch + 1}: dev BLEU {bleu:.2f} (lowercased "
            f"{lowercase:.2f})",
            flush=True,
        )


def masked_loss(label_smoothing=0.0):
    """Token cross-entropy that ignores padding (id 0), averaged per token.

    With `label_smoothing=0` this is Keras's
    `SparseCategoricalCrossentropy(ignore_class=0)`. Keras has no loss with
    both an ignored class and label smoothing (the sparse loss has no
    smoothing, `CategoricalCrossentropy` no ignored class), so a smoothed
    loss is `SmoothedTokenCrossentropy`.
    """
    if label_smoothing:
        return SmoothedTokenCrossentropy(label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=0
    )


@keras.saving.register_keras_serializable(package="s2s_zoo")
class SmoothedTokenCrossentropy(keras.losses.Loss):
    """Label-smoothed token cross-entropy, averaged over non-padding tokens.

    Per token, with `K` classes and smoothing `eps` (Szegedy et al. 2016),
    the target puts `1 - eps + eps / K` on the gold token and `eps / K`
    everywhere else:

        loss = (1 - eps) * -log p(gold) + eps * mean_k(-log p(k))

    Tokens equal to `padding_id` count for nothing; the result is the mean
    over the others (0 for a batch of padding only).

    Args:
        label_smoothing (float): `eps`, in [0, 1).
        padding_id (int): The ignored target id. Default 0.
    """

    def __init__(
        self, label_smoothing=0.1, padding_id=0, name="smoothed_xent", **kw
    ):
        super().__init__(name=name, **kw)
        if not 0 <= label_smoothing < 1:
            raise ValueError(
                "label_smoothing must be in [0, 1); received "
                f"{label_smoothing!r}."
            )
        self.label_smoothing = label_smoothing
        self.padding_id = padding_id

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        logits = ops.cast(y_pred, "float32")
        classes = ops.shape(logits)[-1]
        eps = self.label_smoothing
        # The smoothed target as a dense distribution and one fused softmax
        # cross-entropy: picking log p(gold) out with a gather instead would
        # cost a scatter over batch x time x vocabulary in the backward
        # pass (measured: 8.9 against 10.9 ms a batch of 128 x 11 x 2031).
        target = ops.one_hot(y_true, classes) * (1.0 - eps) + eps / ops.cast(
            classes, "float32"
        )
        loss = ops.categorical_crossentropy(target, logits, from_logits=True)
        mask = ops.cast(ops.not_equal(y_true, self.padding_id), "float32")
        # A scalar: the reduction's mean over it leaves it unchanged.
        return ops.sum(loss * mask) / ops.maximum(
            _tokens_per_replica(mask), 1.0
        )

    def get_config(self):
        return {
            **super().get_config(),
            "label_smoothing": self.label_smoothing,
            "padding_id": self.padding_id,
        }


def _tokens_per_replica(mask):
    """Non-padding tokens of the batch; under a TensorFlow distribution
    strategy, those of the global batch divided by the replicas.

    Keras averages the replicas' losses, so a per-replica mean over each
    replica's own tokens would weigh a token of a short slice more than
    one of a long slice; dividing each replica's sum by the global count
    over replicas makes the average the global per-token mean, as on one
    device. (On JAX, `DataParallel` computes over the global batch and
    needs nothing.)
    """
    count = ops.sum(mask)
    if keras.backend.backend() != "tensorflow":
        return count
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return count
    total = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
    return total / context.num_replicas_in_sync


PRECISIONS = ("auto", "float32", "mixed_bfloat16")


def cpu_has_native_bfloat16(cpuinfo_path="/proc/cpuinfo"):
    """Whether the CPU computes bfloat16 natively (AMX or AVX512-BF16).

    Without it, TensorFlow emulates bfloat16 and a mixed policy is slower
    than float32. Reads the Linux `flags` line; False elsewhere.
    """
    try:
        with open(cpuinfo_path) as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision, cpuinfo_path="/proc/cpuinfo"):
    """Maps a `--precision` choice to a Keras dtype policy name.

    `"auto"` is `"mixed_bfloat16"` (bfloat16 compute, float32 weights) on a
    CPU-only machine whose CPU has native bfloat16, else `"float32"`.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(PRECISIONS)}; "
            f"received {precision!r}."
        )
    if precision != "auto":
        return precision
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float32"
    if cpu_has_native_bfloat16(cpuinfo_path):
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def global_dtype_policy(name):
    """Sets Keras's global dtype policy for the block, then restores it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


# === Weight averaging ===


class ExponentialMovingAverage(keras.callbacks.Callback):
    """Keeps an exponential moving average of the trainable weights:
    after every training step, `average = decay * average + (1 - decay) *
    weight` (Polyak averaging, as in Vaswani et al. 2017's and GNMT's
    evaluation weights).

    Keras optimizers have `use_ema=True`, but it overwrites the model's
    weights with the average at the end of `fit` and keeps it inside the
    optimizer: a run could not be scored with and without the average, or
    pick its best epoch by it. This callback keeps the average next to
    the weights, and `swapped()` puts it into the model for a while.

    Args:
        decay (float): In (0, 1). Default 0.999.
    """

    def __init__(self, decay=0.999):
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1); received {decay}.")
        self.decay = decay
        self.averages = None
        # One graph on TensorFlow: 2.6 ms a step of 143 where the eager
        # update took 11.8 (benchmarks.weight_averaging --ema-cost).
        self._step = self._update
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            self._step = tf.function(self._update, autograph=False)

    def _weights(self):
        return self.model.trainable_weights

    def on_train_begin(self, logs=None):
        if self.averages is None:
            self.averages = [
                keras.Variable(
                    # A NumPy copy: given the weight's own tensor, Keras
                    # may wrap the same storage instead of copying it.
                    ops.convert_to_numpy(w.value).astype("float32"),
                    trainable=False,
                    name=f"ema_{i}",
                )
                for i, w in enumerate(self._weights())
            ]

    def _update(self):
        for average, weight in zip(self.averages, self._weights()):
            average.assign(
                self.decay * average
                + (1.0 - self.decay) * ops.cast(weight.value, "float32")
            )

    def on_train_batch_end(self, batch, logs=None):
        self._step()

    def values(self):
        """The averages as NumPy arrays, in `trainable_weights` order."""
        return [ops.convert_to_numpy(a.value) for a in self.averages]

    @contextlib.contextmanager
    def swapped(self):
        """Within the block the model holds the averaged weights."""
        kept = [ops.convert_to_numpy(w.value) for w in self._weights()]
        for weight, average in zip(self._weights(), self.averages):
            weight.assign(ops.cast(average.value, weight.dtype))
        try:
            yield self.model
        finally:
            for weight, value in zip(self._weights(), kept):
                weight.assign(value)


def average_checkpoints(model, paths):
    """Sets `model`'s weights to the mean of the `.weights.h5` files
    `paths` (checkpoint averaging, Vaswani et al. 2017 average the last 5
    or 20). Non-float weights (step counters, seeds) are taken from the
    last file. Returns the model.

    Raises:
        ValueError: For no paths.
    """
    if not paths:
        raise ValueError("average_checkpoints needs at least one file.")
    sums = None
    for path in paths:
        model.load_weights(path)
        values = [ops.convert_to_numpy(w.value) for w in model.weights]
        if sums is None:
            sums = [v.astype("float64") for v in values]
        else:
            sums = [s + v for s, v in zip(sums, values)]
    for weight, total, last in zip(model.weights, sums, values):
        if "float" in str(weight.dtype):
            weight.assign((total / len(paths)).astype(last.dtype))
    return model


class KeepLastCheckpoints(keras.callbacks.Callback):
    """Writes `epoch_<n>.weights.h5` into `directory` after every epoch
    and deletes all but the last `k`; `paths()` lists those kept, oldest
    first (what `average_checkpoints` reads)."""

    def __init__(self, directory, k):
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be >= 1; received {k}.")
        self.directory = directory
        self.k = k

    def paths(self):
        if not os.path.isdir(self.directory):
            return []
        names = [
            n
            for n in os.listdir(self.directory)
            if n.startswith("epoch_") and n.endswith(".weights.h5")
        ]
        names.sort(key=lambda n: int(n[len("epoch_") : -len(".weights.h5")]))
        return [os.path.join(self.directory, n) for n in names]

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"epoch_{epoch + 1}.weights.h5")
        tmp = os.path.join(self.directory, f".epoch_{epoch + 1}.weights.h5")
        self.model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)  # atomic: a kill leaves no half file
        for old in self.paths()[: -self.k]:
            os.remove(old)
