"""The run every task shares: a trained model, its assets and config.

A finished run directory holds

- `run.json`: the task, its config and what the task adds (label names);
- `model.keras`: the trained model;
- `vocabulary/`: the task's assets (tokenizers, vocabularies);
- `metrics.json`: one schema for every task (`metrics_record`);
- `saved_model/`: the string-in SavedModel, when exported.

`Run` writes and reads all of them. A task's run subclasses it and
overrides only what differs: `save_assets` / `load_assets` (its
tokenizers or vocabularies), `serving_module` (its `tf.Module`),
`run_info` (extra `run.json` fields) and, for translation,
`write_saved_model` (two signatures and the decoding options).
`s2s_zoo.tasks.load(run_dir)` reads any run through `Run.load`.
"""

import os
import time

from s2s_zoo import io
from s2s_zoo.tasks import common

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
ASSETS_DIR = "vocabulary"
SAVED_MODEL_DIR = "saved_model"


class Run:
    """A trained model of a task, with its assets and config.

    Subclasses set `task` (the name `run.json` records) and `Config` (the
    task's config class), and take their assets as constructor keywords.

    Attributes:
        model: The `keras.Model`.
        config: The task's `Config`.
        metrics (dict): Its `metrics.json`, when trained or loaded from a
            finished run.
    """

    task = None
    Config = None
    #: Config values that runs written before a field existed keep (a
    #: field whose default changed what such a run does).
    LEGACY_CONFIG = {}

    def __init__(self, model, config, metrics=None):
        self.model = model
        self.config = config
        self.metrics = metrics or {}
        self._module = None

    # --- Hooks a task overrides ---

    def save_assets(self, directory):
        """Writes the task's assets (tokenizers, vocabularies) into
        `directory` (the run's `vocabulary/`)."""

    @classmethod
    def load_assets(cls, directory, info):
        """The constructor keywords of the task's assets, read from
        `directory`; `info` is the run's `run.json`."""
        return {}

    def run_info(self):
        """What `run.json` records besides the task and the config."""
        return {}

    def serving_module(self):
        """The task's `s2s_zoo.serving.ServingModule` over this run."""
        raise NotImplementedError

    def write_saved_model(self, path):
        """Writes the SavedModel to `path` (TensorFlow only)."""
        self.module.export(path)

    # The keys of a `metrics.json` written before the one schema, by the
    # section they belong to now (`upgrade_metrics`).
    LEGACY_RESULTS = ()
    LEGACY_TRAINING = ()

    @classmethod
    def upgrade_metrics(cls, metrics):
        """`metrics` in the one schema (`metrics_record`): a run written
        before it kept its figures at the top level; they move to
        `results` and `training`, and `task` names the task."""
        if not metrics or "results" in metrics:
            return metrics
        upgraded = {"task": cls.task}
        upgraded["results"] = {
            k: metrics[k] for k in cls.LEGACY_RESULTS if k in metrics
        }
        upgraded["training"] = {
            k: metrics[k] for k in cls.LEGACY_TRAINING if k in metrics
        }
        moved = {"task", *cls.LEGACY_RESULTS, *cls.LEGACY_TRAINING}
        upgraded.update({k: v for k, v in metrics.items() if k not in moved})
        return upgraded

    # --- What every run does ---

    @property
    def module(self):
        """The in-graph serving module (made once)."""
        if self._module is None:
            self._module = self.serving_module()
        return self._module

    @property
    def output_dir(self):
        return self.config.output_dir

    def path(self, name):
        """`name` inside the run's output directory."""
        return os.path.join(self.output_dir, name)

    def save(self, run_dir=None):
        """Writes `model.keras`, the assets and `run.json` to `run_dir`
        (default: the config's output directory); returns it."""
        from s2s_zoo.serving.base import save_keras

        run_dir = run_dir or self.output_dir
        os.makedirs(run_dir, exist_ok=True)
        save_keras(self.model, os.path.join(run_dir, MODEL_FILE))
        self.save_assets(os.path.join(run_dir, ASSETS_DIR))
        common.write_run_file(
            run_dir, self.task, self.config, **self.run_info()
        )
        return run_dir

    @classmethod
    def load(cls, run_dir):
        """Reads a finished run directory of this task.

        Raises:
            FileNotFoundError: If `run_dir` holds no finished run.
            ValueError: If it holds a run of another task.
        """
        import keras

        import s2s_zoo.models  # noqa: F401  (registers the model classes)

        info = common.read_run_file(run_dir)
        if info["task"] != cls.task:
            raise ValueError(
                f"{run_dir!r} holds a {info['task']!r} run, not a "
                f"{cls.task!r} run; load it with s2s_zoo.tasks.load or "
                f"s2s_zoo.tasks.{info['task']}.load."
            )
        config = common.from_dict(
            cls.Config, {**cls.LEGACY_CONFIG, **info["config"]}
        )
        metrics_path = os.path.join(run_dir, METRICS_FILE)
        metrics = cls.upgrade_metrics(
            io.read_json(metrics_path) if os.path.exists(metrics_path) else {}
        )
        with _trained_precision(metrics):
            model = keras.saving.load_model(os.path.join(run_dir, MODEL_FILE))
        assets = cls.load_assets(os.path.join(run_dir, ASSETS_DIR), info)
        return cls(model, config=config, metrics=metrics, **assets)

    def save_to_preset(self, directory, summary=None, **metadata):
        """Writes the run as a trained preset in keras-hub's layout
        (`s2s_zoo.pretrained`), which `s2s_zoo.tasks.from_preset` loads
        and `keras_hub.upload_preset` publishes; returns the directory.

        Args:
            directory: Where the preset goes (written atomically).
            summary: Its one line in `list_presets()` (default: task,
                model and the first figures).
            **metadata: More `metadata.json` fields: `data`, `license`,
                `attribution`, `command`...

        Raises:
            ValueError: For a run with no figures (not evaluated).
        """
        import json

        from s2s_zoo import pretrained

        if not self.metrics.get("results"):
            raise ValueError(
                "This run has no figures (metrics.json): save a finished "
                "run, trained and evaluated, as a preset."
            )
        scrub = common.scrub_paths
        config = common.to_dict(self.config)
        config["output_dir"] = None
        task_info = {"task": self.task, "config": config, **self.run_info()}
        metrics = json.loads(scrub(json.dumps(self.metrics)))
        results = metrics["results"]
        figures = [
            f"{key} {value:.4g}"
            for key, value in results.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        ]
        return pretrained.write_preset(
            directory,
            self.model,
            json.loads(scrub(json.dumps(task_info))),
            metrics,
            self.save_assets,
            summary=summary
            or f"{self.task}, {self.config.model}: {', '.join(figures[:2])}",
            task=self.task,
            model=self.config.model,
            results=results,
            **json.loads(scrub(json.dumps(metadata))),
        )

    @classmethod
    def from_preset_directory(cls, directory):
        """Reads a verified preset directory of this task
        (`s2s_zoo.tasks.from_preset` finds the directory and the class)."""
        from s2s_zoo import pretrained

        info = pretrained.read_task(directory)
        if info["task"] != cls.task:
            raise ValueError(
                f"{directory!r} holds a {info['task']!r} preset, not a "
                f"{cls.task!r} one; load it with s2s_zoo.tasks.from_preset."
            )
        config = common.from_dict(
            cls.Config, {**cls.LEGACY_CONFIG, **info["config"]}
        )
        metrics = cls.upgrade_metrics(pretrained.read_metrics(directory))
        with _trained_precision(metrics):
            model = pretrained.load_model(directory)
        assets = cls.load_assets(
            os.path.join(directory, pretrained.ASSETS_DIR), info
        )
        return cls(model, config=config, metrics=metrics, **assets)

    def export(self, path=None):
        """Writes the string-in SavedModel (default `<output_dir>/
        saved_model`) atomically; returns the path. A run trained on JAX
        or PyTorch is reloaded under TensorFlow to export
        (`common.export_through_tensorflow`)."""
        if path is None and self.output_dir is None:
            raise ValueError(
                "This run has no output directory (it was loaded from a "
                "preset): give export() the path to write to."
            )
        path = path or self.path(SAVED_MODEL_DIR)
        if not common.on_tensorflow():
            return common.export_through_tensorflow(self, path)
        self.write_saved_model(path)
        return path

    def write_metrics(self, metrics):
        """Keeps `metrics` as the run's and writes them to its
        `metrics.json`, atomically."""
        self.metrics = metrics
        io.write_json(self.path(METRICS_FILE), metrics)
        return metrics


def _trained_precision(metrics):
    """The dtype policy the run trained (and was scored and exported)
    with, for rebuilding its model: the layers a model makes for itself
    take the global policy, so a run trained in mixed_bfloat16 and loaded
    in float32 would compute differently from its SavedModel."""
    from s2s_zoo import training

    precision = metrics.get("training", {}).get("precision") or "float32"
    return training.global_dtype_policy(precision)


def claim_output_dir(output_dir, resume=False, continuable=False):
    """Checks, before any work, that training may write into `output_dir`,
    and makes it.

    A finished run's records are never replaced: a folder that holds one
    (its `metrics.json`) is refused, and with `--resume` too (there is
    nothing left to resume), unless the task keeps its checkpoints to
    continue a finished run for more epochs (`continuable`: sentence
    pairs), keeping its history. A path that is a file is refused.

    Raises:
        ValueError: Naming the folder and what to do instead.
    """
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ValueError(
            f"--output-dir {output_dir!r} is a file, not a folder."
        )
    finished = os.path.exists(os.path.join(output_dir, METRICS_FILE))
    if finished and not (resume and continuable):
        done = (
            "nothing is left to resume"
            if resume
            else "training would replace its records"
        )
        raise ValueError(
            f"{output_dir!r} holds a finished run (its {METRICS_FILE}): "
            f"{done}. Give a new --output-dir; the run is unchanged."
        )
    os.makedirs(output_dir, exist_ok=True)


def metrics_record(
    task, config, model_config, results, wall_seconds, command, **sections
):
    """A run's `metrics.json`, in the one schema of every task.

    Keys: `task`, `model`, `config`, `model_config`, `results` (the task's
    figures on held-out data), `wall_seconds`, `machine`, `date` and
    `command` (the `s2s-zoo` command that gives the run), then the task's
    own `sections` (`training`, `samples`, `heatmaps`, ...).
    """
    return {
        "task": task,
        "model": config.model,
        "config": common.to_dict(config),
        "model_config": model_config,
        "results": results,
        "wall_seconds": wall_seconds,
        "machine": common.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": command,
        **sections,
    }
