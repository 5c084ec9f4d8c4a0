"""SemEval-2014 reader and the in-graph text helpers of aspect sentiment."""

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from s2s_zoo.data import aspect_text
from s2s_zoo.data import semeval
from s2s_zoo.data.problems import MalformedRowWarning
from s2s_zoo.data.semeval import AspectExample
from s2s_zoo.data.semeval import SemEvalFormatError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "semeval")
TRAIN = os.path.join(FIXTURES, "train.xml")
TEST = os.path.join(FIXTURES, "test.xml")


def fixture(name):
    return os.path.join(FIXTURES, name)


# === Reader ===


def test_term_level_reads_terms_with_offsets_and_drops_conflict():
    examples = semeval.read_semeval(TRAIN)
    assert examples[:4] == [
        AspectExample(
            "1",
            "The pizza was great but the waiter was rude.",
            "pizza",
            "positive",
            4,
            9,
        ),
        AspectExample(
            "1",
            "The pizza was great but the waiter was rude.",
            "waiter",
            "negative",
            28,
            34,
        ),
        AspectExample(
            "2",
            "Prices are fair & the wine list is long.",  # &amp; unescaped
            "Prices",
            "positive",
            0,
            6,
        ),
        AspectExample(
            "2",
            "Prices are fair & the wine list is long.",
            "wine list",
            "neutral",
            22,
            31,
        ),
    ]
    # Sentence 3 has no aspect term; "decor" (conflict) in 4 is dropped.
    assert [(e.sentence_id, e.aspect) for e in examples[4:6]] == [
        ("4", "sushi"),
        ("4", "service"),
    ]
    assert len(examples) == 12
    for e in examples:
        assert e.text[e.start : e.end] == e.aspect


def test_a_repeated_term_keeps_the_offsets_of_its_own_occurrence():
    examples = semeval.read_semeval(TRAIN)
    dessert = [e for e in examples if e.aspect == "dessert"]
    assert [(e.start, e.end, e.polarity) for e in dessert] == [
        (60, 67, "neutral")
    ]


def test_conflict_is_kept_on_request():
    examples = semeval.read_semeval(TRAIN, drop_conflict=False)
    assert len(examples) == 13
    assert [e.aspect for e in examples if e.polarity == "conflict"] == ["decor"]


def test_category_level():
    examples = semeval.read_semeval(TRAIN, level="category")
    assert [(e.sentence_id, e.aspect, e.polarity) for e in examples[:5]] == [
        ("1", "food", "positive"),
        ("1", "service", "negative"),
        ("2", "price", "positive"),
        ("2", "food", "neutral"),
        ("3", "anecdotes/miscellaneous", "neutral"),
    ]
    assert all(e.start is None and e.end is None for e in examples)
    assert len(examples) == 13  # 14 categories, one conflict


def test_binary_mode_drops_neutral_too():
    examples = semeval.read_semeval(TRAIN, classes=2)
    assert {e.polarity for e in examples} == {"positive", "negative"}
    assert len(examples) == 10  # 12 minus 2 neutral
    test = semeval.read_semeval(TEST, level="category", classes=2)
    assert [e.polarity for e in test] == ["negative", "positive", "positive"]


def test_label_names_and_ids():
    assert semeval.label_names(3) == ("positive", "negative", "neutral")
    assert semeval.label_names(2) == ("positive", "negative")
    assert semeval.label_names(3, drop_conflict=False)[-1] == "conflict"
    examples = semeval.read_semeval(TEST)
    names = semeval.label_names(3)
    assert semeval.labels(examples, names) == [1, 0, 0, 2, 1, 0, 2]
    with pytest.raises(
        ValueError,
        match=r"^sentence id 't2': polarity 'neutral' is not one of "
        r"\['positive', 'negative'\].$",
    ):
        semeval.labels(examples, semeval.label_names(2))
    with pytest.raises(
        ValueError, match=r"^classes must be 2 or 3; received 4.$"
    ):
        semeval.label_names(4)


def test_malformed_xml_names_the_file_and_the_sentence():
    path = fixture("malformed.xml")
    message = (
        f"{path}: malformed XML in or after sentence id '101' (line 14, "
        "column 6): mismatched tag: line 14, column 6"
    )
    with pytest.raises(SemEvalFormatError, match=f"^{re.escape(message)}$"):
        semeval.read_semeval(path)


def test_unknown_polarity_names_the_file_and_the_sentence():
    path = fixture("unknown_polarity.xml")
    message = (
        f"{path}: sentence id '201': unknown polarity 'mixed' for term "
        "'staff'; expected one of ['positive', 'negative', 'neutral', "
        "'conflict']."
    )
    with pytest.raises(SemEvalFormatError, match=f"^{re.escape(message)}$"):
        semeval.read_semeval(path, strict=True)
    with pytest.raises(SemEvalFormatError, match="'positve' for category"):
        semeval.read_semeval(path, level="category", strict=True)
    # By default only that aspect is lost, with the same words.
    with pytest.warns(MalformedRowWarning) as said:
        examples = semeval.read_semeval(path)
    assert [str(w.message) for w in said] == [
        message + " The row is skipped (strict=True stops at it)."
    ]
    assert [(e.sentence_id, e.aspect) for e in examples] == [("200", "pizza")]


def test_offsets_that_miss_the_term_are_recovered_or_an_error_when_strict():
    path = fixture("bad_offsets.xml")
    message = (
        f"{path}: sentence id '300': offsets 5:10 give 'izza ', not the "
        "term 'pizza'"
    )
    with pytest.raises(SemEvalFormatError, match=f"^{re.escape(message)}.$"):
        semeval.read_semeval(path, strict=True)
    with pytest.warns(
        semeval.SemEvalOffsetWarning,
        match=f"^{re.escape(message)}; using 4:9, where the text has it.$",
    ):
        (example,) = semeval.read_semeval(path)
    assert (example.start, example.end) == (4, 9)


def test_official_quirks_whitespace_a_wrong_offset_and_a_repeated_term():
    # As in the official laptops files: a text that starts with spaces
    # (its offsets count them), a repeated term whose second offsets are
    # off by two, and a term missing from its text. Nothing else is lost.
    path = fixture("official_quirks.xml")
    with pytest.warns(semeval.SemEvalOffsetWarning) as caught:
        examples = semeval.read_semeval(path)
    assert [(e.sentence_id, e.aspect, e.start, e.end) for e in examples] == [
        ("2339", "cord", 43, 47),
        ("2339", "battery life", 76, 88),
        ("2340", "screen", 4, 10),
        ("2340", "screen", 29, 35),  # the occurrence nearest to from=27
        ("2341", "Keyboard", 0, 8),
    ]
    assert examples[0].text.startswith("  I charge")
    for e in examples:
        assert e.text[e.start : e.end] == e.aspect
    assert [str(w.message) for w in caught] == [
        f"{path}: sentence id '2340': offsets 27:33 give 'e scre', not the "
        "term 'screen'; using 29:35, where the text has it.",
        f"{path}: sentence id '2341': offsets 0:8 give 'Keyboard', not the "
        "term 'touchpad', and the term is not in the text: skipped.",
    ]


def test_strict_mode_stops_at_the_first_offsets_that_miss():
    path = fixture("official_quirks.xml")
    message = (
        f"{path}: sentence id '2340': offsets 27:33 give 'e scre', not the "
        "term 'screen'."
    )
    with pytest.raises(SemEvalFormatError, match=f"^{re.escape(message)}$"):
        semeval.read_semeval(path, strict=True)


def test_find_term_prefers_the_nearest_exact_occurrence():
    assert semeval.find_term("cord, cord and cord", "cord", 7) == (6, 10)
    assert semeval.find_term("The Pizza", "pizza", 0) == (4, 9)
    assert semeval.find_term("no term here", "pizza", 0) is None


def test_missing_text_is_an_error():
    path = fixture("no_text.xml")
    message = f"{path}: sentence id '400': no <text> element."
    with pytest.raises(SemEvalFormatError, match=f"^{re.escape(message)}$"):
        semeval.read_semeval(path, level="category", strict=True)
    with pytest.warns(MalformedRowWarning, match=re.escape(message)):
        assert semeval.read_semeval(path, level="category") == []


def test_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"^level must be one of \['term', 'category'\]; received "
        r"'word'.$",
    ):
        semeval.read_semeval(TRAIN, level="word")


# === Text helpers (run inside the SavedModel graph) ===


def test_split_words_lowercases_and_keeps_punctuation():
    tokens = aspect_text.split_words(
        ["The pizza's GREAT!  $20,  déjà-vu", "", "   "]
    )
    assert aspect_text.to_lists(tokens) == [
        ["the", "pizza", "'", "s", "great", "!", "$", "20", ","]
        + ["déjà", "-", "vu"],
        [],
        [],
    ]


def test_aspect_tokens_term_and_category():
    terms = aspect_text.aspect_tokens(["wine list", ""], "term")
    assert aspect_text.to_lists(terms) == [["wine", "list"], []]
    categories = aspect_text.aspect_tokens(
        [" Anecdotes/Miscellaneous", "food", ""], "category"
    )
    assert aspect_text.to_lists(categories) == [
        ["anecdotes/miscellaneous"],
        ["food"],
        [],
    ]
    with pytest.raises(ValueError, match="^level must be 'term' or"):
        aspect_text.aspect_tokens(["x"], "phrase")


def test_vocabulary_counts_orders_and_reserves_ids(tmp_path):
    vocabulary = aspect_text.Vocabulary.build(
        [["b", "a", "c"], ["a", "b"], ["a"]], min_count=2
    )
    assert vocabulary.tokens == ["[PAD]", "[UNK]", "a", "b"]
    vocabulary.save(str(tmp_path), "words")
    with open(tmp_path / "words.vocab") as f:
        assert f.read() == "[PAD]\n[UNK]\na\nb\n"
    with open(tmp_path / "words.json") as f:
        assert json.load(f) == {"kind": "words"}
    loaded = aspect_text.Vocabulary.load(str(tmp_path), "words")
    assert loaded.tokens == vocabulary.tokens
    with pytest.raises(ValueError, match="^A vocabulary starts with"):
        aspect_text.Vocabulary(["a", "b"])


def test_encode_in_graph_matches_numpy_and_guards_empty_batches():
    vocabulary = aspect_text.Vocabulary(["[PAD]", "[UNK]", "the", "pizza"])
    tokens = [["the", "pizza", "oops"], ["pizza"], []]
    want = np.array([[2, 3, 1], [3, 0, 0], [0, 0, 0]], dtype="int32")
    np.testing.assert_array_equal(
        aspect_text.encode_numpy(tokens, vocabulary), want
    )
    table = vocabulary.table()
    ragged = tf.ragged.constant(tokens, dtype=tf.string)
    np.testing.assert_array_equal(aspect_text.encode(ragged, table), want)
    np.testing.assert_array_equal(
        aspect_text.encode(ragged, table, max_length=2), want[:, :2]
    )
    # A batch of empty strings gives one padding column, not (batch, 0).
    empty = aspect_text.split_words(["", " "])
    np.testing.assert_array_equal(
        aspect_text.encode(empty, table), np.zeros((2, 1), "int32")
    )
    np.testing.assert_array_equal(
        aspect_text.encode_numpy([[], []], vocabulary),
        np.zeros((2, 1), "int32"),
    )


def test_dataset_batches_are_cut_to_their_longest_row():
    inputs = {
        "token_ids": np.array(
            [[5, 0, 0, 0], [5, 6, 0, 0], [5, 6, 7, 8], [0, 0, 0, 0]]
        ),
        "aspect_token_ids": np.array([[1, 0], [1, 0], [1, 2], [0, 0]]),
    }
    batches = list(
        aspect_text.aspect_dataset(inputs, np.arange(4), batch_size=2)
    )
    first, second = batches
    np.testing.assert_array_equal(first[0]["token_ids"], [[5, 0], [5, 6]])
    np.testing.assert_array_equal(first[0]["aspect_token_ids"], [[1], [1]])
    np.testing.assert_array_equal(
        second[0]["token_ids"], [[5, 6, 7, 8], [0, 0, 0, 0]]
    )
    np.testing.assert_array_equal(second[1], [2, 3])
    shuffled = aspect_text.aspect_dataset(
        inputs, np.arange(4), batch_size=4, shuffle=True, seed=3
    )
    labels = [sorted(batch[1].numpy().tolist()) for batch in shuffled]
    assert labels == [[0, 1, 2, 3]]
