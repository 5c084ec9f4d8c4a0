"""Corpus BLEU and chrF, compatible with sacreBLEU's defaults.

- BLEU: sacreBLEU's default `BLEU()` (tokenizer `13a`, `exp` smoothing,
  no effective order, several references per sentence allowed). The n-gram
  statistics come from `keras_hub.metrics.Bleu`, whose default tokenizer
  replicates `13a`; its score cannot be used as it is, because its only
  smoothing is Lin et al. (2004) add-one while sacreBLEU's default is the
  NIST `exp` method (an n-gram order with no match counts as half a match,
  a quarter for the next such order, ...), which decides the score of
  short or poor output. So `corpus_bleu` reads keras_hub's statistics and
  applies sacreBLEU's formula; the tests check it against `sacrebleu`.
  `bleu_signature` gives the sacreBLEU-style signature of a score.
- chrF: keras_hub has none, so this is a direct implementation of
  sacreBLEU's default `CHRF()` (character n-grams up to 6, beta 2, spaces
  removed, statistics summed over the corpus; with several references the
  best-scoring one per sentence is used, as sacreBLEU does).
"""

import collections
import math

import keras_hub
import tensorflow as tf

# The sacreBLEU release whose default BLEU and chrF these equal (the tests
# compare with the installed sacrebleu; its signature names this version).
SACREBLEU_VERSION = "2.6.0"
MAX_ORDER = 4


def corpus_bleu(hypotheses, references, lowercase=False):
    """Corpus BLEU on a 0-100 scale, equal to `sacrebleu.corpus_bleu` with
    its defaults (see `bleu_signature`).

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
    metric = keras_hub.metrics.Bleu(max_order=MAX_ORDER)
    metric.update_state(tf.ragged.constant(references), tf.constant(hypotheses))
    # keras_hub's accumulated statistics (its own score smooths differently).
    return _sacrebleu_score(
        [int(x) for x in metric._matches.numpy()],
        [int(x) for x in metric._possible_matches.numpy()],
        int(metric._translation_length.numpy()),
        int(metric._reference_length.numpy()),
    )


def _sacrebleu_score(correct, total, system_length, reference_length):
    """sacreBLEU's `BLEU.compute_bleu` with `smooth_method="exp"` and no
    effective order, from the corpus statistics."""
    if not any(correct):
        return 0.0
    penalty = 1.0
    if system_length < reference_length:
        penalty = math.exp(1 - reference_length / system_length)
    log_sum = 0.0
    halvings = 1
    for n in range(MAX_ORDER):
        if total[n] == 0:
            return 0.0  # no n-grams of this order at all: log(0)
        if correct[n] == 0:
            halvings *= 2
            precision = 1.0 / (halvings * total[n])
        else:
            precision = correct[n] / total[n]
        log_sum += math.log(precision)
    return 100.0 * penalty * math.exp(log_sum / MAX_ORDER)


def bleu_signature(references, lowercase=False):
    """The sacreBLEU signature of `corpus_bleu(..., references, lowercase)`,
    as `sacrebleu.BLEU().get_signature()` writes it.

    `nrefs` is the number of references of every sentence, or `var` when
    sentences have different numbers (as the Tatoeba test split does).

    Examples:
    >>> bleu_signature([["I like it."], ["Go.", "Leave."]], lowercase=True)
    'nrefs:var|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0'
    >>> bleu_signature(["I like it.", "Go."])
    'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0'
    """
    counts = {1 if isinstance(r, str) else len(r) for r in references}
    nrefs = counts.pop() if len(counts) == 1 else "var"
    case = "lc" if lowercase else "mixed"
    return (
        f"nrefs:{nrefs}|case:{case}|eff:no|tok:13a|smooth:exp|"
        f"version:{SACREBLEU_VERSION}"
    )


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
