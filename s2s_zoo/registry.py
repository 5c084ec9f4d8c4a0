"""Build models by name: `register`, `build`, `list_models`, `describe`.

Each registered name maps to a small builder function, the paper's default
hyperparameters and named size presets (`"paper"`, the defaults; `"cpu"`,
the sizes the recipes train in minutes on two CPU cores; `"tiny"`, sizes
for tests). `build(name, preset=..., **overrides)` checks every override
against those defaults (known key, right type, sensible value) before the
builder runs, so a typo fails with a message that names it instead of
deep inside a layer. `parse_override("attention_score=dot")` turns a
command-line `KEY=VALUE` into the type the registry declares for the key.

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
        types (dict): The type of every hyperparameter (`int`, `float`,
            `bool`, `str`), from its default or, for a default of None,
            as registered.
        presets (dict): Named sizes, each a dict of overrides of
            `defaults`; `"paper"` (no overrides) is always there.
    """

    name: str
    family: str
    task: str
    paper: str
    defaults: dict = dataclasses.field(repr=False)
    choices: dict = dataclasses.field(repr=False)
    nullable: tuple = dataclasses.field(repr=False)
    builder: Callable[..., Any] = dataclasses.field(repr=False)
    types: dict = dataclasses.field(repr=False, default_factory=dict)
    presets: dict = dataclasses.field(repr=False, default_factory=dict)

    def preset(self, name):
        """The overrides of preset `name`.

        Raises:
            ValueError: For an unknown preset, listing the known ones.
        """
        if name not in self.presets:
            raise ValueError(
                f"Unknown size {name!r} for model {self.name!r}; known "
                f"sizes: {', '.join(sorted(self.presets))}. (Trained "
                "weights load with build(name, weights=...) or "
                "s2s_zoo.tasks.from_preset.)"
            )
        return dict(self.presets[name])


_TYPES = (bool, int, float, str)


def register(
    name,
    *,
    family,
    task,
    paper,
    defaults,
    choices=None,
    nullable=(),
    types=None,
    presets=None,
):
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
        types (dict): Types of hyperparameters whose default is None
            (`{"encoder_hidden_dim": int}`); the others take the type of
            their default.
        presets (dict): Named sizes (`{"cpu": {...}, "tiny": {...}}`), each
            checked against `defaults` like `build`'s overrides. `"paper"`
            is added: the defaults themselves.

    Raises:
        ValueError: If `name` is already registered, or a key of `choices`,
            `nullable`, `types` or a preset is not a hyperparameter.
    """
    choices = dict(choices or {})
    declared = dict(types or {})
    for key in [*choices, *nullable, *declared]:
        if key not in defaults:
            raise ValueError(f"{key!r} has no default in {name!r}.")
    all_types = {}
    for key, default in defaults.items():
        kind = declared.get(key, type(default) if default is not None else None)
        if kind not in _TYPES:
            raise ValueError(
                f"Hyperparameter {key!r} of {name!r} needs a type (one of "
                f"bool, int, float, str): give it in types=."
            )
        all_types[key] = kind
    nullable = tuple(
        sorted({*nullable, *(k for k, v in defaults.items() if v is None)})
    )

    def wrap(builder):
        if name in _REGISTRY:
            raise ValueError(f"Model name {name!r} is already registered.")
        info = ModelInfo(
            name=name,
            family=family,
            task=task,
            paper=paper,
            defaults=dict(defaults),
            choices=choices,
            nullable=nullable,
            builder=builder,
            types=all_types,
            presets={"paper": {}, **(presets or {})},
        )
        for preset, overrides in info.presets.items():
            try:
                _check_all(info, overrides)
            except ValueError as error:
                raise ValueError(f"Preset {preset!r}: {error}") from None
        _REGISTRY[name] = info
        return builder

    return wrap


# Modules whose import registers models, imported when the registry is
# first read: the package registers `s2s_zoo.models` here at import time
# (s2s_zoo/__init__.py), which imports Keras only when a model is first
# looked up, so `import s2s_zoo` does not fix the Keras backend. The
# registry itself imports no model.
_SOURCES = []


def add_source(module_name):
    """Imports `module_name` (whose import registers models) when the
    registry is first read, instead of now; a package of extra models can
    add itself this way."""
    if module_name not in _SOURCES:
        _SOURCES.append(module_name)


def _load_sources():
    import importlib

    for module_name in list(_SOURCES):
        importlib.import_module(module_name)


def _lookup(name):
    _load_sources()
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
    kind = info.types[key]
    nullable = key in info.nullable
    if value is None and nullable:
        return
    where = f"Hyperparameter {key!r} of model {info.name!r}"
    is_bool = isinstance(value, bool)
    if kind is bool:
        if not is_bool:
            raise ValueError(f"{where} must be a bool; received {value!r}.")
    elif kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string; received {value!r}.")
        if key in info.choices and value not in info.choices[key]:
            raise ValueError(
                f"{where} must be one of {list(info.choices[key])}; "
                f"received {value!r}."
            )
    elif kind is float:
        if is_bool or not isinstance(value, numbers.Real) or value < 0:
            raise ValueError(
                f"{where} must be a non-negative number; received {value!r}."
            )
        if "dropout" in key and value >= 1:
            raise ValueError(f"{where} must be in [0, 1); received {value!r}.")
    else:
        lowest = 0 if key.endswith("_id") else 1
        if is_bool or not isinstance(value, numbers.Integral) or value < lowest:
            sign = "non-negative" if lowest == 0 else "positive"
            optional = " or None" if nullable else ""
            raise ValueError(
                f"{where} must be a {sign} integer{optional}; "
                f"received {value!r}."
            )


def _check_key(info, key):
    if key not in info.defaults:
        close = difflib.get_close_matches(key, list(info.defaults), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown hyperparameter {key!r} for model {info.name!r}."
            f"{hint} Valid keys: {', '.join(sorted(info.defaults))}."
        )


def _check_all(info, config):
    for key, value in config.items():
        _check_key(info, key)
        _check_value(info, key, value)


def check_config(name, config, preset="paper"):
    """Returns the defaults of `name`, then `preset`, then `config`, checked.

    Raises:
        ValueError: For an unknown key or preset, or a value of the wrong
            type or range.
    """
    info = _lookup(name)
    _check_all(info, config)
    return {**info.defaults, **info.preset(preset), **config}


def parse_override(name, item):
    """Parses `"KEY=VALUE"` into `(key, value)` by the key's declared type.

    `VALUE` is read as the type the registry declares for `KEY`: `int`,
    `float`, `bool` (`true`/`false`, `1`/`0`, `yes`/`no`) or `str`;
    `none` or `null` give None where the key is nullable. The value is
    then checked as `build` checks it.

    Examples:
    >>> parse_override("bahdanau_attention", "attention_score=dot")
    ('attention_score', 'dot')

    Raises:
        ValueError: Without `=`, for an unknown key (listing the valid
            ones), or a value that does not parse or fit.
    """
    info = _lookup(name)
    key, equals, text = str(item).partition("=")
    key = key.strip().replace("-", "_")
    if not equals or not key:
        raise ValueError(
            f"Expected KEY=VALUE for a hyperparameter of {name!r}; received "
            f"{item!r}. Valid keys: {', '.join(sorted(info.defaults))}."
        )
    _check_key(info, key)
    kind = info.types[key]
    text = text.strip()
    where = f"Hyperparameter {key!r} of model {name!r}"
    if text.lower() in ("none", "null") and key in info.nullable:
        value = None
    elif kind is bool:
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(
                f"{where} must be true or false; received {text!r}."
            )
        value = lowered in ("true", "1", "yes")
    elif kind is str:
        value = text
    else:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(
                f"{where} must be {'an integer' if kind is int else 'a number'}"
                f"; received {text!r}."
            ) from None
    _check_value(info, key, value)
    return key, value


def build(name, preset=None, size=None, **config):
    """Builds the registered model `name` with the paper's defaults.

    Args:
        name (str): A name from `list_models()`.
        size (str): Named sizes to start from: `"paper"` (default, the
            paper's hyperparameters), `"cpu"` (what the recipes train in
            minutes on two CPU cores), `"tiny"` (for tests); see
            `describe(name).presets`. Sizes carry no weights: trained
            weights are `s2s_zoo.build(name, weights=...)`.
        preset (str): The former name of `size`, still accepted.
        **config: Hyperparameters that override the size.

    Returns:
        An uncompiled `keras.Model`; `model.compile()` with no arguments
        gives the paper's optimizer and a loss that matches the outputs.

    Raises:
        UnknownModelError: If `name` is not registered (a `KeyError`).
        ValueError: If a hyperparameter or the preset is unknown or invalid.

    Examples:
    >>> model = build("bahdanau_attention", size="tiny")
    >>> model = build("bahdanau_attention", source_vocabulary_size=50,
    ...               target_vocabulary_size=60, embedding_dim=8,
    ...               hidden_dim=8, attention_dim=8, maxout_dim=4)
    """
    if preset is not None and size is not None and preset != size:
        raise ValueError(
            f"Give the size once: size={size!r} and preset={preset!r} "
            "(its former name) differ."
        )
    config = check_config(name, config, size or preset or "paper")
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
    _load_sources()
    return [
        info
        for name, info in sorted(_REGISTRY.items())
        if (task is None or info.task == task)
        and (family is None or info.family == family)
    ]


def model_names(task=None, family=None):
    """Like `list_models`, but returns only the names."""
    return [info.name for info in list_models(task=task, family=family)]
