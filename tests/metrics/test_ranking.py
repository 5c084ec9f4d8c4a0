import pytest

from s2s_zoo.metrics.ranking import mean_average_precision
from s2s_zoo.metrics.ranking import mean_reciprocal_rank
from s2s_zoo.metrics.ranking import ranking_scores

# q1: ranked by score: c(0.9, rel), a(0.8), d(0.5, rel), b(0.1)
#     AP = (1/1 + 2/3) / 2 = 5/6, RR = 1
# q2: ranked: x(0.7), y(0.6), z(0.2, rel)  AP = 1/3, RR = 1/3
# q3: no correct answer
GROUPS = ["q1"] * 4 + ["q2"] * 3 + ["q3"] * 2
LABELS = [0, 0, 1, 1, 0, 0, 1, 0, 0]
SCORES = [0.8, 0.1, 0.9, 0.5, 0.7, 0.6, 0.2, 0.3, 0.4]


def test_map_and_mrr_by_hand():
    assert mean_average_precision(GROUPS, LABELS, SCORES) == pytest.approx(
        (5 / 6 + 1 / 3) / 2
    )
    assert mean_reciprocal_rank(GROUPS, LABELS, SCORES) == pytest.approx(
        (1 + 1 / 3) / 2
    )
    assert ranking_scores(GROUPS, LABELS, SCORES) == {
        "q1": (pytest.approx(5 / 6), 1.0),
        "q2": (pytest.approx(1 / 3), pytest.approx(1 / 3)),
    }


def test_unanswered_questions_can_be_included():
    kwargs = {"include_unanswered": True}
    assert mean_average_precision(
        GROUPS, LABELS, SCORES, **kwargs
    ) == pytest.approx((5 / 6 + 1 / 3 + 0) / 3)
    assert mean_reciprocal_rank(
        GROUPS, LABELS, SCORES, **kwargs
    ) == pytest.approx((1 + 1 / 3 + 0) / 3)


def test_ties_keep_input_order_and_groups_need_not_be_contiguous():
    # Equal scores: the first listed ranks first.
    assert mean_reciprocal_rank(["a", "a"], [0, 1], [0.5, 0.5]) == 0.5
    assert mean_reciprocal_rank(["a", "a"], [1, 0], [0.5, 0.5]) == 1.0
    interleaved = mean_average_precision(
        ["a", "b", "a", "b"], [0, 1, 1, 0], [0.9, 0.1, 0.2, 0.0]
    )
    assert interleaved == pytest.approx((1 / 2 + 1) / 2)


def test_empty_and_mismatched_inputs():
    assert mean_average_precision([], [], []) == 0.0
    assert mean_average_precision(["a"], [0], [0.3]) == 0.0
    with pytest.raises(ValueError, match="differ in length: 2, 1, 1"):
        mean_average_precision(["a", "b"], [1], [0.5])
