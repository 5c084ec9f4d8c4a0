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


def test_token_budget_sizes_each_bucket_by_its_longest_length():
    # Buckets below 3, 5, 7 and the rest up to 8 tokens: 2, 4, 6, 8 long.
    assert t.bucket_batch_sizes([3, 5, 7], 8, 64, 20) == [10, 5, 3, 2]
    assert t.bucket_batch_sizes([3, 5, 7], 8, 64, None) == [64] * 4
    assert t.bucket_batch_sizes([3], 8, 64, 5) == [2, 1]  # never empty


def test_token_budget_batches_more_short_pairs_than_long_ones():
    short = [[5, 6]] * 6  # key: the decoder's 2 tokens ([START] y)
    long = [[5] * 9] * 2  # key 9: the last bucket, up to 10 tokens
    source = tf.ragged.constant(short + long)
    target = tf.ragged.constant([[7]] * 6 + [[7] * 8] * 2)
    dataset = t.make_dataset(
        source, target, bucket_width=4, max_length=10, batch_tokens=12
    )
    sizes, pairs = [], 0
    for inputs, _ in dataset:
        rows, width = inputs["encoder_token_ids"].shape
        width = max(width, inputs["decoder_token_ids"].shape[1])
        assert rows * width <= 12
        sizes.append(rows)
        pairs += rows
    # Below 5 tokens: 12 // 4 = 3 pairs a batch; the last bucket: 12 // 10.
    assert sorted(sizes) == [1, 1, 3, 3] and pairs == 8


# === SentencePiece ===


@pytest.fixture(
    scope="module", params=["sentencepiece_unigram", "sentencepiece_bpe"]
)
def sentencepiece(request):
    pairs = t.read_tsv_pairs(fixture("tiny_cmn.tsv"))
    english = [y for _, y in pairs]
    return t.Tokenizer.train(english, request.param, 40)


def test_sentencepiece_keeps_the_reserved_ids_and_round_trips(sentencepiece):
    assert sentencepiece.vocabulary[:4] == t.RESERVED_TOKENS
    assert 4 < sentencepiece.vocabulary_size <= 40
    # Its own model and its vocabulary file agree piece for piece.
    assert sentencepiece.layer.get_vocabulary() == sentencepiece.vocabulary
    sentences = ["I like Chinese food.", "The cat is under the table."]
    ids = sentencepiece.tokenize(sentences)
    assert ids.dtype == tf.int32
    assert int(tf.reduce_min(ids.flat_values)) > t.END_ID  # no specials
    text = [s.decode() for s in sentencepiece.detokenize(ids).numpy()]
    assert text == sentences
    # Dense ids with [START], [END] and padding detokenize the same.
    marked = tf.concat(
        [
            tf.fill([2, 1], t.START_ID),
            ids.to_tensor(),
            tf.fill([2, 1], t.END_ID),
        ],
        1,
    )
    again = [s.decode() for s in sentencepiece.detokenize(marked).numpy()]
    assert again == sentences
    # Characters it never saw become [UNK].
    unknown = sentencepiece.tokenize(["Ω"]).flat_values.numpy().tolist()
    assert t.UNKNOWN_ID in unknown


def test_sentencepiece_save_load(sentencepiece, tmp_path):
    sentencepiece.save(tmp_path, "target")
    assert sorted(os.listdir(tmp_path)) == [
        "target.json",
        "target.model",
        "target.vocab",
    ]
    loaded = t.Tokenizer.load(tmp_path, "target")
    assert loaded.kind == sentencepiece.kind
    assert loaded.vocabulary == sentencepiece.vocabulary
    np.testing.assert_array_equal(
        loaded.tokenize(["I like cats."]).flat_values,
        sentencepiece.tokenize(["I like cats."]).flat_values,
    )
    os.remove(tmp_path / "target.model")
    with pytest.raises(FileNotFoundError, match="No SentencePiece model"):
        t.Tokenizer.load(tmp_path, "target")


def test_sentencepiece_types_differ():
    texts = [y for _, y in t.read_tsv_pairs(fixture("tiny_cmn.tsv"))] * 3
    unigram = t.Tokenizer.train(texts, "sentencepiece_unigram", 40)
    bpe = t.Tokenizer.train(texts, "sentencepiece_bpe", 40)
    import sentencepiece as spm

    types = {
        kind: spm.SentencePieceProcessor(model_proto=tok.proto)
        for kind, tok in (("unigram", unigram), ("bpe", bpe))
    }
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    for name, processor in types.items():
        proto = model_pb2.ModelProto()
        proto.ParseFromString(processor.serialized_model_proto())
        assert (
            model_pb2.TrainerSpec.ModelType.Name(proto.trainer_spec.model_type)
            == name.upper()
        )


def test_sentencepiece_lowercases_and_covers_chinese():
    pairs = t.read_tsv_pairs(fixture("tiny_cmn.tsv"))
    lower = t.Tokenizer.train(
        [y for _, y in pairs], "sentencepiece_unigram", 40, lowercase=True
    )
    assert lower.tokenize(["THE CAT"]).flat_values.numpy().tolist() == (
        lower.tokenize(["the cat"]).flat_values.numpy().tolist()
    )
    chinese = t.Tokenizer.train(
        [s for s, _ in pairs],
        "sentencepiece_bpe",
        60,
        character_coverage=t.character_coverage("zh"),
    )
    ids = chinese.tokenize(["我喜欢中国菜。"])
    assert t.UNKNOWN_ID not in ids.flat_values.numpy().tolist()
    assert chinese.detokenize(ids).numpy()[0].decode() == "我喜欢中国菜。"


def test_sentencepiece_says_why_it_cannot_train():
    with pytest.raises(ValueError) as error:
        t.Tokenizer.train(["abcdefghij klmnopqrst"], "sentencepiece_bpe", 8)
    assert str(error.value).startswith(
        "SentencePiece (bpe, 8 pieces) could not be trained on 1 sentences: "
    )
    with pytest.raises(ValueError, match="needs its model"):
        t.Tokenizer(t.RESERVED_TOKENS, kind="sentencepiece_bpe")


def test_sentencepiece_survives_setting_the_seed(sentencepiece):
    # Setting TensorFlow's global seed drops every cached op kernel, and
    # tf-text's model resource used to go with its kernel ("Resource ...
    # SentencepieceResource does not exist"); runs reseed every epoch.
    import keras

    before = sentencepiece.tokenize(["I like cats."]).flat_values.numpy()
    keras.utils.set_random_seed(7)
    after = sentencepiece.tokenize(["I like cats."]).flat_values.numpy()
    np.testing.assert_array_equal(after, before)
