"""Aspect-level sentiment (SemEval-2014 Task 4) with the ATAE-LSTM family.

    from s2s_zoo.tasks import aspect_sentiment as task

    run = task.train(task.Config(train="Restaurants_Train_v2.xml",
                                 test="Restaurants_Test_Gold.xml"))
    run.predict(["The staff was horrible but the food was great."],
                ["food"]).labels                      # ['positive']

Trains one of `lstm_sentiment`, `ae_lstm`, `at_lstm`, `atae_lstm` (Wang et
al., EMNLP 2016) on a SemEval-2014 XML file, keeps the epoch with the best
accuracy on a dev split carved from train by sentence (never on test), and
writes to `output_dir`: `metrics.json` (accuracy, macro-F1, per-class
figures, confusion matrix, counts, config), attention heatmaps of test
sentences, `model.keras`, the vocabularies and a SavedModel whose
`serving_default(sentence, aspect)` returns `probabilities`, `label` and
`attention` from raw strings. Without `train` / `test` the files are read
from `$S2S_ZOO_DATA/semeval14/`.

The package, one room a role: `config` (the settings), `data` (SemEval
files, splits, vocabularies: `prepare`), `fitting` (the model and its
resumable fit), `run` (`AspectSentimentRun`, the figures) and `pipeline`
(`train`, the steps in order).
"""

from s2s_zoo.tasks.aspect_sentiment.config import MODELS
from s2s_zoo.tasks.aspect_sentiment.config import TASK
from s2s_zoo.tasks.aspect_sentiment.config import WHERE
from s2s_zoo.tasks.aspect_sentiment.config import Config
from s2s_zoo.tasks.aspect_sentiment.data import Data
from s2s_zoo.tasks.aspect_sentiment.data import class_counts
from s2s_zoo.tasks.aspect_sentiment.data import encode
from s2s_zoo.tasks.aspect_sentiment.data import load_vectors
from s2s_zoo.tasks.aspect_sentiment.data import prepare
from s2s_zoo.tasks.aspect_sentiment.data import split_dev
from s2s_zoo.tasks.aspect_sentiment.data import tokenize
from s2s_zoo.tasks.aspect_sentiment.fitting import build
from s2s_zoo.tasks.aspect_sentiment.fitting import fit
from s2s_zoo.tasks.aspect_sentiment.fitting import model_config
from s2s_zoo.tasks.aspect_sentiment.pipeline import train
from s2s_zoo.tasks.aspect_sentiment.run import AspectSentimentRun
from s2s_zoo.tasks.aspect_sentiment.run import Predictions
from s2s_zoo.tasks.aspect_sentiment.run import classification_report
from s2s_zoo.tasks.aspect_sentiment.run import evaluate
from s2s_zoo.tasks.aspect_sentiment.run import export
from s2s_zoo.tasks.aspect_sentiment.run import load
from s2s_zoo.tasks.aspect_sentiment.run import write_heatmaps

__all__ = [
    "AspectSentimentRun",
    "Config",
    "Data",
    "MODELS",
    "Predictions",
    "TASK",
    "WHERE",
    "build",
    "class_counts",
    "classification_report",
    "encode",
    "evaluate",
    "export",
    "fit",
    "load",
    "load_vectors",
    "model_config",
    "prepare",
    "split_dev",
    "tokenize",
    "train",
    "write_heatmaps",
]
