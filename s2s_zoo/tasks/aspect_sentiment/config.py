"""The settings of an aspect-sentiment run."""

import dataclasses
import typing

from s2s_zoo.data import semeval
from s2s_zoo.models.atae_lstm import TRAINING_DEFAULTS
from s2s_zoo.tasks import common
from s2s_zoo.tasks.common import option

TASK = "aspect_sentiment"


MODELS = ("lstm_sentiment", "ae_lstm", "at_lstm", "atae_lstm")


WHERE = (
    "Get the SemEval-2014 Task 4 XML files (Restaurants_Train_v2.xml, "
    "Restaurants_Test_Gold.xml; https://alt.qcri.org/semeval2014/task4/) "
    "and pass them with --train / --test, or put them in "
    f"${common.DATA_DIR_VARIABLE}/semeval14/."
)


@dataclasses.dataclass
class Config:
    """Settings of an aspect-sentiment run; the defaults are the recipe's."""

    model: str = option("atae_lstm", "registry name", choices=MODELS)
    preset: str = option("paper", "registry size preset: paper, cpu, tiny")
    model_config: dict = option(
        {},
        "override a model hyperparameter, e.g. --set hidden_dim=100",
        flag="--set",
    )
    train: typing.Optional[str] = option(
        None,
        "SemEval-2014 training XML (default: $S2S_ZOO_DATA/semeval14/"
        "Restaurants_Train_v2.xml)",
    )
    test: typing.Optional[str] = option(
        None,
        "SemEval-2014 test XML (default: $S2S_ZOO_DATA/semeval14/"
        "Restaurants_Test_Gold.xml)",
    )
    level: str = option(
        "term", "aspect terms or categories", choices=semeval.LEVELS
    )
    classes: int = option(
        3,
        "3: positive/negative/neutral; 2: positive/negative",
        choices=(3, 2),
    )
    strict_offsets: bool = option(
        False,
        "stop at a term whose from/to offsets miss it, or any malformed "
        "sentence of the SemEval files (default: find the term in the text "
        "again, skip what cannot be read, with a warning naming the file "
        "and sentence)",
    )
    embeddings: typing.Optional[str] = option(
        None, "GloVe / word2vec text file of pretrained word vectors"
    )
    strict_data: bool = option(
        False,
        "stop at the first malformed sentence of the SemEval files or line "
        "of the embeddings file (default: skip it with a warning naming "
        "the file and sentence or line)",
    )
    epochs: int = option(25, "most epochs (the best dev epoch is kept)")
    examples: typing.Optional[str] = option(
        None,
        "your own examples instead of the SemEval files: a TSV file "
        "(sentence TAB aspect TAB polarity) or JSON lines (sentence, aspect "
        "or start and end, polarity); split by sentence, 10% test",
    )
    tensorboard: bool = option(
        True,
        "write TensorBoard logs (losses, dev figures, learning rate) into "
        "OUTPUT_DIR/logs: tensorboard --logdir OUTPUT_DIR/logs",
    )
    resume: bool = option(False, "continue an interrupted run in --output-dir")
    dev_fraction: float = option(
        0.1, "share of the training sentences carved out for dev"
    )
    output_dir: str = option(
        "runs/aspect_sentiment", "where every output is written"
    )
    seed: int = option(0, "random seed")
    batch_size: int = option(TRAINING_DEFAULTS["batch_size"], "batch size")
    learning_rate: float = option(
        TRAINING_DEFAULTS["learning_rate"], "AdaGrad learning rate"
    )
    patience: int = option(5, "epochs without a better dev accuracy")
    min_count: typing.Optional[int] = option(
        None,
        "least count of a kept word (default 1 with --embeddings, else 2, "
        "which trains [UNK])",
    )
    max_length: int = option(
        100, "sentence tokens read, in training and serving"
    )
    heatmap_sentences: int = option(4, "test sentences drawn")
    export: bool = option(True, "write model.keras and the SavedModel")
    verbose: int = option(1, "0: quiet; 1: one line per epoch", cli=False)
