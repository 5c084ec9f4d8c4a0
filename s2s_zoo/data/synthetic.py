"""A synthetic translation task where the bottleneck shows within minutes.

Following the reproduction note of the RNNsearch spec (section 8): source
sentences are random strings over a small vocabulary; the "translation"
replaces every word by its own target word and swaps each
adjective-like word with the noun-like word that follows it (as French
does with "European Economic Area" -> "zone economique europeenne"). The
alignment is therefore monotone but not trivial, every target word depends
on one or two source words, and a model has to carry the whole sentence
only if it has no attention.
"""

import numpy as np


def make_vocabulary(size):
    """Source words `w0..` and target words `T0..`.

    The first quarter of the source words are adjective-like, the second
    quarter noun-like, the rest other words (see `translate_tokens`).
    """
    source_words = [f"w{i}" for i in range(size)]
    target_words = [f"T{i}" for i in range(size)]
    return source_words, target_words


def translate_tokens(tokens, size):
    """The deterministic translation of a list of source word indices."""
    quarter = size // 4
    adjective = [t < quarter for t in tokens]
    noun = [quarter <= t < 2 * quarter for t in tokens]
    out = list(tokens)
    i = 0
    while i < len(out) - 1:
        if adjective[i] and noun[i + 1]:
            out[i], out[i + 1] = out[i + 1], out[i]
            i += 2
        else:
            i += 1
    # Substitution: source word t becomes target word (7 t + 3) mod size.
    return [(7 * t + 3) % size for t in out]


def synthetic_pairs(
    count, min_length=3, max_length=60, vocabulary_size=60, seed=0
):
    """Generates `count` (source, target) sentence pairs as strings.

    Lengths are uniform in [min_length, max_length].

    Args:
        count (int): Number of pairs.
        min_length, max_length (int): Source length range (inclusive).
        vocabulary_size (int): Words per side (a multiple of 4 is best).
        seed (int): Random seed; the same seed gives the same pairs.
    """
    if vocabulary_size < 8 or np.gcd(7, vocabulary_size) != 1:
        raise ValueError(
            "vocabulary_size must be at least 8 and not a multiple of 7; "
            f"received {vocabulary_size}."
        )
    rng = np.random.default_rng(seed)
    source_words, target_words = make_vocabulary(vocabulary_size)
    pairs = []
    for _ in range(count):
        length = int(rng.integers(min_length, max_length + 1))
        tokens = rng.integers(0, vocabulary_size, length).tolist()
        target = translate_tokens(tokens, vocabulary_size)
        pairs.append(
            (
                " ".join(source_words[t] for t in tokens),
                " ".join(target_words[t] for t in target),
            )
        )
    return pairs
