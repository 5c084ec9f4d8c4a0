"""Serving: the `tf.Module`s whose `serving_default` takes raw strings,
one per task on one base (`ServingModule`), and `.keras` saving.

| module | what it serves |
|---|---|
| `serving.base` | `ServingModule`, bounded string inputs, other backends |
| `serving.translation` | `Translator` (`serving_default`, `n_best`) |
| `serving.aspect_sentiment` | `AspectSentimentModule` |
| `serving.sentence_pairs` | `SentencePairModule` |

Every SavedModel and `.keras` file is written atomically
(`s2s_zoo.io`): a kill while writing leaves the previous one in place.
"""

from s2s_zoo.io import atomic_directory
from s2s_zoo.io import atomic_file
from s2s_zoo.serving.aspect_sentiment import AspectSentimentModule
from s2s_zoo.serving.base import CHARACTERS_PER_TOKEN
from s2s_zoo.serving.base import BackendServing
from s2s_zoo.serving.base import ServingModule
from s2s_zoo.serving.base import backend_function
from s2s_zoo.serving.base import bound_pair
from s2s_zoo.serving.base import bound_text
from s2s_zoo.serving.base import export_module
from s2s_zoo.serving.base import save_keras
from s2s_zoo.serving.sentence_pairs import SentencePairModule
from s2s_zoo.serving.translation import EagerTranslator
from s2s_zoo.serving.translation import Translator
from s2s_zoo.serving.translation import export_translator
from s2s_zoo.serving.translation import make_translator
from s2s_zoo.serving.translation import n_best_outputs
from s2s_zoo.serving.translation import prepare_source
from s2s_zoo.serving.translation import translate_corpus

__all__ = [
    "AspectSentimentModule",
    "BackendServing",
    "CHARACTERS_PER_TOKEN",
    "EagerTranslator",
    "SentencePairModule",
    "ServingModule",
    "Translator",
    "atomic_directory",
    "atomic_file",
    "backend_function",
    "bound_pair",
    "bound_text",
    "export_module",
    "export_translator",
    "make_translator",
    "n_best_outputs",
    "prepare_source",
    "save_keras",
    "translate_corpus",
]
