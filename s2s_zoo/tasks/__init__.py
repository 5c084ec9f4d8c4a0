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
    config), whatever its task: the keras-hub `from_preset` convention.

    Examples:
    >>> run = load("runs/translate")
    >>> run.translate(["我喜欢中国美食"]).translations
    """
    return get(read_run_file(run_dir)["task"]).load(run_dir)


def __getattr__(name):
    if name in TASKS:
        return get(name)
    raise AttributeError(f"module 's2s_zoo.tasks' has no attribute {name!r}")
