"""What every task shares: typed configs, run directories, machine facts.

A task module (`s2s_zoo.tasks.translation`, ...) defines a `Config`
dataclass whose fields are declared with `option(...)`, so that the
command line (`s2s_zoo.cli`) can be generated from it: every field is a
flag with its type, default and help. A finished run directory holds
`run.json` (the task and its config), the trained model and its
tokenizers, so `s2s_zoo.tasks.load(run_dir)` gets it back in one call.
"""

import dataclasses
import difflib
import json
import os
import platform
import re
import time

from s2s_zoo import io

RUN_FILE = "run.json"


def option(default, help, *, flag=None, choices=None, cli=True):
    """A `Config` field with what the command line needs to show it.

    Args:
        default: The default value (lists and dicts are copied per
            instance).
        help (str): One sentence for `--help`.
        flag (str): The command-line flag, when it is not the field name
            with dashes (`--set` for `model_config`).
        choices (tuple): Allowed values.
        cli (bool): False for fields that only Python callers set.
    """
    metadata = {"help": help, "flag": flag, "choices": choices, "cli": cli}
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(
            default_factory=lambda: type(value)(value), metadata=metadata
        )
    return dataclasses.field(default=default, metadata=metadata)


def replace(config, **overrides):
    """`dataclasses.replace`, with an error that lists the valid fields."""
    check_keys(type(config), overrides)
    return dataclasses.replace(config, **overrides)


def check_keys(config_class, values):
    """Raises ValueError for a key that is not a field of `config_class`."""
    names = [f.name for f in dataclasses.fields(config_class)]
    for key in values:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown {config_class.__module__.split('.')[-1]} setting "
                f"{key!r}.{hint} Valid settings: {', '.join(names)}."
            )


def to_dict(config):
    return dataclasses.asdict(config)


def from_dict(config_class, values):
    """A `config_class` from a dict (e.g. a run's `run.json`)."""
    check_keys(config_class, values)
    return config_class(**values)


def command_line(command, config):
    """The `s2s-zoo` command that gives `config`: its non-default fields as
    flags (for metrics.json and reports).

    Examples:
    >>> command_line("translate", Config(max_minutes=12))
    's2s-zoo translate --max-minutes 12.0'
    """
    defaults = type(config)()
    flags = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value == getattr(defaults, field.name) or not field.metadata.get(
            "cli", True
        ):
            continue
        flag = field.metadata.get("flag") or "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, dict):
            flags += [f"{flag} {k}={v}" for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            flags.append(f"{flag} " + " ".join(map(str, value)))
        else:
            flags.append(f"{flag} {value}")
    return " ".join(["s2s-zoo", command, *flags])


_MACHINE_PATH = re.compile(r"(?:(?<=\s)|^|(?<=[\"'=]))(?:/|\.\./)[^\s\"',]*")


def scrub_paths(text):
    """`text` with every absolute or `../` path cut to its last part.

    Figures, commands and tables that go into the docs must not show the
    folders of the machine they were measured on (a reader's clone has
    none of them): `--data /data/corpora/fra.txt` becomes `--data
    fra.txt`.

    Examples:
    >>> scrub_paths("--data /data/corpora/fra.txt --output-dir /scratch/bn")
    '--data fra.txt --output-dir bn'
    """
    return _MACHINE_PATH.sub(
        lambda m: os.path.basename(m.group(0).rstrip("/")) or m.group(0),
        text,
    )


# The run files' JSON, written atomically (`s2s_zoo.io`).
write_json = io.write_json
read_json = io.read_json


def write_run_file(run_dir, task, config, **extra):
    """`run.json`: which task wrote `run_dir`, and with which config."""
    write_json(
        os.path.join(run_dir, RUN_FILE),
        {"task": task, "config": to_dict(config), **extra},
    )


def read_run_file(run_dir):
    """The `run.json` of a run directory, with a clear error if absent."""
    path = os.path.join(run_dir, RUN_FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{run_dir!r} is not a finished s2s_zoo run: it has no "
            f"{RUN_FILE}. Train one with s2s_zoo.tasks.<task>.train(...) or "
            "the s2s-zoo command."
        )
    return read_json(path)


def machine():
    """The facts a measured figure needs next to it."""
    import keras
    import tensorflow as tf

    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def require_file(path, what, where):
    """Raises FileNotFoundError naming `path` and where to get the data.

    Args:
        path (str): The file a task was pointed at.
        what (str): What it should hold ("the SemEval-2014 training XML").
        where (str): Where to get it.
    """
    if path is None:
        raise FileNotFoundError(f"No file given for {what}. {where}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: {path!r} does not exist. {where}")
    return path


def read_item_lines(path, what, where, tsv_fields, json_fields, from_json):
    """Your own items from a file, one a line: a TSV line of the three
    fields `tsv_fields` names (split on TABs), or a JSON object on each
    line of a `.jsonl` / `.json` file, made into an item by
    `from_json(row)`. Blank lines are skipped. Returns `(items, places)`,
    `places` naming each item's file and line.

    Raises:
        FileNotFoundError: For a missing file (`what`, `where`).
        ValueError: Naming the file and line of a malformed line.
    """
    items, places = [], []
    with open(require_file(path, what, where), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            place = f"{path}, line {number}"
            if path.endswith((".jsonl", ".json")):
                try:
                    item = from_json(json.loads(line))
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise ValueError(
                        f"{place}: not a JSON object with {json_fields} ({e})."
                    )
            else:
                item = tuple(line.rstrip("\n").split("\t"))
                if len(item) != 3:
                    raise ValueError(
                        f"{place}: expected {tsv_fields} separated by TABs, "
                        f"got {len(item)} field(s)."
                    )
            items.append(item)
            places.append(place)
    return items, places


DATA_DIR_VARIABLE = "S2S_ZOO_DATA"


def data_path(*parts):
    """A path under `$S2S_ZOO_DATA`, or None when the variable is unset.

    The one documented place where default data locations come from: the
    tasks' default training files (WikiQA, MSRP, SICK, SemEval) are
    `$S2S_ZOO_DATA/<dataset>/<file>`; without it they must be passed.
    """
    root = os.environ.get(DATA_DIR_VARIABLE)
    return os.path.join(root, *parts) if root else None


def export_through_tensorflow(run, path, timeout=1800):
    """Exports `run`'s SavedModel from a child process on TensorFlow.

    A SavedModel is a TensorFlow graph, so a run trained on JAX or PyTorch
    is saved (backend-neutral `.keras`, tokenizers, `run.json`) to a
    temporary folder beside `path`, reloaded there by a Python process with
    `KERAS_BACKEND=tensorflow`, and exported by it: the same SavedModel as a
    run trained on TensorFlow. Returns the path.

    Raises:
        RuntimeError: If the child fails; its error output is included.
    """
    import subprocess
    import sys
    import tempfile

    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    code = (
        "import sys\n"
        "from s2s_zoo import tasks\n"
        "tasks.load(sys.argv[1]).export(sys.argv[2])\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    with tempfile.TemporaryDirectory(prefix=".export.", dir=parent) as tmp:
        run.save(tmp)
        done = subprocess.run(
            [sys.executable, "-c", code, tmp, path],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"Exporting {path!r} through TensorFlow failed (exit "
            f"{done.returncode}):\n{done.stderr[-3000:]}"
        )
    return path


def on_tensorflow():
    """Whether Keras runs on TensorFlow (a SavedModel can be written here)."""
    import keras

    return keras.backend.backend() == "tensorflow"
