"""Feature standardization that stays inside the training range."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="s2s_zoo")
class BoundedStandardization(keras.layers.BatchNormalization):
    """`BatchNormalization` whose inputs are clipped, at inference, to the
    range each feature took in training.

    A standardized feature is unbounded: a sentence-pair input far outside
    the training spread (an empty premise, whose cosines are 0 where
    training saw 0.95-1.0) becomes tens of standard deviations, and the
    logistic regression above it answers with probability 1.0. This layer
    records the smallest and largest value of each input feature over the
    training batches (two non-trainable weights) and clips to them before
    normalizing at inference, so the output stays within what training
    produced. Until it has seen a training batch it is a plain
    `BatchNormalization`. Training itself is unchanged.

    Args:
        **kwargs: `keras.layers.BatchNormalization` arguments; the last
            axis is the feature axis.

    Examples:
    >>> import numpy as np
    >>> layer = BoundedStandardization(center=False, scale=False)
    >>> _ = layer(np.array([[0.0], [1.0]]), training=True)
    >>> out = layer(np.array([[1.0], [100.0]]), training=False)
    >>> bool(out[0, 0] == out[1, 0])
    True
    """

    def build(self, input_shape):
        super().build(input_shape)
        shape = (input_shape[-1],)
        # +inf / -inf: nothing seen yet (no clipping until training).
        self.feature_min = self.add_weight(
            name="feature_min",
            shape=shape,
            initializer=keras.initializers.Constant(float("inf")),
            trainable=False,
        )
        self.feature_max = self.add_weight(
            name="feature_max",
            shape=shape,
            initializer=keras.initializers.Constant(float("-inf")),
            trainable=False,
        )

    def call(self, inputs, training=None, mask=None):
        if training and self.trainable:
            flat = ops.reshape(
                ops.cast(inputs, "float32"), (-1, ops.shape(inputs)[-1])
            )
            self.feature_min.assign(
                ops.minimum(self.feature_min, ops.min(flat, axis=0))
            )
            self.feature_max.assign(
                ops.maximum(self.feature_max, ops.max(flat, axis=0))
            )
        else:
            # `.value`: JAX refuses a Keras variable inside `where`.
            feature_min = self.feature_min.value
            feature_max = self.feature_max.value
            seen = feature_min <= feature_max
            low = ops.cast(ops.where(seen, feature_min, -3e38), inputs.dtype)
            high = ops.cast(ops.where(seen, feature_max, 3e38), inputs.dtype)
            inputs = ops.clip(inputs, low, high)
        return super().call(inputs, training=training, mask=mask)

    def load_own_variables(self, store):
        # Runs saved before this layer had its range weights hold only the
        # BatchNormalization ones: load those and leave the range unset.
        if len(store.keys()) == len(self.variables) - 2:
            for i, variable in enumerate(self.variables[:-2]):
                variable.assign(store[str(i)])
            return
        super().load_own_variables(store)
