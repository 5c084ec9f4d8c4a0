"""Keras callbacks of the training loop: the time budget and the schedule
over it, throughput, the kept best epoch, per-epoch seeds, persisted
counters, the non-finite stop and dev BLEU."""

import json
import os
import time

import keras
from keras import ops

from s2s_zoo import distributed
from s2s_zoo.io import atomic_file
from s2s_zoo.training.resume import seed_epoch


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
        self._epoch_start = (0, 0.0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = (self.batches, self.seconds)

    def on_epoch_end(self, epoch, logs=None):
        # The epoch's own speed, for the history and TensorBoard.
        batches = self.batches - self._epoch_start[0]
        seconds = self.seconds - self._epoch_start[1]
        if logs is not None and seconds > 0:
            logs["train_sentences_per_second"] = (
                batches * self.sentences_per_batch / seconds
            )

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
        translator: An `s2s_zoo.serving.Translator` over the model being
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
        from s2s_zoo.metrics import translation as metrics
        from s2s_zoo.serving.translation import translate_corpus

        hypotheses, _ = translate_corpus(
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


class AttentionImages(keras.callbacks.Callback):
    """Writes the attention of a few fixed dev sentences as TensorBoard
    images after the first epoch and every `every` epochs after it (1,
    1 + every, ...): how alignment forms as a model trains.

    Greedy search over the live weights, one heatmap per sentence under
    `attention/1`, `attention/2`, ... (a slider per epoch in TensorBoard's
    Images tab). Only the first process of a job writes.

    Args:
        translator: An `s2s_zoo.serving.Translator` over the model being
            trained, returning the attention of its best beam.
        sources (list[str]): The sentences (a few).
        source_vocabulary, target_vocabulary (list[str]): Token strings by
            id, to label the axes.
        folder (str): The TensorBoard log folder of the images.
        every (int): Epochs between two sets of images.
    """

    def __init__(
        self,
        translator,
        sources,
        source_vocabulary,
        target_vocabulary,
        folder,
        every=2,
    ):
        super().__init__()
        self.translator = translator
        self.sources = list(sources)
        self.source_vocabulary = source_vocabulary
        self.target_vocabulary = target_vocabulary
        self.folder = folder
        self.every = every
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every or not self.sources:
            return
        if distributed.current().process_id != 0:
            return
        import tensorflow as tf

        from s2s_zoo import plotting
        from s2s_zoo.serving.translation import unpack

        out = self.translator.translate(tf.constant(self.sources))
        out = {key: value.numpy() for key, value in out.items()}
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.folder)
        with self._writer.as_default():
            for k, sentence in enumerate(self.sources):
                source, output, weights = unpack(
                    out, k, self.source_vocabulary, self.target_vocabulary
                )
                title = f"{sentence} -> {out['translation'][k].decode()}"
                png = plotting.attention_png(weights, source, output, title)
                tf.summary.image(
                    f"attention/{k + 1}",
                    tf.io.decode_png(png, channels=3)[None],
                    step=epoch + 1,
                )
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
