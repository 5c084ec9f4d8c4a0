"""Ranking metrics of answer selection: MAP and MRR over questions.

Each question's candidates are ranked by score (highest first; ties keep
the input order, a stable sort). For one question with relevant
candidates at ranks `r_1 < r_2 < ... < r_m`:

    AP = (1 / m) sum_k k / r_k        RR = 1 / r_1

MAP and MRR average these over questions. A question without any correct
candidate has no defined AP; as is standard for WikiQA (Yang et al. 2015,
and Yin et al. 2016's evaluation) such questions are excluded by default,
and with `include_unanswered=True` they count as AP = RR = 0.
"""

import collections

import numpy as np


def _per_question(groups, labels, scores):
    labels = np.asarray(labels).reshape(-1)
    scores = np.asarray(scores, dtype="float64").reshape(-1)
    groups = list(groups)
    if not len(groups) == len(labels) == len(scores):
        raise ValueError(
            "groups, labels and scores differ in length: "
            f"{len(groups)}, {len(labels)}, {len(scores)}."
        )
    by_group = collections.OrderedDict()
    for i, group in enumerate(groups):
        by_group.setdefault(group, []).append(i)
    for group, indices in by_group.items():
        indices = np.asarray(indices)
        order = indices[np.argsort(-scores[indices], kind="stable")]
        yield group, labels[order] > 0


def ranking_scores(groups, labels, scores, include_unanswered=False):
    """Per-question average precision and reciprocal rank.

    Args:
        groups: One question id per candidate.
        labels: 1 (correct) or 0 per candidate.
        scores: Model score per candidate; higher ranks first.
        include_unanswered (bool): Keep questions with no correct
            candidate, scored 0. Default False (excluded).

    Returns:
        A dict `question -> (average_precision, reciprocal_rank)`.
    """
    result = {}
    for group, relevant in _per_question(groups, labels, scores):
        if not relevant.any():
            if include_unanswered:
                result[group] = (0.0, 0.0)
            continue
        ranks = np.flatnonzero(relevant) + 1  # 1-based ranks of hits
        precision = np.arange(1, len(ranks) + 1) / ranks
        result[group] = (float(precision.mean()), float(1.0 / ranks[0]))
    return result


def mean_average_precision(groups, labels, scores, include_unanswered=False):
    """MAP over questions (0.0 when no question is kept)."""
    values = ranking_scores(groups, labels, scores, include_unanswered)
    return float(np.mean([ap for ap, _ in values.values()])) if values else 0.0


def mean_reciprocal_rank(groups, labels, scores, include_unanswered=False):
    """MRR over questions (0.0 when no question is kept)."""
    values = ranking_scores(groups, labels, scores, include_unanswered)
    return float(np.mean([rr for _, rr in values.values()])) if values else 0.0
