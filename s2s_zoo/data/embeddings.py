"""Pretrained word vectors in GloVe or word2vec text format.

Nothing is downloaded: pass the path of a file you have.

- GloVe: one word per line, `word v1 v2 ... vd`, no header.
- word2vec text (`.txt` / `.vec`, as written by `save_word2vec_format(...,
  binary=False)` or fastText): the same lines after a header `count dim`.
"""

import collections

import numpy as np

from s2s_zoo.data.problems import skip_or_raise
from s2s_zoo.io import atomic_file


class EmbeddingFileError(ValueError):
    """A malformed line in an embeddings file (names the file and line)."""


def read_word_vectors(path, vocabulary=None, encoding="utf-8", strict=False):
    """Reads a GloVe / word2vec text file.

    Args:
        path (str): The file.
        vocabulary: Optional iterable of words; when given, only their
            vectors are kept (the file may be much larger than the task).
        encoding (str): Default utf-8.
        strict (bool): Raise at a malformed line; by default it is skipped
            with a `MalformedRowWarning` naming the file and line (a GloVe
            file of millions of lines with one bad row stays usable).

    Returns:
        A dict `word -> np.ndarray(dim, float32)`.

    Raises:
        EmbeddingFileError: With `strict`, for a line with the wrong number
            of values or a value that is not a number, naming the file and
            line; always, for a file without one vector.
    """
    wanted = None if vocabulary is None else set(vocabulary)
    vectors = {}
    dim = None
    with open(path, encoding=encoding, errors="strict") as f:
        for line_number, line in enumerate(f, start=1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if line_number == 1 and len(parts) == 2:
                try:
                    _, dim = int(parts[0]), int(parts[1])
                    continue  # word2vec header: "count dim"
                except ValueError:
                    pass
            if len(parts) < 2:
                if not line.strip():
                    continue
                skip_or_raise(
                    EmbeddingFileError(
                        f"{path}:{line_number}: expected a word and its vector."
                    ),
                    strict,
                )
                continue
            word, values = parts[0], parts[1:]
            if dim is None:
                dim = len(values)
            if len(values) != dim:
                skip_or_raise(
                    EmbeddingFileError(
                        f"{path}:{line_number}: expected {dim} values after "
                        f"{word!r}, found {len(values)}."
                    ),
                    strict,
                )
                continue
            if wanted is not None and word not in wanted:
                continue
            try:
                vectors[word] = np.asarray(values, dtype="float32")
            except ValueError:
                skip_or_raise(
                    EmbeddingFileError(
                        f"{path}:{line_number}: a value after {word!r} is "
                        "not a number."
                    ),
                    strict,
                )
    if dim is None:
        raise EmbeddingFileError(f"{path}: no vectors found.")
    return vectors


def embedding_matrix(
    path, vocabulary, lowercase_fallback=True, seed=0, strict=False
):
    """Builds an embedding matrix for `vocabulary` from a vectors file.

    Row `i` is the vector of `vocabulary[i]`; words missing from the file
    get small random vectors (uniform in [-0.01, 0.01]), and row 0 (the
    padding id) is zero.

    Args:
        path (str): GloVe or word2vec text file.
        vocabulary (list[str]): Words by id; entry 0 is padding.
        lowercase_fallback (bool): Try the lowercased word when the word
            itself is missing. Default True.
        seed (int): For the random rows.
        strict (bool): Stop at a malformed line (`read_word_vectors`).

    Returns:
        `(matrix, found, missing)`: float32 `(len(vocabulary), dim)`, the
        number of words found and the list of words missing.
    """
    candidates = set(vocabulary)
    if lowercase_fallback:
        candidates |= {w.lower() for w in vocabulary}
    vectors = read_word_vectors(path, candidates, strict=strict)
    dim = len(next(iter(vectors.values()))) if vectors else None
    if dim is None:
        dim = len(next(iter(read_word_vectors(path, strict=strict).values())))
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-0.01, 0.01, (len(vocabulary), dim)).astype("float32")
    matrix[0] = 0.0
    missing = []
    for i, word in enumerate(vocabulary):
        if i == 0:
            continue
        vector = vectors.get(word)
        if vector is None and lowercase_fallback:
            vector = vectors.get(word.lower())
        if vector is None:
            missing.append(word)
        else:
            matrix[i] = vector
    found = len(vocabulary) - 1 - len(missing)
    return matrix, found, missing


# === Word vectors from the task's own text ===
#
# keras_hub and tensorflow-text have no word-vector trainer, so this is the
# smallest one that works well on corpora of a few thousand sentences:
# PPMI + truncated SVD (Levy, Goldberg, Dagan 2015, "Improving
# Distributional Similarity with Lessons Learned from Word Embeddings",
# TACL 3), with no training loop. The SVD is randomized and touches the
# matrix only through sparse products (`tf.sparse`), so SciPy is not needed.


def ppmi_matrix(token_lists, words, window=5, context_smoothing=0.75):
    """Positive PMI between words and their context words, sparse.

    A context word at distance `k <= window` counts `1 / k` (word2vec's
    dynamic window, on average), in both directions. With `#(w, c)` those
    weighted counts, `#(w)` and `#(c)` their row and column sums and
    `P_a(c) = #(c)^a / sum_c' #(c')^a` (context distribution smoothing,
    `a = context_smoothing`):

        PPMI(w, c) = max(0, log(#(w, c) / (#(w) P_a(c))))

    Only words in `words` count; entry 0 of `words` (padding) never does.

    Args:
        token_lists (list[list[str]]): The corpus, tokenized.
        words (list[str]): The vocabulary, by id.
        window (int): Context words on each side. Default 5.
        context_smoothing (float): `a`. Default 0.75.

    Returns:
        `(rows, cols, values)`: int64, int64 and float64 arrays of the
        positive entries, `rows` the word ids and `cols` the context ids.
    """
    index = {w: i for i, w in enumerate(words) if i > 0}
    counts = collections.Counter()
    for tokens in token_lists:
        ids = [index.get(t, -1) for t in tokens]
        for i, a in enumerate(ids):
            if a < 0:
                continue
            for k in range(1, window + 1):
                if i + k >= len(ids):
                    break
                b = ids[i + k]
                if b >= 0:
                    counts[a, b] += 1.0 / k
                    counts[b, a] += 1.0 / k
    if not counts:
        empty = np.zeros(0, "int64")
        return empty, empty, np.zeros(0)
    keys = np.array(list(counts), "int64")
    joint = np.array(list(counts.values()), "float64")
    rows, cols = keys[:, 0], keys[:, 1]
    size = len(words)
    word_totals = np.bincount(rows, joint, size)
    smoothed = np.bincount(cols, joint, size) ** context_smoothing
    pmi = np.log(joint * smoothed.sum() / (word_totals[rows] * smoothed[cols]))
    keep = pmi > 0
    return rows[keep], cols[keep], pmi[keep]


def truncated_svd(rows, cols, values, shape, rank, iterations=4, seed=0):
    """The top `rank` singular triplets of a sparse matrix, randomized.

    Halko, Martinsson, Tropp 2011 (Alg. 4.4 and 5.1): a Gaussian sketch of
    `rank + 10` columns, `iterations` rounds of subspace iteration, then an
    exact SVD of the small projected matrix.

    Returns:
        `(u, s, vt)`: `(shape[0], rank)`, `(rank,)`, `(rank, shape[1])`.
    """
    import tensorflow as tf

    matrix = tf.sparse.reorder(
        tf.sparse.SparseTensor(
            np.stack([rows, cols], 1).astype("int64"),
            np.asarray(values, "float32"),
            shape,
        )
    )
    transposed = tf.sparse.transpose(matrix)

    def times(m, x):
        return tf.sparse.sparse_dense_matmul(m, x).numpy()

    rng = np.random.default_rng(seed)
    width = min(rank + 10, min(shape))
    q = rng.standard_normal((shape[1], width)).astype("float32")
    q, _ = np.linalg.qr(times(matrix, q))
    for _ in range(iterations):
        q, _ = np.linalg.qr(times(transposed, q))
        q, _ = np.linalg.qr(times(matrix, q))
    small = times(transposed, q).T  # Q^T M, (width, shape[1])
    u_small, s, vt = np.linalg.svd(small, full_matrices=False)
    return (q @ u_small)[:, :rank], s[:rank], vt[:rank]


def ppmi_svd_vectors(
    token_lists,
    words,
    dim=100,
    norm=1.0,
    window=5,
    context_smoothing=0.75,
    eigenvalue_weight=0.5,
    seed=0,
):
    """Word vectors from the PPMI matrix of a corpus: `U S^0.5`, rescaled.

    `ppmi_matrix`, then `truncated_svd`; word `w` gets row `w` of
    `U S^eigenvalue_weight` (0.5, the symmetric split, is Levy et al.'s
    recommendation), rescaled to length `norm`. Words that never occur
    with a context word get zeros.

    Args:
        token_lists (list[list[str]]): The corpus, tokenized.
        words (list[str]): The vocabulary, by id (entry 0 is padding and
            gets zeros).
        dim (int): Vector size. Default 100.
        norm (float): Length of every vector. Default 1.
        window, context_smoothing: See `ppmi_matrix`.
        eigenvalue_weight (float): Power of the singular values. Default
            0.5.
        seed (int): For the randomized SVD.

    Returns:
        `(matrix, covered)`: float32 `(len(words), dim)` and a bool
        `(len(words),)` array marking the rows that hold a vector.
    """
    size = len(words)
    matrix = np.zeros((size, dim), "float32")
    rows, cols, values = ppmi_matrix(
        token_lists, words, window, context_smoothing
    )
    if not len(values):
        return matrix, np.zeros(size, bool)
    rank = min(dim, size - 1)
    u, s, _ = truncated_svd(rows, cols, values, (size, size), rank, seed=seed)
    vectors = u * s**eigenvalue_weight
    lengths = np.linalg.norm(vectors, axis=1)
    covered = lengths > 1e-6 * max(lengths.max(), 1e-30)
    covered[0] = False
    matrix[covered, :rank] = (
        norm * vectors[covered] / lengths[covered, None]
    ).astype("float32")
    return matrix, covered


def write_word_vectors(path, words, matrix):
    """Writes vectors in word2vec text format, atomically.

    A `count dim` header, then `word v1 ... vd` per line. The empty
    padding word and words with white space in them (which the format
    cannot hold) are skipped. `read_word_vectors` reads the file back.
    """
    keep = [
        i
        for i, word in enumerate(words)
        if word and not any(c.isspace() for c in word)
    ]
    with atomic_file(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{len(keep)} {matrix.shape[1]}\n")
        for i in keep:
            values = " ".join(f"{v:.6g}" for v in matrix[i])
            f.write(f"{words[i]} {values}\n")
