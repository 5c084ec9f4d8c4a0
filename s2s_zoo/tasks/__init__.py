"""Tasks as library code: one module per task, each with a typed `Config`,
the steps of a run (prepare, build, fit, evaluate, export), `train(config)`
and `load(run_dir)`, which return one object that takes raw strings.

| module | run object | takes |
|---|---|---|
| `translation` | `TranslationRun` | `run.translate(["我喜欢中国美食"])` |
| `aspect_sentiment` | `AspectSentimentRun` | `run.predict(texts, aspects)` |
| `sentence_pairs` | `SentencePairRun` | `run.score(first, second)` |
| `bottleneck` | (a report) | BLEU by source length, four models |

The task modules are imported on first use, so `import s2s_zoo` stays
light.
"""

import importlib

from s2s_zoo.tasks.common import read_run_file

TASKS = ("translation", "aspect_sentiment", "sentence_pairs", "bottleneck")


def get(task):
    """The module of `task` (`"translation"`, `"aspect-sentiment"`, ...).

    Raises:
        ValueError: For an unknown task, listing the known ones.
    """
    name = str(task).replace("-", "_")
    if name not in TASKS:
        raise ValueError(
            f"Unknown task {task!r}; known tasks: {', '.join(TASKS)}."
        )
    return importlib.import_module(f"s2s_zoo.tasks.{name}")


def load(run_dir):
    """Loads any finished run directory in one call (model, tokenizers and
    config), whatever its task (a trained preset: `from_preset`).

    Examples:
    >>> run = load("runs/translate")
    >>> run.translate(["我喜欢中国美食"]).translations
    """
    return get(read_run_file(run_dir)["task"]).load(run_dir)


def run_class(task):
    """The run class of `task` (the `Run` subclass whose `task` it is)."""
    from s2s_zoo.tasks.base import Run

    get(task)  # imports it

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in subclasses(Run):
        if cls.task == task:
            return cls
    raise ValueError(f"No run class for the task {task!r}.")


def from_preset(handle):
    """Loads a trained preset, whatever its task: a built-in name (see
    `list_presets()`), a local directory that `run.save_to_preset` wrote,
    or a `hf://`, `kaggle://` or `gs://` handle (fetched with keras-hub's
    file fetching). Every file is checked against the SHA-256 the preset
    records. Returns the task's run object, as `load(run_dir)` does.

    Examples:
    >>> run = from_preset("bahdanau_zh_en_tatoeba")
    >>> run.translate(["我喜欢中国美食"]).translations
    """
    from s2s_zoo import pretrained

    directory = pretrained.locate(handle)
    run = run_class(pretrained.read_task(directory)["task"])
    return run.from_preset_directory(directory)


def list_presets():
    """The built-in trained presets, `{name: one line}`."""
    from s2s_zoo import pretrained

    return pretrained.list_presets()


def __getattr__(name):
    if name in TASKS:
        return get(name)
    raise AttributeError(f"module 's2s_zoo.tasks' has no attribute {name!r}")
