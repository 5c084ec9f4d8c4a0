"""GloVe / word2vec text readers, on tiny fixture files."""

import os
import re

import numpy as np
import pytest

from s2s_zoo.data.embeddings import EmbeddingFileError
from s2s_zoo.data.embeddings import embedding_matrix
from s2s_zoo.data.embeddings import ppmi_matrix
from s2s_zoo.data.embeddings import ppmi_svd_vectors
from s2s_zoo.data.embeddings import read_word_vectors
from s2s_zoo.data.embeddings import truncated_svd
from s2s_zoo.data.embeddings import write_word_vectors

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
        read_word_vectors(path, strict=True)


# === PPMI-SVD vectors from a corpus ===


def _entries(rows, cols, values):
    return {(int(r), int(c)): float(v) for r, c, v in zip(rows, cols, values)}


def test_ppmi_by_hand_drops_negative_pmi():
    # "a a b", window 1: #(a,a) = 2 (both directions), #(a,b) = #(b,a) = 1;
    # row and column totals a = 3, b = 1, N = 4. With no smoothing:
    # PMI(a,a) = log(2 * 4 / 9) < 0 (dropped), PMI(a,b) = log(4 / 3).
    words = ["", "a", "b"]
    entries = _entries(
        *ppmi_matrix([["a", "a", "b"]], words, window=1, context_smoothing=1)
    )
    assert entries.keys() == {(1, 2), (2, 1)}
    np.testing.assert_allclose(entries[1, 2], np.log(4 / 3))
    np.testing.assert_allclose(entries[2, 1], np.log(4 / 3))


def test_ppmi_weights_context_words_by_inverse_distance_and_smooths():
    # "a b c", window 2: #(a,b) = #(b,c) = 1 and #(a,c) = 1/2 (distance 2),
    # each in both directions; totals a = 1.5, b = 2, c = 1.5.
    words = ["", "a", "b", "c", "unseen"]
    rows, cols, values = ppmi_matrix([["a", "b", "c"]], words, window=2)
    entries = _entries(rows, cols, values)
    smoothed = np.array([1.5, 2.0, 1.5]) ** 0.75
    total = smoothed.sum()
    np.testing.assert_allclose(
        entries[1, 2], np.log(1.0 * total / (1.5 * smoothed[1]))
    )
    np.testing.assert_allclose(
        entries[1, 3], np.log(0.5 * total / (1.5 * smoothed[2]))
    )
    assert all(4 not in key for key in entries)  # never seen
    # Words outside the vocabulary are not context words either.
    assert ppmi_matrix([["x", "a"]], words)[0].size == 0


def test_truncated_svd_matches_numpy_on_a_low_rank_matrix():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((30, 4)) @ rng.standard_normal((4, 20))
    rows, cols = np.nonzero(matrix)
    u, s, vt = truncated_svd(rows, cols, matrix[rows, cols], matrix.shape, 4)
    np.testing.assert_allclose(
        s, np.linalg.svd(matrix, compute_uv=False)[:4], rtol=1e-4
    )
    np.testing.assert_allclose((u * s) @ vt, matrix, atol=1e-4)


def test_ppmi_svd_vectors_put_words_of_the_same_contexts_together():
    # "cat" and "dog" share their contexts, "car" has its own.
    corpus = []
    for animal in ("cat", "dog"):
        corpus += [["the", animal, "eats", "fish"], ["a", animal, "sleeps"]]
    corpus += [["the", "car", "needs", "fuel"], ["a", "car", "drives"]] * 2
    words = ["", "[UNK]", "the", "a", "cat", "dog", "car", "eats", "fish"]
    words += ["sleeps", "needs", "fuel", "drives", "never"]
    matrix, covered = ppmi_svd_vectors(corpus, words, dim=4, norm=3.0)
    assert matrix.shape == (14, 4) and matrix.dtype == np.float32
    assert covered.tolist() == [False, False] + [True] * 11 + [False]
    np.testing.assert_allclose(np.linalg.norm(matrix[covered], axis=1), 3.0)
    np.testing.assert_array_equal(matrix[[0, 1, 13]], 0.0)
    cat, dog, car = matrix[4], matrix[5], matrix[6]
    assert cat @ dog > cat @ car + 1.0


def test_ppmi_svd_vectors_of_an_empty_corpus_are_zero():
    matrix, covered = ppmi_svd_vectors([[], ["x"]], ["", "a"], dim=3)
    assert matrix.shape == (2, 3) and not matrix.any() and not covered.any()


def test_written_vectors_read_back(tmp_path):
    path = str(tmp_path / "vectors.txt")
    words = ["", "pizza", "new york", "très"]
    matrix = np.array(
        [[0, 0], [0.5, -1.25], [1, 1], [3e-7, 2]], dtype="float32"
    )
    write_word_vectors(path, words, matrix)
    with open(path, encoding="utf-8") as f:
        assert f.readline() == "2 2\n"  # padding and "new york" skipped
    vectors = read_word_vectors(path)
    assert sorted(vectors) == ["pizza", "très"]
    np.testing.assert_array_equal(vectors["pizza"], [0.5, -1.25])
    np.testing.assert_allclose(vectors["très"], [3e-7, 2])
    assert os.listdir(tmp_path) == ["vectors.txt"]  # no temporary left
