"""The data of a translation run: pairs, splits, tokenizers, pipelines."""

import dataclasses
import functools
import os
import typing

import numpy as np
import tensorflow as tf

from s2s_zoo import distributed
from s2s_zoo import progress
from s2s_zoo.data import translation as text
from s2s_zoo.tasks import common


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


def _cjk_share(sentences):
    """The share of Chinese / Japanese characters among the letters."""
    letters = cjk = 0
    for sentence in sentences:
        for ch in sentence:
            if ch.isalpha():
                letters += 1
                code = ord(ch)
                cjk += (
                    0x4E00 <= code <= 0x9FFF  # CJK ideographs
                    or 0x3400 <= code <= 0x4DBF
                    or 0x3040 <= code <= 0x30FF  # kana
                    or 0xF900 <= code <= 0xFAFF
                )
    return cjk / letters if letters else 0.0


def check_languages(pairs, config, sample=500):
    """Refuses language codes that contradict the data: the codes choose
    the tokenizers (by character for zh and ja, WordPiece otherwise), so
    French data read as `--source-lang zh` would train the wrong one.

    Raises:
        ValueError: Naming the side, its code and what the text looks like.
    """
    from s2s_zoo.tasks.translation.config import CHARACTER_LANGUAGES

    for index, name in ((0, "source"), (1, "target")):
        code = getattr(config, f"{name}_lang")
        share = _cjk_share(p[index] for p in pairs[:sample])
        if code in CHARACTER_LANGUAGES and share < 0.3:
            raise ValueError(
                f"--{name}-lang {code}, but the {name} side of the data is "
                f"{100 * share:.0f}% Chinese or Japanese characters: set "
                f"--{name}-lang to its language (e.g. fr, en)."
            )
        if code not in CHARACTER_LANGUAGES and share > 0.5:
            raise ValueError(
                f"--{name}-lang {code}, but the {name} side of the data is "
                f"{100 * share:.0f}% Chinese or Japanese characters: set "
                f"--{name}-lang zh (or ja)."
            )


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
    check_languages(pairs, config)
    splits = split(config, pairs)
    train_pairs = splits["train"]
    if not train_pairs or not splits["dev"] or not splits["test"]:
        raise ValueError(
            f"{len(pairs)} pairs give {len(train_pairs)} training, "
            f"{len(splits['dev'])} dev and {len(splits['test'])} test "
            "pairs; a run needs all three (the split keeps about 92% for "
            "training, 4% for dev and 4% for test): give more pairs."
        )
    vocabulary = _tokenizer_dir(config)
    if config.resume and os.path.exists(
        os.path.join(vocabulary, "source.vocab")
    ):
        source = text.Tokenizer.load(vocabulary, "source")
        target = text.Tokenizer.load(vocabulary, "target")
    else:
        with progress.stage(
            f"training the tokenizers on {len(train_pairs):,} pairs"
        ):
            source, target = _train_tokenizers(config, train_pairs)
        if distributed.current().is_chief:
            source.save(vocabulary, "source")
            target.save(vocabulary, "target")
    return _finish(config, splits, source, target)


def _train_tokenizers(config, train_pairs):
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
    return source, target


def _finish(config, splits, source, target):
    train_pairs = splits["train"]
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
        batch_tokens=config.batch_tokens,
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


def test_pairs(config):
    """The test split of a run's data (the bundled data by default)."""
    pairs = load_pairs(
        config.data, config.source_lang, config.target_lang, config.strict_data
    )
    return split(config, pairs)["test"]
