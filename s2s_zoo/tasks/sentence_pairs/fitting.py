"""The model of a sentence-pair run and its fit with restarts."""

import dataclasses
import functools
import json
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.tasks import common
from s2s_zoo.tasks.sentence_pairs.config import SELECTION_METRIC
from s2s_zoo.tasks.sentence_pairs.data import random_vectors
from s2s_zoo.tasks.sentence_pairs.run import task_figures


def build(config, model_settings, vectors, statistics):
    """The registry model with its vectors and IDF table, compiled."""
    model = registry.build(config.model, **model_settings)
    if vectors is not None:
        model.set_embeddings(vectors)
    if statistics is not None:
        model.set_word_statistics(statistics)
    if config.optimizer == "adagrad":
        optimizer = keras.optimizers.Adagrad(
            config.learning_rate,
            initial_accumulator_value=config.initial_accumulator,
        )
    else:
        optimizer = training.FusedAdam(config.learning_rate)
    model.compile(optimizer=optimizer, loss="auto")
    return model


class DevFigures(keras.callbacks.Callback):
    """Adds the task's dev figures to the epoch logs as `val_<figure>`
    (`val_map`, `val_accuracy`, ...), for `KeepBest` and the history."""

    def __init__(self, config, data):
        super().__init__()
        self.config = config
        self.data = data

    def on_epoch_end(self, epoch, logs=None):
        figures = task_figures(
            self.config.task, self.model, self.data.dev, self.data.inputs["dev"]
        )
        if logs is not None:
            logs.update({f"val_{k}": v for k, v in figures.items()})
        selection = SELECTION_METRIC[self.config.task]
        print(
            f"epoch {epoch + 1}: loss {float(logs['loss']):.4f}, dev "
            f"{selection} {figures[selection]:.4f}",
            flush=True,
        )


@dataclasses.dataclass
class FitResult:
    """What `fit` returns: the trained model (at its best dev epoch), the
    chosen restart's seed, every restart's first-epoch dev figure, the
    history of the chosen restart (one row per epoch: `epoch`, `loss` and
    the dev figures) and the kept (1-based) epoch."""

    model: keras.Model
    restart_seed: int
    restarts: list
    history: list
    best_epoch: int


STATE = "train_state.json"


def _prefix(restart):
    return f"restart{restart}_"


def read_progress(output_dir):
    """What a run in `output_dir` has finished: `{"restarts": [{"seed",
    "dev"}...], "chosen": index or None, "history": [rows of the chosen
    restart]}` (empty lists for a run that has not started)."""
    path = os.path.join(output_dir, STATE)
    state = {"restarts": [], "chosen": None}
    if os.path.exists(path) and training.unreadable(path) is None:
        state = common.read_json(path)
    history = []
    if state.get("chosen") is not None:
        files = training.run_files(output_dir, _prefix(state["chosen"]))
        if os.path.exists(files["history"]):
            history = _rows(training.read_history(files["history"]))
    return {
        "restarts": state.get("restarts", []),
        "chosen": state.get("chosen"),
        "history": history,
    }


def _rows(history):
    """`read_history`'s columns as one row per epoch (1-based `epoch`,
    `loss` and the dev figures without their `val_`)."""
    rows = []
    for k, loss in enumerate(history.get("loss", [])):
        row = {"epoch": k + 1, "loss": loss}
        for key, values in history.items():
            if key.startswith("val_"):
                value = values[k]
                if key in ("val_pairs", "val_questions"):
                    value = int(value)
                row[key[4:]] = value
        rows.append(row)
    return rows


def _clear(output_dir):
    """Removes every training file of an earlier run in `output_dir`
    (those of older versions too: `checkpoint_*.weights.h5`)."""
    for name in os.listdir(output_dir):
        path = os.path.join(output_dir, name)
        if name == STATE or (
            name.startswith(("restart", "checkpoint_"))
            and (name.endswith((".h5", ".json", ".csv")) or "_backup" in name)
        ):
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)


def fit(config, data, say=print, extra_callbacks=()):
    """Trains with restarts and keeps the best dev epoch; returns a
    `FitResult`.

    Restarts (Dodge et al. 2020, "Fine-Tuning Pretrained Language Models:
    Weight Initializations, Data Orders, and Early Stopping"): some
    initialisations never get going (on SICK about one seed in five stayed
    near the word-overlap baseline whatever the optimizer), and one epoch
    tells them apart. Each of `config.restarts` models trains one epoch
    from its own seed (`restart{k}_*` files); the best on dev (the earliest
    on a tie) trains on to `config.epochs` from its checkpoint. Every fit
    is `training.resumable_fit`, so `config.resume` after a kill at any
    moment ends where the uninterrupted run ends; `train_state.json`
    records the restarts' figures and the choice.

    Args:
        extra_callbacks: Run first in every fit (tests use them).
    """
    output_dir = config.output_dir
    os.makedirs(output_dir, exist_ok=True)
    selection = SELECTION_METRIC[config.task]
    state_path = os.path.join(output_dir, STATE)
    # What the checkpoints must have been trained with to be resumed.
    trained_with = json.loads(
        json.dumps({"model": config.model, "model_config": data.model_config})
    )
    resume = config.resume
    state = None
    if resume and os.path.exists(state_path):
        reason = training.unreadable(state_path)
        if reason is not None:
            say(f"warning: {state_path} is {reason}; starting clean.")
            resume = False
        else:
            state = common.read_json(state_path)
            if state.get("trained_with") != trained_with:
                say(
                    f"warning: {state_path} was written by a run of another "
                    "model or model settings; starting clean."
                )
                resume = False
    if not resume:
        _clear(output_dir)
    if not resume or state is None:
        state = {"trained_with": trained_with, "restarts": [], "chosen": None}
        common.write_json(state_path, state)

    accepted = registry.describe(config.model).defaults

    def start_vectors(seed):
        if data.vectors is None and config.trained_vector_norm is not None:
            # Trained vectors start as random directions at
            # trained_vector_norm, drawn again for each restart.
            return random_vectors(
                data.tokenizer.size,
                data.model_config.get(
                    "embedding_dim", accepted["embedding_dim"]
                ),
                config.trained_vector_norm,
                seed,
            )
        return data.vectors

    def new_model(seed):
        keras.utils.set_random_seed(seed)
        return build(
            config, data.model_config, start_vectors(seed), data.statistics
        )

    def run_fit(model, seed, restart, epochs, resume, say=say):
        # The batch order and dropout masks of an epoch come from (seed,
        # epoch) alone, so a resumed run repeats the uninterrupted one.
        return training.resumable_fit(
            model,
            functools.partial(_epochs, data, config.batch_size, seed),
            directory=output_dir,
            tensorboard=os.path.join(output_dir, "logs", f"restart{restart}")
            if config.tensorboard
            else None,
            prefix=_prefix(restart),
            epochs=epochs,
            steps_per_epoch=-(-len(data.labels) // config.batch_size),
            seed=seed,
            resume=resume,
            monitor=f"val_{selection}",
            callbacks=[DevFigures(config, data)],
            first=extra_callbacks,
            keep_checkpoint=True,
            verbose=0,
            say=say,
        )

    built = {}  # the restarts trained in this process, by index
    if state["chosen"] is None:
        for restart in range(len(state["restarts"]), config.restarts):
            seed = config.seed + 1000 * restart
            if config.restarts > 1:
                say(f"restart {restart + 1}/{config.restarts} (seed {seed})")
            model = built[restart] = new_model(seed)
            fitted = run_fit(model, seed, restart, 1, resume)
            state["restarts"].append({"seed": seed, "dev": fitted.best})
            common.write_json(state_path, state)
        # The best first-epoch dev figure; the earliest restart on a tie.
        chosen = max(
            range(len(state["restarts"])),
            key=lambda k: (state["restarts"][k]["dev"], -k),
        )
        state["chosen"] = chosen
        common.write_json(state_path, state)
        for restart in range(len(state["restarts"])):
            if restart != chosen:  # only its figures are kept
                files = training.run_files(output_dir, _prefix(restart))
                shutil.rmtree(files["backup"], ignore_errors=True)
                for path in (files["best"], files["best"] + ".json"):
                    if os.path.exists(path):
                        os.remove(path)
    chosen = state["chosen"]
    seed = state["restarts"][chosen]["seed"]
    if config.restarts > 1:
        say(f"restart {chosen + 1} (seed {seed}) trains on")
    # Trained by an earlier process: built anew, its checkpoint restores it
    # (and says so); trained here, it goes on from where it is.
    model = built.get(chosen)
    quiet = model is not None
    model = model or new_model(seed)
    del built
    fitted = run_fit(
        model,
        seed,
        chosen,
        config.epochs,
        True,
        say=(lambda *a, **k: None) if quiet else say,
    )
    return FitResult(
        model=model,
        restart_seed=seed,
        restarts=state["restarts"],
        history=_rows(fitted.run_history),
        best_epoch=fitted.best_epoch,
    )


def _epochs(data, batch_size, seed, epochs):
    """The training batches of `epochs`, each epoch in an order drawn from
    `(seed, epoch)` alone (`training.epoch_seed`)."""
    inputs, labels = data.inputs["train"], data.labels
    parts = []
    for epoch in epochs:
        order = np.random.default_rng(
            training.epoch_seed(seed, epoch)
        ).permutation(len(labels))
        parts.append(
            tf.data.Dataset.from_tensor_slices(
                ({k: v[order] for k, v in inputs.items()}, labels[order])
            ).batch(batch_size)
        )
    dataset = parts[0]
    for part in parts[1:]:
        dataset = dataset.concatenate(part)
    return dataset
