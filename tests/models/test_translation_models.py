"""The four translation models: paper equations, decoding, saving."""

import keras
import numpy as np
import pytest

import s2s_zoo
from s2s_zoo.layers import reverse_sequences
from tests.helpers import assert_config_round_trip

# Every model at its registry preset "tiny" (source vocabulary 11, target
# 13, widths of 3 to 6).
VARIANTS = [
    ("bahdanau_attention", {}),
    ("bahdanau_attention", {"readout_state": "new"}),
    ("bahdanau_attention", {"attention_score": "concat"}),
    ("bahdanau_attention", {"attention_score": "general"}),
    ("bahdanau_attention", {"dropout": 0.3}),
    ("luong_attention", {}),
    ("luong_attention", {"input_feeding": False}),
    ("luong_attention", {"attention_score": "general"}),
    ("luong_attention", {"attention_score": "concat", "reverse_source": False}),
    ("luong_attention", {"attention_type": "local-m", "window": 1}),
    (
        "luong_attention",
        {"attention_type": "local-p", "attention_score": "general"},
    ),
    (
        "luong_attention",
        {"attention_type": "local-p", "input_feeding": False, "window": 1},
    ),
    ("rnn_encoder_decoder", {}),
    ("rnn_encoder_decoder", {"decoder_reset_mode": "before"}),
    ("rnn_encoder_decoder", {"output_rank": None}),
    ("deep_lstm_seq2seq", {}),
    ("deep_lstm_seq2seq", {"reverse_source": False}),
]
SOURCE = np.array([[5, 6, 7, 8, 0], [4, 9, 0, 0, 0]], "int32")
DECODER_INPUT = np.array([[2, 5, 6, 7], [2, 8, 9, 10]], "int32")


def build(name, **overrides):
    return s2s_zoo.build(name, preset="tiny", **overrides)


def randomized(model, stddev=0.5):
    """Sets every weight to N(0, stddev^2). The papers' initialisations are
    tiny (N(0, 0.01^2), and v_a = 0 makes every alignment uniform), which
    would make tests of "this input changes that output" vacuous."""
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(0, stddev, weight.shape).astype("float32"))
    return model


def build_bahdanau(**overrides):
    return randomized(build("bahdanau_attention", **overrides))


def inputs(source=SOURCE, decoder=DECODER_INPUT):
    return {"encoder_token_ids": source, "decoder_token_ids": decoder}


def step_by_step_logits(model, source, decoder):
    state, memory = model.encode(source)
    logits, weights = [], []
    for t in range(decoder.shape[1]):
        step_logits, state, step_weights = model.decode_step(
            decoder[:, t], state, memory
        )
        logits.append(step_logits)
        weights.append(step_weights)
    return np.stack(logits, 1), np.stack(weights, 1)


@pytest.mark.parametrize("name, overrides", VARIANTS)
def test_step_decoding_reproduces_teacher_forcing(name, overrides):
    model = build(name, **overrides)
    expected = model(inputs(), training=False)
    assert expected.shape == (2, 4, 13)
    logits, _ = step_by_step_logits(model, SOURCE, DECODER_INPUT)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", s2s_zoo.model_names(task="translation"))
def test_padding_does_not_change_the_output(name):
    model = build(
        name, **({"dropout": 0.0} if name == "luong_attention" else {})
    )
    short = np.array([[4, 9]], "int32")
    padded = np.array([[4, 9, 0, 0, 0]], "int32")
    decoder = DECODER_INPUT[1:]
    np.testing.assert_allclose(
        model(inputs(short, decoder)),
        model(inputs(padded, decoder)),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "overrides",
    [{}, {"readout_state": "new"}, {"attention_score": "general"}],
    ids=["previous", "new", "general"],
)
def test_bahdanau_fused_serving_step_is_the_same_model(overrides):
    # The serving step reads `[W E y + b ; A_y E y]` from a per-token
    # table and `[C h_j ; A_c h_j]` from per-sentence rows; in float32 it
    # must give the plain step's logits, state and alignment at every step.
    model = build_bahdanau(**overrides)
    constants = model.serving_constants()
    assert constants["token_table"].shape == (13, 3 * 6 + 2 * 3)
    plain_state, plain_memory = model.encode(SOURCE)
    state, memory = model.encode(SOURCE, constants)
    assert "values" not in memory and "projected_values" not in memory
    for t in range(DECODER_INPUT.shape[1]):
        expected = model.decode_step(
            DECODER_INPUT[:, t], plain_state, plain_memory
        )
        found = model.decode_step(DECODER_INPUT[:, t], state, memory, constants)
        for a, b in zip(found, expected):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        plain_state, state = expected[1], found[1]
    beams = dict(max_length=8, beam_width=3, length_penalty=1.0)
    np.testing.assert_array_equal(
        model.generate(SOURCE, constants=constants, **beams).token_ids,
        model.generate(SOURCE, **beams).token_ids,
    )


def test_every_beam_carries_the_attention_of_its_own_history():
    # The search writes each step's attention once and traces the beams'
    # ancestry back after the loop; feeding a beam's tokens back through
    # the decoder must give the same alignment at every step.
    model = build_bahdanau()
    out = model.generate(SOURCE, max_length=6, beam_width=3, length_penalty=1.0)
    tokens, lengths = np.asarray(out.token_ids), np.asarray(out.lengths)
    attention = np.asarray(out.attention)
    for beam in range(3):
        state, memory = model.encode(SOURCE)
        previous = np.full((2,), model.start_token_id, "int32")
        for t in range(6):
            _, state, weights = model.decode_step(previous, state, memory)
            weights = np.asarray(weights)
            for i in range(2):
                expected = weights[i] if t < lengths[i, beam] else 0.0
                np.testing.assert_allclose(
                    attention[i, beam, t], expected, atol=1e-6
                )
            previous = tokens[:, beam, t]


def test_rows_that_only_fill_a_batch_start_finished():
    model = build_bahdanau()
    alone = model.generate(SOURCE[:1], max_length=6, beam_width=3)
    filled = model.generate(
        SOURCE, max_length=6, beam_width=3, active=np.array([True, False])
    )
    np.testing.assert_array_equal(filled.token_ids[:1], alone.token_ids)
    np.testing.assert_allclose(filled.scores[:1], alone.scores, atol=1e-6)
    assert not np.asarray(filled.token_ids[1]).any()  # padding only
    greedy = model.generate(SOURCE, max_length=6, active=[False, True])
    assert not np.asarray(greedy.token_ids[0]).any()


def test_bahdanau_alignment_uses_the_state_before_the_update():
    model = build_bahdanau()
    state, memory = model.encode(SOURCE)
    # Two different previous words give two different new states s_i ...
    _, state_a, weights_a = model.decode_step(np.array([5, 5]), state, memory)
    _, state_b, weights_b = model.decode_step(np.array([9, 9]), state, memory)
    assert np.abs(np.asarray(state_a) - np.asarray(state_b)).max() > 1e-4
    # ... but alpha_i depends only on s_{i-1}: identical, and not uniform.
    np.testing.assert_array_equal(weights_a, weights_b)
    assert np.abs(np.asarray(weights_a)[0, :4] - 0.25).max() > 1e-3
    # And it is the attention layer applied to s_{i-1} itself.
    _, direct = model.decoder.attention(
        state, memory["values"], value_mask=memory["source_mask"]
    )
    np.testing.assert_allclose(weights_a, direct, rtol=1e-6)


def test_bahdanau_decoder_equals_the_paper_loop_with_explicit_context():
    # The decoder feeds the GRU sum_j alpha_ij (C h_j) instead of C c_i;
    # written out as in the paper (c_i first, then C c_i), the logits agree.
    model = build_bahdanau()
    decoder = model.decoder
    state, memory = model._encode(SOURCE)
    embedded = decoder.embedding(DECODER_INPUT)
    logits = []
    for t in range(DECODER_INPUT.shape[1]):
        context, _ = decoder.attention(
            state, memory["values"], value_mask=memory["source_mask"]
        )
        new_state = decoder.cell(embedded[:, t], context, state)
        logits.append(
            decoder.deep_output([state, embedded[:, t], context])
        )  # readout from s_{i-1} (Appendix A.2.2)
        state = new_state
    np.testing.assert_allclose(
        model(inputs(), training=False),
        np.stack(logits, 1),
        rtol=1e-5,
        atol=1e-5,
    )


def test_bahdanau_teacher_forced_alignment_ignores_the_current_word():
    model = build_bahdanau()
    _, weights = step_by_step_logits(model, SOURCE, DECODER_INPUT)
    changed = DECODER_INPUT.copy()
    changed[:, 2] = [1, 1]  # y_{i-1} at position 2 changes s_2, not s_1
    _, changed_weights = step_by_step_logits(model, SOURCE, changed)
    np.testing.assert_array_equal(weights[:, :3], changed_weights[:, :3])
    assert np.abs(weights[:, 3] - changed_weights[:, 3]).max() > 0


def test_luong_alignment_uses_the_state_after_the_update():
    # The contrast case: Luong scores with h_t, which reads y_{t-1}.
    model = build("luong_attention", attention_score="general")
    state, memory = model.encode(SOURCE)
    _, _, weights_a = model.decode_step(np.array([5, 5]), state, memory)
    _, _, weights_b = model.decode_step(np.array([9, 9]), state, memory)
    assert np.abs(np.asarray(weights_a) - np.asarray(weights_b)).max() > 0


def test_bahdanau_initial_state_is_tanh_of_backward_first_annotation():
    model = build("bahdanau_attention")
    state, memory = model.encode(SOURCE)
    n = 6
    backward_first = np.asarray(memory["values"])[:, 0, n:]  # h<-_1
    kernel, bias = model.initial_state.get_weights()
    np.testing.assert_allclose(
        state, np.tanh(backward_first @ kernel + bias), rtol=1e-5, atol=1e-6
    )


def test_bahdanau_attention_is_zero_on_padding_and_sums_to_one():
    model = build_bahdanau()
    _, weights = step_by_step_logits(model, SOURCE, DECODER_INPUT)
    np.testing.assert_array_equal(weights[1, :, 2:], 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)


def test_deep_lstm_reverses_the_source_before_padding():
    model = build("deep_lstm_seq2seq")
    np.testing.assert_array_equal(
        model.source_reversal(SOURCE, SOURCE != 0),
        [[8, 7, 6, 5, 0], [9, 4, 0, 0, 0]],
    )
    # The reversing model equals a non-reversing one fed reversed tokens.
    plain = build("deep_lstm_seq2seq", reverse_source=False)
    plain.set_weights(model.get_weights())
    reversed_source = np.array([[8, 7, 6, 5, 0], [9, 4, 0, 0, 0]], "int32")
    np.testing.assert_allclose(
        model(inputs()), plain(inputs(reversed_source)), rtol=1e-5, atol=1e-6
    )


def test_deep_lstm_hands_every_layer_state_to_the_decoder():
    model = build("deep_lstm_seq2seq", num_layers=3)
    states, memory = model.encode(SOURCE)
    assert memory == {}
    assert len(states) == 3 and all(len(s) == 2 for s in states)
    # Decoder layer k starts from encoder layer k: zeroing one layer's
    # state changes the first prediction.
    logits, _, _ = model.decode_step(np.array([2, 2]), states, memory)
    states[1] = [np.zeros_like(s) for s in states[1]]
    changed, _, _ = model.decode_step(np.array([2, 2]), states, memory)
    assert np.abs(np.asarray(logits) - np.asarray(changed)).max() > 1e-6


def test_luong_returns_attention_in_source_order():
    model = build("luong_attention", dropout=0.0)
    plain = build("luong_attention", dropout=0.0, reverse_source=False)
    plain.set_weights(model.get_weights())
    reversed_source = np.array([[8, 7, 6, 5, 0], [9, 4, 0, 0, 0]], "int32")
    _, weights = step_by_step_logits(model, SOURCE, DECODER_INPUT)
    _, plain_weights = step_by_step_logits(
        plain, reversed_source, DECODER_INPUT
    )
    mask = SOURCE != 0
    for t in range(4):
        np.testing.assert_allclose(
            weights[:, t],
            reverse_sequences(plain_weights[:, t], mask),
            rtol=1e-5,
            atol=1e-7,
        )


def test_cho_summary_feeds_every_step_and_start_embedding_is_zero():
    model = randomized(build("rnn_encoder_decoder"))
    state, memory = model.encode(SOURCE)
    kernel, bias = model.initial_state.get_weights()
    np.testing.assert_allclose(  # h'_0 = tanh(V' c)
        state,
        np.tanh(np.asarray(memory["summary"]) @ kernel + bias),
        rtol=1e-5,
        atol=1e-6,
    )
    embedded = model.decoder.embed(np.array([2, 5]))
    np.testing.assert_array_equal(embedded[0], 0.0)  # e(y_0) = 0
    assert np.abs(np.asarray(embedded[1])).max() > 0
    # Changing c changes every step's output, even with the state fixed.
    logits, _, _ = model.decode_step(np.array([5, 5]), state, memory)
    other = dict(memory, summary=memory["summary"] * 0.0)
    changed, _, _ = model.decode_step(np.array([5, 5]), state, other)
    assert np.abs(np.asarray(logits) - np.asarray(changed)).max() > 1e-6


@pytest.mark.parametrize("name", s2s_zoo.model_names(task="translation"))
def test_generate_beam_one_equals_greedy_on_a_model(name):
    model = build(name)
    greedy = model.generate(SOURCE, max_length=6)
    beam = model.generate(SOURCE, max_length=6, beam_width=1)
    np.testing.assert_array_equal(greedy.token_ids, beam.token_ids)
    wide = model.generate(
        SOURCE, max_length=6, beam_width=3, length_penalty=1.0
    )
    assert wide.token_ids.shape == (2, 3, 6)
    scores = np.asarray(wide.scores)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    source_length = 5 if model.has_attention else 0
    assert wide.attention.shape == (2, 3, 6, source_length)


SWEEP = [(name, {}) for name in s2s_zoo.model_names(task="translation")] + [
    ("luong_attention", {"attention_type": "local-p"}),
    ("luong_attention", {"attention_type": "local-m"}),
]


@pytest.mark.parametrize(
    "name, overrides", SWEEP, ids=lambda v: v if isinstance(v, str) else ""
)
def test_registry_sweep_fit_save_reload(name, overrides, tmp_path):
    model = build(name, **overrides)
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    targets = np.concatenate([DECODER_INPUT[:, 1:], [[3], [3]]], 1)
    history = model.fit(inputs(), targets, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    clone = assert_config_round_trip(model)
    assert clone.count_params() == model.count_params()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded) is type(model)
    np.testing.assert_allclose(
        reloaded(inputs()), model(inputs()), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_array_equal(
        reloaded.generate(SOURCE, max_length=5, beam_width=2).token_ids,
        model.generate(SOURCE, max_length=5, beam_width=2).token_ids,
    )


@pytest.mark.parametrize("name", ["bahdanau_attention", "rnn_encoder_decoder"])
def test_mixed_bfloat16_trains_and_decodes(name):
    # Decoding calls the custom cells outside __call__, where Keras does not
    # autocast variables; the cells cast them to the compute dtype.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build(name)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.decoder.compute_dtype == "bfloat16"
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.train_on_batch(inputs(), DECODER_INPUT)
    expected = model(inputs(), training=False)
    logits, _ = step_by_step_logits(model, SOURCE, DECODER_INPUT)
    np.testing.assert_allclose(
        logits.astype("float32"),
        np.asarray(expected, "float32"),
        atol=2e-2,
    )
    output = model.generate(SOURCE, beam_width=2, length_penalty=1.0)
    assert output.scores.dtype == "float32"
    assert np.all(np.isfinite(output.scores))


@pytest.mark.parametrize("reverse_source", [True, False])
def test_local_m_window_follows_the_target_position_in_source_order(
    reverse_source,
):
    # D = 1: step t attends only to source words t-1, t, t+1 of the
    # ORIGINAL order (the encoder may read it reversed), t clipped to the
    # last word once it passes the end.
    model = randomized(
        build(
            "luong_attention",
            attention_type="local-m",
            window=1,
            reverse_source=reverse_source,
        )
    )
    _, weights = step_by_step_logits(
        model, SOURCE, np.tile(DECODER_INPUT, (1, 2))
    )
    for row, length in ((0, 4), (1, 2)):
        for t in range(weights.shape[1]):
            p = min(t, length - 1)
            window = [s for s in range(5) if abs(s - p) <= 1 and s < length]
            outside = [s for s in range(5) if s not in window]
            np.testing.assert_array_equal(weights[row, t, outside], 0.0)
            np.testing.assert_allclose(
                weights[row, t, window].sum(), 1.0, rtol=1e-5
            )
