"""Greedy and beam search over a step function; no model knowledge here.

A model exposes `encode(source_ids) -> (state, memory)` and
`decode_step(token_ids, state, memory) -> (logits, state, attention)`. The
source is encoded once; each step costs O(1) decoder work (the decoder is
never re-run over the prefix). `state` is any nest of tensors with the batch
on axis 0 and is reordered with the beams; `memory` (encoder outputs,
precomputed keys, source mask) is the same for every beam of a sentence, so
it is repeated once per beam and never reordered.

Everything is written with `keras.ops`, loops included, so both functions
trace inside a `tf.function` and a SavedModel can carry them.

Why not `keras_hub.samplers.BeamSampler`: its loop keeps extending a beam
after the end token and keeps adding that continuation's log-probability to
the beam's score, it has no length penalty, it can only stop when every
beam of every sentence holds an end token, and it has no slot for per-step
outputs such as attention weights (see NOTES.md). Each of those is needed
for translation, and the loop below is the smallest one that has them; its
structure (flattened beams, `top_k` over beam x vocabulary, gathering the
state by beam index) follows `BeamSampler`.
"""

import typing

import keras
from keras import ops


class GenerationOutput(typing.NamedTuple):
    """What `greedy_search` and `beam_search` return; beams best first.

    Attributes:
        token_ids: int32 `(batch_size, beams, max_length)`; the end token is
            included, and every position after it holds the padding id.
        scores: float `(batch_size, beams)`, the sum of token log
            probabilities up to and including the end token, divided by the
            length penalty (1 when `length_penalty=0`).
        lengths: int32 `(batch_size, beams)`, tokens generated including the
            end token (`max_length` for a beam that never ended).
        attention: float `(batch_size, beams, max_length, source_length)`,
            the attention weights of every step (zeros after the end, and
            `source_length` 0 for models without attention).
    """

    token_ids: typing.Any
    scores: typing.Any
    lengths: typing.Any
    attention: typing.Any


def length_penalty_factor(lengths, alpha):
    """GNMT length penalty `((5 + |Y|) / 6) ** alpha` (Wu et al. 2016, Eq. 14).

    A hypothesis's score is its log probability divided by this factor;
    `alpha=0` turns the penalty off.
    """
    lengths = ops.cast(lengths, "float32")
    return ops.power((5.0 + lengths) / 6.0, alpha)


def _write(buffer, index, values):
    """Writes `values` into `buffer[:, index]` (index may be a tensor)."""
    positions = ops.arange(ops.shape(buffer)[1], dtype="int32")
    hit = ops.equal(positions, index)  # (max_length,)
    shape = [1, -1] + [1] * (len(buffer.shape) - 2)
    hit = ops.reshape(hit, shape)
    return ops.where(hit, ops.expand_dims(values, 1), buffer)


def _log_probs(logits, suppressed_token_ids):
    """Log softmax over the vocabulary without the suppressed ids."""
    logits = ops.cast(logits, "float32")
    if suppressed_token_ids:
        vocabulary = ops.arange(ops.shape(logits)[-1])
        suppressed = ops.zeros_like(vocabulary, dtype="bool")
        for token_id in suppressed_token_ids:
            suppressed = ops.logical_or(suppressed, vocabulary == token_id)
        logits = ops.where(suppressed, -1e9, logits)
    return ops.log_softmax(logits, axis=-1)


def beam_search(
    step_fn,
    state,
    memory,
    *,
    batch_size,
    start_token_id,
    end_token_id,
    max_length,
    source_length=0,
    beam_width=4,
    length_penalty=0.0,
    padding_id=0,
    suppressed_token_ids=(),
):
    """Beam search; with `beam_width=1` it is exactly greedy search.

    At each step every live beam proposes every token, a finished beam
    proposes only itself (one padding token at log probability 0, so it
    stops growing and its score is frozen), and the `beam_width` candidates
    with the best length-penalised score survive. The loop stops when every
    beam of every sentence has ended, or after `max_length` steps.

    Args:
        step_fn: `(token_ids (N,), state, memory) -> (logits (N, V), state,
            attention (N, source_length))` for `N = batch_size * beam_width`.
        state: Nest of tensors `(batch_size, ...)`, the decoder state after
            encoding.
        memory: Nest of tensors `(batch_size, ...)` that every step reads and
            none changes.
        batch_size: Number of sentences (int or scalar tensor).
        start_token_id (int): First decoder input.
        end_token_id (int): Ends a hypothesis.
        max_length (int): Most tokens to generate, end token included.
        source_length: Width of the attention weights `step_fn` returns.
        beam_width (int): Number of beams. Default 4.
        length_penalty (float): GNMT `alpha`; 0 turns it off. Default 0.
        padding_id (int): Written after the end token. Default 0.
        suppressed_token_ids (tuple): Ids never generated (the models pass
            padding and start); the softmax is renormalised without them.

    Returns:
        A `GenerationOutput`, beams sorted best first.
    """
    k = beam_width
    n = batch_size * k

    def repeat(x):
        return ops.repeat(x, k, axis=0)

    state = keras.tree.map_structure(repeat, state)
    memory = keras.tree.map_structure(repeat, memory)

    # Only beam 0 is alive at the start, so the first step expands it into
    # `k` distinct hypotheses instead of `k` copies of the same one.
    log_probs = ops.tile(
        ops.convert_to_tensor([[0.0] + [-1e9] * (k - 1)]), [batch_size, 1]
    )
    finished = ops.zeros((batch_size, k), dtype="bool")
    lengths = ops.zeros((batch_size, k), dtype="int32")
    tokens = ops.full((n,), start_token_id, dtype="int32")
    token_buffer = ops.full((n, max_length), padding_id, dtype="int32")
    attention_buffer = ops.zeros((n, max_length, source_length))

    def gather_beams(x, beam_index):
        # x: (n, ...) -> per sentence, take rows `beam_index` (batch, k).
        # Explicit sizes, not -1: a (n, max_length, 0) attention buffer (a
        # model without attention) leaves -1 undefined, which JAX refuses.
        x = ops.reshape(x, (batch_size, k) + tuple(ops.shape(x)[1:]))
        index = beam_index
        for _ in range(len(x.shape) - 2):
            index = ops.expand_dims(index, -1)
        x = ops.take_along_axis(x, index, axis=1)
        return ops.reshape(x, (n,) + tuple(ops.shape(x)[2:]))

    def cond(step, tokens, state, log_probs, finished, lengths, *buffers):
        return ops.logical_not(ops.all(finished))

    def body(step, tokens, state, log_probs, finished, lengths, *buffers):
        token_buffer, attention_buffer = buffers
        logits, new_state, attention = step_fn(tokens, state, memory)
        vocabulary_size = ops.shape(logits)[-1]
        token_log_probs = _log_probs(logits, suppressed_token_ids)
        token_log_probs = ops.reshape(
            token_log_probs, (batch_size, k, vocabulary_size)
        )
        # A finished beam may only append padding, at no cost.
        only_padding = ops.where(
            ops.equal(ops.arange(vocabulary_size), padding_id), 0.0, -1e9
        )
        token_log_probs = ops.where(
            finished[..., None], only_padding, token_log_probs
        )
        candidate_log_probs = log_probs[..., None] + token_log_probs
        candidate_lengths = ops.where(finished, lengths, step + 1)
        penalty = length_penalty_factor(candidate_lengths, length_penalty)
        candidate_scores = candidate_log_probs / penalty[..., None]

        flat = (batch_size, k * vocabulary_size)
        _, index = ops.top_k(ops.reshape(candidate_scores, flat), k=k)
        beam_index = index // vocabulary_size
        next_tokens = ops.cast(index % vocabulary_size, "int32")

        log_probs = ops.take_along_axis(
            ops.reshape(candidate_log_probs, flat), index, axis=1
        )
        lengths = ops.take_along_axis(candidate_lengths, beam_index, axis=1)
        was_finished = ops.take_along_axis(finished, beam_index, axis=1)
        finished = ops.logical_or(
            was_finished, ops.equal(next_tokens, end_token_id)
        )

        def reorder(x):
            return gather_beams(x, beam_index)

        new_state = keras.tree.map_structure(reorder, new_state)
        attention = reorder(ops.cast(attention, attention_buffer.dtype))
        attention = ops.where(ops.reshape(was_finished, (n, 1)), 0.0, attention)
        next_tokens = ops.reshape(next_tokens, (n,))
        token_buffer = _write(reorder(token_buffer), step, next_tokens)
        attention_buffer = _write(reorder(attention_buffer), step, attention)
        return (
            step + 1,
            next_tokens,
            new_state,
            log_probs,
            finished,
            lengths,
            token_buffer,
            attention_buffer,
        )

    loop_vars = (
        ops.convert_to_tensor(0, dtype="int32"),
        tokens,
        state,
        log_probs,
        finished,
        lengths,
        token_buffer,
        attention_buffer,
    )
    outputs = ops.while_loop(
        cond, body, loop_vars, maximum_iterations=max_length
    )
    _, _, _, log_probs, finished, lengths, token_buffer, attention_buffer = (
        outputs
    )
    # Beams that never ended used every step.
    lengths = ops.where(finished, lengths, max_length)
    scores = log_probs / length_penalty_factor(lengths, length_penalty)

    order = ops.argsort(-scores, axis=1)
    scores = ops.take_along_axis(scores, order, axis=1)
    lengths = ops.take_along_axis(lengths, order, axis=1)
    token_ids = ops.reshape(token_buffer, (batch_size, k, max_length))
    token_ids = ops.take_along_axis(token_ids, order[..., None], axis=1)
    attention = ops.reshape(
        attention_buffer, (batch_size, k, max_length, source_length)
    )
    attention = ops.take_along_axis(attention, order[..., None, None], axis=1)
    return GenerationOutput(token_ids, scores, lengths, attention)


def greedy_search(
    step_fn,
    state,
    memory,
    *,
    batch_size,
    start_token_id,
    end_token_id,
    max_length,
    source_length=0,
    length_penalty=0.0,
    padding_id=0,
    suppressed_token_ids=(),
):
    """Greedy search: the most probable token at every step.

    Takes the arguments of `beam_search` (no `beam_width`) and returns a
    `GenerationOutput` with one beam. It is written separately from
    `beam_search` so that the two can check each other: beam search with
    one beam must give the same tokens and scores.
    """
    finished = ops.zeros((batch_size,), dtype="bool")
    log_prob = ops.zeros((batch_size,))
    lengths = ops.zeros((batch_size,), dtype="int32")
    tokens = ops.full((batch_size,), start_token_id, dtype="int32")
    token_buffer = ops.full((batch_size, max_length), padding_id, "int32")
    attention_buffer = ops.zeros((batch_size, max_length, source_length))

    def cond(step, tokens, state, log_prob, finished, lengths, *buffers):
        return ops.logical_not(ops.all(finished))

    def body(step, tokens, state, log_prob, finished, lengths, *buffers):
        token_buffer, attention_buffer = buffers
        logits, state, attention = step_fn(tokens, state, memory)
        token_log_probs = _log_probs(logits, suppressed_token_ids)
        best = ops.cast(ops.argmax(token_log_probs, axis=-1), "int32")
        best_log_prob = ops.take_along_axis(
            token_log_probs, best[:, None], axis=1
        )[:, 0]
        tokens = ops.where(finished, padding_id, best)
        log_prob = log_prob + ops.where(finished, 0.0, best_log_prob)
        lengths = ops.where(finished, lengths, step + 1)
        attention = ops.where(
            finished[:, None], 0.0, ops.cast(attention, "float32")
        )
        token_buffer = _write(token_buffer, step, tokens)
        attention_buffer = _write(attention_buffer, step, attention)
        finished = ops.logical_or(finished, ops.equal(tokens, end_token_id))
        return (
            step + 1,
            tokens,
            state,
            log_prob,
            finished,
            lengths,
            token_buffer,
            attention_buffer,
        )

    loop_vars = (
        ops.convert_to_tensor(0, dtype="int32"),
        tokens,
        state,
        log_prob,
        finished,
        lengths,
        token_buffer,
        attention_buffer,
    )
    outputs = ops.while_loop(
        cond, body, loop_vars, maximum_iterations=max_length
    )
    _, _, _, log_prob, finished, lengths, token_buffer, attention_buffer = (
        outputs
    )
    lengths = ops.where(finished, lengths, max_length)
    scores = log_prob / length_penalty_factor(lengths, length_penalty)
    return GenerationOutput(
        token_ids=token_buffer[:, None],
        scores=scores[:, None],
        lengths=lengths[:, None],
        attention=attention_buffer[:, None],
    )


def generate(
    step_fn,
    state,
    memory,
    *,
    beam_width=1,
    **kwargs,
):
    """Greedy search for `beam_width=1`, beam search otherwise."""
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1; received {beam_width}.")
    if beam_width == 1:
        return greedy_search(step_fn, state, memory, **kwargs)
    return beam_search(step_fn, state, memory, beam_width=beam_width, **kwargs)
