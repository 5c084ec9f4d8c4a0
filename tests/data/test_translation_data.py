import os

import numpy as np
import pytest
import tensorflow as tf

from s2s_zoo import datasets
from s2s_zoo.data import translation as t

FIXTURES = os.path.join(
    os.path.dirname(__file__), "..", "fixtures", "translation"
)


def fixture(name):
    return os.path.join(FIXTURES, name)


def test_read_three_column_tatoeba_drops_attribution():
    pairs = t.read_tsv_pairs(fixture("tiny_cmn.tsv"))
    assert pairs[0] == ("嗨。", "Hi.")
    assert pairs[3] == ("我喜欢中国菜。", "I like Chinese food.")
    assert len(pairs) == 8


def test_read_two_columns_and_skip_blank_lines():
    pairs = t.read_tsv_pairs(fixture("two_columns.tsv"), 0, 1)
    assert pairs == [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !")]


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "bad_columns.tsv",
            ":2: expected 2 or 3 tab-separated columns, found 1.",
        ),
        (
            "four_columns.tsv",
            ":1: expected 2 or 3 tab-separated columns, found 4.",
        ),
        ("empty_field.tsv", ":1: empty sentence in column 1."),
    ],
)
def test_malformed_rows_name_file_and_line(name, message):
    with pytest.raises(t.DataFormatError) as error:
        t.read_tsv_pairs(fixture(name), strict=True)
    assert str(error.value) == fixture(name) + message


def test_parallel_files():
    pairs = t.read_parallel_files(fixture("src.txt"), fixture("tgt.txt"))
    assert pairs == [("a b c", "x y"), ("d e", "z")]
    with pytest.raises(t.DataFormatError, match="has 2 lines but .* has 1"):
        t.read_parallel_files(fixture("src.txt"), fixture("short.txt"))


def test_split_is_deterministic_and_keeps_a_source_together():
    pairs = [(f"s{i % 50}", f"t{i}") for i in range(500)]
    first = t.split_pairs(pairs, 0.2, 0.2)
    again = t.split_pairs(list(reversed(pairs)), 0.2, 0.2)
    for name in ("train", "dev", "test"):
        assert sorted(first[name]) == sorted(again[name])
    sources = {name: {s for s, _ in first[name]} for name in first}
    assert not sources["test"] & sources["train"]
    assert not sources["dev"] & sources["train"]
    assert sum(len(v) for v in first.values()) == 500


def test_group_references():
    sources, references = t.group_references(
        [("a", "x"), ("b", "y"), ("a", "z")]
    )
    assert sources == ["a", "b"] and references == [["x", "z"], ["y"]]


def test_bundled_tatoeba():
    pairs = datasets.tatoeba("cmn")
    assert len(pairs) == 26447
    assert pairs[0] == ("嗨。", "Hi.")
    assert datasets.tatoeba("cmn", source="en")[0] == ("Hi.", "嗨。")
    notice = os.path.join(os.path.dirname(datasets.tatoeba_path()), "NOTICE.md")
    assert "CC-BY 2.0" in open(notice).read()
    with pytest.raises(ValueError, match="No bundled Tatoeba data for 'fra'"):
        datasets.tatoeba("fra")


@pytest.fixture(scope="module")
def tokenizers():
    pairs = t.read_tsv_pairs(fixture("tiny_cmn.tsv"))
    source = t.Tokenizer.train([s for s, _ in pairs], "character", 100)
    target = t.Tokenizer.train([y for _, y in pairs], "wordpiece", 100)
    return source, target


def test_character_tokenizer_round_trip_and_unknown(tokenizers):
    source, _ = tokenizers
    assert source.vocabulary[:4] == t.RESERVED_TOKENS
    ids = source.tokenize(["我喜欢猫。", "鱼"])
    assert ids.shape[0] == 2 and ids[0].shape[0] == 5
    assert ids[1].numpy().tolist() == [t.UNKNOWN_ID]
    assert source.detokenize(ids[:1]).numpy()[0].decode() == "我喜欢猫。"


def test_wordpiece_detokenize_undoes_punctuation_spacing(tokenizers):
    _, target = tokenizers
    ids = target.tokenize(["I like Chinese food.", "Tom is a good man."])
    text = [s.decode() for s in target.detokenize(ids).numpy()]
    assert text == ["I like Chinese food.", "Tom is a good man."]
    # Dense, 0-padded ids with start/end markers detokenize the same.
    dense = ids.to_tensor()
    marked = tf.concat([tf.fill([2, 1], t.START_ID), dense], 1)
    again = [s.decode() for s in target.detokenize(marked).numpy()]
    assert again == text


def test_tokenizer_save_load(tokenizers, tmp_path):
    source, target = tokenizers
    target.save(tmp_path, "target")
    loaded = t.Tokenizer.load(tmp_path, "target")
    assert loaded.vocabulary == target.vocabulary
    assert loaded.kind == "wordpiece"
    np.testing.assert_array_equal(
        loaded.tokenize(["I like cats."]).flat_values,
        target.tokenize(["I like cats."]).flat_values,
    )


def test_unknown_tokenizer_kind():
    with pytest.raises(ValueError, match="Unknown tokenizer kind 'bpe'"):
        t.Tokenizer(t.RESERVED_TOKENS, kind="bpe")


def test_dataset_pads_each_batch_to_its_own_longest():
    source = tf.ragged.constant([[5], [5, 6, 7, 8, 9, 10, 11, 12, 13], [6, 7]])
    target = tf.ragged.constant([[9], [9, 9, 9, 9, 9, 9, 9, 9], [8, 8]])
    dataset = t.make_dataset(source, target, batch_size=2, bucket_width=4)
    batches = list(dataset)
    shapes = sorted(b[0]["encoder_token_ids"].shape[1] for b in batches)
    assert shapes == [2, 9]  # short ones together, padded only to 2
    short = [b for b in batches if b[0]["encoder_token_ids"].shape[1] == 2][0]
    inputs, targets = short
    np.testing.assert_array_equal(inputs["encoder_token_ids"], [[5, 0], [6, 7]])
    np.testing.assert_array_equal(
        inputs["decoder_token_ids"], [[2, 9, 0], [2, 8, 8]]
    )
    np.testing.assert_array_equal(targets, [[9, 3, 0], [8, 8, 3]])
