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


def _sacrebleu(hypotheses, references, lowercase=False):
    streams = [
        [refs[k] if k < len(refs) else None for refs in references]
        for k in range(max(len(refs) for refs in references))
    ]
    return sacrebleu.corpus_bleu(hypotheses, streams, lowercase=lowercase)


def _realistic_corpus():
    # 200 sentence pairs with the mistakes a small model makes: dropped,
    # repeated and swapped words, a wrong word, an empty line, one or two
    # references.
    random = __import__("random").Random(7)
    words = (
        "I you he she we they like love want see the a cat dog food "
        "Chinese table under on is are was not do does go home now".split()
    )
    hypotheses, references = [], []
    for i in range(200):
        ref = random.choices(words, k=random.randint(2, 12))
        hyp = list(ref)
        for _ in range(random.randint(0, 4)):
            edit = random.choice(["drop", "repeat", "swap", "replace"])
            k = random.randrange(len(hyp)) if hyp else 0
            if not hyp:
                break
            if edit == "drop":
                del hyp[k]
            elif edit == "repeat":
                hyp.insert(k, hyp[k])
            elif edit == "swap" and k + 1 < len(hyp):
                hyp[k], hyp[k + 1] = hyp[k + 1], hyp[k]
            else:
                hyp[k] = random.choice(words)
        refs = [" ".join(ref) + random.choice([".", "!", "?"])]
        if i % 3 == 0:
            refs.append(" ".join(ref[::-1]) + ".")
        hypotheses.append(" ".join(hyp) + "." if i % 50 else "")
        references.append(refs)
    return hypotheses, references


@pytest.mark.parametrize("lowercase", [False, True])
def test_bleu_equals_sacrebleu_defaults_on_a_realistic_corpus(lowercase):
    hypotheses, references = _realistic_corpus()
    ours = translation.corpus_bleu(hypotheses, references, lowercase)
    theirs = _sacrebleu(hypotheses, references, lowercase)
    assert 20 < theirs.score < 90
    assert ours == pytest.approx(theirs.score, abs=0.01)


DEGENERATE = {
    # No 4-gram matches anywhere: exp smoothing decides the score (the
    # case where unsmoothed BLEU said 0.00 and sacreBLEU 1.93).
    "no higher-order matches": (
        ["cat the dog a", "table under is", "food like I"],
        [["the cat a dog"], ["is under table"], ["I like food"]],
    ),
    "only unigram matches": (["b a", "d c"], [["a b"], ["c d"]]),
    "no match at all": (["x y z"], [["a b c"]]),
    "one-word hypotheses": (["a", "b"], [["a b c d"], ["b"]]),
    "hypothesis longer than the reference": (
        ["a b c d e f g h"],
        [["a b c d"]],
    ),
    "an empty line among others": (
        ["", "the cat sat on the mat .", ""],
        [["a"], ["the cat sat on a mat ."], ["b"]],
    ),
}


@pytest.mark.parametrize("case", list(DEGENERATE))
def test_bleu_equals_sacrebleu_defaults_on_degenerate_corpora(case):
    hypotheses, references = DEGENERATE[case]
    ours = translation.corpus_bleu(hypotheses, references)
    assert ours == pytest.approx(
        _sacrebleu(hypotheses, references).score, abs=0.01
    )


def test_exp_smoothing_by_hand():
    # "b a" / "a b": unigrams 2/2, bigrams 0/1 (halved: 1/2), no trigrams
    # or 4-grams at all, so BLEU is 0 as in sacreBLEU (log of 0).
    assert translation.corpus_bleu(["b a"], [["a b"]]) == 0.0
    # "a b c x" / "a b c d": 3/4, 2/3, 1/2, 4-grams 0/1 -> 1/(2*1).
    expected = 100 * (3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25
    score = translation.corpus_bleu(["a b c x"], [["a b c d"]])
    assert score == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("lowercase", [False, True])
def test_signature_is_sacrebleus(lowercase):
    hypotheses, references = _realistic_corpus()
    metric = sacrebleu.BLEU(lowercase=lowercase)
    streams = [
        [refs[k] if k < len(refs) else None for refs in references]
        for k in range(2)
    ]
    metric.corpus_score(hypotheses, streams)
    signature = str(metric.get_signature())
    assert translation.bleu_signature(references, lowercase) == signature


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
