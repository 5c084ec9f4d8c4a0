"""Corpus BLEU and chrF, compatible with sacreBLEU's defaults.

- BLEU: `keras_hub.metrics.Bleu`, whose default tokenizer replicates
  sacreBLEU's `13a` (checked against sacrebleu in the tests), corpus-level,
  no smoothing, several references per sentence allowed. We add only the
  lowercasing option (`sacrebleu -lc`) and the 0-100 scale.
- chrF: keras_hub has none, so this is a direct implementation of
  sacreBLEU's default `CHRF()` (character n-grams up to 6, beta 2, spaces
  removed, statistics summed over the corpus; with several references the
  best-scoring one per sentence is used, as sacreBLEU does).
"""

import collections

import keras_hub
import tensorflow as tf


def corpus_bleu(hypotheses, references, lowercase=False):
    """Corpus BLEU on a 0-100 scale.

    Args:
        hypotheses (list[str]): One detokenized translation per sentence.
        references (list[list[str]] or list[str]): The reference(s) of each
            sentence.
        lowercase (bool): Lowercase both sides first (`sacrebleu -lc`).

    Returns:
        float: BLEU, 0 when there is nothing to score.
    """
    if not any(h.strip() for h in hypotheses):
        return 0.0  # keras_hub's brevity penalty divides by the length
    references = [[r] if isinstance(r, str) else list(r) for r in references]
    if lowercase:
        hypotheses = [h.lower() for h in hypotheses]
        references = [[r.lower() for r in refs] for refs in references]
    metric = keras_hub.metrics.Bleu()
    metric.update_state(tf.ragged.constant(references), tf.constant(hypotheses))
    return 100.0 * float(metric.result())


def _char_ngrams(text, n):
    text = text.replace(" ", "")
    return collections.Counter(
        text[i : i + n] for i in range(len(text) - n + 1)
    )


def _chrf_statistics(hypothesis, reference, order):
    stats = []
    for n in range(1, order + 1):
        hyp, ref = _char_ngrams(hypothesis, n), _char_ngrams(reference, n)
        matches = sum((hyp & ref).values())
        stats += [sum(hyp.values()), sum(ref.values()), matches]
    return stats


def _chrf_from_statistics(stats, order, beta):
    precisions, recalls = [], []
    effective = 0
    for n in range(order):
        hyp, ref, match = stats[3 * n : 3 * n + 3]
        if hyp > 0 and ref > 0:
            precisions.append(match / hyp)
            recalls.append(match / ref)
            effective += 1
    if effective == 0:
        return 0.0
    precision = sum(precisions) / effective
    recall = sum(recalls) / effective
    if precision + recall == 0:
        return 0.0
    beta2 = beta**2
    return (
        100.0 * (1 + beta2) * precision * recall / (beta2 * precision + recall)
    )


def corpus_chrf(hypotheses, references, order=6, beta=2.0, lowercase=False):
    """Corpus chrF (sacreBLEU's default chrF2) on a 0-100 scale.

    Character n-gram statistics of orders 1..`order` are summed over the
    corpus (spaces removed), precision and recall are averaged over the
    orders that have n-grams, and combined as an F-beta score.
    """
    references = [[r] if isinstance(r, str) else list(r) for r in references]
    totals = [0] * (3 * order)
    for hypothesis, refs in zip(hypotheses, references):
        if lowercase:
            hypothesis = hypothesis.lower()
            refs = [r.lower() for r in refs]
        candidates = [_chrf_statistics(hypothesis, r, order) for r in refs]
        best = max(
            candidates, key=lambda s: _chrf_from_statistics(s, order, beta)
        )
        totals = [a + b for a, b in zip(totals, best)]
    return _chrf_from_statistics(totals, order, beta)
