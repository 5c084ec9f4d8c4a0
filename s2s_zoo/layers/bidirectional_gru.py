"""A bidirectional GRU whose time loop holds only the recurrence."""

import keras
from keras import ops

from s2s_zoo.layers import loops
from s2s_zoo.layers.initializers import BlockOrthogonal
from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer


@keras.saving.register_keras_serializable(package="s2s_zoo")
class BidirectionalGRU(ExplicitMaskLayer):
    """Forward and backward GRUs over right-padded sequences, in one loop.

    Each direction is the gated unit of Cho et al. (2014), Eq. 5-8 (the
    reset gate applied before `U`, Keras's `reset_after=False`):

        z  = sigmoid(W_z x_t + U_z h + b_z)
        r  = sigmoid(W_r x_t + U_r h + b_r)
        h~ = tanh(W x_t + U (r * h) + b)
        h' = z * h + (1 - z) * h~

    It computes what `keras.layers.Bidirectional(keras.layers.GRU(units,
    reset_after=False, return_sequences=True, return_state=True))` computes
    (tested to 1e-5), but where the Keras GRU multiplies each step's input
    and slices its weight matrices inside the time loop (on TensorFlow the
    gradient of every per-step slice is a full-size `StridedSliceGrad`:
    about a fifth of a training step of RNNsearch at the recipe's sizes),
    this layer projects all inputs of both directions in one matmul before
    the loop, slices and casts the weights once, and runs both directions
    in the same loop, so each step is two recurrent matmuls and the gates.

    The backward GRU reads the time axis from the end and keeps its zero
    start state through the padding, so it starts at each sentence's last
    real word, as if the sentence had been reversed before padding.

    Args:
        units (int): State size `n` of each direction.
        input_dim (int): Width of the inputs.
        kernel_initializer: For `W`. Default `N(0, 0.01^2)`, RNNsearch's.
        recurrent_initializer: For `U`. Default `BlockOrthogonal()`: each of
            `U_z`, `U_r`, `U` orthogonal on its own, the papers'.
        bias_initializer: Default `"zeros"`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `(batch_size, T, input_dim)`.
        mask: bool `(batch_size, T)`, True on real positions (which come
            before the padding). None: every position is real.
        training: On TensorFlow, True runs the loop whose gradient is
            written by hand (`s2s_zoo/layers/gru_loop.py`); the values are
            the same.

    Returns:
        `(annotations, forward_state, backward_state)`: `(batch_size, T,
        2n)` with `[h->_t; h<-_t]` (zeros on padding), the forward state at
        the last real word and the backward state at the first word,
        `h<-_1`, each `(batch_size, n)`.
    """

    def __init__(
        self,
        units,
        input_dim,
        kernel_initializer=None,
        recurrent_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.input_dim = input_dim
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.RandomNormal(stddev=0.01)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        if recurrent_initializer is None:
            recurrent_initializer = BlockOrthogonal()
        self.recurrent_initializer = keras.initializers.get(
            recurrent_initializer
        )
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape=None):
        n = self.units
        # [forward | backward] along the last axis; gate blocks [z, r, h]
        # inside each, as in Keras.
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.input_dim, 6 * n),
            initializer=fresh(self.kernel_initializer),
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(2, n, 3 * n),
            initializer=fresh(self.recurrent_initializer),
        )
        self.bias = self.add_weight(
            name="bias",
            shape=(6 * n,),
            initializer=fresh(self.bias_initializer),
        )
        self.built = True

    def call(self, inputs, mask=None, training=None):
        n = self.units
        dtype = self.compute_dtype
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        mask = ops.cast(mask, "bool")
        kernel = ops.cast(self.kernel, dtype)
        bias = ops.cast(self.bias, dtype)
        # Every input of both directions in one matmul, before the loop.
        projected = ops.matmul(inputs, kernel) + bias  # (B, T, 6n)
        forward, backward = ops.split(projected, 2, axis=-1)
        # Unstacked, not indexed: in training, TensorFlow's gradient of an
        # index is a full-size StridedSliceGrad for each direction.
        recurrent_f, recurrent_b = ops.unstack(
            ops.cast(self.recurrent_kernel, dtype), 2, axis=0
        )
        u_zr_f, u_h_f = ops.split(recurrent_f, [2 * n], axis=-1)
        u_zr_b, u_h_b = ops.split(recurrent_b, [2 * n], axis=-1)
        keep = ops.cast(mask, dtype)[..., None]  # (B, T, 1)

        def gru(state, x, u_zr, u_h):
            # ops.split, not slicing: in training, TensorFlow's gradient of
            # a slice is a full-size StridedSliceGrad at every step.
            x_zr, x_h = ops.split(x, [2 * n], axis=-1)
            gates = ops.sigmoid(x_zr + ops.matmul(state, u_zr))
            z, r = ops.split(gates, 2, axis=-1)
            candidate = ops.tanh(x_h + ops.matmul(r * state, u_h))
            return candidate + z * (state - candidate)

        def step(states, x):
            h_f, h_b = states
            x_f, x_b, keep_f, keep_b = ops.split(
                x, [3 * n, 6 * n, 6 * n + 1], axis=-1
            )
            # A padded step keeps the state: the forward state stays at the
            # last real word's, and the backward GRU, which reads the time
            # axis from the end, stays at its zero start through the
            # padding and so starts at each sentence's last real word.
            new_f = h_f + keep_f * (gru(h_f, x_f, u_zr_f, u_h_f) - h_f)
            new_b = h_b + keep_b * (gru(h_b, x_b, u_zr_b, u_h_b) - h_b)
            return (new_f, new_b), (new_f, new_b)

        batch_size = ops.shape(inputs)[0]
        initial = (
            ops.zeros((batch_size, n), dtype=dtype),
            ops.zeros((batch_size, n), dtype=dtype),
        )

        def time_major(x):
            return ops.moveaxis(x, 1, 0)

        if training and keras.backend.backend() == "tensorflow":
            # The same loop with a hand-written gradient, in training only
            # (a SavedModel cannot hold a gradient function that reads the
            # forward loop's saved tensors, and inference needs none).
            from s2s_zoo.layers import gru_loop

            # Time-major once, both directions together; the backward GRU
            # reads the time axis from the end inside the loop (no flips).
            forward_tm, backward_tm = ops.split(time_major(projected), 2, -1)
            keep_tm = time_major(keep)
            (final_f, final_b), (states_f, states_b) = gru_loop.gru_loop(
                [forward_tm, backward_tm],
                keep_tm,
                [(u_zr_f, u_h_f), (u_zr_b, u_h_b)],
                initial,
                reverse=[False, True],
            )
            states = ops.concatenate([states_f, states_b], -1)
            annotations = time_major(states * keep_tm)
            return annotations, final_f, final_b

        # One tensor to scan over (Keras's TensorFlow scan cannot take
        # several when the time axis has no static length); the backward
        # half is flipped in time, a reversal whose gradient is a reversal
        # (per-sentence reversal would be a gather, whose gradient is a
        # scatter).
        xs = ops.concatenate(
            [
                forward,
                ops.flip(backward, axis=1),
                keep,
                ops.flip(keep, axis=1),
            ],
            axis=-1,
        )
        (final_f, final_b), (states_f, states_b) = loops.scan(
            step, initial, time_major(xs)
        )
        forward_states = time_major(states_f) * keep
        backward_states = ops.flip(time_major(states_b), axis=1) * keep
        annotations = ops.concatenate([forward_states, backward_states], -1)
        return annotations, final_f, final_b

    def compute_output_spec(self, inputs, mask=None, training=None):
        batch_size, time = inputs.shape[0], inputs.shape[1]
        dtype = self.compute_dtype
        return (
            keras.KerasTensor((batch_size, time, 2 * self.units), dtype),
            keras.KerasTensor((batch_size, self.units), dtype),
            keras.KerasTensor((batch_size, self.units), dtype),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "input_dim": self.input_dim,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "recurrent_initializer": keras.initializers.serialize(
                self.recurrent_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
        }
