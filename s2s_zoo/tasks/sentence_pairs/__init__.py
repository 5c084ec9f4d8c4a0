"""Sentence pairs with BCNN / ABCNN-1/2/3 (Yin et al. 2016).

    from s2s_zoo.tasks import sentence_pairs as task

    run = task.train(task.Config(task="sick", train="SICK.txt",
                                 dev="SICK.txt", test="SICK.txt"))
    run.score(["A dog runs"], ["An animal is running"]).labels

Three tasks: answer selection on WikiQA (MAP, MRR), paraphrase
identification on MSRP (accuracy, F1) and entailment on SICK (accuracy).
Model selection uses the dev split only (which of `restarts`
initialisations trains on, and which epoch is kept); test figures are
computed once, with the selected weights. Without `embeddings`, random word
vectors train with the model (`word_vectors="ppmi"`: frozen PPMI-SVD
vectors of the training sentences instead). Files default to
`$S2S_ZOO_DATA/{wikiqa,msrp,sick}/`; without the variable they must be
given.

Writes under `output_dir` (default `runs/sentence_pairs/TASK`):
`metrics.json`, attention heatmaps of dev pairs, `model.keras`, the
vocabulary and a SavedModel whose `serving_default(sentence1, sentence2)`
returns `score` (the probability of the positive class; for 3-way tasks
that of the predicted label) and, for 3-way tasks, `probabilities` and
`label`.

The package, one room a role: `config` (the settings and each task's
defaults), `data` (files, vocabulary, word vectors: `prepare`), `fitting`
(the model and its fit with restarts), `run` (`SentencePairRun`, the
figures) and `pipeline` (`train`, the steps in order).
"""

from s2s_zoo.tasks.sentence_pairs.config import AUTO
from s2s_zoo.tasks.sentence_pairs.config import COMMON_MODEL_CONFIG
from s2s_zoo.tasks.sentence_pairs.config import MSRP_CARVE
from s2s_zoo.tasks.sentence_pairs.config import MSRP_CARVE_SEED
from s2s_zoo.tasks.sentence_pairs.config import SELECTION_METRIC
from s2s_zoo.tasks.sentence_pairs.config import TASK
from s2s_zoo.tasks.sentence_pairs.config import TASKS
from s2s_zoo.tasks.sentence_pairs.config import Config
from s2s_zoo.tasks.sentence_pairs.config import resolve
from s2s_zoo.tasks.sentence_pairs.data import Data
from s2s_zoo.tasks.sentence_pairs.data import encode
from s2s_zoo.tasks.sentence_pairs.data import fill_uncovered_rows
from s2s_zoo.tasks.sentence_pairs.data import load_splits
from s2s_zoo.tasks.sentence_pairs.data import model_config
from s2s_zoo.tasks.sentence_pairs.data import prepare
from s2s_zoo.tasks.sentence_pairs.data import random_vectors
from s2s_zoo.tasks.sentence_pairs.data import word_vectors
from s2s_zoo.tasks.sentence_pairs.fitting import DevFigures
from s2s_zoo.tasks.sentence_pairs.fitting import FitResult
from s2s_zoo.tasks.sentence_pairs.fitting import build
from s2s_zoo.tasks.sentence_pairs.fitting import fit
from s2s_zoo.tasks.sentence_pairs.fitting import read_progress
from s2s_zoo.tasks.sentence_pairs.pipeline import train
from s2s_zoo.tasks.sentence_pairs.run import Scores
from s2s_zoo.tasks.sentence_pairs.run import SentencePairRun
from s2s_zoo.tasks.sentence_pairs.run import evaluate
from s2s_zoo.tasks.sentence_pairs.run import export
from s2s_zoo.tasks.sentence_pairs.run import load
from s2s_zoo.tasks.sentence_pairs.run import plot_attention
from s2s_zoo.tasks.sentence_pairs.run import task_figures

__all__ = [
    "AUTO",
    "COMMON_MODEL_CONFIG",
    "Config",
    "Data",
    "DevFigures",
    "FitResult",
    "MSRP_CARVE",
    "MSRP_CARVE_SEED",
    "SELECTION_METRIC",
    "Scores",
    "SentencePairRun",
    "TASK",
    "TASKS",
    "build",
    "encode",
    "evaluate",
    "export",
    "task_figures",
    "fill_uncovered_rows",
    "fit",
    "load",
    "load_splits",
    "model_config",
    "plot_attention",
    "prepare",
    "random_vectors",
    "read_progress",
    "resolve",
    "train",
    "word_vectors",
]
