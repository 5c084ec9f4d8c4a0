"""Pretrained word vectors in GloVe or word2vec text format.

Nothing is downloaded: pass the path of a file you have.

- GloVe: one word per line, `word v1 v2 ... vd`, no header.
- word2vec text (`.txt` / `.vec`, as written by `save_word2vec_format(...,
  binary=False)` or fastText): the same lines after a header `count dim`.
"""

import numpy as np


class EmbeddingFileError(ValueError):
    """A malformed line in an embeddings file (names the file and line)."""


def read_word_vectors(path, vocabulary=None, encoding="utf-8"):
    """Reads a GloVe / word2vec text file.

    Args:
        path (str): The file.
        vocabulary: Optional iterable of words; when given, only their
            vectors are kept (the file may be much larger than the task).
        encoding (str): Default utf-8.

    Returns:
        A dict `word -> np.ndarray(dim, float32)`.

    Raises:
        EmbeddingFileError: For a line with the wrong number of values or a
            value that is not a number, naming the file and line.
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
                raise EmbeddingFileError(
                    f"{path}:{line_number}: expected a word and its vector."
                )
            word, values = parts[0], parts[1:]
            if dim is None:
                dim = len(values)
            if len(values) != dim:
                raise EmbeddingFileError(
                    f"{path}:{line_number}: expected {dim} values after "
                    f"{word!r}, found {len(values)}."
                )
            if wanted is not None and word not in wanted:
                continue
            try:
                vectors[word] = np.asarray(values, dtype="float32")
            except ValueError:
                raise EmbeddingFileError(
                    f"{path}:{line_number}: a value after {word!r} is not "
                    "a number."
                ) from None
    if dim is None:
        raise EmbeddingFileError(f"{path}: no vectors found.")
    return vectors


def embedding_matrix(path, vocabulary, lowercase_fallback=True, seed=0):
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

    Returns:
        `(matrix, found, missing)`: float32 `(len(vocabulary), dim)`, the
        number of words found and the list of words missing.
    """
    candidates = set(vocabulary)
    if lowercase_fallback:
        candidates |= {w.lower() for w in vocabulary}
    vectors = read_word_vectors(path, candidates)
    dim = len(next(iter(vectors.values()))) if vectors else None
    if dim is None:
        dim = len(next(iter(read_word_vectors(path).values())))
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
