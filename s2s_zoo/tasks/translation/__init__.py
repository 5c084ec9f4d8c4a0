"""Translation as library code: train, evaluate, load and serve a translator.

From strings to a trained, evaluated, saved translator in a notebook:

    from s2s_zoo.tasks import translation

    run = translation.train(translation.Config(max_minutes=1))
    run.translate(["我喜欢中国美食"]).translations

`train` runs the steps below in order, and each can be called alone:

- `prepare(config, pairs)`: reads the pairs (the bundled Tatoeba zh-en by
  default, `config.data` files, or a list of `(source, target)` strings),
  splits them deterministically into train / dev / test, trains the
  tokenizers on train only, and builds the bucketed tf.data pipelines.
- `build(config, data)`: the registry model at `config.preset` sizes,
  compiled with the task's training setup.
- `fit(config, model, data)`: resumable after a kill, within a time
  budget over which the learning rate anneals, keeping the epoch with the
  best dev BLEU.
- `evaluate(run, pairs)`: BLEU, lowercased BLEU and chrF through the same
  in-graph path the SavedModel serves.
- `export(run, path)`: a SavedModel that takes raw strings.

`train` and `load(run_dir)` return a `TranslationRun`, which bundles the
model, its two tokenizers and the config and takes raw strings.

The package, one room a role: `config` (the settings and decoding
options), `data` (pairs, splits, tokenizers, pipelines), `fitting` (the
model and its resumable fit), `run` (`TranslationRun`, `evaluate`,
`export`), `ensembles` (several runs as one translator) and `pipeline`
(`train`, the steps in order).
"""

from s2s_zoo.tasks.translation.config import DECODING_OPTIONS
from s2s_zoo.tasks.translation.config import SAMPLES
from s2s_zoo.tasks.translation.config import TASK
from s2s_zoo.tasks.translation.config import Config
from s2s_zoo.tasks.translation.config import search_options
from s2s_zoo.tasks.translation.data import Data
from s2s_zoo.tasks.translation.data import load_pairs
from s2s_zoo.tasks.translation.data import prepare
from s2s_zoo.tasks.translation.data import split
from s2s_zoo.tasks.translation.data import test_pairs
from s2s_zoo.tasks.translation.ensembles import assemble
from s2s_zoo.tasks.translation.ensembles import ensemble
from s2s_zoo.tasks.translation.fitting import FitResult
from s2s_zoo.tasks.translation.fitting import averaging_callbacks
from s2s_zoo.tasks.translation.fitting import build
from s2s_zoo.tasks.translation.fitting import callbacks
from s2s_zoo.tasks.translation.fitting import fit
from s2s_zoo.tasks.translation.fitting import model_config
from s2s_zoo.tasks.translation.fitting import prepare_resume
from s2s_zoo.tasks.translation.pipeline import train
from s2s_zoo.tasks.translation.run import TranslationRun
from s2s_zoo.tasks.translation.run import Translations
from s2s_zoo.tasks.translation.run import evaluate
from s2s_zoo.tasks.translation.run import export
from s2s_zoo.tasks.translation.run import load

__all__ = [
    "Config",
    "DECODING_OPTIONS",
    "Data",
    "FitResult",
    "SAMPLES",
    "TASK",
    "TranslationRun",
    "Translations",
    "assemble",
    "averaging_callbacks",
    "build",
    "callbacks",
    "ensemble",
    "evaluate",
    "export",
    "fit",
    "load",
    "load_pairs",
    "model_config",
    "prepare",
    "prepare_resume",
    "search_options",
    "split",
    "test_pairs",
    "train",
]
