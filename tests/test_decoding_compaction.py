"""Beam search that drops finished sentences as it goes (`compaction`)
gives every sentence what the search over the whole batch gives it."""

import keras
import numpy as np
import pytest
from keras import ops

from s2s_zoo import decoding

PAD, START, END = 0, 1, 2
VOCABULARY, DIM, SOURCE = 7, 4, 5


@pytest.fixture(autouse=True)
def every_phase(monkeypatch):
    # Phases down to one sentence, so a batch of 11 goes through four.
    monkeypatch.setattr(decoding, "COMPACTION_FLOOR", 1)


def recurrent_step(seed=0, attention=True, rows_seen=None):
    """A small recurrent step whose sentences differ (by their `memory`)
    and end at different steps: the end token's logit grows with the
    step count at each sentence's own rate. Only row-wise products, so
    a sentence's numbers do not depend on the rows beside it."""
    rng = np.random.default_rng(seed)
    embed = ops.convert_to_tensor(rng.normal(size=(VOCABULARY, DIM)), "float32")
    out = ops.convert_to_tensor(rng.normal(size=(DIM, VOCABULARY)), "float32")
    is_end = ops.convert_to_tensor(np.eye(VOCABULARY)[END], "float32")

    def step_fn(tokens, state, memory):
        if rows_seen is not None:
            rows_seen.add(int(ops.shape(tokens)[0]))
        hidden, count = state
        hidden = ops.tanh(
            0.8 * hidden + ops.take(embed, tokens, axis=0) + memory["bias"]
        )
        logits = 2.0 * ops.sum(hidden[:, :, None] * out[None], axis=1)
        logits = logits + (memory["rate"] * count - 3.0) * is_end
        scores = ops.sum(memory["keys"] * hidden[:, None, :], axis=-1)
        if not attention:  # as the models without attention
            return logits, (hidden, count + 1.0), ops.zeros_like(scores[:, :0])
        return logits, (hidden, count + 1.0), ops.softmax(scores, axis=-1)

    return step_fn


def search(
    batch_size, compaction, seed=1, attention=True, rows_seen=None, **options
):
    rng = np.random.default_rng(seed)
    memory = {
        "bias": rng.normal(size=(batch_size, DIM)),
        "rate": rng.uniform(0.1, 1.5, size=(batch_size, 1)),
        "keys": rng.normal(size=(batch_size, SOURCE, DIM)),
    }
    memory = {
        name: ops.convert_to_tensor(value, "float32")
        for name, value in memory.items()
    }
    state = (ops.zeros((batch_size, DIM)), ops.zeros((batch_size, 1)))
    mask = (
        np.arange(SOURCE)[None, :]
        < rng.integers(1, SOURCE + 1, batch_size)[:, None]
    )
    return decoding.beam_search(
        recurrent_step(attention=attention, rows_seen=rows_seen),
        state,
        memory,
        batch_size=batch_size,
        start_token_id=START,
        end_token_id=END,
        max_length=16,
        source_length=SOURCE if attention else 0,
        beam_width=3,
        length_penalty=0.6,
        suppressed_token_ids=(PAD, START),
        source_mask=ops.convert_to_tensor(mask),
        compaction=compaction,
        **options,
    )


ALL_OPTIONS = dict(
    coverage_penalty=0.2,
    no_repeat_ngram_size=2,
    min_length_ratio=0.5,
    max_length_ratio=2.5,
)


def assert_same(a, b):
    np.testing.assert_array_equal(a.token_ids, b.token_ids)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(a.attention, b.attention, atol=1e-6)


def finishing_steps(out):
    return np.asarray(out.lengths).max(axis=1)


def test_sentences_end_at_different_steps():
    # Otherwise no phase would ever leave a sentence behind.
    steps = finishing_steps(search(11, compaction=0))
    assert steps.min() <= 4 and steps.max() >= 10, steps


@pytest.mark.parametrize("compaction", [1, 2, 3, 5])
@pytest.mark.parametrize("options", [{}, ALL_OPTIONS], ids=["plain", "all"])
def test_compaction_changes_no_result(compaction, options):
    whole = search(11, compaction=0, **options)
    assert_same(search(11, compaction=compaction, **options), whole)


def test_phases_shrink_the_batch_down_to_the_floor(monkeypatch):
    # Rows the step computed on (beam 3): 11 sentences, then 3/8 of the
    # phase before, rounded up: 5, 2, 1.
    seen = set()
    search(11, compaction=3, rows_seen=seen)
    assert seen == {33, 15, 6, 3}
    monkeypatch.setattr(decoding, "COMPACTION_FLOOR", 8)
    seen = set()
    search(11, compaction=3, rows_seen=seen)
    assert seen == {33}  # 5 sentences would be under the floor
    seen = set()
    search(22, compaction=3, rows_seen=seen)
    assert seen == {66, 27}


def test_a_model_without_attention():
    whole = search(11, compaction=0, attention=False)
    assert np.asarray(whole.attention).shape == (11, 3, 16, 0)
    assert_same(search(11, compaction=3, attention=False), whole)


def test_rows_that_pad_the_batch_and_stop_lengths():
    active = np.arange(8) < 5
    stop_lengths = np.asarray([3, 16, 6, 9, 16, 16, 16, 16], "int32")
    options = dict(active=active, stop_lengths=stop_lengths)
    whole = search(8, compaction=0, **options)
    assert_same(search(8, compaction=3, **options), whole)
    np.testing.assert_array_equal(np.asarray(whole.lengths)[5:], 0)
    assert finishing_steps(whole)[0] <= 3


def test_generate_passes_compaction_to_beam_search_only():
    kwargs = dict(
        batch_size=2,
        start_token_id=START,
        end_token_id=END,
        max_length=5,
        source_length=SOURCE,
        suppressed_token_ids=(PAD, START),
        compaction=-1,
    )
    state = (ops.zeros((2, DIM)), ops.zeros((2, 1)))
    memory = {
        "bias": ops.zeros((2, DIM)),
        "rate": ops.ones((2, 1)),
        "keys": ops.zeros((2, SOURCE, DIM)),
    }
    greedy = decoding.generate(recurrent_step(), state, memory, **kwargs)
    assert greedy.token_ids.shape == (2, 1, 5)
    with pytest.raises(ValueError, match="compaction must be >= 0"):
        decoding.generate(
            recurrent_step(), state, memory, beam_width=2, **kwargs
        )


def test_one_sentence_and_bad_compaction():
    assert_same(search(1, compaction=3), search(1, compaction=0))
    with pytest.raises(ValueError, match="compaction must be >= 0"):
        search(2, compaction=-1)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="a graph whose batch size is only known when it runs",
)
def test_compaction_in_a_graph_of_unknown_batch_size():
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def traced(batch_size):
        del batch_size  # the shapes below come from the fixed seed's data
        out = search(11, compaction=3, **ALL_OPTIONS)
        return tuple(out)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, DIM], tf.float32),
            tf.TensorSpec([None, 1], tf.float32),
            tf.TensorSpec([None, SOURCE, DIM], tf.float32),
            tf.TensorSpec([None, SOURCE], tf.bool),
        ]
    )
    def dynamic(bias, rate, keys, mask):
        batch_size = tf.shape(bias)[0]
        state = (tf.zeros([batch_size, DIM]), tf.zeros([batch_size, 1]))
        return tuple(
            decoding.beam_search(
                recurrent_step(),
                state,
                {"bias": bias, "rate": rate, "keys": keys},
                batch_size=batch_size,
                start_token_id=START,
                end_token_id=END,
                max_length=16,
                source_length=SOURCE,
                beam_width=3,
                length_penalty=0.6,
                suppressed_token_ids=(PAD, START),
                source_mask=mask,
                compaction=3,
                **ALL_OPTIONS,
            )
        )

    whole = search(11, compaction=0, **ALL_OPTIONS)
    rng = np.random.default_rng(1)
    bias = rng.normal(size=(11, DIM)).astype("float32")
    rate = rng.uniform(0.1, 1.5, size=(11, 1)).astype("float32")
    keys = rng.normal(size=(11, SOURCE, DIM)).astype("float32")
    mask = np.arange(SOURCE)[None, :] < rng.integers(1, SOURCE + 1, 11)[:, None]
    assert_same(
        decoding.GenerationOutput(*dynamic(bias, rate, keys, mask)), whole
    )
    assert_same(decoding.GenerationOutput(*traced(tf.constant(11))), whole)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX only")
def test_compaction_compiles_under_jax_jit():
    import jax

    compiled = jax.jit(lambda: tuple(search(11, compaction=3, **ALL_OPTIONS)))
    whole = search(11, compaction=0, **ALL_OPTIONS)
    assert_same(decoding.GenerationOutput(*compiled()), whole)
