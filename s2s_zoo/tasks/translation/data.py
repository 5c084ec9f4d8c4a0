"""The data of a translation run: pairs, splits, tokenizers, pipelines."""

import dataclasses
import functools
import os
import typing

import numpy as np
import tensorflow as tf

from s2s_zoo import distributed
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


def test_pairs(config):
    """The test split of a run's data (the bundled data by default)."""
    pairs = load_pairs(
        config.data, config.source_lang, config.target_lang, config.strict_data
    )
    return split(config, pairs)["test"]
