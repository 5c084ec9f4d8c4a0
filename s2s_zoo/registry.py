"""Build models by name: `register`, `build`, `list_models`, `describe`.

Each registered name maps to a small builder function plus the paper's
default hyperparameters. `build(name, **overrides)` checks every override
against those defaults (known key, right type, sensible value) before the
builder runs, so a typo fails with a message that names it instead of
deep inside a layer.

This registry is separate from Keras's serialization registry: a saved
`.keras` file reloads through `keras.saving.register_keras_serializable`
without touching it.
"""

import dataclasses
import difflib
import numbers
from typing import Any
from typing import Callable

_REGISTRY = {}


class UnknownModelError(KeyError):
    """Raised by `build` and `describe` for a name that is not registered."""

    def __str__(self):
        # KeyError would print the message quoted, as a repr.
        return str(self.args[0])


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """One registry entry.

    Attributes:
        name (str): Registry name, e.g. `"bahdanau_attention"`.
        family (str): Model family, e.g. `"attention_seq2seq"`.
        task (str): What the model does, e.g. `"translation"`.
        paper (str): Short citation of the paper the model follows.
        defaults (dict): The paper's hyperparameters; `build` overrides them.
        choices (dict): For string hyperparameters, the allowed values.
        nullable (tuple): Hyperparameters that also accept None.
    """

    name: str
    family: str
    task: str
    paper: str
    defaults: dict = dataclasses.field(repr=False)
    choices: dict = dataclasses.field(repr=False)
    nullable: tuple = dataclasses.field(repr=False)
    builder: Callable[..., Any] = dataclasses.field(repr=False)


def register(name, *, family, task, paper, defaults, choices=None, nullable=()):
    """Decorator that registers a builder function under `name`.

    Args:
        name (str): Lowercase snake_case registry name.
        family (str): Model family.
        task (str): Task the model solves.
        paper (str): Short citation.
        defaults (dict): Default hyperparameters, the paper's settings.
        choices (dict): Allowed values of string hyperparameters.
        nullable (tuple): Hyperparameters that also accept None (an
            optional feature turned off).

    Raises:
        ValueError: If `name` is already registered.
    """
    choices = dict(choices or {})
    for key in [*choices, *nullable]:
        if key not in defaults:
            raise ValueError(f"{key!r} has no default in {name!r}.")

    def wrap(builder):
        if name in _REGISTRY:
            raise ValueError(f"Model name {name!r} is already registered.")
        _REGISTRY[name] = ModelInfo(
            name=name,
            family=family,
            task=task,
            paper=paper,
            defaults=dict(defaults),
            choices=choices,
            nullable=tuple(nullable),
            builder=builder,
        )
        return builder

    return wrap


def _lookup(name):
    if name in _REGISTRY:
        return _REGISTRY[name]
    known = sorted(_REGISTRY)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownModelError(
        f"Unknown model {name!r}.{hint} Known models: {', '.join(known)}."
    )


def _check_value(info, key, value):
    """Raises ValueError if `value` does not fit hyperparameter `key`."""
    default = info.defaults[key]
    if value is None and (default is None or key in info.nullable):
        return
    where = f"Hyperparameter {key!r} of model {info.name!r}"
    is_bool = isinstance(value, bool)
    if isinstance(default, bool):
        if not is_bool:
            raise ValueError(f"{where} must be a bool; received {value!r}.")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string; received {value!r}.")
        if key in info.choices and value not in info.choices[key]:
            raise ValueError(
                f"{where} must be one of {list(info.choices[key])}; "
                f"received {value!r}."
            )
    elif isinstance(default, float):
        if is_bool or not isinstance(value, numbers.Real) or value < 0:
            raise ValueError(
                f"{where} must be a non-negative number; received {value!r}."
            )
        if "dropout" in key and value >= 1:
            raise ValueError(f"{where} must be in [0, 1); received {value!r}.")
    elif isinstance(default, int) or default is None:
        lowest = 0 if key.endswith("_id") else 1
        if is_bool or not isinstance(value, numbers.Integral) or value < lowest:
            kind = "non-negative" if lowest == 0 else "positive"
            nullable = default is None or key in info.nullable
            optional = " or None" if nullable else ""
            raise ValueError(
                f"{where} must be a {kind} integer{optional}; "
                f"received {value!r}."
            )


def check_config(name, config):
    """Returns the defaults of `name` updated with `config`, validated.

    Raises:
        ValueError: For an unknown key, or a value of the wrong type or range.
    """
    info = _lookup(name)
    for key, value in config.items():
        if key not in info.defaults:
            close = difflib.get_close_matches(key, list(info.defaults), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown hyperparameter {key!r} for model {name!r}.{hint} "
                f"Valid keys: {', '.join(sorted(info.defaults))}."
            )
        _check_value(info, key, value)
    return {**info.defaults, **config}


def build(name, **config):
    """Builds the registered model `name` with the paper's defaults.

    Args:
        name (str): A name from `list_models()`.
        **config: Hyperparameters that override the defaults.

    Returns:
        An uncompiled `keras.Model`.

    Raises:
        UnknownModelError: If `name` is not registered (a `KeyError`).
        ValueError: If a hyperparameter is unknown or invalid.

    Examples:
    >>> model = build("bahdanau_attention", source_vocabulary_size=50,
    ...               target_vocabulary_size=60, embedding_dim=8,
    ...               hidden_dim=8, attention_dim=8, maxout_dim=4)
    """
    config = check_config(name, config)
    return _REGISTRY[name].builder(**config)


def describe(name):
    """Returns the `ModelInfo` of `name` (family, task, paper, defaults)."""
    return _lookup(name)


def list_models(task=None, family=None):
    """Lists registered models, sorted by name, optionally filtered.

    Args:
        task (str): Keep only models for this task, e.g. `"translation"`.
        family (str): Keep only models of this family.

    Returns:
        A list of `ModelInfo` (name, family, task, paper, defaults).
    """
    return [
        info
        for name, info in sorted(_REGISTRY.items())
        if (task is None or info.task == task)
        and (family is None or info.family == family)
    ]


def model_names(task=None, family=None):
    """Like `list_models`, but returns only the names."""
    return [info.name for info in list_models(task=task, family=family)]
