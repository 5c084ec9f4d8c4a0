"""A GRU step that also reads a context vector in every gate."""

import keras
from keras import ops

from s2s_zoo.layers.initializers import BlockOrthogonal
from s2s_zoo.layers.initializers import fresh


@keras.saving.register_keras_serializable(package="s2s_zoo")
class ContextGRUCell(keras.layers.Layer):
    """GRU cell whose update gate, reset gate and candidate all see a context.

    With input `x`, context `c` and previous state `h`:

        z  = sigmoid(W_z x + U_z h + C_z c + b_z)
        r  = sigmoid(W_r x + U_r h + C_r c + b_r)
        h~ = tanh(W x + U (r * h) + C c + b)            reset_mode="before"
        h~ = tanh(W x + r * (U h + C c) + b)            reset_mode="after"
        h' = z * h + (1 - z) * h~

    `reset_mode="before"` is the gated unit of Cho et al. (2014), Eq. 8, and
    the RNNsearch decoder of Bahdanau et al. (2015), Appendix A.2.2; it equals
    a Keras `GRU(reset_after=False)` fed `[x; c]`. `reset_mode="after"` is the
    decoder of Cho et al., Appendix A, where the reset gate also scales the
    context term. No stock Keras cell computes the latter, and neither form
    is what Keras's default `reset_after=True` (the cuDNN form) computes: the
    price is that these cells never run on the cuDNN kernel.

    The update follows Cho's (and Keras's) labelling, `z` = keep the old
    state; Bahdanau's appendix names the gate the other way round, which is
    the same model trained from scratch.

    The step is split so loops can hoist work out of the time loop:
    `project_inputs` (all time steps at once), `project_context` (once per
    sentence when the context is fixed), then `step` per time step.

    Args:
        units (int): State size `n`.
        input_dim (int): Width of `x`.
        context_dim (int): Width of `c`.
        reset_mode (str): `"before"` or `"after"`, see above. Default
            `"before"`.
        kernel_initializer: For `W` and `C`. Default `N(0, 0.01^2)`, the
            papers'.
        recurrent_initializer: For `U`. Default `BlockOrthogonal()`: each of
            `U_z`, `U_r`, `U` orthogonal on its own, the papers'.
        bias_initializer: Default `"zeros"`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `(batch_size, input_dim)`.
        context: `(batch_size, context_dim)`.
        state: `(batch_size, units)`.

    Returns:
        The new state, `(batch_size, units)`.
    """

    def __init__(
        self,
        units,
        input_dim,
        context_dim,
        reset_mode="before",
        kernel_initializer=None,
        recurrent_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if reset_mode not in ("before", "after"):
            raise ValueError(
                "reset_mode must be 'before' or 'after'; "
                f"received {reset_mode!r}."
            )
        self.units = units
        self.input_dim = input_dim
        self.context_dim = context_dim
        self.reset_mode = reset_mode
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
        # Gate blocks are stacked [z, r, h] along the last axis, as in Keras.
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.input_dim, 3 * n),
            initializer=fresh(self.kernel_initializer),
        )
        self.context_kernel = self.add_weight(
            name="context_kernel",
            shape=(self.context_dim, 3 * n),
            initializer=fresh(self.kernel_initializer),
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(n, 3 * n),
            initializer=fresh(self.recurrent_initializer),
        )
        self.bias = self.add_weight(
            name="bias",
            shape=(3 * n,),
            initializer=fresh(self.bias_initializer),
        )
        self.built = True

    def _weight(self, variable):
        # These methods are also called outside `__call__` (by decoding
        # loops), where Keras does not autocast variables; under a mixed
        # policy (e.g. "mixed_bfloat16") cast them by hand. A no-op in
        # float32.
        return ops.cast(variable, self.compute_dtype)

    def project_inputs(self, inputs):
        """`W x + b` for any leading shape: `(..., input_dim) -> (..., 3n)`."""
        return ops.matmul(inputs, self._weight(self.kernel)) + self._weight(
            self.bias
        )

    def project_context(self, context):
        """`C c`: `(..., context_dim) -> (..., 3n)`."""
        return ops.matmul(context, self._weight(self.context_kernel))

    def recurrent_weights(self):
        """`(U_zr, U)`: the recurrent matrix split into its gate blocks and
        cast to the compute dtype.

        A loop over time gets them once and passes them to every `step`:
        sliced inside the loop, each step's slice would cost TensorFlow a
        full-size gradient (`StridedSliceGrad`) in training.
        """
        recurrent_kernel = self._weight(self.recurrent_kernel)
        return tuple(ops.split(recurrent_kernel, [2 * self.units], axis=-1))

    def step(
        self,
        projected_inputs,
        projected_context,
        state,
        recurrent=None,
        matmul=ops.matmul,
    ):
        """One update from pre-projected inputs and context.

        `recurrent` is `recurrent_weights()`, computed here when omitted;
        `matmul(state, kernel)` multiplies by a recurrent block (RNNsearch's
        float32-state steps pass one that multiplies in the kernel's dtype
        and returns float32).
        """
        n = self.units
        u_zr, u_h = recurrent or self.recurrent_weights()
        # ops.split, not slicing: in training, TensorFlow's gradient of a
        # slice is a full-size StridedSliceGrad at every step.
        x_zr, x_h = ops.split(projected_inputs + projected_context, [2 * n], -1)
        gates = ops.sigmoid(x_zr + matmul(state, u_zr))
        z, r = ops.split(gates, 2, axis=-1)
        if self.reset_mode == "before":
            candidate = ops.tanh(x_h + matmul(r * state, u_h))
        else:
            # The reset gate scales the context term too: split it off.
            c_h = ops.split(projected_context, [2 * n], axis=-1)[1]
            x_h = x_h - c_h
            candidate = ops.tanh(x_h + r * (matmul(state, u_h) + c_h))
        return z * state + (1.0 - z) * candidate

    def call(self, inputs, context, state):
        return self.step(
            self.project_inputs(inputs), self.project_context(context), state
        )

    def compute_output_spec(self, inputs, context, state):
        return keras.KerasTensor(state.shape, dtype=self.compute_dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "input_dim": self.input_dim,
            "context_dim": self.context_dim,
            "reset_mode": self.reset_mode,
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
