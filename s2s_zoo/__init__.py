"""s2s_zoo: the classic sequence models that taught the field why attention
matters, as Keras 3 models you can build by name, train, study and serve.

Importing the package imports nothing heavy: Keras is first imported with
the first model, layer or task used, so `KERAS_BACKEND` (or the
`s2s-zoo --backend` flag) can still choose the backend after
`import s2s_zoo`.
"""

import importlib

from s2s_zoo import registry as _registry

__version__ = "0.1.0"

# The package's own models register when `s2s_zoo.models` is imported,
# which imports Keras: the registry imports it on first use.
_registry.add_source("s2s_zoo.models")

_SUBMODULES = ("decoding", "layers", "models", "training")
_REGISTRY_FUNCTIONS = (
    "build",
    "describe",
    "list_models",
    "model_names",
    "register",
)

__all__ = sorted(_SUBMODULES + _REGISTRY_FUNCTIONS)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"s2s_zoo.{name}")
    if name in _REGISTRY_FUNCTIONS:
        from s2s_zoo import registry

        return getattr(registry, name)
    raise AttributeError(f"module 's2s_zoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
