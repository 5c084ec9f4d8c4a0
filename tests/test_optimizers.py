"""`training.FusedAdam`: Keras' Adam in one TensorFlow kernel per weight,
giving Keras' weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from s2s_zoo import training

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the TensorFlow kernel"
)


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(50, 8),  # an IndexedSlices gradient
            keras.layers.GRU(6),
            keras.layers.Dense(3),
        ]
    )


def _train(optimizer, steps=4):
    model = _model()
    ids = tf.constant(np.random.default_rng(0).integers(0, 50, (4, 5)))
    labels = tf.constant([0, 1, 2, 1])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(labels, model(ids, training=True))
        weights = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(value, weights), weights))

    before = [w.numpy() for w in model.weights]
    for _ in range(steps):
        step()
    return before, [w.numpy() for w in model.weights], step


def test_fused_adam_gives_keras_adams_weights():
    options = dict(learning_rate=0.05, global_clipnorm=1.0)
    before, keras_weights, _ = _train(keras.optimizers.Adam(**options))
    _, fused_weights, step = _train(training.FusedAdam(**options))
    for ours, theirs, start in zip(fused_weights, keras_weights, before):
        # float32 rounding only: the kernel orders the same operations
        # otherwise (measured: at most 1.4e-6 after 4 steps of 0.05).
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        # Each weight moved far more than the tolerance (Adam's steps are
        # about the learning rate in size).
        assert np.max(np.abs(theirs - start)) > 1e-2
    # ... and it ran TensorFlow's fused kernel, not Keras' own update.
    graph = step.get_concrete_function().graph.as_graph_def()
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    assert "ResourceApplyAdam" in ops


def test_inside_a_strategy_it_is_keras_adam():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        optimizer = training.FusedAdam(learning_rate=0.05)
        assert not optimizer._fused()
        model = _model()
        optimizer.build(model.trainable_variables)
    ids = tf.constant(np.random.default_rng(0).integers(0, 50, (4, 5)))

    @tf.function
    def step():
        def replica():
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(model(ids, training=True) ** 2)
            weights = model.trainable_variables
            grads = tape.gradient(value, weights)
            optimizer.apply_gradients(zip(grads, weights))

        strategy.run(replica)

    before = [w.numpy() for w in model.weights]
    step()
    after = [w.numpy() for w in model.weights]
    assert all(np.max(np.abs(a - b)) > 1e-3 for a, b in zip(after, before))


def test_fused_adam_round_trips_through_keras_serialization():
    optimizer = training.FusedAdam(learning_rate=2e-3, global_clipnorm=1.0)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is training.FusedAdam
    assert again.get_config() == optimizer.get_config()
