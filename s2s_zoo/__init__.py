"""s2s_zoo: the classic sequence models that taught the field why attention
matters, as Keras 3 models you can build by name, train, study and serve."""

from s2s_zoo import decoding
from s2s_zoo import layers
from s2s_zoo import models
from s2s_zoo import training
from s2s_zoo.registry import build
from s2s_zoo.registry import describe
from s2s_zoo.registry import list_models
from s2s_zoo.registry import model_names
from s2s_zoo.registry import register

__version__ = "0.1.0"

__all__ = [
    "build",
    "decoding",
    "describe",
    "layers",
    "list_models",
    "model_names",
    "models",
    "register",
    "training",
]
