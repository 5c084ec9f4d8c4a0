"""RNNsearch's training loop with a hand-written gradient (TensorFlow):
the same forward pass and the same gradients as TensorFlow's own."""

import keras
import numpy as np
import pytest

import s2s_zoo
from s2s_zoo import training

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the hand-written gradient is the TensorFlow backend's",
)

# Two sentences with padding (one source has a single real token), and a
# target of 4 steps.
SOURCE = np.array([[5, 6, 7, 8, 0], [4, 0, 0, 0, 0], [9, 3, 4, 0, 0]])
TARGET = np.array([[2, 5, 6, 7], [2, 8, 9, 10], [2, 4, 0, 0]])
LABELS = np.array([[5, 6, 7, 3], [8, 9, 10, 3], [4, 3, 0, 0]])


def model_and_data(precision, **overrides):
    with training.global_dtype_policy(precision):
        keras.utils.set_random_seed(1)
        model = s2s_zoo.build(
            "bahdanau_attention", preset="tiny", dropout=0.0, **overrides
        )
        rng = np.random.default_rng(0)
        for weight in model.weights:  # large enough to make every term count
            weight.assign(rng.normal(0, 0.5, weight.shape).astype("float32"))
    inputs = {
        "encoder_token_ids": SOURCE.astype("int32"),
        "decoder_token_ids": TARGET.astype("int32"),
    }
    return model, inputs


def loss_and_gradients(model, inputs, hand_written, monkeypatch):
    import tensorflow as tf

    from s2s_zoo.models.attention_seq2seq import training_loop

    monkeypatch.setattr(training_loop, "HAND_WRITTEN_GRADIENT", hand_written)
    loss = training.masked_loss(0.1)
    weights_of_alignments = tf.constant(
        np.random.default_rng(2).normal(size=(3, 4, 5)), tf.float32
    )

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            state, memory = model._encode(inputs["encoder_token_ids"])
            logits, alignments = model.decoder(
                inputs["decoder_token_ids"], state, **memory, training=True
            )
            # The alignments enter the loss too, so that their gradient
            # (zero in training) is checked as well.
            value = loss(LABELS, logits) + tf.reduce_sum(
                tf.cast(alignments, tf.float32) * weights_of_alignments
            )
        gradients = tape.gradient(value, model.trainable_weights)
        return value, [tf.convert_to_tensor(g) for g in gradients]

    value, gradients = run()
    return float(value), [np.asarray(g, "float32") for g in gradients]


@pytest.mark.parametrize("readout_state", ["previous", "new"])
def test_gradients_are_tensorflows_own_in_float32(readout_state, monkeypatch):
    model, inputs = model_and_data("float32", readout_state=readout_state)
    value, ours = loss_and_gradients(model, inputs, True, monkeypatch)
    reference_value, reference = loss_and_gradients(
        model, inputs, False, monkeypatch
    )
    assert value == reference_value  # the same forward pass, op for op
    names = [w.path for w in model.trainable_weights]
    for name, a, b in zip(names, ours, reference):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=name)
    # Every weight of the loop gets a gradient that is not zero.
    loop_weights = [
        "decoder/cell/recurrent_kernel",
        "decoder/cell/kernel",
        "decoder/cell/context_kernel",
        "decoder/attention/query_projection/kernel",
        "decoder/attention/score_vector/kernel",
        "decoder/attention/key_projection/kernel",
        "encoder/recurrent_kernel",
        "initial_state/kernel",
    ]
    for name in loop_weights:
        gradient = ours[names.index(name)]
        assert np.abs(gradient).max() > 1e-3, name


def test_gradients_in_mixed_bfloat16_are_close_to_tensorflows(monkeypatch):
    model, inputs = model_and_data("mixed_bfloat16")
    value, ours = loss_and_gradients(model, inputs, True, monkeypatch)
    reference_value, reference = loss_and_gradients(
        model, inputs, False, monkeypatch
    )
    assert value == reference_value
    # bfloat16 has 8 bits of mantissa: TensorFlow's gradient adds each
    # step's share of a weight's gradient in bfloat16, ours sums all
    # steps in one product.
    for w, a, b in zip(model.trainable_weights, ours, reference):
        scale = np.abs(b).max() + 1e-3
        assert np.abs(a - b).max() <= 0.05 * scale, w.path


def test_an_empty_target_gives_zero_loop_gradients(monkeypatch):
    import tensorflow as tf

    from s2s_zoo.models.attention_seq2seq import training_loop

    model, inputs = model_and_data("float32")
    state, memory = model._encode(inputs["encoder_token_ids"])
    with tf.GradientTape() as tape:
        tape.watch(state)
        logits, _ = model.decoder(
            np.zeros((3, 0), "int32"), state, **memory, training=True
        )
        value = tf.reduce_sum(logits)
    assert logits.shape == (3, 0, 13)
    assert training_loop.HAND_WRITTEN_GRADIENT
    np.testing.assert_array_equal(tape.gradient(value, state), 0.0)


def test_training_runs_the_hand_written_loops_and_inference_does_not(
    monkeypatch,
):
    from s2s_zoo.layers import gru_loop
    from s2s_zoo.models.attention_seq2seq import training_loop

    calls = []
    for module, name in (
        (training_loop, "additive_gru_loop"),
        (gru_loop, "gru_loop"),
    ):
        original = getattr(module, name)

        def counted(*args, original=original, name=name, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    model, inputs = model_and_data("float32")
    inference = model(inputs)
    assert calls == []
    training_logits = model(inputs, training=True)  # no dropout: the same
    assert sorted(calls) == ["additive_gru_loop", "gru_loop"]
    np.testing.assert_allclose(training_logits, inference, atol=1e-5)
