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

Options beyond plain search, each off by default (so the default output
is unchanged): the GNMT coverage penalty, n-gram blocking, a minimum and a
maximum length relative to each source sentence, and (greedy only) top-k /
top-p sampling with a seed. Each is applied to the step's log
probabilities or scores inside the loop, so a SavedModel carries it.

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
            length penalty (1 when `length_penalty=0`), plus the coverage
            penalty (0 when `coverage_penalty=0`).
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


#: Log probability given to a token that a constraint forbids. Finite, so
#: a beam with nothing allowed still has a defined (hopeless) score.
BLOCKED = -1e9


def coverage_penalty_term(coverage, source_mask, beta):
    """GNMT coverage penalty (Wu et al. 2016, Eq. 14), added to the score:

        cp(X; Y) = beta * sum_i log(min(sum_j p_ij, 1.0))

    where `p_ij` is the attention on source word `i` at target step `j`.
    It is 0 for a source word attended to in total at least once and
    negative otherwise, so it favours hypotheses that cover the source.

    Args:
        coverage: float `(..., source_length)`, `sum_j p_ij` so far.
        source_mask: bool, broadcastable to `coverage`; padding is skipped.
        beta (float): Weight; 0 turns the penalty off.

    A word never attended to (`sum_j p_ij = 0`, possible when weights
    underflow) would give `log 0 = -inf`; the sum is clipped below at
    1e-9, so such a word costs `beta * log(1e-9)`, about `-20.7 * beta`.
    """
    covered = ops.clip(ops.cast(coverage, "float32"), 1e-9, 1.0)
    mask = ops.cast(source_mask, "float32")
    return beta * ops.sum(ops.log(covered) * mask, axis=-1)


def length_limits(source_mask, min_length_ratio=None, max_length_ratio=None):
    """Per-sentence bounds on the tokens before the end token.

    `min = floor(min_length_ratio * |X|)` and `max = max(1,
    ceil(max_length_ratio * |X|))`, `|X|` the sentence's source tokens
    (padding excluded). Returns `(min_lengths, max_lengths)`, int32
    `(batch_size,)` each, or None for a ratio that is None.
    """
    source_lengths = ops.sum(ops.cast(source_mask, "float32"), axis=1)
    min_lengths = max_lengths = None
    # The 1e-4 keeps 1.2 * 5 (6.000000000000001 in floats) at 6.
    if min_length_ratio is not None:
        min_lengths = ops.floor(min_length_ratio * source_lengths + 1e-4)
        min_lengths = ops.cast(min_lengths, "int32")
    if max_length_ratio is not None:
        max_lengths = ops.ceil(max_length_ratio * source_lengths - 1e-4)
        max_lengths = ops.maximum(ops.cast(max_lengths, "int32"), 1)
    return min_lengths, max_lengths


def repeated_ngram_tokens(token_buffer, step, ngram_size, vocabulary_size):
    """Which next tokens would repeat an n-gram of the hypothesis.

    Args:
        token_buffer: int `(N, max_length)`, tokens generated so far in
            positions `0 .. step - 1`.
        step: The position about to be written (int or scalar tensor).
        ngram_size (int): `n`; with `n = 1` no token may appear twice.
        vocabulary_size (int): `V`.

    Returns:
        bool `(N, V)`: True for token `w` where the last `n - 1` tokens
        followed by `w` already occur in the hypothesis.
    """
    rows, length = ops.shape(token_buffer)[0], ops.shape(token_buffer)[1]
    positions = ops.arange(length, dtype="int32")

    def at(index):
        index = ops.clip(ops.convert_to_tensor(index, "int32"), 0, length - 1)
        return ops.take(token_buffer, index, axis=1)

    # An earlier n-gram starting at i is complete when i + n - 1 < step,
    # and it matches when its first n - 1 tokens equal the current suffix.
    match = ops.less(positions + ngram_size - 1, step)[None, :]
    for offset in range(ngram_size - 1):
        suffix_token = at(step - ngram_size + 1 + offset)  # (N,)
        match = ops.logical_and(
            match, ops.equal(at(positions + offset), suffix_token[:, None])
        )
    following = at(positions + ngram_size - 1)  # (N, max_length)
    match = ops.logical_and(match, ops.ones_like(following, "bool"))
    row_ids = ops.repeat(ops.arange(rows, dtype="int32")[:, None], length, 1)
    indices = ops.reshape(ops.stack([row_ids, following], axis=-1), (-1, 2))
    counts = ops.scatter(
        indices,
        ops.reshape(ops.cast(match, "float32"), (-1,)),
        (rows, vocabulary_size),
    )
    return ops.greater(counts, 0.0)


def _constrain(
    log_probs,
    step,
    token_buffer,
    *,
    end_token_id,
    min_lengths,
    max_lengths,
    no_repeat_ngram_size,
):
    """`log_probs (N, V)` with the tokens the options forbid at `BLOCKED`.

    The allowed tokens keep their log probabilities (no renormalisation;
    fairseq does the same), so a hypothesis's score stays a sum of the
    model's own log probabilities. `min_lengths` / `max_lengths` are
    `(N,)` or None.
    """
    vocabulary_size = ops.shape(log_probs)[-1]
    is_end = ops.equal(ops.arange(vocabulary_size), end_token_id)[None, :]
    blocked = None

    def add(mask):
        return mask if blocked is None else ops.logical_or(blocked, mask)

    if min_lengths is not None:  # too short to end
        blocked = add(
            ops.logical_and(ops.less(step, min_lengths)[:, None], is_end)
        )
    if max_lengths is not None:  # long enough: only the end token
        too_long = ops.greater_equal(step, max_lengths)[:, None]
        blocked = add(ops.logical_and(too_long, ops.logical_not(is_end)))
    if no_repeat_ngram_size:
        blocked = add(
            repeated_ngram_tokens(
                token_buffer, step, no_repeat_ngram_size, vocabulary_size
            )
        )
    if blocked is None:
        return log_probs
    return ops.where(blocked, BLOCKED, log_probs)


def sampling_distribution(log_probs, top_k=0, top_p=1.0, temperature=1.0):
    """Probabilities `(N, V)` to sample the next token from.

    `log_probs` are divided by `temperature`, then only the `top_k` most
    probable tokens (0: all) and, of those, the smallest set whose
    probability reaches `top_p` (nucleus sampling, Holtzman et al. 2020;
    1.0: all) keep their mass; the rest is renormalised.
    """
    logits = ops.cast(log_probs, "float32") / temperature
    vocabulary_size = ops.shape(logits)[-1]
    if top_k and top_k < vocabulary_size:
        kth = ops.top_k(logits, k=top_k)[0][:, -1:]
        logits = ops.where(ops.less(logits, kth), BLOCKED, logits)
    probs = ops.softmax(logits, axis=-1)
    if top_p < 1.0:
        ranked = ops.flip(ops.sort(probs, axis=-1), axis=-1)  # descending
        before = ops.cumsum(ranked, axis=-1) - ranked
        # The most probable token is always kept (its `before` is 0).
        kept = ops.less(before, top_p)
        threshold = ops.min(ops.where(kept, ranked, 2.0), axis=-1)
        probs = ops.where(ops.less(probs, threshold[:, None]), 0.0, probs)
        probs = probs / ops.sum(probs, axis=-1, keepdims=True)
    return probs


def _draw(probs, uniform):
    """Inverse-CDF draw: for `u` in [0, 1), the first token whose cumulative
    probability exceeds `u` (so a token of probability 0 is never drawn).
    `probs (N, V)`, `uniform (N,)`."""
    cdf = ops.cumsum(probs, axis=-1)
    below = ops.less_equal(cdf, uniform[:, None] * cdf[:, -1:])
    index = ops.sum(ops.cast(below, "int32"), axis=-1)
    return ops.minimum(index, ops.shape(probs)[-1] - 1)


def _write(buffer, index, values):
    """Writes `values` into `buffer[:, index]` (index may be a tensor)."""
    positions = ops.arange(ops.shape(buffer)[1], dtype="int32")
    hit = ops.equal(positions, index)  # (max_length,)
    shape = [1, -1] + [1] * (len(buffer.shape) - 2)
    hit = ops.reshape(hit, shape)
    return ops.where(hit, ops.expand_dims(values, 1), buffer)


def _trace_back(steps, parents):
    """`(n, max_length, ...)`: row `j` holds, at every step, what the
    ancestor of final beam `j` wrote then; `steps` and `parents` are
    step-major, `parents[t, j]` the row new beam `j` of step `t` came from.
    """
    length = ops.shape(steps)[0]
    rows = ops.arange(ops.shape(steps)[1], dtype="int32")

    def body(i, rows, traced):
        t = length - 1 - i
        step = ops.take(ops.take(steps, t, axis=0), rows, axis=0)
        traced = ops.slice_update(
            traced, (t,) + (0,) * (len(steps.shape) - 1), step[None]
        )
        return (
            i + 1,
            ops.take(ops.take(parents, t, axis=0), rows, axis=0),
            traced,
        )

    _, _, traced = ops.while_loop(
        lambda i, rows, traced: i < length,
        body,
        (ops.convert_to_tensor(0, "int32"), rows, ops.zeros_like(steps)),
    )
    return ops.swapaxes(traced, 0, 1)


def _stopped(stop_lengths, step):
    """bool `(batch_size, 1)`: the sentences whose hypotheses reach their
    `stop_lengths` with the token of `step`."""
    stop_lengths = ops.convert_to_tensor(stop_lengths, "int32")
    return ops.greater_equal(step + 1, stop_lengths)[:, None]


def _dead(active, batch_size):
    """The search's initial `finished` per sentence: True where `active`
    is False (rows that only pad a batch), False everywhere without it."""
    if active is None:
        return ops.zeros((batch_size,), dtype="bool")
    return ops.logical_not(ops.convert_to_tensor(active, "bool"))


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
    source_mask=None,
    coverage_penalty=0.0,
    no_repeat_ngram_size=0,
    min_length_ratio=None,
    max_length_ratio=None,
    active=None,
    stop_lengths=None,
    compaction=None,
):
    """Beam search; with `beam_width=1` it is exactly greedy search.

    At each step every live beam proposes every token, a finished beam
    proposes only itself (one padding token at log probability 0, so it
    stops growing and its score is frozen), and the `beam_width` candidates
    with the best length-penalised score survive. The loop stops when every
    beam of every sentence has ended, or after `max_length` steps.

    A batch's sentences end at different steps (in length-sorted batches
    of 64 test sentences, the average sentence was done after about half
    of its batch's steps), so the search drops finished sentences as it
    goes (`compaction`): it runs in phases, each on at most 3/8 of the
    sentences of the one before (`_next_phase`), and a phase ends when no
    more than that many are still searching; they carry over, the
    finished ones keep their final results. Every sentence goes through
    the same steps as without it (only the rows beside it change), so the
    results are the same up to the rounding of matrix products over fewer
    rows.

    Args:
        step_fn: `(token_ids (N,), state, memory) -> (logits (N, V), state,
            attention (N, source_length))` for `N = batch_size * beam_width`
            (`N` shrinks from phase to phase).
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
        source_mask: bool `(batch_size, source_length)`, False on padding;
            needed by the coverage penalty and the length ratios.
        coverage_penalty (float): GNMT `beta` (`coverage_penalty_term`),
            added to every candidate's score; 0 (default) turns it off.
        no_repeat_ngram_size (int): No n-gram of this size occurs twice
            in a hypothesis; 0 (default) turns it off.
        min_length_ratio, max_length_ratio (float): Bounds on the tokens
            before the end token, relative to each sentence's source
            length (`length_limits`); None (default) for no bound.
        active: bool `(batch_size,)`, False for rows that only fill a
            batch to a compiled size: they start finished, so they write
            padding and never keep the loop going. None: every row.
        stop_lengths: int `(batch_size,)`: a sentence's hypotheses stop
            growing after this many tokens, as every hypothesis does after
            `max_length` (so a sentence's own limit, not its batch's
            longest source, decides where an endless hypothesis is cut).
            None: `max_length` for all.
        compaction (int): How many times the search may shrink its batch
            as sentences finish (phases after the first); where the batch
            size is known when the search is traced, never below
            `COMPACTION_FLOOR` sentences. 0 keeps every sentence to the
            end. Default `COMPACTION`.

    Returns:
        A `GenerationOutput`, beams sorted best first.
    """
    k = beam_width
    n = batch_size * k
    _check_options(
        source_length=source_length,
        source_mask=source_mask,
        coverage_penalty=coverage_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size,
        min_length_ratio=min_length_ratio,
        max_length_ratio=max_length_ratio,
    )
    if compaction is None:
        compaction = COMPACTION
    if compaction < 0:
        raise ValueError(f"compaction must be >= 0; received {compaction}.")
    if isinstance(batch_size, int):
        # Each phase is a loop of its own to trace and compile, and a step
        # on a few sentences costs little more than its fixed overhead.
        smaller = batch_size
        for phases in range(compaction + 1):
            smaller = _next_phase(smaller)
            if smaller < COMPACTION_FLOOR:
                break
        compaction = phases

    def repeat(x):
        return ops.repeat(x, k, axis=0)

    # What a phase reads, row by row (`(N, ...)`) and sentence by sentence
    # (`(batch, ...)`); a phase change keeps the rows of the sentences
    # still searching. `origin` is each sentence's place in the batch.
    rows = {
        "state": keras.tree.map_structure(repeat, state),
        "memory": keras.tree.map_structure(repeat, memory),
        "tokens": ops.full((n,), start_token_id, dtype="int32"),
        "token_buffer": ops.full((n, max_length), padding_id, dtype="int32"),
    }
    if source_mask is not None:
        rows["source_mask"] = repeat(source_mask)
        rows["min_lengths"], rows["max_lengths"] = length_limits(
            rows["source_mask"], min_length_ratio, max_length_ratio
        )
    # Attention summed over the steps so far, per beam, for the penalty.
    if coverage_penalty:
        rows["coverage"] = ops.zeros((n, source_length))
    # Only beam 0 is alive at the start, so the first step expands it into
    # `k` distinct hypotheses instead of `k` copies of the same one.
    sentences = {
        "origin": ops.arange(batch_size, dtype="int32"),
        "log_probs": ops.tile(
            ops.convert_to_tensor([[0.0] + [-1e9] * (k - 1)]),
            [batch_size, 1],
        ),
        "finished": ops.tile(
            ops.reshape(_dead(active, batch_size), (batch_size, 1)), [1, k]
        ),
        "lengths": ops.zeros((batch_size, k), dtype="int32"),
    }
    if stop_lengths is not None:
        sentences["stop_lengths"] = ops.convert_to_tensor(stop_lengths, "int32")
    # The attention of every step is written once, step-major, with the
    # row each new beam came from, and the beams' rows are traced back
    # after the loop: reordering a `(n, max_length, source_length)` buffer
    # at every step copied all of it (O(max_length^2) in total). These
    # stay whole-batch, so a row is its sentence's place in the batch.
    history = (
        ops.zeros((max_length, n, source_length)),
        ops.tile(ops.arange(n, dtype="int32")[None, :], [max_length, 1]),
    )
    step = ops.convert_to_tensor(0, dtype="int32")
    size = batch_size
    final = None
    for phase in range(compaction + 1):
        # The sentences the next phase takes; the last phase runs out.
        leave_at = 0 if phase == compaction else _next_phase(size)
        step, rows, sentences, history = _beam_phase(
            step_fn,
            step,
            rows,
            sentences,
            history,
            whole=None if phase == 0 else n,
            leave_at=leave_at,
            beam_width=k,
            max_length=max_length,
            end_token_id=end_token_id,
            length_penalty=length_penalty,
            padding_id=padding_id,
            suppressed_token_ids=suppressed_token_ids,
            coverage_penalty=coverage_penalty,
            no_repeat_ngram_size=no_repeat_ngram_size,
        )
        final = _keep_final(final, rows, sentences, k)
        if phase < compaction:
            rows, sentences = _searching(rows, sentences, leave_at, k)
            size = leave_at

    attention_buffer = _trace_back(*history)
    log_probs, finished, lengths = (
        final[name] for name in ("log_probs", "finished", "lengths")
    )
    # Beams that never ended used every step.
    lengths = ops.where(finished, lengths, max_length)
    scores = log_probs / length_penalty_factor(lengths, length_penalty)
    if coverage_penalty:
        scores = scores + _coverage_scores(
            final["coverage"], repeat(source_mask), coverage_penalty, k
        )

    order = ops.argsort(-scores, axis=1)
    scores = ops.take_along_axis(scores, order, axis=1)
    lengths = ops.take_along_axis(lengths, order, axis=1)
    token_ids = ops.reshape(final["token_buffer"], (batch_size, k, max_length))
    token_ids = ops.take_along_axis(token_ids, order[..., None], axis=1)
    attention = ops.reshape(
        attention_buffer, (batch_size, k, max_length, source_length)
    )
    attention = ops.take_along_axis(attention, order[..., None, None], axis=1)
    return GenerationOutput(token_ids, scores, lengths, attention)


#: `beam_search`'s default `compaction`: a batch of 64 sentences searches
#: on 64, 24 and at last 9 of them. In a probe of the default translator
#: on its test split, as fast as halving three times (64, 32, 16, 8), with
#: one loop less to trace (each phase is a loop of its own in the graph).
COMPACTION = 2

#: The fewest sentences a phase of `beam_search` takes where the batch
#: size is known when it is traced (a step on 8 sentences, beam 5, cost
#: 1.45 ms against 7.7 on 64, in a probe of the default translator).
COMPACTION_FLOOR = 8


def _next_phase(size):
    """The most sentences the phase after one on `size` takes: 3/8 of
    them, rounded up (64, 24, 9)."""
    return (3 * size + 7) // 8


#: What `_keep_final` keeps of a phase's rows and sentences.
_FINAL_ROWS = ("token_buffer", "coverage")
_FINAL_SENTENCES = ("log_probs", "finished", "lengths")


def _coverage_scores(coverage, source_mask, beta, k):
    """`coverage_penalty_term` of `(N, source_length)` beams as `(N / k,
    k)`: what the search adds to each beam's score."""
    return ops.reshape(
        coverage_penalty_term(coverage, source_mask, beta), (-1, k)
    )


def _global_rows(origin, k):
    """The whole batch's rows `(N,)` of the sentences `origin`."""
    return ops.reshape(
        origin[:, None] * k + ops.arange(k, dtype="int32")[None, :], (-1,)
    )


def _keep_final(final, rows, sentences, k):
    """`final` (whole-batch results) with a phase's results written at its
    sentences' places; the first phase's are the whole batch's."""
    if final is None:
        return {
            **{name: rows[name] for name in _FINAL_ROWS if name in rows},
            **{name: sentences[name] for name in _FINAL_SENTENCES},
        }
    at_rows = _global_rows(sentences["origin"], k)[:, None]
    at_sentences = sentences["origin"][:, None]
    out = dict(final)
    for name in _FINAL_ROWS:
        if name in rows:
            out[name] = ops.scatter_update(final[name], at_rows, rows[name])
    for name in _FINAL_SENTENCES:
        out[name] = ops.scatter_update(
            final[name], at_sentences, sentences[name]
        )
    return out


def _searching(rows, sentences, size, k):
    """The rows and sentences of the `size` sentences a next phase takes:
    every one still searching (a phase ends only when at most `size`
    are), then finished ones to fill it, each group in batch order."""
    count = ops.shape(sentences["finished"])[0]
    searching = ops.logical_not(ops.all(sentences["finished"], axis=1))
    rank = ops.where(searching, 0, count) + ops.arange(count, dtype="int32")
    keep = ops.argsort(rank)[:size]
    keep_rows = _global_rows(keep, k)

    def take(index):
        return lambda x: None if x is None else ops.take(x, index, axis=0)

    return (
        keras.tree.map_structure(take(keep_rows), rows),
        keras.tree.map_structure(take(keep), sentences),
    )


def _beam_phase(
    step_fn,
    step,
    rows,
    sentences,
    history,
    *,
    whole,
    leave_at,
    beam_width,
    max_length,
    end_token_id,
    length_penalty,
    padding_id,
    suppressed_token_ids,
    coverage_penalty,
    no_repeat_ngram_size,
):
    """Steps of `beam_search` on the rows and sentences of one phase,
    until no more than `leave_at` sentences are still searching (0: until
    none is) or `max_length` steps. `whole` is the whole batch's rows
    (None in the first phase, whose rows are the whole batch): the
    `history` of attention and parents is written at those rows.

    Returns the new `(step, rows, sentences, history)`.
    """
    k = beam_width
    memory = rows["memory"]
    origin = sentences["origin"]
    size = ops.shape(origin)[0]
    n = size * k
    source_mask = rows.get("source_mask")
    stop_lengths = sentences.get("stop_lengths")
    constraints = dict(
        end_token_id=end_token_id,
        min_lengths=rows.get("min_lengths"),
        max_lengths=rows.get("max_lengths"),
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
    # Row `i * k + b` of an `(n, ...)` tensor is beam `b` of sentence `i`.
    sentence_rows = ops.arange(size, dtype="int32")[:, None] * k
    at_rows = None if whole is None else _global_rows(origin, k)

    def cond(step, tokens, state, log_probs, finished, lengths, *buffers):
        searching = ops.logical_not(ops.all(finished, axis=1))
        return ops.logical_and(
            ops.less(step, max_length),
            ops.greater(ops.sum(ops.cast(searching, "int32")), leave_at),
        )

    def body(step, tokens, state, log_probs, finished, lengths, *buffers):
        token_buffer, attention_steps, parent_steps = buffers[:3]
        logits, new_state, attention = step_fn(tokens, state, memory)
        vocabulary_size = ops.shape(logits)[-1]
        token_log_probs = _log_probs(logits, suppressed_token_ids)
        token_log_probs = _constrain(
            token_log_probs, step, token_buffer, **constraints
        )
        token_log_probs = ops.reshape(
            token_log_probs, (size, k, vocabulary_size)
        )
        # Every candidate of a beam shares the beam's score so far, length
        # penalty and coverage, so a sentence's k best candidates are among
        # each beam's k most probable tokens: take those first, and choose
        # among k * k candidates instead of k * V (the same choice, ties
        # included: both prefer the lower beam, then the lower token id).
        per_beam = min(k, logits.shape[-1] or k)
        top_log_probs, top_tokens = ops.top_k(token_log_probs, k=per_beam)
        # A finished beam may only append padding, at no cost.
        only_padding = ops.where(ops.arange(per_beam) == 0, 0.0, -1e9)
        top_log_probs = ops.where(
            finished[..., None], only_padding, top_log_probs
        )
        candidate_log_probs = log_probs[..., None] + top_log_probs
        candidate_lengths = ops.where(finished, lengths, step + 1)
        penalty = length_penalty_factor(candidate_lengths, length_penalty)
        candidate_scores = candidate_log_probs / penalty[..., None]
        if coverage_penalty:
            # Every candidate of a beam read the same attention this step;
            # a finished beam reads nothing more.
            live = ops.logical_not(ops.reshape(finished, (n, 1)))
            step_attention = ops.where(
                live, ops.cast(attention, "float32"), 0.0
            )
            coverage = buffers[3] + step_attention
            candidate_scores = (
                candidate_scores
                + _coverage_scores(coverage, source_mask, coverage_penalty, k)[
                    ..., None
                ]
            )

        flat = (size, k * per_beam)
        _, index = ops.top_k(ops.reshape(candidate_scores, flat), k=k)
        beam_index = index // per_beam
        next_tokens = ops.take_along_axis(
            ops.reshape(ops.cast(top_tokens, "int32"), flat), index, axis=1
        )

        log_probs = ops.take_along_axis(
            ops.reshape(candidate_log_probs, flat), index, axis=1
        )
        lengths = ops.take_along_axis(candidate_lengths, beam_index, axis=1)
        was_finished = ops.take_along_axis(finished, beam_index, axis=1)
        # A finished beam writes padding, even where it only filled the
        # k best with a hopeless candidate (a sentence with fewer than k
        # live hypotheses, such as a row that only pads the batch).
        next_tokens = ops.where(was_finished, padding_id, next_tokens)
        finished = ops.logical_or(
            was_finished, ops.equal(next_tokens, end_token_id)
        )
        if stop_lengths is not None:
            finished = ops.logical_or(finished, _stopped(stop_lengths, step))

        # The row each new beam continues; a reorder is one gather of
        # whole rows (`take_along_axis` on TensorFlow broadcast the index
        # to the full shape and transposed both, at every step).
        parents = ops.reshape(
            sentence_rows + ops.cast(beam_index, "int32"), (n,)
        )

        def reorder(x):
            return ops.take(x, parents, axis=0)

        new_state = keras.tree.map_structure(reorder, new_state)
        attention = reorder(ops.cast(attention, attention_steps.dtype))
        attention = ops.where(ops.reshape(was_finished, (n, 1)), 0.0, attention)
        next_tokens = ops.reshape(next_tokens, (n,))
        token_buffer = _write(reorder(token_buffer), step, next_tokens)
        history_parents = parents
        if at_rows is not None:
            # Rows of the whole batch: the sentences left behind are
            # finished, so they write no attention and continue themselves.
            width = ops.shape(attention)[1]
            attention = (
                # No rows to write for a model without attention (width
                # 0), and TensorFlow refuses a scatter into nothing.
                ops.zeros((whole, 0), attention.dtype)
                if attention.shape[1] == 0
                else ops.scatter_update(
                    ops.zeros((whole, width), attention.dtype),
                    at_rows[:, None],
                    attention,
                )
            )
            history_parents = ops.scatter_update(
                ops.arange(whole, dtype="int32"),
                at_rows[:, None],
                ops.take(at_rows, parents, axis=0),
            )
        attention_steps = ops.slice_update(
            attention_steps, (step, 0, 0), attention[None]
        )
        parent_steps = ops.slice_update(
            parent_steps, (step, 0), history_parents[None]
        )
        buffers = (token_buffer, attention_steps, parent_steps)
        if coverage_penalty:
            buffers += (reorder(coverage),)
        return (
            step + 1,
            next_tokens,
            new_state,
            log_probs,
            finished,
            lengths,
        ) + buffers

    loop_vars = (
        step,
        rows["tokens"],
        rows["state"],
        sentences["log_probs"],
        sentences["finished"],
        sentences["lengths"],
        rows["token_buffer"],
    ) + history
    if coverage_penalty:
        loop_vars += (rows["coverage"],)
    outputs = ops.while_loop(
        cond, body, loop_vars, maximum_iterations=max_length
    )
    step = outputs[0]
    rows = {**rows, "tokens": outputs[1], "state": outputs[2]}
    rows["token_buffer"] = outputs[6]
    if coverage_penalty:
        rows["coverage"] = outputs[9]
    sentences = {
        **sentences,
        "log_probs": outputs[3],
        "finished": outputs[4],
        "lengths": outputs[5],
    }
    return step, rows, sentences, tuple(outputs[7:9])


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
    source_mask=None,
    no_repeat_ngram_size=0,
    min_length_ratio=None,
    max_length_ratio=None,
    sample=False,
    top_k=0,
    top_p=1.0,
    temperature=1.0,
    seed=None,
    active=None,
    stop_lengths=None,
):
    """Greedy search: the most probable token at every step; or sampling.

    Takes the arguments of `beam_search` (no `beam_width`, no
    `coverage_penalty`, which cannot change a single hypothesis) and
    returns a `GenerationOutput` with one beam. It is written separately
    from `beam_search` so that the two can check each other: beam search
    with one beam must give the same tokens and scores.

    With `sample=True` each token is drawn from `sampling_distribution`
    (`temperature`, `top_k`, `top_p`) instead of taken as the most
    probable; `seed` (int) fixes the draws: the same seed, inputs and
    batch give the same output, on every call and in a SavedModel. The
    score stays the model's own log probability of the drawn tokens
    (before temperature and truncation).
    """
    _check_options(
        source_length=source_length,
        source_mask=source_mask,
        no_repeat_ngram_size=no_repeat_ngram_size,
        min_length_ratio=min_length_ratio,
        max_length_ratio=max_length_ratio,
        sample=sample,
        top_k=top_k,
        top_p=top_p,
        temperature=temperature,
    )
    min_lengths, max_lengths = None, None
    if source_mask is not None:
        min_lengths, max_lengths = length_limits(
            source_mask, min_length_ratio, max_length_ratio
        )
    constraints = dict(
        end_token_id=end_token_id,
        min_lengths=min_lengths,
        max_lengths=max_lengths,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
    if sample:
        # One uniform per step and sentence, drawn before the loop from
        # the integer seed (a stateless draw on every backend), so the
        # loop itself holds no random state.
        uniforms = keras.random.uniform((max_length, batch_size), seed=seed)
    finished = _dead(active, batch_size)
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
        token_log_probs = _constrain(
            token_log_probs, step, token_buffer, **constraints
        )
        if sample:
            probs = sampling_distribution(
                token_log_probs, top_k, top_p, temperature
            )
            best = _draw(probs, ops.take(uniforms, step, axis=0))
            best = ops.cast(best, "int32")
        else:
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
        if stop_lengths is not None:
            finished = ops.logical_or(
                finished, _stopped(stop_lengths, step)[:, 0]
            )
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
    coverage_penalty=0.0,
    **kwargs,
):
    """Greedy search (or sampling) for `beam_width=1`, beam search
    otherwise; a coverage penalty with one beam runs `beam_search` (the
    penalty is part of the score). `compaction` is beam search's; greedy
    search keeps every row to the end."""
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1; received {beam_width}.")
    if beam_width == 1 and not coverage_penalty:
        kwargs.pop("compaction", None)
        return greedy_search(step_fn, state, memory, **kwargs)
    sampling = [
        name
        for name in ("sample", "top_k", "top_p", "temperature", "seed")
        if name in kwargs and kwargs[name] != SAMPLING_DEFAULTS[name]
    ]
    if sampling:
        raise ValueError(
            f"{', '.join(sampling)} only apply to sampling, which draws one "
            f"hypothesis; use beam_width=1 (received {beam_width}"
            + (", coverage_penalty" if coverage_penalty else "")
            + ")."
        )
    for name in SAMPLING_DEFAULTS:
        kwargs.pop(name, None)
    return beam_search(
        step_fn,
        state,
        memory,
        beam_width=beam_width,
        coverage_penalty=coverage_penalty,
        **kwargs,
    )


#: The sampling options of `greedy_search` and their "off" values.
SAMPLING_DEFAULTS = {
    "sample": False,
    "top_k": 0,
    "top_p": 1.0,
    "temperature": 1.0,
    "seed": None,
}


def _check_options(
    *,
    source_length,
    source_mask,
    coverage_penalty=0.0,
    no_repeat_ngram_size=0,
    min_length_ratio=None,
    max_length_ratio=None,
    sample=False,
    top_k=0,
    top_p=1.0,
    temperature=1.0,
):
    """Raises `ValueError` naming the first invalid decoding option."""
    if coverage_penalty < 0:
        raise ValueError(
            f"coverage_penalty must be >= 0; received {coverage_penalty}."
        )
    # A model without attention passes the Python int 0; with attention
    # the width may be a tensor (a dynamic source length in a graph).
    if (
        coverage_penalty
        and isinstance(source_length, int)
        and not source_length
    ):
        raise ValueError(
            "coverage_penalty needs attention weights, and this model has "
            "none (source_length 0)."
        )
    if no_repeat_ngram_size < 0:
        raise ValueError(
            "no_repeat_ngram_size must be >= 0 (0: off); received "
            f"{no_repeat_ngram_size}."
        )
    for name, ratio in (
        ("min_length_ratio", min_length_ratio),
        ("max_length_ratio", max_length_ratio),
    ):
        if ratio is not None and ratio < 0:
            raise ValueError(f"{name} must be >= 0; received {ratio}.")
    if (
        min_length_ratio is not None
        and max_length_ratio is not None
        and min_length_ratio > max_length_ratio
    ):
        raise ValueError(
            f"min_length_ratio ({min_length_ratio}) is larger than "
            f"max_length_ratio ({max_length_ratio})."
        )
    needs_mask = coverage_penalty or (min_length_ratio, max_length_ratio) != (
        None,
        None,
    )
    if needs_mask and source_mask is None:
        raise ValueError(
            "coverage_penalty and the length ratios need source_mask."
        )
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0 (0: off); received {top_k}.")
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1]; received {top_p}.")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0; received {temperature}.")
    if not sample and (top_k, top_p, temperature) != (0, 1.0, 1.0):
        raise ValueError(
            "top_k, top_p and temperature only apply with sample=True."
        )
