"""s2s_zoo: the classic sequence models that taught the field why attention
matters, as Keras 3 models you can build by name, train, study and serve.

Importing the package imports nothing heavy: Keras is first imported with
the first model, layer or task used, so `KERAS_BACKEND` (or the
`s2s-zoo --backend` flag) can still choose the backend after
`import s2s_zoo`.
"""

import importlib

from s2s_zoo import registry as _registry
from s2s_zoo._version import __version__  # noqa: F401

# The package's own models register when `s2s_zoo.models` is imported,
# which imports Keras: the registry imports it on first use.
_registry.add_source("s2s_zoo.models")

_SUBMODULES = ("decoding", "layers", "models", "training")
_REGISTRY_FUNCTIONS = (
    "describe",
    "list_models",
    "model_names",
    "register",
)

__all__ = sorted(_SUBMODULES + _REGISTRY_FUNCTIONS + ("build", "list_presets"))


def build(name, preset=None, size=None, weights=None, **config):
    """Builds the registered model `name`: the paper's hyperparameters, a
    named size, or trained weights (the Keras convention,
    `keras.applications.ResNet50(weights="imagenet")`).

    Args:
        name (str): A name from `list_models()`.
        size (str): Named sizes, no weights: `"paper"` (default), `"cpu"`,
            `"tiny"`; `preset=` is its former name, still accepted.
        weights (str): A trained preset to load (`list_presets()`, a local
            preset directory, or a `hf://` / `kaggle://` handle): the
            model comes with its trained weights, and its sizes are the
            preset's.
        **config: Hyperparameters that override the size.

    Raises:
        UnknownModelError: If `name` is not registered.
        ValueError: For an unknown size or hyperparameter, or `weights`
            that hold another model or are combined with sizes.

    Examples:
    >>> model = build("bahdanau_attention", size="tiny")
    >>> model = build("bahdanau_attention", weights="bahdanau_zh_en_tatoeba")
    """
    if weights is None:
        return _registry.build(name, preset=preset, size=size, **config)
    if preset is not None or size is not None or config:
        raise ValueError(
            "build(name, weights=...) takes its sizes from the preset: give "
            "no size, preset or hyperparameter with it."
        )
    from s2s_zoo.tasks import from_preset

    run = from_preset(weights)
    if run.config.model != name:
        raise ValueError(
            f"The preset {weights!r} holds a {run.config.model!r} model, "
            f"not {name!r}."
        )
    return run.model


def list_presets():
    """The built-in trained presets, `{name: one line}` (see
    `s2s_zoo.tasks.from_preset`)."""
    from s2s_zoo import pretrained

    return pretrained.list_presets()


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"s2s_zoo.{name}")
    if name in _REGISTRY_FUNCTIONS:
        from s2s_zoo import registry

        return getattr(registry, name)
    raise AttributeError(f"module 's2s_zoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
