"""The decoding options (coverage penalty, n-gram blocking, length bounds
relative to the source, sampling) on hand-written probability tables,
each against a case worked out by hand."""

import keras
import numpy as np
import pytest
from keras import ops

from s2s_zoo import decoding

PAD, A, START, END, B = 0, 1, 2, 3, 4
SOURCE_LENGTH = 2


def table_step(table, attention_table=None):
    """Next-token distribution (and attention) chosen by the previous
    token: `table[previous]`, `attention_table[previous]`."""
    logits = np.log(np.maximum(np.asarray(table, "float64"), 1e-20))
    logits = ops.convert_to_tensor(logits.astype("float32"))
    if attention_table is None:
        attention_table = np.full((5, SOURCE_LENGTH), 1 / SOURCE_LENGTH)
    attention_table = ops.convert_to_tensor(
        np.asarray(attention_table, "float32")
    )

    def step_fn(tokens, state, memory):
        attention = ops.take(attention_table, tokens, axis=0)
        return ops.take(logits, tokens, axis=0), state + 1, attention

    return step_fn


def search(step_fn, beam_width, max_length, batch_size=1, **options):
    """Beam search (`beam_width` >= 1) or greedy search (`beam_width` 0)
    over a batch whose sources have `SOURCE_LENGTH` real tokens."""
    kwargs = dict(
        batch_size=batch_size,
        start_token_id=START,
        end_token_id=END,
        max_length=max_length,
        source_length=SOURCE_LENGTH,
        padding_id=PAD,
        suppressed_token_ids=(PAD, START),
        source_mask=ops.ones((batch_size, SOURCE_LENGTH), "bool"),
        **options,
    )
    state = ops.zeros((batch_size,), "int32")
    if beam_width == 0:
        return decoding.greedy_search(step_fn, state, {}, **kwargs)
    return decoding.beam_search(
        step_fn, state, {}, beam_width=beam_width, **kwargs
    )


def distribution(start=(0.0, 0.0, 0.0), a=(0.0, 0.0, 0.0), b=(0.0, 0.0, 0.0)):
    """A table from the (A, END, B) probabilities after START, A and B;
    after END and PAD every row is uniform (never used)."""
    table = np.full((5, 5), 0.2)
    for row, (p_a, p_end, p_b) in ((START, start), (A, a), (B, b)):
        table[row] = [0.0, p_a, 0.0, p_end, p_b]
    return table


# === Coverage penalty (Wu et al. 2016, Eq. 14) ===


def test_coverage_term_is_gnmt_eq_14():
    # beta * sum_i log(min(sum_j p_ij, 1)) over real source words: word 1
    # is covered 1.5 times (clipped to 1, log 1 = 0), word 3 is padding.
    coverage = np.array([[0.5, 1.5, 0.2]], "float32")
    mask = np.array([[True, True, False]])
    term = decoding.coverage_penalty_term(coverage, mask, 0.4)
    np.testing.assert_allclose(term, [0.4 * np.log(0.5)], rtol=1e-6)
    # A word never attended to costs beta * log(1e-9), not -inf.
    term = decoding.coverage_penalty_term(np.zeros((1, 2)), mask[:, :2], 1.0)
    np.testing.assert_allclose(term, [2 * np.log(1e-9)], rtol=1e-6)


# After START every hypothesis attends word 0; after A again word 0, after
# B word 1. "A END" (0.5 * 0.9) is likelier than "B END" (0.4 * 0.9) but
# never reads word 1.
COVERAGE_TABLE = distribution(
    start=(0.5, 0.1, 0.4), a=(0.05, 0.9, 0.05), b=(0.05, 0.9, 0.05)
)
COVERAGE_ATTENTION = np.zeros((5, SOURCE_LENGTH))
COVERAGE_ATTENTION[[START, A, PAD, END], 0] = 1.0
COVERAGE_ATTENTION[B, 1] = 1.0


def test_coverage_penalty_prefers_the_hypothesis_that_covers_the_source():
    step_fn = table_step(COVERAGE_TABLE, COVERAGE_ATTENTION)
    plain = search(step_fn, beam_width=2, max_length=2)
    assert np.asarray(plain.token_ids)[0, 0].tolist() == [A, END]

    out = search(step_fn, beam_width=2, max_length=2, coverage_penalty=1.0)
    # "B END" covers both words (cp 0); "A END" covers word 0 twice and
    # word 1 never (cp log 1e-9), so "B END" wins, and the second beam is
    # "B A" (0.4 * 0.05, cp 0), which ran out of steps.
    np.testing.assert_array_equal(out.token_ids, [[[B, END], [B, A]]])
    np.testing.assert_allclose(
        out.scores, [[np.log(0.4 * 0.9), np.log(0.4 * 0.05)]], rtol=1e-5
    )


def test_coverage_penalty_with_one_beam_adds_to_the_score_only():
    step_fn = table_step(COVERAGE_TABLE, COVERAGE_ATTENTION)
    greedy = search(step_fn, beam_width=0, max_length=2)
    out = decoding.generate(
        step_fn,
        ops.zeros((1,), "int32"),
        {},
        beam_width=1,
        coverage_penalty=0.5,
        batch_size=1,
        start_token_id=START,
        end_token_id=END,
        max_length=2,
        source_length=SOURCE_LENGTH,
        suppressed_token_ids=(PAD, START),
        source_mask=ops.ones((1, SOURCE_LENGTH), "bool"),
    )
    np.testing.assert_array_equal(out.token_ids, greedy.token_ids)
    np.testing.assert_allclose(
        out.scores, np.asarray(greedy.scores) + 0.5 * np.log(1e-9), rtol=1e-5
    )


def test_coverage_penalty_needs_attention():
    with pytest.raises(ValueError, match="coverage_penalty needs attention"):
        decoding.beam_search(
            table_step(COVERAGE_TABLE),
            ops.zeros((1,), "int32"),
            {},
            batch_size=1,
            start_token_id=START,
            end_token_id=END,
            max_length=2,
            source_length=0,
            source_mask=ops.ones((1, 1), "bool"),
            coverage_penalty=1.0,
        )


# === n-gram blocking ===


@pytest.mark.parametrize(
    "tokens, step, size, blocked",
    [
        # Suffix "A": the earlier bigram "A B" bans B; "B A" does not match.
        ([A, B, A, PAD, PAD], 3, 2, {B}),
        # Unigrams: nothing generated may come again.
        ([A, B, A, PAD, PAD], 3, 1, {A, B}),
        # Suffix "B A" has no earlier occurrence.
        ([A, B, A, PAD, PAD], 3, 3, set()),
        # Suffix "A B" occurred at 0..1, followed by A.
        ([A, B, A, B, PAD], 4, 3, {A}),
        # Fewer than n - 1 tokens: nothing to repeat yet.
        ([A, PAD, PAD, PAD, PAD], 1, 3, set()),
    ],
)
def test_repeated_ngram_tokens_by_hand(tokens, step, size, blocked):
    # Three rows (beams): the case, another hypothesis, the case again.
    other = [B, A, B, A, PAD]
    rows = [tokens, other, tokens]
    mask = np.asarray(
        decoding.repeated_ngram_tokens(
            ops.convert_to_tensor(rows, "int32"), step, size, 5
        )
    )
    assert set(np.flatnonzero(mask[0])) == blocked
    assert set(np.flatnonzero(mask[2])) == blocked
    assert set(np.flatnonzero(mask[1])) == brute_force(other, step, size)


def brute_force(tokens, step, size):
    """Tokens w where tokens[step - size + 1 : step] + [w] occurred."""
    words = tokens[:step]
    suffix = words[len(words) - size + 1 :] if size > 1 else []
    if len(words) < size - 1:
        return set()
    return {
        words[i + size - 1]
        for i in range(len(words) - size + 1)
        if words[i : i + size - 1] == suffix
    }


def test_no_repeat_ngram_changes_greedy_output():
    table = distribution(start=(0.5, 0.1, 0.4), a=(0.4, 0.25, 0.35))
    plain = search(table_step(table), beam_width=0, max_length=3)
    assert np.asarray(plain.token_ids)[0, 0].tolist() == [A, A, A]
    out = search(
        table_step(table), beam_width=0, max_length=3, no_repeat_ngram_size=2
    )
    # "A A" exists, so after "A A" the third A is banned; B is next best.
    np.testing.assert_array_equal(out.token_ids, [[[A, A, B]]])
    np.testing.assert_allclose(
        out.scores, [[np.log(0.5 * 0.4 * 0.35)]], rtol=1e-6
    )


def test_no_repeat_ngram_in_beam_search_holds_for_every_beam():
    table = distribution(
        start=(0.5, 0.1, 0.4), a=(0.4, 0.25, 0.35), b=(0.3, 0.3, 0.4)
    )
    out = search(
        table_step(table), beam_width=3, max_length=6, no_repeat_ngram_size=2
    )
    for hypothesis in np.asarray(out.token_ids)[0]:
        words = [t for t in hypothesis.tolist() if t not in (PAD, END)]
        bigrams = list(zip(words, words[1:]))
        assert len(bigrams) == len(set(bigrams)), hypothesis


# === Length bounds relative to the source ===


def test_length_limits_by_hand():
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)
    low, high = decoding.length_limits(mask, 1.2, 0.5)
    np.testing.assert_array_equal(low, [6, 2])  # floor(6.0), floor(2.4)
    np.testing.assert_array_equal(high, [3, 1])  # ceil(2.5), ceil(1.0)
    assert decoding.length_limits(mask) == (None, None)


def test_max_length_ratio_forces_the_end_token():
    table = distribution(start=(0.5, 0.1, 0.4), a=(0.4, 0.3, 0.3))
    out = search(
        table_step(table), beam_width=0, max_length=5, max_length_ratio=1.0
    )
    # Two source tokens: at most two words, then END (probability 0.3).
    np.testing.assert_array_equal(out.token_ids, [[[A, A, END, PAD, PAD]]])
    np.testing.assert_allclose(
        out.scores, [[np.log(0.5 * 0.4 * 0.3)]], rtol=1e-6
    )
    np.testing.assert_array_equal(out.lengths, [[3]])


def test_min_length_ratio_blocks_the_end_token():
    table = distribution(
        start=(0.3, 0.1, 0.6), a=(0.3, 0.5, 0.2), b=(0.07, 0.9, 0.03)
    )
    plain = search(table_step(table), beam_width=0, max_length=5)
    assert np.asarray(plain.token_ids)[0, 0, :2].tolist() == [B, END]
    out = search(
        table_step(table), beam_width=0, max_length=5, min_length_ratio=1.0
    )
    # END is banned until two words stand: B, then A (0.07), then END.
    np.testing.assert_array_equal(out.token_ids, [[[B, A, END, PAD, PAD]]])
    np.testing.assert_allclose(
        out.scores, [[np.log(0.6 * 0.07 * 0.5)]], rtol=1e-6
    )


def test_length_bounds_hold_in_beam_search():
    table = distribution(
        start=(0.3, 0.1, 0.6), a=(0.3, 0.5, 0.2), b=(0.07, 0.9, 0.03)
    )
    out = search(
        table_step(table),
        beam_width=3,
        max_length=8,
        min_length_ratio=1.0,
        max_length_ratio=1.5,
    )
    # Every hypothesis ends with 2 or 3 words (ceil(1.5 * 2) = 3).
    np.testing.assert_array_equal(np.isin(out.lengths, [3, 4]), True)


# === Sampling ===


def test_sampling_distribution_by_hand():
    probs = np.array([[0.5, 0.3, 0.15, 0.05]], "float32")
    log_probs = np.log(probs)

    def dist(**kwargs):
        return np.asarray(decoding.sampling_distribution(log_probs, **kwargs))

    np.testing.assert_allclose(dist(), probs, rtol=1e-6)
    np.testing.assert_allclose(dist(top_k=2), [[0.625, 0.375, 0, 0]], 1e-6)
    # Nucleus: 0.5 + 0.3 reaches 0.7; 0.5 alone reaches 0.5.
    np.testing.assert_allclose(dist(top_p=0.7), [[0.625, 0.375, 0, 0]], 1e-6)
    np.testing.assert_allclose(dist(top_p=0.5), [[1, 0, 0, 0]], atol=1e-6)
    hot = np.sqrt(probs) / np.sqrt(probs).sum()
    np.testing.assert_allclose(dist(temperature=2.0), hot, rtol=1e-5)


def test_draw_is_the_inverse_cdf():
    probs = ops.convert_to_tensor([[0.0, 0.5, 0.5]] * 4)
    uniform = ops.convert_to_tensor([0.0, 0.49, 0.5, 0.99])
    # A token of probability 0 is never drawn, even for u = 0.
    np.testing.assert_array_equal(decoding._draw(probs, uniform), [1, 1, 2, 2])


def sample(seed, batch_size=1, max_length=3, table=None, **options):
    table = (
        distribution(start=(0.5, 0.1, 0.4), a=(0.4, 0.3, 0.3))
        if (table is None)
        else table
    )
    return search(
        table_step(table),
        beam_width=0,
        max_length=max_length,
        batch_size=batch_size,
        sample=True,
        seed=seed,
        **options,
    )


def test_sampling_follows_the_model_distribution():
    out = sample(seed=3, batch_size=4000, max_length=1)
    first = np.asarray(out.token_ids)[:, 0, 0]
    frequencies = [np.mean(first == token) for token in (A, END, B)]
    # Binomial standard error at n = 4000 is below 0.008.
    np.testing.assert_allclose(frequencies, [0.5, 0.1, 0.4], atol=0.03)
    # The score is the model's own log probability of the drawn token.
    expected = np.log(np.array([0.5, 0.1, 0.4]))[
        np.searchsorted([A, END, B], first, sorter=[0, 1, 2])
    ]
    np.testing.assert_allclose(np.asarray(out.scores)[:, 0], expected, 1e-5)


def test_sampling_is_fixed_by_its_seed():
    first = np.asarray(sample(seed=11, batch_size=16).token_ids)
    again = np.asarray(sample(seed=11, batch_size=16).token_ids)
    other = np.asarray(sample(seed=12, batch_size=16).token_ids)
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()


def test_top_k_one_is_greedy():
    table = distribution(start=(0.5, 0.1, 0.4), a=(0.4, 0.3, 0.3))
    greedy = search(table_step(table), beam_width=0, max_length=3)
    out = sample(seed=5, top_k=1)
    np.testing.assert_array_equal(out.token_ids, greedy.token_ids)
    np.testing.assert_allclose(out.scores, greedy.scores, rtol=1e-6)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(beam_width=2, sample=True), "only apply to sampling"),
        (dict(top_k=5), "only apply with sample=True"),
        (dict(sample=True, top_p=0.0), r"top_p must be in \(0, 1\]"),
        (dict(sample=True, temperature=0.0), "temperature must be > 0"),
        (dict(no_repeat_ngram_size=-1), "no_repeat_ngram_size must be >= 0"),
        (
            dict(min_length_ratio=2.0, max_length_ratio=1.0),
            r"min_length_ratio \(2.0\) is larger than max_length_ratio",
        ),
        (dict(coverage_penalty=-1.0, beam_width=2), "must be >= 0"),
    ],
)
def test_invalid_options_name_the_problem(options, message):
    beam_width = options.pop("beam_width", 1)
    with pytest.raises(ValueError, match=message):
        decoding.generate(
            table_step(COVERAGE_TABLE),
            ops.zeros((1,), "int32"),
            {},
            beam_width=beam_width,
            batch_size=1,
            start_token_id=START,
            end_token_id=END,
            max_length=2,
            source_length=SOURCE_LENGTH,
            source_mask=ops.ones((1, SOURCE_LENGTH), "bool"),
            **options,
        )


# === Inside compiled graphs ===

ALL_OPTIONS = dict(
    coverage_penalty=0.2,
    no_repeat_ngram_size=2,
    min_length_ratio=0.5,
    max_length_ratio=2.0,
)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="tf.function traces TensorFlow ops; the SavedModel export path",
)
def test_options_trace_in_tf_function():
    import tensorflow as tf

    step_fn = table_step(COVERAGE_TABLE, COVERAGE_ATTENTION)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def traced(max_length):
        beam = search(step_fn, 3, max_length, batch_size=2, **ALL_OPTIONS)
        sampled = sample(seed=1, batch_size=2, max_length=max_length, top_p=0.9)
        return beam.token_ids, beam.scores, sampled.token_ids

    tokens, scores, sampled = traced(tf.constant(4))
    eager = search(step_fn, 3, 4, batch_size=2, **ALL_OPTIONS)
    np.testing.assert_array_equal(tokens, eager.token_ids)
    np.testing.assert_allclose(scores, eager.scores, rtol=1e-5)
    eager_sampled = sample(seed=1, batch_size=2, max_length=4, top_p=0.9)
    np.testing.assert_array_equal(sampled, eager_sampled.token_ids)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX only")
def test_options_compile_under_jax_jit():
    import jax

    step_fn = table_step(COVERAGE_TABLE, COVERAGE_ATTENTION)

    @jax.jit
    def compiled():
        beam = search(step_fn, 3, 4, batch_size=2, **ALL_OPTIONS)
        sampled = sample(seed=1, batch_size=2, max_length=4, top_p=0.9)
        return beam.token_ids, beam.scores, sampled.token_ids

    tokens, scores, sampled = compiled()
    eager = search(step_fn, 3, 4, batch_size=2, **ALL_OPTIONS)
    np.testing.assert_array_equal(tokens, eager.token_ids)
    np.testing.assert_allclose(scores, eager.scores, rtol=1e-5)
    eager_sampled = sample(seed=1, batch_size=2, max_length=4, top_p=0.9)
    np.testing.assert_array_equal(sampled, eager_sampled.token_ids)
