"""Trained presets: a finished run in keras-hub's preset layout.

A preset is a directory that `keras_hub.upload_preset` publishes as it is
and `keras_hub`'s file fetching reads back from a model hub:

- `config.json`: the model, serialized as Keras serializes any object
  (`module`, `class_name`, `config`, `build_config`);
- `model.weights.h5`: its weights;
- `task.json`: which task's run it is and the task's config (the run's
  `run.json`, with no path of the machine that trained it);
- `assets/`: the task's tokenizers or vocabularies;
- `metrics.json`: the run's figures, as `metrics.json` of a run;
- `metadata.json`: what a reader wants before loading: the task, the
  model, a one-line description, the figures on held-out data, the
  training data with its licence and attribution, the command that
  trained it, versions, parameter count, and the SHA-256 of every other
  file (checked on load).

Three kinds of handle load with `from_preset`:

- a built-in name (`list_presets()`), shipped inside the package;
- a local directory (`run.save_to_preset(directory)` writes one);
- a model hub handle, `hf://user/model`, `kaggle://user/model/keras/v`
  or `gs://bucket/dir`, fetched with keras-hub's own `get_file` into a
  cache folder (`$S2S_ZOO_CACHE`, default `~/.cache/s2s_zoo/presets`).

Not the same thing as a model's *sizes* (`s2s_zoo.build(name,
size="tiny")`, formerly `preset=`): those are hyperparameters with no
weights.
"""

import hashlib
import os
import re
import shutil
import time

from s2s_zoo import io

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
TASK_FILE = "task.json"
METRICS_FILE = "metrics.json"
METADATA_FILE = "metadata.json"
ASSETS_DIR = "assets"
BUILTIN_DIR = os.path.dirname(os.path.abspath(__file__))
HUB_SCHEMES = ("hf://", "kaggle://", "gs://", "modelscope://")


class PresetError(ValueError):
    """A preset that cannot be loaded: unknown, incomplete or altered."""


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory):
    """Every file of a preset but its metadata, as relative paths."""
    found = []
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.relpath(os.path.join(folder, name), directory)
            if path != METADATA_FILE and not name.startswith("."):
                found.append(path.replace(os.sep, "/"))
    return sorted(found)


def builtin_names():
    """The names of the presets shipped inside the package."""
    return sorted(
        name
        for name in os.listdir(BUILTIN_DIR)
        if os.path.exists(os.path.join(BUILTIN_DIR, name, METADATA_FILE))
    )


def read_metadata(handle):
    """A preset's `metadata.json` (fetched alone for a hub handle)."""
    directory = _locate(handle, only_metadata=True)
    return io.read_json(os.path.join(directory, METADATA_FILE))


def list_presets():
    """The built-in presets, `{name: one line}`: task, model, data and
    the headline figure on held-out data.

    Examples:
    >>> list_presets()["bahdanau_zh_en_tatoeba"]
    'translation, bahdanau_attention: Chinese to English ...'
    """
    return {
        name: io.read_json(os.path.join(BUILTIN_DIR, name, METADATA_FILE))[
            "summary"
        ]
        for name in builtin_names()
    }


def verify(directory):
    """Checks every file of the preset in `directory` against the SHA-256
    its `metadata.json` records.

    Raises:
        PresetError: Naming the missing or altered file.
    """
    metadata_path = os.path.join(directory, METADATA_FILE)
    if not os.path.exists(metadata_path):
        raise PresetError(
            f"{directory!r} is not an s2s_zoo preset: it has no "
            f"{METADATA_FILE}."
        )
    recorded = io.read_json(metadata_path).get("files", {})
    for name, digest in sorted(recorded.items()):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            raise PresetError(f"preset {directory!r} is missing {name}.")
        if _sha256(path) != digest:
            raise PresetError(
                f"{name} of preset {directory!r} does not match the SHA-256 "
                f"its {METADATA_FILE} records ({digest[:12]}...): the file "
                "was altered or truncated; fetch or copy the preset again."
            )
    return recorded


def _cache_dir(handle):
    root = os.environ.get("S2S_ZOO_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "s2s_zoo", "presets"
    )
    return os.path.join(root, re.sub(r"[^A-Za-z0-9_.-]+", "_", handle))


def _fetch(handle, name):
    # keras-hub's own fetching of preset files (Hugging Face, Kaggle,
    # gs:// and local folders); keras_hub exports no public name for it.
    from keras_hub.src.utils.preset_utils import get_file

    return get_file(handle, name)


def _locate(handle, only_metadata=False):
    """The local directory holding the preset `handle`."""
    if not isinstance(handle, str) or not handle:
        raise PresetError(f"A preset handle is a string; got {handle!r}.")
    if handle.startswith(HUB_SCHEMES):
        local = _cache_dir(handle)
        os.makedirs(local, exist_ok=True)
        shutil.copy(
            _fetch(handle, METADATA_FILE), os.path.join(local, METADATA_FILE)
        )
        if only_metadata:
            return local
        for name in io.read_json(os.path.join(local, METADATA_FILE))["files"]:
            target = os.path.join(local, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(_fetch(handle, name), target)
        return local
    if os.path.isdir(handle):
        return handle
    if handle in builtin_names():
        return os.path.join(BUILTIN_DIR, handle)
    known = ", ".join(builtin_names()) or "none"
    raise PresetError(
        f"Unknown preset {handle!r}: not a built-in preset ({known}), a "
        "local preset directory or a hf://, kaggle:// or gs:// handle."
    )


def write_preset(
    directory, keras_model, task_info, metrics, save_assets, **metadata
):
    """Writes a preset into `directory`, atomically: `keras_model`'s config and
    weights, `task_info` (`task.json`), `metrics` (`metrics.json`), the
    assets `save_assets(folder)` writes, and `metadata.json` with
    `metadata`, versions, the parameter count and every file's SHA-256.
    Runs call it through `Run.save_to_preset`."""
    import keras

    from s2s_zoo._version import __version__

    serialized = keras.saving.serialize_keras_object(keras_model)
    # The weights alone: a compiled model's `save_weights` also writes its
    # optimizer's slots (Adam's two moments: three times the size), which
    # no one loading a preset uses. An uncompiled copy built from the
    # config holds only the model's variables (compile it to train on).
    serialized.pop("compile_config", None)
    bare = keras.saving.deserialize_keras_object(serialized)
    bare.set_weights(keras_model.get_weights())
    with io.atomic_directory(directory) as tmp:
        io.write_json(os.path.join(tmp, CONFIG_FILE), serialized)
        bare.save_weights(os.path.join(tmp, WEIGHTS_FILE))
        save_assets(os.path.join(tmp, ASSETS_DIR))
        io.write_json(os.path.join(tmp, TASK_FILE), task_info)
        io.write_json(os.path.join(tmp, METRICS_FILE), metrics)
        record = {
            **metadata,
            "parameter_count": int(keras_model.count_params()),
            "keras_version": keras.__version__,
            "s2s_zoo_version": __version__,
            "date_saved": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
        record["files"] = {
            name: _sha256(os.path.join(tmp, name)) for name in _files(tmp)
        }
        io.write_json(os.path.join(tmp, METADATA_FILE), record)
        # Readable by everyone, as package data must be (temporary files
        # and folders are private).
        for folder, _, names in os.walk(tmp):
            os.chmod(folder, 0o755)
            for name in names:
                os.chmod(os.path.join(folder, name), 0o644)
    return directory


def load_model(directory):
    """The Keras model of a preset directory, with its weights."""
    import keras

    import s2s_zoo.models  # noqa: F401  (registers the model classes)

    model = keras.saving.deserialize_keras_object(
        io.read_json(os.path.join(directory, CONFIG_FILE))
    )
    model.load_weights(os.path.join(directory, WEIGHTS_FILE))
    return model


def locate(handle):
    """The local directory of the preset `handle`, every file checked
    against its recorded SHA-256 (fetched first for a hub handle)."""
    directory = _locate(handle)
    verify(directory)
    return directory


def read_task(directory):
    """The `task.json` of a preset directory."""
    return io.read_json(os.path.join(directory, TASK_FILE))


def read_metrics(directory):
    return io.read_json(os.path.join(directory, METRICS_FILE))
