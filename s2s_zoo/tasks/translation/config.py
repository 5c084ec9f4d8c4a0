"""The settings of a translation run and its decoding options."""

import dataclasses
import typing

from s2s_zoo import distributed
from s2s_zoo import training
from s2s_zoo.data import translation as text
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
    batch_tokens: typing.Optional[int] = option(
        None,
        "training batches of at most this many padded tokens instead of "
        "--batch-size pairs (sentences times the longest length of their "
        "bucket): more pairs per batch where sentences are short",
    )
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
    threads: str = option(
        "auto",
        "TensorFlow's thread pools, INTRA,INTER (e.g. 1,2) or default; "
        "auto: one intra-op thread and one inter-op thread per CPU on a "
        "machine of at most 2 CPUs without a GPU (measured faster there), "
        "else TensorFlow's defaults",
    )
    batch_slices: str = option(
        "auto",
        "TensorFlow: cut each training batch into this many slices whose "
        "gradients are computed side by side, the same step as the whole "
        "batch's; auto: one per inter-op thread when --threads gives one "
        "intra-op thread (2 on 2 CPUs), else 1",
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
    fused_decoding: bool = option(
        True,
        "decode with the fused serving step where the model has one "
        "(RNNsearch: its linear maps folded into per-token and per-sentence "
        "tables; the same model, other rounding); --no-fused-decoding: the "
        "training graph's step",
    )
    xla_decoding: bool = option(
        False,
        "compile the search with XLA (TensorFlow: a few programs per "
        "batch size and eight source lengths, compiled on first use): "
        "lower latency, other rounding",
    )
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
    tensorboard: bool = option(
        True,
        "write TensorBoard logs (losses, dev figures, learning rate) into "
        "OUTPUT_DIR/logs: tensorboard --logdir OUTPUT_DIR/logs",
    )
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


# Language codes whose text the default tokenizers read well: Chinese and
# Japanese by character, the rest by WordPiece over words.
CHARACTER_LANGUAGES = ("zh", "ja")


def check(config):
    """Checks the values of `config` before any work starts, so that a bad
    one never costs a run.

    Raises:
        ValueError: Naming the flag and the valid values.
    """
    problems = []
    for name in (
        "batch_size",
        "batch_tokens",
        "beam_width",
        "max_length",
        "bucket_width",
        "source_vocabulary_size",
        "target_vocabulary_size",
    ):
        value = getattr(config, name)
        if value is not None and value < 1:
            problems.append(
                f"--{name.replace('_', '-')} must be at least 1, got "
                f"{getattr(config, name)}"
            )
    if config.max_minutes is not None and config.max_minutes < 0:
        problems.append(
            f"--max-minutes must be 0 (no budget) or more, got "
            f"{config.max_minutes}"
        )
    if config.epochs is not None and config.epochs < 1:
        problems.append(f"--epochs must be at least 1, got {config.epochs}")
    if config.learning_rate <= 0:
        problems.append(
            f"--learning-rate must be positive, got {config.learning_rate}"
        )
    try:
        training.resolve_threads(config.threads)
    except ValueError as error:
        problems.append("--" + str(error).rstrip("."))
    try:
        training.resolve_batch_slices(
            config.batch_slices, distributed=config.distribute != "none"
        )
    except ValueError as error:
        problems.append(
            str(error)
            .rstrip(".")
            .replace("batch_slices=", "--batch-slices ")
            .replace("batch_slices", "--batch-slices")
        )
    for name in ("source_lang", "target_lang"):
        code = getattr(config, name)
        if not (
            isinstance(code, str)
            and 2 <= len(code) <= 3
            and code.isalpha()
            and code.islower()
        ):
            problems.append(
                f"--{name.replace('_', '-')} {code!r} is not a language code "
                "(two or three lowercase letters, e.g. zh, en, fr)"
            )
    if problems:
        raise ValueError("; ".join(problems) + ".")
