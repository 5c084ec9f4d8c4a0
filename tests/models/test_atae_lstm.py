"""ATAE-LSTM family: the paper's equations, the aspect cancellation, config."""

import inspect

import keras
import numpy as np
import pytest

import s2s_zoo
from s2s_zoo.layers.aspect_attention import AspectAttention
from s2s_zoo.models.atae_lstm import ATAELSTM
from s2s_zoo.models.atae_lstm import TRAINING_DEFAULTS
from s2s_zoo.models.atae_lstm import paper_optimizer
from tests.helpers import assert_config_round_trip

NAMES = ("lstm_sentiment", "ae_lstm", "at_lstm", "atae_lstm")
# The registry's "tiny" preset of the aspect models, for the classes built
# directly.
TINY_ASPECT = s2s_zoo.describe("atae_lstm").preset("tiny")

# Two sentences, the second padded; aspects of 1 and 2 tokens.
TOKENS = np.array([[2, 3, 4, 5], [6, 7, 0, 0]], dtype="int32")
ASPECTS = np.array([[1, 0], [2, 3]], dtype="int32")


def tiny(name, **overrides):
    return s2s_zoo.build(name, preset="tiny", **overrides)


def run(model, tokens=TOKENS, aspects=ASPECTS):
    logits, weights = model.call_with_attention(
        {"token_ids": tokens, "aspect_token_ids": aspects}
    )
    return keras.ops.convert_to_numpy(logits), keras.ops.convert_to_numpy(
        weights
    )


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def dense(layer):
    return keras.ops.convert_to_numpy(layer.kernel)


# === Registry and defaults ===


def test_registry_has_four_models_with_paper_defaults():
    names = s2s_zoo.model_names(family="atae_lstm")
    assert names == sorted(NAMES)
    defaults = s2s_zoo.describe("atae_lstm").defaults
    assert defaults == {
        "vocabulary_size": 20000,
        "aspect_vocabulary_size": 20000,
        "num_classes": 3,
        "embedding_dim": 300,
        "aspect_embedding_dim": 300,
        "hidden_dim": 300,
        "attention_combine": "concat",
        "dropout": 0.5,
        # The paper's lambda, against a loss summed over a batch of 25.
        "l2": 0.001 / 25,
        "init_scale": 0.01,
    }
    # The class's own defaults are the registry's.
    parameters = inspect.signature(ATAELSTM).parameters
    for key, value in defaults.items():
        assert parameters[key].default == value, key
    assert "aspect_embedding_dim" not in (
        s2s_zoo.describe("lstm_sentiment").defaults
    )
    assert "attention_combine" not in s2s_zoo.describe("ae_lstm").defaults


def test_paper_optimizer_is_classic_adagrad_not_keras_defaults():
    optimizer = paper_optimizer()
    assert isinstance(optimizer, keras.optimizers.Adagrad)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert optimizer.initial_accumulator_value == 0.0
    # What the Keras defaults would have given instead.
    assert keras.optimizers.Adagrad().initial_accumulator_value == 0.1
    assert TRAINING_DEFAULTS["batch_size"] == 25


@pytest.mark.parametrize("name", NAMES)
def test_every_model_builds_and_gives_finite_logits(name):
    logits, weights = run(tiny(name))
    assert logits.shape == (2, 3)
    assert weights.shape == (2, 4)
    assert np.isfinite(logits).all()


def test_build_rejects_aspect_settings_for_the_lstm_baseline():
    with pytest.raises(
        ValueError,
        match="^Unknown hyperparameter 'aspect_embedding_dim' for model "
        "'lstm_sentiment'.",
    ):
        s2s_zoo.build("lstm_sentiment", aspect_embedding_dim=3)


def test_build_rejects_unknown_attention_combine():
    with pytest.raises(
        ValueError,
        match=r"^Hyperparameter 'attention_combine' of model 'atae_lstm' "
        r"must be one of \['concat', 'sum'\]; received 'dot'.$",
    ):
        s2s_zoo.build("atae_lstm", attention_combine="dot")


def test_constructor_errors_quote_the_value():
    with pytest.raises(
        ValueError,
        match=r"^attention_combine must be one of \['concat', 'sum'\]; "
        r"received 'dot'.$",
    ):
        ATAELSTM(attention_combine="dot", **TINY_ASPECT)
    with pytest.raises(
        ValueError,
        match=r"^vocabulary_size must be at least 2 \(padding and one "
        r"token\); received 1.$",
    ):
        ATAELSTM(**{**TINY_ASPECT, "vocabulary_size": 1})
    with pytest.raises(
        ValueError,
        match=r"^combine must be one of \['concat', 'sum'\]; received 'x'.$",
    ):
        AspectAttention(4, 3, combine="x")


# === Structure ===


@pytest.mark.parametrize(
    "name, input_width",
    [("lstm_sentiment", 4), ("ae_lstm", 4 + 3), ("at_lstm", 4)]
    + [("atae_lstm", 4 + 3)],
)
def test_lstm_input_width_is_word_plus_aspect_for_ae_models(name, input_width):
    model = tiny(name)
    kernel = model.lstm.cell.kernel
    assert tuple(kernel.shape) == (input_width, 4 * 5)


def test_aspect_vector_is_the_mean_of_the_aspect_tokens():
    model = tiny("atae_lstm")
    table = keras.ops.convert_to_numpy(model.aspect_embedding.embeddings)
    got = keras.ops.convert_to_numpy(
        model.aspect_vector(np.array([[2, 3, 0], [4, 0, 0], [0, 0, 0]]))
    )
    np.testing.assert_allclose(got[0], (table[2] + table[3]) / 2, atol=1e-6)
    np.testing.assert_allclose(got[1], table[4], atol=1e-6)
    np.testing.assert_allclose(got[2], np.zeros(3), atol=1e-7)


# === Attention layer: the published form and the option ===


def _attention_reference(layer, aspect, states, mask):
    """NumPy: M = tanh([W_h H; W_v (v_a x e_N)]) or the sum form."""
    w_h = dense(layer.state_projection)
    w_v = dense(layer.aspect_projection)
    w = dense(layer.score_vector)[:, 0]
    hidden = np.tanh(states @ w_h)  # (B, N, d)
    aspect = aspect @ w_v  # (B, units)
    if layer.combine == "concat":
        repeated = np.repeat(np.tanh(aspect)[:, None], states.shape[1], 1)
        m = np.concatenate([hidden, repeated], axis=-1)
    else:
        m = np.tanh(states @ w_h + aspect[:, None])
    scores = np.where(mask, m @ w, -1e9)
    alpha = softmax(scores) * mask
    return alpha, np.einsum("bn,bnd->bd", alpha, states)


@pytest.mark.parametrize("combine", ["concat", "sum"])
def test_attention_matches_the_paper_equations(combine):
    rng = np.random.default_rng(0)
    layer = AspectAttention(
        4,
        3,
        combine=combine,
        kernel_initializer=keras.initializers.RandomUniform(-1, 1),
    )
    aspect = rng.normal(size=(2, 3)).astype("float32")
    states = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=bool)
    r, alpha = layer(aspect, states, value_mask=mask)
    want_alpha, want_r = _attention_reference(layer, aspect, states, mask)
    np.testing.assert_allclose(alpha, want_alpha, atol=1e-5)
    np.testing.assert_allclose(r, want_r, atol=1e-5)
    # Sums to 1 over real tokens, exactly 0 on padding.
    np.testing.assert_allclose(np.sum(alpha, axis=-1), [1.0, 1.0], atol=1e-6)
    assert np.all(keras.ops.convert_to_numpy(alpha)[1, 2:] == 0.0)
    weight_count = {"concat": 4 * 4 + 3 * 3 + 7, "sum": 4 * 4 + 3 * 4 + 4}
    assert layer.count_params() == weight_count[combine]


def test_concat_attention_does_not_depend_on_the_aspect():
    # w^T M = w_h^T tanh(W_h h_j) + w_v^T tanh(W_v v_a): the aspect adds
    # one constant to every score, which the softmax removes.
    layer = AspectAttention(
        4, 3, kernel_initializer=keras.initializers.RandomUniform(-1, 1)
    )
    rng = np.random.default_rng(1)
    states = np.repeat(rng.normal(size=(1, 5, 4)), 2, 0).astype("float32")
    aspects = rng.normal(size=(2, 3)).astype("float32") * 3
    _, alpha = layer(aspects, states)
    alpha = keras.ops.convert_to_numpy(alpha)
    np.testing.assert_allclose(alpha[0], alpha[1], atol=1e-6)
    # ... although the scores themselves do differ by that constant.
    keys = layer.precompute_keys(states)
    scores = keras.ops.convert_to_numpy(
        layer.score(keras.ops.expand_dims(aspects, 1), keys)
    )[:, 0]
    shift = scores[0] - scores[1]
    assert abs(shift[0]) > 1e-3
    np.testing.assert_allclose(shift, np.full(5, shift[0]), atol=1e-5)


def test_sum_attention_depends_on_the_aspect():
    layer = AspectAttention(
        4,
        3,
        combine="sum",
        kernel_initializer=keras.initializers.RandomUniform(-1, 1),
    )
    rng = np.random.default_rng(1)
    states = np.repeat(rng.normal(size=(1, 5, 4)), 2, 0).astype("float32")
    aspects = rng.normal(size=(2, 3)).astype("float32") * 3
    _, alpha = layer(aspects, states)
    alpha = keras.ops.convert_to_numpy(alpha)
    assert np.abs(alpha[0] - alpha[1]).max() > 1e-2


# === Models: the cancellation and the fix ===

SAME_SENTENCE = np.array([[2, 3, 4, 5], [2, 3, 4, 5]], dtype="int32")
TWO_ASPECTS = np.array([[1, 0], [4, 5]], dtype="int32")


def test_literal_at_lstm_answers_the_same_for_every_aspect():
    logits, weights = run(tiny("at_lstm"), SAME_SENTENCE, TWO_ASPECTS)
    np.testing.assert_allclose(weights[0], weights[1], atol=1e-6)
    np.testing.assert_allclose(logits[0], logits[1], atol=1e-6)


def test_lstm_baseline_answers_the_same_for_every_aspect():
    logits, weights = run(tiny("lstm_sentiment"), SAME_SENTENCE, TWO_ASPECTS)
    np.testing.assert_allclose(logits[0], logits[1], atol=1e-6)
    assert np.all(weights == 0.0)


def test_at_lstm_sum_option_makes_attention_depend_on_the_aspect():
    logits, weights = run(
        tiny("at_lstm", attention_combine="sum"), SAME_SENTENCE, TWO_ASPECTS
    )
    assert np.abs(weights[0] - weights[1]).max() > 1e-3
    assert np.abs(logits[0] - logits[1]).max() > 1e-4


@pytest.mark.parametrize("name", ["ae_lstm", "atae_lstm"])
def test_aspect_input_models_depend_on_the_aspect(name):
    logits, weights = run(tiny(name), SAME_SENTENCE, TWO_ASPECTS)
    assert np.abs(logits[0] - logits[1]).max() > 1e-4
    if name == "atae_lstm":
        # Even with the cancelling form: the aspect reaches H via the input.
        assert np.abs(weights[0] - weights[1]).max() > 1e-4


@pytest.mark.parametrize("combine", ["concat", "sum"])
def test_atae_logits_follow_the_paper_head(combine):
    """h* = tanh(W_p r + W_x h_N), y = W_s h* + b_s, from the LSTM states."""
    model = tiny("atae_lstm", attention_combine=combine)
    logits, weights = run(model)
    aspect = keras.ops.convert_to_numpy(model.aspect_vector(ASPECTS))
    words = keras.ops.convert_to_numpy(model.embedding(TOKENS))
    inputs = np.concatenate(
        [words, np.repeat(aspect[:, None], TOKENS.shape[1], 1)], -1
    )
    mask = TOKENS != 0
    states, last, _ = model.lstm(inputs, mask=mask)
    states = keras.ops.convert_to_numpy(states)
    last = keras.ops.convert_to_numpy(last)
    alpha, r = _attention_reference(model.attention, aspect, states, mask)
    h_star = np.tanh(
        r @ dense(model.attention_projection)
        + last @ dense(model.last_state_projection)
    )
    want = h_star @ dense(model.classifier) + keras.ops.convert_to_numpy(
        model.classifier.bias
    )
    np.testing.assert_allclose(weights, alpha, atol=1e-5)
    np.testing.assert_allclose(logits, want, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_padding_changes_nothing_and_h_n_is_the_last_real_state(name):
    model = tiny(name)
    short = np.array([[6, 7]], dtype="int32")
    padded = np.array([[6, 7, 0, 0, 0]], dtype="int32")
    aspect = np.array([[2, 3]], dtype="int32")
    logits_short, weights_short = run(model, short, aspect)
    logits_padded, weights_padded = run(model, padded, aspect)
    np.testing.assert_allclose(logits_short, logits_padded, atol=1e-6)
    np.testing.assert_allclose(weights_padded[:, :2], weights_short, atol=1e-6)
    assert np.all(weights_padded[:, 2:] == 0.0)


def test_l2_covers_weight_matrices_but_not_embeddings_or_biases():
    model = tiny("atae_lstm", l2=0.25)
    run(model)
    matrices = [
        model.lstm.cell.kernel,
        model.lstm.cell.recurrent_kernel,
        model.attention.state_projection.kernel,
        model.attention.aspect_projection.kernel,
        model.attention.score_vector.kernel,
        model.attention_projection.kernel,
        model.last_state_projection.kernel,
        model.classifier.kernel,
    ]
    want = sum(
        0.25 * np.sum(np.square(keras.ops.convert_to_numpy(w)))
        for w in matrices
    )
    got = sum(float(loss) for loss in model.losses)
    assert len(model.losses) == len(matrices)
    assert got == pytest.approx(want, rel=1e-5)
    assert tiny("atae_lstm", l2=0.0).losses == []


def test_dropout_only_in_training():
    model = tiny("atae_lstm", dropout=0.5)
    inputs = {"token_ids": TOKENS, "aspect_token_ids": ASPECTS}
    first = keras.ops.convert_to_numpy(model(inputs, training=False))
    second = keras.ops.convert_to_numpy(model(inputs, training=False))
    np.testing.assert_array_equal(first, second)
    trained = keras.ops.convert_to_numpy(model(inputs, training=True))
    assert np.abs(trained - first).max() > 0


# === Serialization ===


@pytest.mark.parametrize("name", ["lstm_sentiment", "atae_lstm"])
def test_config_round_trip(name):
    model = tiny(name)
    clone = assert_config_round_trip(model)
    assert clone.get_config()["use_attention"] == (name == "atae_lstm")


def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    model = tiny("atae_lstm", attention_combine="sum")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is ATAELSTM
    for got, want in zip(run(loaded), run(model)):
        np.testing.assert_array_equal(got, want)
