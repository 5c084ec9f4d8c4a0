"""Greedy and beam search driven by hand-written probability tables."""

import keras
import numpy as np
import pytest
from keras import ops

from s2s_zoo import decoding

PAD, A, START, END, B = 0, 1, 2, 3, 4


def table_step(table):
    """A step function whose next-token distribution depends only on the
    previous token: row `table[previous]`. The state counts steps."""
    logits = np.log(np.maximum(np.asarray(table, "float64"), 1e-20))
    logits = ops.convert_to_tensor(logits.astype("float32"))

    def step_fn(tokens, state, memory):
        attention = ops.one_hot(ops.minimum(state, 2), 3)  # (N, 3)
        return ops.take(logits, tokens, axis=0), state + 1, attention

    return step_fn


def run(step_fn, beam_width, max_length, length_penalty=0.0, batch_size=1):
    kwargs = dict(
        batch_size=batch_size,
        start_token_id=START,
        end_token_id=END,
        max_length=max_length,
        source_length=3,
        length_penalty=length_penalty,
        padding_id=PAD,
        suppressed_token_ids=(PAD, START),
    )
    state = ops.zeros((batch_size,), "int32")
    memory = {"unused": ops.zeros((batch_size, 1))}
    if beam_width == 0:
        return decoding.greedy_search(step_fn, state, memory, **kwargs)
    return decoding.beam_search(
        step_fn, state, memory, beam_width=beam_width, **kwargs
    )


# Rows: previous token; columns: PAD, A, START, END, B.
TABLE = np.zeros((5, 5))
TABLE[START] = [0, 0.5, 0, 0.1, 0.4]
TABLE[A] = [0, 0.4, 0, 0.3, 0.3]
TABLE[B] = [0, 0.05, 0, 0.9, 0.05]
TABLE[END] = TABLE[PAD] = [0, 0.2, 0, 0.6, 0.2]


def test_greedy_follows_the_most_probable_token():
    out = run(table_step(TABLE), beam_width=0, max_length=3)
    np.testing.assert_array_equal(out.token_ids, [[[A, A, A]]])
    np.testing.assert_allclose(out.scores, [[np.log(0.5 * 0.4 * 0.4)]], 1e-6)
    np.testing.assert_array_equal(out.lengths, [[3]])  # never ended


def test_beam_search_finds_the_better_short_hypothesis():
    out = run(table_step(TABLE), beam_width=2, max_length=3)
    # "B END" (0.4 * 0.9 = 0.36) beats every path through A.
    np.testing.assert_array_equal(out.token_ids, [[[B, END, PAD], [A, A, A]]])
    np.testing.assert_allclose(
        out.scores,
        [[np.log(0.4 * 0.9), np.log(0.5 * 0.4 * 0.4)]],
        rtol=1e-6,
    )
    np.testing.assert_array_equal(out.lengths, [[2, 3]])


def test_finished_beam_stops_growing_and_gets_zero_attention():
    out = run(table_step(TABLE), beam_width=2, max_length=5)
    best = np.asarray(out.token_ids)[0, 0]
    np.testing.assert_array_equal(best, [B, END, PAD, PAD, PAD])
    attention = np.asarray(out.attention)[0, 0]
    np.testing.assert_array_equal(attention[:2], [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(attention[2:], 0.0)
    # Its score did not change after END although the table gives END 0.6.
    np.testing.assert_allclose(out.scores[0, 0], np.log(0.36), rtol=1e-6)


def test_length_penalty_changes_the_winner():
    table = np.zeros((5, 5))
    table[START] = [0, 0.55, 0, 0.45, 0]
    table[A] = [0, 0.4, 0, 0.6, 0]
    table[END] = table[PAD] = table[B] = [0, 0.5, 0, 0.5, 0]
    plain = run(table_step(table), beam_width=2, max_length=4)
    np.testing.assert_array_equal(plain.token_ids[0, 0], [END, PAD, PAD, PAD])
    np.testing.assert_allclose(plain.scores[0, 0], np.log(0.45), rtol=1e-6)

    alpha = 3.0
    penalised = run(table_step(table), 2, 4, length_penalty=alpha)
    np.testing.assert_array_equal(penalised.token_ids[0, 0], [A, END, PAD, PAD])
    lp2 = ((5 + 2) / 6) ** alpha
    np.testing.assert_allclose(
        penalised.scores[0, 0], np.log(0.55 * 0.6) / lp2, rtol=1e-5
    )


def test_length_penalty_factor_is_gnmt():
    np.testing.assert_allclose(
        decoding.length_penalty_factor(np.array([1, 7]), 0.6),
        [1.0, 2.0**0.6],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        decoding.length_penalty_factor(np.array([3]), 0.0), [1.0]
    )


@pytest.mark.parametrize("max_length", [1, 3, 6])
def test_beam_one_equals_greedy(max_length):
    rng = np.random.default_rng(max_length)
    table = rng.dirichlet(np.ones(5), size=5)
    greedy = run(table_step(table), 0, max_length, length_penalty=0.7)
    beam = run(table_step(table), 1, max_length, length_penalty=0.7)
    for field in ("token_ids", "lengths", "attention"):
        np.testing.assert_array_equal(
            getattr(greedy, field), getattr(beam, field)
        )
    np.testing.assert_allclose(greedy.scores, beam.scores, rtol=1e-6)


@pytest.mark.parametrize("beam_width", [0, 1, 3])
def test_suppressed_tokens_are_never_generated(beam_width):
    # At every step PAD and START are the most probable tokens, and END so
    # improbable that no hypothesis ends: every position of every beam is
    # a generated token, and none of them may be suppressed.
    table = np.full((5, 5), 0.05)
    table[:, PAD] = table[:, START] = 0.9
    table[:, END] = 1e-4
    out = run(table_step(table), beam_width, 6)
    ids, lengths = np.asarray(out.token_ids), np.asarray(out.lengths)
    assert ids.shape[-1] == 6 and (lengths == 6).all()
    assert np.isin(ids, [A, B]).all(), ids


def test_batch_of_sentences_is_independent():
    one = run(table_step(TABLE), 2, 4, batch_size=1)
    three = run(table_step(TABLE), 2, 4, batch_size=3)
    for k in range(3):
        np.testing.assert_array_equal(three.token_ids[k], one.token_ids[0])
        np.testing.assert_allclose(three.scores[k], one.scores[0], rtol=1e-6)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="tf.function traces TensorFlow ops; the SavedModel export path",
)
def test_beam_search_traces_in_tf_function():
    import tensorflow as tf

    step_fn = table_step(TABLE)

    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def search(batch_size, max_length):
        out = decoding.beam_search(
            step_fn,
            tf.zeros([batch_size], tf.int32),
            {},
            batch_size=batch_size,
            start_token_id=START,
            end_token_id=END,
            max_length=max_length,
            source_length=3,
            beam_width=2,
            suppressed_token_ids=(PAD, START),
        )
        return out.token_ids, out.scores

    tokens, scores = search(tf.constant(2), tf.constant(3))
    eager = run(step_fn, 2, 3, batch_size=2)
    np.testing.assert_array_equal(tokens, eager.token_ids)
    np.testing.assert_allclose(scores, eager.scores, rtol=1e-6)


def test_generate_rejects_bad_beam_width():
    with pytest.raises(ValueError, match="beam_width must be >= 1; received 0"):
        decoding.generate(None, None, None, beam_width=0)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX only")
def test_beam_search_compiles_under_jax_jit():
    # What `fit`/`predict` do on JAX: the loop becomes one lax.while_loop.
    import jax

    step_fn = table_step(TABLE)

    @jax.jit
    def search(state):
        out = decoding.beam_search(
            step_fn,
            state,
            {},
            batch_size=2,
            start_token_id=START,
            end_token_id=END,
            max_length=3,
            source_length=3,
            beam_width=2,
            suppressed_token_ids=(PAD, START),
        )
        return out.token_ids, out.scores

    tokens, scores = search(np.zeros((2,), "int32"))
    eager = run(step_fn, 2, 3, batch_size=2)
    np.testing.assert_array_equal(tokens, eager.token_ids)
    np.testing.assert_allclose(scores, eager.scores, rtol=1e-6)
