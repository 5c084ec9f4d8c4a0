"""The one home of train / dev / test splits."""

import numpy as np
import pytest

from s2s_zoo.data import splits
from s2s_zoo.data import translation


def test_random_split_disjoint_and_reproducible():
    train, dev, test = splits.random_split(20, [0.1, 0.2], seed=3)
    assert (len(train), len(dev), len(test)) == (14, 2, 4)
    assert sorted(np.concatenate([train, dev, test]).tolist()) == list(
        range(20)
    )
    again = splits.random_split(20, [0.1, 0.2], seed=3)
    assert all((a == b).all() for a, b in zip(again, (train, dev, test)))
    with pytest.raises(ValueError, match="sum to less than 1"):
        splits.random_split(10, [0.5, 0.5])


def test_hash_split_follows_each_keys_md5():
    # md5("a") starts 0x0cc1...: u = 0.0498; md5("b") 0x92eb...: u = 0.574.
    rest, first, second = splits.hash_split(["a", "b", "a"], [0.04, 0.04])
    assert (rest, first, second) == ([1], [], [0, 2])  # a: 0.04 <= u < 0.08
    rest, first = splits.hash_split(["a", "b"], [0.6])
    assert (rest, first) == ([], [0, 1])


def test_translation_split_keeps_every_translation_of_a_source_together():
    pairs = [(f"s{i % 50}", f"t{i}") for i in range(400)]
    parts = translation.split_pairs(pairs)
    assert sum(len(p) for p in parts.values()) == 400
    sources = {name: {s for s, _ in p} for name, p in parts.items()}
    assert not sources["train"] & sources["test"]
    assert not sources["train"] & sources["dev"]


def test_group_split_never_puts_one_group_in_two_splits():
    groups = ["a", "a", "b", "c", "c", "c", "d", "e"]
    train, dev = splits.group_split(groups, [0.4], seed=3)
    assert sorted(train + dev) == list(range(8))
    assert not {groups[i] for i in train} & {groups[i] for i in dev}
    assert len({groups[i] for i in dev}) == 2  # round(0.4 * 5 groups)
    # Groups are carved as random_split carves their sorted list.
    order = splits.random_split(5, [0.4], seed=3)
    assert {groups[i] for i in dev} == {"abcde"[i] for i in order[1]}
    assert splits.group_split(groups, [0.0]) == [list(range(8)), []]
