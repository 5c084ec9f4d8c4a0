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
"""

import contextlib
import dataclasses
import functools
import os
import shutil
import sys
import time
import typing

import keras
import numpy as np
import tensorflow as tf

from s2s_zoo import distributed
from s2s_zoo import export as export_lib
from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.data import translation as text
from s2s_zoo.tasks import common
from s2s_zoo.tasks.common import option

TASK = "translation"
SAMPLES = {"zh": ["我喜欢中国美食", "猫在桌子下"]}


@dataclasses.dataclass
class Config:
    """Settings of a translation run; the defaults are the main recipe's.

    Every field is a command-line flag of `s2s-zoo translate` (dashes for
    underscores; `model_config` is `--set KEY=VALUE`).
    """

    model: str = option(
        "bahdanau_attention",
        "registry name of the translation model",
        choices=(
            "bahdanau_attention",
            "luong_attention",
            "rnn_encoder_decoder",
            "deep_lstm_seq2seq",
        ),
    )
    preset: str = option(
        "cpu", "registry size preset: paper, cpu, tiny (and per model more)"
    )
    model_config: dict = option(
        {},
        "override a model hyperparameter, e.g. --set hidden_dim=512 "
        "(parsed by the type the registry declares)",
        flag="--set",
    )
    data: typing.Optional[list] = option(
        None,
        "a Tatoeba/manythings TSV file, or SOURCE_FILE TARGET_FILE "
        "(line-aligned); default: the bundled Tatoeba cmn-eng pairs",
    )
    source_lang: str = option("zh", "language code of the source")
    target_lang: str = option("en", "language code of the target")
    max_minutes: float = option(
        15.0,
        "training time budget in minutes (0: none); the learning rate "
        "anneals over it and training always runs to its end",
    )
    epochs: typing.Optional[int] = option(
        None,
        "most epochs; default: as many as the time budget allows (40 "
        "without a budget)",
    )
    batch_size: int = option(128, "sentence pairs per batch")
    learning_rate: float = option(1.5e-3, "Adam learning rate")
    label_smoothing: float = option(
        0.1, "label smoothing of the training loss (0: off)"
    )
    decay_start: float = option(
        0.5,
        "with a time budget: share of it after which the learning rate "
        "falls linearly to 1e-5 at its end (without one it halves when the "
        "dev loss stalls)",
    )
    max_length: int = option(50, "tokens kept per training sentence")
    bucket_width: int = option(
        2,
        "batches hold sentences whose longer side is within this many "
        "tokens of each other: 2 pads 13% of the tokens on the bundled "
        "data, 4 pads 20%",
    )
    source_vocabulary_size: int = option(6000, "most source tokens")
    target_vocabulary_size: int = option(8000, "most target tokens")
    source_tokenizer: typing.Optional[str] = option(
        None,
        "character, wordpiece, or a SentencePiece unigram or BPE model "
        "trained on the training split; default: character for zh/ja, "
        "wordpiece otherwise",
        choices=text.TOKENIZER_KINDS,
    )
    target_tokenizer: typing.Optional[str] = option(
        None,
        "as --source-tokenizer, for the target side",
        choices=text.TOKENIZER_KINDS,
    )
    precision: str = option(
        "auto",
        "Keras dtype policy; auto: mixed_bfloat16 on a CPU with native "
        "bfloat16 (AMX, AVX512-BF16), else float32",
        choices=training.PRECISIONS,
    )
    select_on: str = option(
        "bleu",
        "dev figure that picks the kept epoch: greedy-search BLEU or loss",
        choices=("bleu", "loss"),
    )
    patience: int = option(
        3,
        "without a time budget: epochs without a better dev figure before "
        "stopping",
    )
    beam_width: int = option(5, "beams for test and serving (1: greedy)")
    length_penalty: float = option(1.0, "GNMT length penalty alpha (0: off)")
    coverage_penalty: float = option(
        0.0, "GNMT coverage penalty beta (Wu et al. 2016, Eq. 14; 0: off)"
    )
    no_repeat_ngram_size: int = option(
        0, "no n-gram of this size twice in a translation (0: off)"
    )
    min_length_ratio: typing.Optional[float] = option(
        None, "at least this many words per source token (default: no bound)"
    )
    max_length_ratio: typing.Optional[float] = option(
        None, "at most this many words per source token (default: no bound)"
    )
    sample: bool = option(
        False, "sample translations instead of searching (needs beam width 1)"
    )
    top_k: int = option(0, "sample from the k most likely tokens (0: all)")
    top_p: float = option(
        1.0, "sample from the smallest set of this probability (1: all)"
    )
    temperature: float = option(1.0, "sampling temperature")
    sampling_seed: int = option(0, "seed of the sampled translations")
    ema_decay: typing.Optional[float] = option(
        None,
        "also keep an exponential moving average of the weights with this "
        "decay (e.g. 0.999) and report its dev and test BLEU next to the "
        "selected epoch's (the average restarts on --resume)",
    )
    average_last: int = option(
        0,
        "also average the weights of the last N epochs and report its dev "
        "and test BLEU next to the selected epoch's (0: off)",
    )
    output_dir: str = option("runs/translate", "where every output is written")
    seed: int = option(0, "random seed")
    resume: bool = option(False, "continue an interrupted run in --output-dir")
    strict_data: bool = option(
        False,
        "stop at the first malformed row of a data file (default: skip it "
        "with a warning naming the file and line)",
    )
    max_train_pairs: typing.Optional[int] = option(
        None, "use only the first N training pairs (smoke tests)"
    )
    max_eval_pairs: typing.Optional[int] = option(
        None, "use only the first N dev and N test pairs (smoke tests)"
    )
    export: bool = option(
        True, "write model.keras's SavedModel and the attention figures"
    )
    distribute: str = option(
        "none",
        "data parallelism: data_parallel (keras.distribution on JAX, all "
        "devices of all processes) or mirrored (TensorFlow's "
        "MirroredStrategy, the devices of one machine); see Scaling out",
        choices=distributed.STRATEGIES,
    )
    coordinator_address: typing.Optional[str] = option(
        None,
        "host:port of process 0 of a multi-process job (default "
        "$KERAS_DISTRIBUTION_JOB_ADDRESSES)",
    )
    num_processes: typing.Optional[int] = option(
        None, "processes of the job (default $KERAS_DISTRIBUTION_NUM_PROCESSES)"
    )
    process_id: typing.Optional[int] = option(
        None, "this process, from 0 (default $KERAS_DISTRIBUTION_PROCESS_ID)"
    )


# === Data ===


def load_pairs(data=None, source_lang="zh", target_lang="en", strict=False):
    """Reads the pairs a run is pointed at.

    Args:
        data (list[str]): None for the bundled Tatoeba zh-en pairs; one
            manythings.org TSV file (column 0 English, column 1 the other
            language); or two line-aligned files, source then target.
        source_lang, target_lang (str): Which side is the source.
        strict (bool): Stop at a malformed row instead of skipping it with
            a warning naming the file and line.

    Returns:
        A list of `(source, target)` pairs.

    Raises:
        FileNotFoundError: For a file that does not exist.
        ValueError: For the bundled data in another language pair.
    """
    from s2s_zoo import datasets

    if not data:
        if sorted((source_lang, target_lang)) != ["en", "zh"]:
            raise ValueError(
                "The bundled data is Chinese-English (zh, en); pass a file "
                f"for {source_lang}-{target_lang}."
            )
        return datasets.tatoeba("cmn", source=source_lang)
    if isinstance(data, str):
        data = [data]
    where = (
        "Pass a manythings.org TSV file (https://www.manythings.org/anki/) "
        "or two line-aligned text files."
    )
    for path in data:
        common.require_file(path, "translation data", where)
    if len(data) == 2:
        return text.read_parallel_files(*data, strict=strict)
    if len(data) != 1:
        raise ValueError("Pass one TSV file or two line-aligned files.")
    if source_lang == "en":
        return text.read_tsv_pairs(data[0], 0, 1, strict=strict)
    return text.read_tsv_pairs(data[0], 1, 0, strict=strict)


@dataclasses.dataclass
class Data:
    """What `prepare` returns: splits, tokenizers and training pipelines."""

    splits: dict
    source_tokenizer: text.Tokenizer
    target_tokenizer: text.Tokenizer
    train: tf.data.Dataset
    dev: tf.data.Dataset
    train_pairs: int
    train_tokens: int
    batches: int
    # `train_epochs(epochs=range(k, n))`: the training batches of epochs k
    # to n - 1, each in an order drawn from (seed, epoch); `train` is one
    # epoch of the same pipeline.
    train_epochs: typing.Callable


def split(config, pairs):
    """The train, dev and test pairs of a run (`text.split_pairs`), cut to
    `config.max_train_pairs` and `config.max_eval_pairs`."""
    splits = text.split_pairs(list(pairs))
    splits["train"] = splits["train"][: config.max_train_pairs]
    for name in ("dev", "test"):
        splits[name] = splits[name][: config.max_eval_pairs]
    return splits


def _tokenizer_dir(config):
    return os.path.join(config.output_dir, "vocabulary")


def prepare(config, pairs=None):
    """Splits the pairs, trains (or, resuming, reloads) the tokenizers and
    builds the tf.data pipelines.

    Args:
        config (Config): The run's settings.
        pairs (list[tuple[str, str]]): Sentence pairs to use instead of
            `config.data`.

    Returns:
        A `Data`.
    """
    if pairs is None:
        pairs = load_pairs(
            config.data,
            config.source_lang,
            config.target_lang,
            config.strict_data,
        )
    splits = split(config, pairs)
    train_pairs = splits["train"]
    if not train_pairs or not splits["dev"]:
        raise ValueError(
            f"{len(pairs)} pairs give {len(train_pairs)} training and "
            f"{len(splits['dev'])} dev pairs; a run needs both (the split "
            "keeps about 92% for training, 4% for dev and 4% for test)."
        )
    vocabulary = _tokenizer_dir(config)
    if config.resume and os.path.exists(
        os.path.join(vocabulary, "source.vocab")
    ):
        source = text.Tokenizer.load(vocabulary, "source")
        target = text.Tokenizer.load(vocabulary, "target")
    else:
        source = text.Tokenizer.train(
            [s for s, _ in train_pairs],
            config.source_tokenizer
            or text.default_tokenizer_kind(config.source_lang),
            config.source_vocabulary_size,
            character_coverage=text.character_coverage(config.source_lang),
        )
        target = text.Tokenizer.train(
            [t for _, t in train_pairs],
            config.target_tokenizer
            or text.default_tokenizer_kind(config.target_lang),
            config.target_vocabulary_size,
            character_coverage=text.character_coverage(config.target_lang),
        )
        if distributed.current().is_chief:
            source.save(vocabulary, "source")
            target.save(vocabulary, "target")
    train_ids = text.encode_pairs(
        train_pairs, source, target, config.max_length
    )
    dev_ids = text.encode_pairs(
        splits["dev"], source, target, config.max_length
    )
    make_train = functools.partial(
        text.make_dataset,
        *train_ids,
        config.batch_size,
        shuffle=True,
        seed=config.seed,
        bucket_width=config.bucket_width,
        max_length=config.max_length,
    )

    def train_epochs(**kwargs):
        # Several processes: each keeps its rows of every global batch.
        return distributed.shard_dataset(make_train(**kwargs))

    train = train_epochs()
    dev = distributed.shard_dataset(
        text.make_dataset(
            *dev_ids,
            config.batch_size,
            bucket_width=config.bucket_width,
            max_length=config.max_length,
        )
    )
    return Data(
        splits=splits,
        source_tokenizer=source,
        target_tokenizer=target,
        train=train,
        dev=dev,
        train_pairs=len(train_pairs),
        # Target tokens the decoder predicts: the words and [END].
        train_tokens=int(np.sum(train_ids[1].row_lengths())) + len(train_pairs),
        batches=int(train.cardinality()),
        train_epochs=train_epochs,
    )


# === Model ===


def model_config(config, source_tokenizer, target_tokenizer):
    """The registry overrides of a run: preset, `--set`, vocabularies."""
    overrides = {
        **registry.describe(config.model).preset(config.preset),
        **config.model_config,
        "source_vocabulary_size": source_tokenizer.vocabulary_size,
        "target_vocabulary_size": target_tokenizer.vocabulary_size,
        "start_token_id": text.START_ID,
        "end_token_id": text.END_ID,
    }
    return registry.check_config(config.model, overrides)


def build(config, data):
    """The model of a run, compiled with the task's training setup.

    Adam at `config.learning_rate` with the global gradient norm clipped at
    1 and the label-smoothed masked loss. This is the setup measured for the
    CPU recipe (docs/results/translation.md); the paper's own optimizer is
    what `model.compile()` with no arguments gives.
    """
    # Under MirroredStrategy, the weights are created as mirrored ones.
    with distributed.current().scope():
        model = registry.build(
            config.model,
            **model_config(
                config, data.source_tokenizer, data.target_tokenizer
            ),
        )
        model.compile(
            optimizer=keras.optimizers.Adam(
                config.learning_rate, global_clipnorm=1.0
            ),
            loss=training.masked_loss(config.label_smoothing),
        )
    return model


# === Fit ===


@dataclasses.dataclass
class FitResult:
    """What `fit` returns: the Keras history, the clock and throughput
    callbacks, and the kept (1-based) epoch with its dev figure."""

    history: dict
    budget: training.TimeBudget
    throughput: training.Throughput
    best_epoch: typing.Optional[int]
    best_dev: typing.Optional[float]


def _path(config, name):
    return os.path.join(config.output_dir, name)


def callbacks(config, model, data, clock=time.perf_counter, resume_epoch=0):
    """The training callbacks of a run, in the order their logs need.

    1. `EpochSeeds` (an epoch's dropout masks from the seed and the epoch
       alone), then `StopOnNonFinite` (a NaN loss stops the run before
       anything is saved);
    2. `DevBleu` (writes `val_bleu`), before everything that reads it;
    3. the schedule: `BudgetDecay` over the time budget, or
       `ReduceLROnPlateau` and `EarlyStopping` without one (a budgeted run
       never stops early: it would stop before its annealing), with their
       counters persisted by `CallbackState`;
    4. `KeepBest` (the kept epoch, chosen on dev, persisted for resume);
    5. `TimeBudget` (adds `train_minutes`), `Throughput`, `CSVLogger`,
       which writes every log the others added, and last
       `BackupAndRestore` (resume after a kill).

    Returns:
        `(callbacks, budget, throughput, keep_best)`.
    """
    budget = training.TimeBudget(
        config.max_minutes or None,
        state_path=_path(config, "train_state.json"),
        clock=clock,
    )
    throughput = training.Throughput(
        data.train_tokens, data.batches, data.train_pairs
    )
    monitor = "val_bleu" if config.select_on == "bleu" else "val_loss"
    mode = "max" if config.select_on == "bleu" else "min"
    result = [
        # Each epoch's data order (see `fit`) and dropout masks come from
        # (seed, epoch) alone, so a resumed run repeats the uninterrupted
        # one.
        training.EpochSeeds(config.seed),
        training.StopOnNonFinite(
            "a lower --learning-rate, or --precision float32"
        ),
    ]
    if config.select_on == "bleu":
        sources, references = text.group_references(data.splits["dev"])
        result.append(
            training.DevBleu(
                export_lib.make_translator(
                    model,
                    data.source_tokenizer,
                    data.target_tokenizer,
                    beam_width=1,
                    max_source_length=config.max_length * 2,
                ),
                sources,
                references,
                config.batch_size,
            )
        )
    schedule = []
    if budget.max_seconds is not None:
        # Anneal by the end of the time budget: every halving of the rate
        # raised dev BLEU by 1.5-3 points, and a budgeted run used to end
        # before a plateau schedule had lowered it much.
        result.append(
            training.BudgetDecay(
                budget, config.learning_rate, start=config.decay_start
            )
        )
    else:
        schedule = [
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5
            ),
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode=mode, patience=config.patience
            ),
        ]
        result += [
            *schedule,
            training.CallbackState(
                _path(config, "schedule_state.json"), schedule, resume_epoch
            ),
        ]
    keep_best = training.KeepBest(
        monitor, mode, path=_path(config, "best.weights.h5")
    )
    result += [
        keep_best,
        budget,
        throughput,
        keras.callbacks.CSVLogger(
            _path(config, "history.csv"),
            # A run that starts clean (no usable checkpoint) starts anew.
            append=config.resume and os.path.exists(_path(config, "backup")),
        ),
        # Last: an epoch's checkpoint is written after everything else of
        # that epoch (its best weights, clock, counters, history row), so a
        # kill in between repeats the epoch instead of losing what it did.
        # double_checkpoint: the previous epoch's checkpoint stays as
        # .bkp, for when a kill truncates the latest (check_checkpoint).
        keras.callbacks.BackupAndRestore(
            _path(config, "backup"), double_checkpoint=True
        ),
    ]
    return result, budget, throughput, keep_best


def _start_or_resume(config):
    """True to resume; a fresh run must not pick up an earlier run's
    checkpoint, clock or last epochs (see `training.start_or_resume`)."""
    resumes = training.start_or_resume(
        _path(config, "backup"),
        [
            [
                _path(config, "best.weights.h5"),
                _path(config, "best.weights.h5.json"),
            ],
            [_path(config, "train_state.json")],
            [_path(config, "schedule_state.json")],
        ],
        config.resume,
    )
    if not resumes:
        shutil.rmtree(_path(config, "last_epochs"), ignore_errors=True)
    return resumes


def fit(config, model, data, clock=time.perf_counter, extra_callbacks=()):
    """Trains `model` on `data`; returns a `FitResult`.

    With a time budget the run trains until the budget is spent (or
    `config.epochs`, when set), whatever dev BLEU does; the weights of the
    best dev epoch are restored at the end.

    Args:
        clock: Seconds, for the time budget (tests pass a fake one).
        extra_callbacks: Run first (tests use one to advance a fake clock).
    """
    os.makedirs(config.output_dir, exist_ok=True)
    fresh = not _start_or_resume(config)
    first_epoch = 0 if fresh else training.resume_epoch(_path(config, "backup"))
    if distributed.agree(first_epoch) != first_epoch:
        raise RuntimeError(
            f"Process {distributed.current().process_id} would resume at "
            f"epoch {first_epoch}, process 0 at "
            f"{distributed.agree(first_epoch)}: the processes of a job "
            "must read the same --output-dir."
        )
    found, budget, throughput, keep_best = callbacks(
        config, model, data, clock, first_epoch
    )
    epochs = config.epochs
    if epochs is None:
        epochs = 100_000 if budget.max_seconds is not None else 40
    # Each epoch in an order drawn from (seed, epoch), so a resumed run sees
    # the batches the uninterrupted one saw.
    train = data.train_epochs(epochs=range(first_epoch, epochs))
    history = model.fit(
        train,
        validation_data=data.dev,
        epochs=epochs,
        steps_per_epoch=data.batches,
        shuffle=False,  # the dataset draws each epoch's order itself
        callbacks=[*extra_callbacks, *found],
        verbose=1 if sys.stdout.isatty() else 2,
    )
    return FitResult(
        history=history.history,
        budget=budget,
        throughput=throughput,
        best_epoch=None
        if keep_best.best_epoch is None
        else keep_best.best_epoch + 1,
        best_dev=keep_best.best,
    )


# === The run ===


@dataclasses.dataclass
class Translations:
    """What `TranslationRun.translate` returns, one entry per source.

    Attributes:
        sources (list[str]): The inputs.
        translations (list[str]): The best beam of each.
        scores (list[float]): Its length-penalised log probability.
        attention (list[np.ndarray]): `(output tokens, source tokens)`
            weights of each (empty for models without attention).
        source_tokens (list[list[str]]): How the source was tokenized.
        output_tokens (list[list[str]]): The output tokens, `[END]`
            included.
    """

    sources: list
    translations: list
    scores: list
    attention: list
    source_tokens: list
    output_tokens: list

    def __len__(self):
        return len(self.translations)

    def __getitem__(self, index):
        return self.translations[index]


class TranslationRun:
    """A trained translator: the model, its tokenizers and its config.

    Returned by `train` and `load`. Takes raw strings:

        run.translate(["我喜欢中国美食"]).translations  # ['I like ...']

    Attributes:
        model: The `keras.Model`.
        source_tokenizer, target_tokenizer: `s2s_zoo.data.translation.
            Tokenizer`s.
        config (Config): The settings it was trained with.
        metrics (dict): Its `metrics.json`, when trained or loaded from a
            finished run.
    """

    task = TASK

    def __init__(
        self, model, source_tokenizer, target_tokenizer, config, metrics=None
    ):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.config = config
        self.metrics = metrics or {}
        self._translators = {}

    def translator(self, beam_width=None, length_penalty=None, **options):
        """The in-graph `s2s_zoo.export.Translator` (cached per setting).

        `options` are the decoding options of `Config` (`coverage_penalty`,
        `no_repeat_ngram_size`, `min_length_ratio`, `max_length_ratio`,
        `sample`, `top_k`, `top_p`, `temperature`, `sampling_seed`); each
        one not given is the run's.
        """
        beam_width = (
            self.config.beam_width if beam_width is None else beam_width
        )
        if length_penalty is None:
            length_penalty = self.config.length_penalty
        options = search_options(self.config, **options)
        key = (beam_width, length_penalty, tuple(sorted(options.items())))
        if key not in self._translators:
            self._translators[key] = export_lib.make_translator(
                self.model,
                self.source_tokenizer,
                self.target_tokenizer,
                beam_width=beam_width,
                length_penalty=length_penalty,
                max_source_length=self.config.max_length * 2,
                **options,
            )
        return self._translators[key]

    def translate(
        self,
        sentences,
        beam_width=None,
        length_penalty=None,
        batch_size=64,
        **options,
    ):
        """Translates raw strings; returns `Translations`.

        Args:
            sentences (list[str] or str): Source sentences.
            beam_width (int): Default: the run's.
            length_penalty (float): Default: the run's.
            batch_size (int): Sentences per call.
            **options: Decoding options (see `translator`); default: the
                run's.
        """
        if isinstance(sentences, str):
            sentences = [sentences]
        sentences = list(sentences)
        translator = self.translator(beam_width, length_penalty, **options)
        translations, scores, attention = [], [], []
        source_tokens, output_tokens = [], []
        source_vocabulary = self.source_tokenizer.vocabulary
        target_vocabulary = self.target_tokenizer.vocabulary
        for offset in range(0, len(sentences), batch_size):
            batch = sentences[offset : offset + batch_size]
            out = translator.translate(tf.constant(batch, tf.string))
            for k, sentence in enumerate(batch):
                translations.append(out["translation"][k].numpy().decode())
                scores.append(float(out["score"][k]))
                source_ids = out["source_ids"][k].numpy()
                source_ids = source_ids[source_ids != text.PADDING_ID]
                output_ids = out["token_ids"][k].numpy()
                output_ids = output_ids[output_ids != text.PADDING_ID]
                source_tokens.append([source_vocabulary[i] for i in source_ids])
                output_tokens.append([target_vocabulary[i] for i in output_ids])
                weights = out["attention"][k].numpy()
                attention.append(
                    weights[: len(output_ids), : len(source_ids)]
                    if self.model.has_attention
                    else np.zeros((len(output_ids), 0), "float32")
                )
        return Translations(
            sentences,
            translations,
            scores,
            attention,
            source_tokens,
            output_tokens,
        )

    def evaluate(self, pairs=None, beam_width=None, batch_size=None, **options):
        """BLEU, lowercased BLEU and chrF on `pairs` (default: the test
        split of the run's data); see `evaluate`."""
        return evaluate(self, pairs, beam_width, batch_size, **options)

    def export(self, path=None):
        """Writes the string-in SavedModel (default `<output_dir>/
        saved_model`); see `export`."""
        return export(self, path)

    def plot_attention(self, sentence, path):
        """Draws the attention of the best beam for `sentence` to `path`."""
        from s2s_zoo import plotting

        result = self.translate([sentence])
        return plotting.attention_heatmap(
            result.attention[0],
            result.source_tokens[0],
            result.output_tokens[0],
            path,
            title=f"{sentence} -> {result.translations[0]}",
        )

    def save(self, run_dir=None):
        """Writes `model.keras`, the tokenizers and `run.json` to
        `run_dir` (default: the config's output directory)."""
        run_dir = run_dir or self.config.output_dir
        os.makedirs(run_dir, exist_ok=True)
        export_lib.save_keras(self.model, os.path.join(run_dir, "model.keras"))
        vocabulary = os.path.join(run_dir, "vocabulary")
        self.source_tokenizer.save(vocabulary, "source")
        self.target_tokenizer.save(vocabulary, "target")
        common.write_run_file(run_dir, TASK, self.config)
        return run_dir


def load(run_dir):
    """Loads a finished run directory in one call; returns a
    `TranslationRun`.

    Raises:
        FileNotFoundError: If `run_dir` holds no finished run.
        ValueError: If it holds a run of another task.
    """
    import s2s_zoo.models  # noqa: F401  (registers the model classes)

    info = common.read_run_file(run_dir)
    if info["task"] != TASK:
        raise ValueError(
            f"{run_dir!r} holds a {info['task']!r} run, not a translation "
            f"run; load it with s2s_zoo.tasks.{info['task']}.load."
        )
    config = common.from_dict(Config, info["config"])
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    vocabulary = os.path.join(run_dir, "vocabulary")
    metrics_path = os.path.join(run_dir, "metrics.json")
    metrics = (
        common.read_json(metrics_path) if os.path.exists(metrics_path) else {}
    )
    return TranslationRun(
        model,
        text.Tokenizer.load(vocabulary, "source"),
        text.Tokenizer.load(vocabulary, "target"),
        config,
        metrics,
    )


# === Evaluate and export ===


def test_pairs(config):
    """The test split of a run's data (the bundled data by default)."""
    pairs = load_pairs(
        config.data, config.source_lang, config.target_lang, config.strict_data
    )
    return split(config, pairs)["test"]


def evaluate(run, pairs=None, beam_width=None, batch_size=None, **options):
    """Scores `run` on `pairs`, through the in-graph translator.

    Sources with several references (Tatoeba has many) are translated once
    and scored against all of them. `options` are decoding options (see
    `TranslationRun.translator`; `length_penalty` among them).

    Returns:
        A dict: `bleu`, `bleu_lowercase` (sacreBLEU's defaults; their
        signatures as `bleu_signature`, `bleu_lowercase_signature`),
        `chrf`, `test_sentences`, `test_pairs`,
        `decode_sentences_per_second` (after tracing), and `hypotheses`.
    """
    from s2s_zoo.metrics import translation as metrics

    if pairs is None:
        pairs = test_pairs(run.config)
    sources, references = text.group_references(pairs)
    translator = run.translator(beam_width, **options)
    translator.translate(tf.constant(sources[:2]))  # trace once, untimed
    hypotheses, seconds = export_lib.translate_corpus(
        translator, sources, batch_size or run.config.batch_size
    )
    return {
        "bleu": metrics.corpus_bleu(hypotheses, references),
        "bleu_lowercase": metrics.corpus_bleu(hypotheses, references, True),
        "bleu_signature": metrics.bleu_signature(references),
        "bleu_lowercase_signature": metrics.bleu_signature(references, True),
        "chrf": metrics.corpus_chrf(hypotheses, references),
        "test_sentences": len(sources),
        "test_pairs": len(pairs),
        "decode_sentences_per_second": len(sources) / seconds,
        "hypotheses": hypotheses,
    }


def export(run, path=None):
    """Writes the string-in, string-out SavedModel of `run` atomically.

    Its `serving_default` takes a 1-D `tf.string` tensor `text` and
    returns `translation`, `score`, `attention`, `token_ids` and
    `source_ids`; its `n_best` signature returns every beam
    (`translations`, `scores`, `lengths`). The run's decoding options are
    fixed in it. It needs only `tensorflow` and `tensorflow_text`.
    Returns the path.
    """
    path = path or os.path.join(run.config.output_dir, "saved_model")
    if not common.on_tensorflow():
        # Trained on JAX or PyTorch: reloaded under TensorFlow to export.
        return common.export_through_tensorflow(run, path)
    export_lib.export_translator(
        path,
        run.model,
        run.source_tokenizer,
        run.target_tokenizer,
        beam_width=run.config.beam_width,
        length_penalty=run.config.length_penalty,
        max_source_length=run.config.max_length * 2,
        **search_options(run.config),
    )
    return path


# === Ensembles ===


def _same_tokenizer(a, b):
    return (a.kind, a.lowercase, a.vocabulary, a.proto) == (
        b.kind,
        b.lowercase,
        b.vocabulary,
        b.proto,
    )


def ensemble(runs, output_dir="runs/translate_ensemble"):
    """Finished translation runs that decode as one translator.

    At each step every member reads the same prefix with its own state and
    attention, and the ensemble takes the renormalised mean of their log
    probabilities (`s2s_zoo.models.Ensemble`). The result is a
    `TranslationRun`: `translate`, `evaluate`, `save` and `export` (one
    SavedModel that holds every member) work as for one model, with the
    decoding settings and data of the first run.

    Args:
        runs (list): Run directories or `TranslationRun`s of the same
            data, with the same source and target tokenizers (e.g. the
            default recipe with several `--seed`s); any architectures.
        output_dir (str): Where the ensemble's `save` and `export` write.

    Raises:
        ValueError: For no runs, or a run whose tokenizers or data differ
            from the first's (naming both runs and the side).
    """
    from s2s_zoo.models.ensemble import Ensemble

    loaded = [load(r) if isinstance(r, (str, os.PathLike)) else r for r in runs]
    if not loaded:
        raise ValueError("An ensemble needs at least one run.")
    first = loaded[0]
    name = first.config.output_dir
    for run in loaded[1:]:
        for side in ("source", "target"):
            mine = getattr(first, f"{side}_tokenizer")
            theirs = getattr(run, f"{side}_tokenizer")
            if not _same_tokenizer(mine, theirs):
                raise ValueError(
                    f"{run.config.output_dir!r} has another {side} "
                    f"tokenizer ({theirs.kind}, {theirs.vocabulary_size} "
                    f"tokens) than {name!r} ({mine.kind}, "
                    f"{mine.vocabulary_size} tokens); the members of an "
                    "ensemble must share both vocabularies (train them on "
                    "the same data with the same tokenizer settings)."
                )
        for field in ("data", "source_lang", "target_lang"):
            if getattr(run.config, field) != getattr(first.config, field):
                raise ValueError(
                    f"{run.config.output_dir!r} was trained with {field} "
                    f"{getattr(run.config, field)!r}, {name!r} with "
                    f"{getattr(first.config, field)!r}; an ensemble is "
                    "scored on its members' common test split."
                )
    config = dataclasses.replace(first.config, output_dir=output_dir)
    model = Ensemble([run.model for run in loaded])
    return TranslationRun(
        model,
        first.source_tokenizer,
        first.target_tokenizer,
        config,
        {"members": [run.config.output_dir for run in loaded]},
    )


def assemble(runs, output_dir="runs/translate_ensemble", export_model=True):
    """`ensemble(runs)`, scored beside each member, saved and exported.

    Every member and the ensemble translate the dev and test splits of
    the first run's data with its decoding settings (beam search, sacreBLEU
    against all references). Writes into `output_dir`: `metrics.json`
    (each member's and the ensemble's figures), the ensemble's
    `model.keras`, vocabularies and `run.json` (so `load(output_dir)`
    reads it back) and, with `export_model`, `saved_model/`.

    Returns:
        The ensemble's `TranslationRun`, its `metrics` filled in.
    """
    wall_start = time.perf_counter()
    loaded = [load(r) if isinstance(r, (str, os.PathLike)) else r for r in runs]
    combined = ensemble(loaded, output_dir)
    pairs = load_pairs(
        combined.config.data,
        combined.config.source_lang,
        combined.config.target_lang,
        combined.config.strict_data,
    )
    splits = split(combined.config, pairs)

    def scores(run):
        dev = evaluate(run, splits["dev"])
        test = evaluate(run, splits["test"])
        return {
            "dev_bleu": dev["bleu"],
            "test_bleu": test["bleu"],
            "test_bleu_lowercase": test["bleu_lowercase"],
            "test_chrf": test["chrf"],
            "decode_sentences_per_second": test["decode_sentences_per_second"],
        }

    members = []
    for run in loaded:
        figures = {"run": run.config.output_dir, **scores(run)}
        members.append(figures)
        print(
            f"  {figures['run']}: dev BLEU {figures['dev_bleu']:.2f}, "
            f"test BLEU {figures['test_bleu']:.2f}"
        )
    together = scores(combined)
    print(
        f"  ensemble of {len(loaded)}: dev BLEU {together['dev_bleu']:.2f}, "
        f"test BLEU {together['test_bleu']:.2f}"
    )
    combined.save()
    if export_model:
        export(combined)
    combined.metrics = {
        "task": TASK,
        "ensemble": together,
        "members": members,
        "beam_width": combined.config.beam_width,
        "length_penalty": combined.config.length_penalty,
        "test_sentences": len(text.group_references(splits["test"])[0]),
        "wall_seconds": time.perf_counter() - wall_start,
        "machine": common.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": common.scrub_paths(
            "s2s-zoo ensemble "
            + " ".join(m["run"] for m in members)
            + f" --output-dir {output_dir}"
        ),
    }
    common.write_json(
        os.path.join(output_dir, "metrics.json"), combined.metrics
    )
    return combined


#: Config fields that are options of `s2s_zoo.decoding`, with the name
#: `Seq2SeqModel.generate` takes.
DECODING_OPTIONS = {
    "coverage_penalty": "coverage_penalty",
    "no_repeat_ngram_size": "no_repeat_ngram_size",
    "min_length_ratio": "min_length_ratio",
    "max_length_ratio": "max_length_ratio",
    "sample": "sample",
    "top_k": "top_k",
    "top_p": "top_p",
    "temperature": "temperature",
    "sampling_seed": "seed",
}


def search_options(config, **overrides):
    """The decoding options of `config` (and `overrides`, by Config name)
    that differ from "off", as `generate` keyword arguments; `{}` for the
    defaults, so a default run decodes exactly as before the options.

    Raises:
        ValueError: For a name that is not a decoding option, listing them.
    """
    unknown = sorted(set(overrides) - set(DECODING_OPTIONS))
    if unknown:
        raise ValueError(
            f"Unknown decoding option(s) {unknown}; valid: "
            f"{sorted(DECODING_OPTIONS)}."
        )
    defaults = Config()
    options = {}
    for name, keyword in DECODING_OPTIONS.items():
        value = overrides.get(name, getattr(config, name))
        if name == "sampling_seed":
            sampling = overrides.get("sample", config.sample)
            if sampling:
                options[keyword] = value
        elif value != getattr(defaults, name):
            options[keyword] = value
    return options


# === Train ===


# What a worker copies from process 0's output directory before training:
# everything `fit` resumes from.
_STATE = (
    "vocabulary",
    "backup",
    "best.weights.h5",
    "best.weights.h5.json",
    "train_state.json",
    "schedule_state.json",
    "history.csv",
)


@contextlib.contextmanager
def _worker_copy(config):
    """A worker's config: the run in a private copy of process 0's state
    (taken after process 0 settled what to resume from)."""
    import tempfile

    private = tempfile.mkdtemp(prefix="s2s_zoo-worker-")
    try:
        for name in _STATE:
            source = os.path.join(config.output_dir, name)
            target = os.path.join(private, name)
            if os.path.isdir(source):
                shutil.copytree(source, target)
            elif os.path.exists(source):
                shutil.copy2(source, target)
        yield common.replace(config, output_dir=private, export=False)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def train(config=None, pairs=None, *, clock=time.perf_counter, **overrides):
    """Trains, evaluates on test, saves and exports a translator.

    Args:
        config (Config): Settings; default `Config()` (the main recipe).
        pairs (list[tuple[str, str]]): Your own `(source, target)` pairs
            instead of `config.data`; split 92 / 4 / 4 like the bundled
            data.
        clock: Seconds for the time budget (tests pass a fake one).
        **overrides: `Config` fields, e.g. `max_minutes=2`.

    Returns:
        A `TranslationRun`; its `metrics` hold the test figures.
    """
    config = common.replace(config or Config(), **overrides)
    setup = distributed.setup(
        config.distribute,
        config.coordinator_address,
        config.num_processes,
        config.process_id,
    )
    if not setup.multi_process:
        return _train(config, pairs, clock)
    # Only process 0 writes the run; the others work in a copy of its
    # training state (the same checkpoint to resume from), taken once
    # process 0 has settled it, before any other collective operation.
    if setup.is_chief:
        os.makedirs(config.output_dir, exist_ok=True)
        _start_or_resume(config)
    distributed.barrier("s2s_zoo translation state settled")
    if setup.is_chief:
        return _train(config, pairs, clock)
    with _worker_copy(config) as worker_config:
        run = _train(worker_config, pairs, clock)
    run.config = config
    return run


def _averaging_callbacks(config):
    """The EMA and last-epochs callbacks `config` asks for (maybe none)."""
    found = []
    if config.ema_decay:
        found.append(training.ExponentialMovingAverage(config.ema_decay))
    if config.average_last:
        found.append(
            training.KeepLastCheckpoints(
                _path(config, "last_epochs"), config.average_last
            )
        )
    return found


def _score_averages(run, data, averaging, results):
    """Beam-search dev and test BLEU of the selected weights and of each
    average; the model keeps the selected weights (what is exported)."""

    def score():
        return {
            "dev_bleu": evaluate(run, data.splits["dev"])["bleu"],
            "test_bleu": evaluate(run, data.splits["test"])["bleu"],
        }

    scores = {
        "selected": {
            "dev_bleu": evaluate(run, data.splits["dev"])["bleu"],
            "test_bleu": results["bleu"],
        }
    }
    for callback in averaging:
        if isinstance(callback, training.ExponentialMovingAverage):
            with callback.swapped():
                scores[f"ema {callback.decay}"] = score()
        else:
            kept = [
                keras.ops.convert_to_numpy(w.value) for w in run.model.weights
            ]
            paths = callback.paths()
            training.average_checkpoints(run.model, paths)
            scores[f"average of the last {len(paths)} epochs"] = score()
            for weight, value in zip(run.model.weights, kept):
                weight.assign(value)
    for name, figures in scores.items():
        print(
            f"  {name}: dev BLEU {figures['dev_bleu']:.2f}, test BLEU "
            f"{figures['test_bleu']:.2f}"
        )
    return scores


def _train(config, pairs, clock):
    wall_start = time.perf_counter()
    precision = training.resolve_precision(config.precision)
    os.makedirs(config.output_dir, exist_ok=True)
    # The policy is set for this run only: notebooks and tests train
    # several runs in one process.
    with training.global_dtype_policy(precision):
        keras.utils.set_random_seed(config.seed)
        data = prepare(config, pairs)
        print(
            f"pairs: train {data.train_pairs}, dev {len(data.splits['dev'])}"
            f", test {len(data.splits['test'])}; vocabularies: source "
            f"{data.source_tokenizer.vocabulary_size} "
            f"({data.source_tokenizer.kind}), target "
            f"{data.target_tokenizer.vocabulary_size} "
            f"({data.target_tokenizer.kind})"
        )
        model = build(config, data)
        print(
            f"model: {config.model} ({config.preset} preset), "
            f"{model.count_params():,} parameters, {precision}"
        )
        averaging = _averaging_callbacks(config)
        fitted = fit(
            config, model, data, clock=clock, extra_callbacks=averaging
        )
        run = TranslationRun(
            model, data.source_tokenizer, data.target_tokenizer, config
        )
        run.save()
        results = evaluate(run, data.splits["test"])
        hypotheses = results.pop("hypotheses")
        if averaging:
            results["weight_averaging"] = _score_averages(
                run, data, averaging, results
            )
        samples = SAMPLES.get(config.source_lang, []) + [
            s for s, _ in data.splits["test"][:3]
        ]
        translated = run.translate(samples)
        sample_rows = []
        for k, (sentence, translation) in enumerate(
            zip(samples, translated.translations)
        ):
            sample_rows.append({"source": sentence, "translation": translation})
            print(f"  {sentence}  ->  {translation}")
            if config.export and model.has_attention:
                run.plot_attention(
                    sentence, _path(config, f"attention_{k}.png")
                )
        if config.export:
            export(run)
    history = fitted.history
    dev_losses = history.get("val_loss", [])
    run.metrics = {
        "task": TASK,
        "model": config.model,
        "results": results,
        "training": {
            "epochs_completed": len(history.get("loss", [])),
            "best_epoch": fitted.best_epoch,
            "train_seconds": fitted.budget.spent,
            "stopped_by_time_budget": fitted.budget.stopped_early,
            "train_sentences_per_second": (
                fitted.throughput.sentences_per_second
            ),
            "target_tokens_per_second": fitted.throughput.tokens_per_second,
            "best_dev_loss": min(dev_losses) if dev_losses else None,
            # Over every epoch, those before a resume included.
            "best_dev_bleu": fitted.best_dev
            if config.select_on == "bleu"
            else None,
            "selected_on": f"dev {config.select_on}",
            "parameters": model.count_params(),
            "precision": precision,
            "train_pairs": data.train_pairs,
        },
        "samples": sample_rows,
        "config": common.to_dict(config),
        "model_config": model_config(
            config, data.source_tokenizer, data.target_tokenizer
        ),
        "wall_seconds": time.perf_counter() - wall_start,
        "machine": common.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": common.command_line("translate", config),
    }
    common.write_json(_path(config, "metrics.json"), run.metrics)
    with open(_path(config, "test_hypotheses.txt"), "w") as f:
        f.write("".join(h + "\n" for h in hypotheses))
    # The workers wait here for process 0's files, so that every process
    # of a job leaves together.
    distributed.barrier("s2s_zoo translation done")
    print(
        f"test BLEU {results['bleu']:.2f} (lowercased "
        f"{results['bleu_lowercase']:.2f}), chrF {results['chrf']:.2f}; "
        f"{fitted.throughput.sentences_per_second:.0f} sentences/s and "
        f"{fitted.throughput.tokens_per_second:.0f} target tokens/s "
        f"training, {results['decode_sentences_per_second']:.1f} "
        f"sentences/s beam-{config.beam_width} decoding; wall "
        f"{run.metrics['wall_seconds'] / 60:.1f} min"
    )
    return run
