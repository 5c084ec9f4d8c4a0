"""Carving train / dev / test splits: the one home of every split.

Three ways, for three kinds of data, all deterministic:

- `hash_split`: by a hash of each example's key (translation: the source
  sentence), so the split of an example does not depend on file order or
  the data set's size, and equal keys (several translations of one
  sentence) always land together.
- `group_split`: at random over groups (aspect sentiment: the sentence id,
  so no sentence's aspects are in two splits).
- `random_split`: at random over examples (MSRP, which has no dev split).
"""

import hashlib

import numpy as np


def _check(fractions):
    fractions = list(fractions)
    if sum(fractions) >= 1 or any(f < 0 for f in fractions):
        raise ValueError(
            "fractions must be non-negative and sum to less than 1; "
            f"received {fractions}."
        )
    return fractions


def _unit(key):
    digest = hashlib.md5(str(key).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hash_split(keys, fractions):
    """Index lists by a hash of each key: `[rest, split_1, split_2, ...]`.

    A key whose md5 maps to `u` in [0, 1) goes to the first split `k` with
    `u < fractions[0] + ... + fractions[k]`, or to the rest.

    Examples:
    >>> train, test = hash_split(["a", "b", "c"], [0.5])
    """
    fractions = _check(fractions)
    splits = [[] for _ in range(len(fractions) + 1)]
    edges = np.cumsum(fractions)
    for index, key in enumerate(keys):
        u = _unit(key)
        position = int(np.searchsorted(edges, u, side="right"))
        splits[position + 1 if position < len(fractions) else 0].append(index)
    return splits


def random_split(size, fractions, seed=0):
    """Splits `range(size)` at random into disjoint sorted index arrays.

    Args:
        size (int): Number of examples.
        fractions (list[float]): Fraction of each split but the first; the
            first split gets the rest. `[0.1, 0.1]` gives train/dev/test
            with 80/10/10 (counts rounded).
        seed (int): For the permutation.

    Returns:
        A list of `len(fractions) + 1` sorted int arrays.
    """
    fractions = _check(fractions)
    if any(f == 0 for f in fractions):
        raise ValueError(f"fractions must be positive; received {fractions}.")
    order = np.random.default_rng(seed).permutation(size)
    counts = [int(round(f * size)) for f in fractions]
    splits, start = [], 0
    for count in counts:
        splits.append(np.sort(order[start : start + count]))
        start += count
    return [np.sort(order[start:])] + splits


def group_split(groups, fractions, seed=0):
    """Like `random_split`, over the distinct values of `groups`.

    Every example of a group lands in the same split.

    Args:
        groups (list): One group key per example (e.g. a sentence id).
        fractions (list[float]): As in `random_split`, of the groups.
        seed (int): For the permutation of the sorted distinct groups.

    Returns:
        A list of index lists into `groups`, in example order.
    """
    distinct = sorted(set(groups))
    if not any(fractions):
        return [list(range(len(groups)))] + [[] for _ in fractions]
    carved = random_split(len(distinct), fractions, seed)
    where = {}
    for k, indices in enumerate(carved):
        for i in indices:
            where[distinct[i]] = k
    splits = [[] for _ in carved]
    for index, group in enumerate(groups):
        splits[where[group]].append(index)
    return splits


def epoch_permutation(size, seed, epoch):
    """The order of the `size` examples in epoch `epoch` (0-based) of a run
    seeded `seed`: an int64 tensor, a permutation of `range(size)` that
    depends on `(seed, epoch)` alone, so a run resumed at any epoch sees
    the order the uninterrupted run saw there. `epoch` may be a tensor (in
    a `tf.data` pipeline).

    Not `Dataset.shuffle(seed=<tensor>)`: TensorFlow's seed logic tests a
    tensor seed as a Python bool once a global seed is set.
    """
    import tensorflow as tf

    key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.random.experimental.index_shuffle(
        tf.range(size, dtype=tf.int64), key, size - 1
    )
