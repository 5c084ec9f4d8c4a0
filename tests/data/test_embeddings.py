"""GloVe / word2vec text readers, on tiny fixture files."""

import os
import re

import numpy as np
import pytest

from s2s_zoo.data.embeddings import EmbeddingFileError
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.data.embeddings import read_word_vectors

FIXTURES = os.path.join(
    os.path.dirname(__file__), "..", "fixtures", "embeddings"
)
GLOVE = os.path.join(FIXTURES, "tiny_glove.txt")
WORD2VEC = os.path.join(FIXTURES, "tiny_word2vec.txt")


def fixture(name):
    return os.path.join(FIXTURES, name)


def test_reads_glove_text_skipping_blank_lines():
    vectors = read_word_vectors(GLOVE)
    assert sorted(vectors) == [",", "Great", "pizza", "the"]
    np.testing.assert_array_equal(vectors["pizza"], [1.0, -1.0, 0.5])
    assert vectors["the"].dtype == np.float32


def test_reads_word2vec_text_with_its_header():
    vectors = read_word_vectors(WORD2VEC)
    assert sorted(vectors) == ["great", "pizza", "the"]
    np.testing.assert_array_equal(vectors["great"], [2.0, 0.0, -2.0])


def test_vocabulary_keeps_only_the_words_asked_for():
    assert sorted(read_word_vectors(GLOVE, vocabulary=["the", "x"])) == ["the"]


def test_embedding_matrix_rows_coverage_and_padding():
    vocabulary = ["[PAD]", "[UNK]", "the", "great", "zebra", "pizza"]
    matrix, found, missing = embedding_matrix(GLOVE, vocabulary, seed=0)
    assert matrix.shape == (6, 3)
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], np.zeros(3))  # padding
    np.testing.assert_array_equal(matrix[2], np.float32([0.1, 0.2, 0.3]))
    np.testing.assert_array_equal(matrix[5], [1.0, -1.0, 0.5])
    assert found == 2  # "great" is only in the file as "Great"
    assert missing == ["[UNK]", "great", "zebra"]
    # Missing words get small random vectors.
    assert np.abs(matrix[[1, 3, 4]]).max() <= 0.01
    assert np.abs(matrix[4]).max() > 0


def test_lowercase_fallback_finds_a_capitalised_entry():
    # The fallback looks up the LOWERCASED word: "GREAT" -> "great".
    matrix, found, missing = embedding_matrix(
        WORD2VEC, ["[PAD]", "GREAT", "Pizza"]
    )
    assert found == 2 and missing == []
    np.testing.assert_array_equal(matrix[1], [2.0, 0.0, -2.0])
    _, found, missing = embedding_matrix(
        WORD2VEC, ["[PAD]", "GREAT"], lowercase_fallback=False
    )
    assert found == 0 and missing == ["GREAT"]


def test_random_rows_depend_on_the_seed_only():
    vocabulary = ["[PAD]", "zebra", "yak"]
    first, _, _ = embedding_matrix(GLOVE, vocabulary, seed=1)
    again, _, _ = embedding_matrix(GLOVE, vocabulary, seed=1)
    other, _, _ = embedding_matrix(GLOVE, vocabulary, seed=2)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "wrong_count.txt",
            "{path}:2: expected 3 values after 'pizza', found 2.",
        ),
        (
            "not_a_number.txt",
            "{path}:2: a value after 'pizza' is not a number.",
        ),
        ("empty.txt", "{path}: no vectors found."),
    ],
)
def test_malformed_files_name_the_file_and_line(name, message):
    path = fixture(name)
    with pytest.raises(
        EmbeddingFileError, match=f"^{re.escape(message.format(path=path))}$"
    ):
        read_word_vectors(path)
