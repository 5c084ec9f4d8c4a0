import pytest
import sacrebleu

from s2s_zoo.metrics import translation

HYPOTHESES = [
    "I like Chinese food.",
    "The cat is under the table.",
    "He doesn't want to go, does he?",
    "Tom's dog barked at me!",
]
REFERENCES = [
    ["I love Chinese food.", "I like Chinese cuisine."],
    ["The cat is under the table."],
    ["He does not want to go, doesn't he?"],
    ["Tom's dog barked at me."],
]


def test_perfect_translation_scores_100():
    assert translation.corpus_bleu(["The cat sat."], [["The cat sat."]]) == (
        pytest.approx(100.0)
    )
    assert translation.corpus_chrf(["The cat sat."], ["The cat sat."]) == (
        pytest.approx(100.0)
    )


@pytest.mark.parametrize("lowercase", [False, True])
def test_bleu_matches_sacrebleu_13a_multi_reference(lowercase):
    hypotheses = [h.upper() if i == 0 else h for i, h in enumerate(HYPOTHESES)]
    ours = translation.corpus_bleu(hypotheses, REFERENCES, lowercase)
    # sacrebleu wants one stream per reference slot, None where missing.
    streams = [
        [refs[k] if k < len(refs) else None for refs in REFERENCES]
        for k in range(2)
    ]
    theirs = sacrebleu.corpus_bleu(hypotheses, streams, lowercase=lowercase)
    assert ours == pytest.approx(theirs.score, abs=1e-3)


def test_bleu_brevity_penalty_by_hand():
    # 4-gram precisions all 1, hypothesis 4 tokens vs reference 6:
    # BLEU = exp(1 - 6/4) = e^-0.5.
    score = translation.corpus_bleu(["a b c d"], [["a b c d e f"]])
    assert score == pytest.approx(100 * 2.718281828**-0.5, rel=1e-5)


def test_chrf_matches_sacrebleu():
    streams = [[refs[0] for refs in REFERENCES]]
    theirs = sacrebleu.corpus_chrf(HYPOTHESES, streams).score
    ours = translation.corpus_chrf(HYPOTHESES, [r[:1] for r in REFERENCES])
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_chrf_by_hand_unigram():
    # order 1: "ab" vs "ac": 1 match, precision = recall = 1/2.
    assert translation.corpus_chrf(["ab"], ["ac"], order=1) == pytest.approx(50)


def test_empty_corpus():
    assert translation.corpus_bleu([], []) == 0.0
    assert translation.corpus_chrf([], []) == 0.0
