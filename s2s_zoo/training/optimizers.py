"""`FusedAdam`: Keras' Adam, one fused update per weight on TensorFlow.

Keras 3's `Adam.update_step` is backend-neutral: each weight's update is
about ten elementwise operations (the two moments, their corrections,
the step), each a pass over the weight's memory. On a CPU that is memory
traffic, not arithmetic, and TensorFlow's own fused kernel
(`ResourceApplyAdam`) does the update in one pass that reads the gradient
and the three state tensors once. Whole epochs with each, at OpenNMT-tf's
sizes: `python -m benchmarks.speed.train_speed --optimizers keras fused`
(docs/results/train_levers.md).

The update is the same equation: `ResourceApplyAdam` computes
`lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`,
`m += (g - m)(1 - beta_1)`, `v += (g^2 - v)(1 - beta_2)` and
`w -= lr_t m / (sqrt(v) + epsilon)`, exactly Keras' `Adam`. Gradients of
embeddings (`tf.IndexedSlices`) are made dense first, as Keras' own
update does when it subtracts the moment. Elsewhere (JAX, AMSGrad, or
inside a `tf.distribute` strategy, whose mirrored state variables the
raw kernel cannot address) Keras' own update runs.
"""

import keras


@keras.saving.register_keras_serializable(package="s2s_zoo")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` with a fused update on TensorFlow; takes
    the same arguments and gives the same weights."""

    def update_step(self, gradient, variable, learning_rate):
        if not self._fused():
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.value.handle,
            v=v.value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.convert_to_tensor(tf.cast(gradient, dtype)),
        )

    def _fused(self):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return False
        import tensorflow as tf

        return not tf.distribute.has_strategy()
