import pytest

from s2s_zoo.data import synthetic


def test_translation_swaps_adjective_noun_and_substitutes():
    # size 8: adjectives {0, 1}, nouns {2, 3}; word t -> (7 t + 3) mod 8.
    # [0, 2, 5, 1, 3] -> swap -> [2, 0, 5, 3, 1] -> [1, 3, 6, 0, 2]
    assert synthetic.translate_tokens([0, 2, 5, 1, 3], 8) == [1, 3, 6, 0, 2]
    # An adjective before a non-noun stays; a swapped pair is not reused.
    assert synthetic.translate_tokens([0, 5], 8) == [3, 6]
    assert synthetic.translate_tokens([0, 2, 3], 8) == [1, 3, 0]


def test_pairs_are_deterministic_and_within_lengths():
    pairs = synthetic.synthetic_pairs(50, 3, 7, vocabulary_size=12, seed=3)
    assert pairs == synthetic.synthetic_pairs(50, 3, 7, 12, seed=3)
    assert pairs != synthetic.synthetic_pairs(50, 3, 7, 12, seed=4)
    for source, target in pairs:
        assert 3 <= len(source.split()) <= 7
        assert len(source.split()) == len(target.split())
        assert all(w.startswith("w") for w in source.split())
        assert all(w.startswith("T") for w in target.split())


def test_vocabulary_must_make_the_substitution_a_bijection():
    with pytest.raises(ValueError, match="not a multiple of 7; received 14"):
        synthetic.synthetic_pairs(1, vocabulary_size=14)
