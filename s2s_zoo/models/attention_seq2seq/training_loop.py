"""RNNsearch's teacher-forced decoder loop with a hand-written gradient
(TensorFlow backend, additive score).

TensorFlow differentiates a `tf.while_loop` step by step: every
intermediate goes on a stack in the forward loop, and the backward loop
pops it, multiplies, and adds each step's share of every loop-invariant
gradient (the recurrent and alignment weights, the keys, the projected
annotations) into an accumulator: at the peer's sizes (batch 64, 11
target steps) the loop's gradient ran 123 `AddN` and 165 small matrix
products, and took 2.5 times as long as its forward pass.

`additive_gru_loop` computes the same forward pass (the ops of
`RNNSearchDecoder.call`'s float32-state loop, in the same order) and
states its gradient by hand, as cuDNN does for its RNNs: the backward
loop carries only what is serial (the gradient of the state, and of the
keys), and writes each step's gate and score gradients; every weight's
gradient is then ONE matrix product over all steps after the loop.

The equations, per target step with `s = s_{i-1}` (see
`_float32_attention` and `ContextGRUCell.step`, reset before):

    q = s W_a;  H = tanh(q + K);  e = H v_a;  alpha = softmax_mask(e)
    x = P_i + alpha R                     (R: the projected annotations)
    [z; r] = sigmoid(x_zr + s U_zr);  c = tanh(x_h + (r * s) U_h)
    s_i = z * s + (1 - z) * c

and backwards, with `g = dL/ds_i` (from later steps and from the outputs):

    dz = g * (s - c);  dc = g * (1 - z);  ds = g * z
    dx_h = dc * (1 - c^2);  d(r s) = dx_h U_h^T;  dr = d(r s) * s
    dx_zr = [dz; dr] * sig' ;  ds += d(r s) * r + dx_zr U_zr^T
    dP_i = dx;  dalpha = dx R^T (+ dL/dalpha_i, masked)
    de = alpha * (dalpha - sum(dalpha * alpha))
    dA = de v_a^T * (1 - H^2);  dK += dA;  dq = sum_j dA;  ds += dq W_a^T

and after the loop: `dU_zr = S^T dX_zr`, `dU_h = (r * S)^T dX_h`,
`dW_a = S^T dQ`, `dv_a = sum H * de`, `dR = alpha^T dX` (per sentence).
Matrix products run in the kernels' dtype (bfloat16 under a mixed policy)
and everything elementwise in float32, as in the forward pass. Tested
against TensorFlow's own gradient of the same loop
(`tests/models/test_training_loop.py`).
"""

import tensorflow as tf

from s2s_zoo.layers.gru_loop import indexed_loop
from s2s_zoo.layers.gru_loop import kernel_gradient

#: Set False to let TensorFlow differentiate the loop itself (the same
#: forward pass); the tests and `benchmarks.speed.loop_gradients` compare
#: both.
HAND_WRITTEN_GRADIENT = True


def _matmul(x, kernel, transpose_b=False):
    """`x @ kernel` (or `kernel^T`) in the kernel's dtype, in float32."""
    product = tf.matmul(
        tf.cast(x, kernel.dtype), kernel, transpose_b=transpose_b
    )
    return tf.cast(product, tf.float32)


def _forward(projected, state, keys, rows, mask, weights):
    """The loop: `(states, previous_states, alignments, saved)`, the first
    three stacked time-major, `saved` the `TensorArray`s `_backward`
    reads."""
    query_kernel, score_vector, u_zr, u_h = weights
    n = state.shape[-1]
    length = tf.shape(projected)[0]
    mask_f = tf.cast(mask, tf.float32)
    inputs = tf.TensorArray(projected.dtype, size=length).unstack(projected)

    def step(t, s):
        query = _matmul(s, query_kernel)
        hidden = tf.tanh(tf.expand_dims(query, 1) + keys)
        scores = tf.squeeze(tf.matmul(hidden, score_vector), -1)
        alignment = tf.nn.softmax(tf.where(mask, scores, -1e9), axis=-1)
        alignment = alignment * mask_f
        context = tf.matmul(
            tf.cast(tf.expand_dims(alignment, 1), rows.dtype), rows
        )
        x = inputs.read(t) + tf.cast(tf.squeeze(context, 1), tf.float32)
        x_zr, x_h = tf.split(x, [2 * n, n], -1)
        gates = tf.sigmoid(x_zr + _matmul(s, u_zr))
        z, r = tf.split(gates, 2, axis=-1)
        candidate = tf.tanh(x_h + _matmul(r * s, u_h))
        new = z * s + (1.0 - z) * candidate
        return new, (new, s, alignment, hidden, gates, candidate)

    shapes = [
        (tf.float32, state.shape),
        (tf.float32, state.shape),
        (tf.float32, mask.shape),
        (tf.float32, keys.shape),
        (tf.float32, (state.shape[0], 2 * n)),
        (tf.float32, state.shape),
    ]
    _, (states, *saved) = indexed_loop(length, step, state, shapes)
    return states.stack(), saved[0].stack(), saved[1].stack(), saved


def _backward(d_outputs, state, keys, rows, mask, weights, saved):
    """The gradient of `_forward` (see the module docstring)."""
    query_kernel, score_vector, u_zr, u_h = weights
    previous, alignments, hidden, gates, candidates = saved
    d_states, d_previous, d_alignments = d_outputs
    n = state.shape[-1]
    length = tf.shape(d_states)[0]
    mask_f = tf.cast(mask, tf.float32)
    score_row = tf.reshape(score_vector, (-1,))

    def step(t, carry):
        g, d_keys, d_score_vector = carry
        s, alpha, h = previous.read(t), alignments.read(t), hidden.read(t)
        gate, c = gates.read(t), candidates.read(t)
        g = g + d_states[t]
        z, r = tf.split(gate, 2, axis=-1)
        dx_h = tf.raw_ops.TanhGrad(y=c, dy=g * (1.0 - z))
        d_rs = _matmul(dx_h, u_h, transpose_b=True)
        dx_zr = tf.raw_ops.SigmoidGrad(
            y=gate, dy=tf.concat([g * (s - c), d_rs * s], -1)
        )
        dx = tf.concat([dx_zr, dx_h], -1)
        d_alpha = d_alignments[t] + tf.cast(
            tf.squeeze(
                tf.matmul(
                    tf.cast(tf.expand_dims(dx, 1), rows.dtype),
                    rows,
                    transpose_b=True,
                ),
                1,
            ),
            tf.float32,
        )
        d_alpha = d_alpha * mask_f
        d_scores = alpha * (
            d_alpha - tf.reduce_sum(d_alpha * alpha, -1, keepdims=True)
        )
        d_pre = tf.raw_ops.TanhGrad(
            y=h, dy=tf.expand_dims(d_scores, -1) * score_row
        )
        d_query = tf.reduce_sum(d_pre, 1)
        g = (
            g * z
            + d_rs * r
            + _matmul(dx_zr, u_zr, transpose_b=True)
            + _matmul(d_query, query_kernel, transpose_b=True)
            + d_previous[t]
        )
        # v_a's gradient, sum_j H_j de_j, as one product over the batch's
        # (sentence, source position) rows.
        d_score_vector += tf.matmul(
            tf.reshape(h, (-1, h.shape[-1])),
            tf.reshape(d_scores, (-1, 1)),
            transpose_a=True,
        )
        carry = (g, d_keys + d_pre, d_score_vector)
        return carry, (dx, d_query)

    shapes = [
        (tf.float32, (state.shape[0], 3 * n)),
        (tf.float32, (state.shape[0], query_kernel.shape[-1])),
    ]
    initial = (
        tf.zeros_like(state),
        tf.zeros_like(keys),
        tf.zeros_like(score_vector),
    )
    (d_state, d_keys, d_score_vector), (dx, d_query) = indexed_loop(
        length, step, initial, shapes, backwards=True
    )
    dx, d_query, previous = dx.stack(), d_query.stack(), previous.stack()
    dx_zr, dx_h = tf.split(dx, [2 * n, n], -1)
    r = tf.split(gates.stack(), 2, axis=-1)[1]
    d_rows = tf.matmul(  # per sentence: alpha^T (T_x x T_y) @ dx (T_y x 3n)
        tf.cast(tf.transpose(alignments.stack(), (1, 2, 0)), rows.dtype),
        tf.cast(tf.transpose(dx, (1, 0, 2)), rows.dtype),
    )
    d_weights = (
        kernel_gradient(previous, d_query, query_kernel.dtype),
        d_score_vector,
        kernel_gradient(previous, dx_zr, u_zr.dtype),
        kernel_gradient(r * previous, dx_h, u_h.dtype),
    )
    return dx, d_state, d_keys, d_rows, d_weights


def additive_gru_loop(
    projected,
    state,
    keys,
    rows,
    source_mask,
    query_kernel,
    score_vector,
    u_zr,
    u_h,
):
    """`RNNSearchDecoder.call`'s loop for the additive score, float32 state.

    Args:
        projected: float32 `(batch_size, T_y, 3n)`, `W E y + b` per step.
        state: float32 `(batch_size, n)`, `s_0`.
        keys: float32 `(batch_size, T_x, n')`, `U_a h_j`.
        rows: `(batch_size, T_x, 3n)`, `C h_j`, in the compute dtype.
        source_mask: `(batch_size, T_x)`, True on real tokens.
        query_kernel: `W_a` `(n, n')`, score_vector: `v_a` `(n', 1)`
            (float32), u_zr: `(n, 2n)`, u_h: `(n, n)`: the matrices in the
            compute dtype unless stated.

    Returns:
        `(new_states, previous_states, alignments)`: float32, batch-major:
        `s_1..s_T`, `s_0..s_{T-1}` `(batch_size, T_y, n)`, and
        `(batch_size, T_y, T_x)`.
    """
    mask = tf.cast(source_mask, tf.bool)
    projected = tf.transpose(projected, (1, 0, 2))  # time-major
    weights = (query_kernel, score_vector, u_zr, u_h)
    if not HAND_WRITTEN_GRADIENT:
        outputs = _forward(projected, state, keys, rows, mask, weights)[:3]
        return tuple(_batch_major(x) for x in outputs)

    @tf.custom_gradient
    def loop(projected, state, keys, rows, *weights):
        *outputs, saved = _forward(projected, state, keys, rows, mask, weights)

        def gradient(*d_outputs):
            d_outputs = [
                tf.zeros_like(x) if d is None else d
                for d, x in zip(d_outputs, outputs)
            ]
            dx, d_state, d_keys, d_rows, d_weights = _backward(
                d_outputs, state, keys, rows, mask, weights, saved
            )
            return (dx, d_state, d_keys, d_rows, *d_weights)

        return tuple(outputs), gradient

    outputs = loop(projected, state, keys, rows, *weights)
    return tuple(_batch_major(x) for x in outputs)


def _batch_major(x):
    return tf.transpose(x, (1, 0, 2))
