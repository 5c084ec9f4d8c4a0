"""`BidirectionalGRU`'s time loop with a hand-written gradient (TensorFlow).

TensorFlow differentiates a `tf.while_loop` step by step: the backward
loop pops every saved intermediate and adds each step's share of the
recurrent matrices' gradients into accumulators (two products and two
`AddN` per direction and step). This loop states the gradient by hand
(as cuDNN does): the backward loop carries only the states' gradients and
writes each step's gate gradients, and each recurrent matrix's gradient
is one product over all steps after the loop.

Per direction and step, with `h` the state before the step, `x` the
projected input and `k` 1 on real positions and 0 on padding (the
equations of `BidirectionalGRU`):

    [z; r] = sigmoid(x_zr + h U_zr);  c = tanh(x_h + (r * h) U_h)
    h' = h + k * (c + z * (h - c) - h)

and backwards, with `g = dL/dh'` and `q = k * g`:

    dz = q * (h - c);  dx_h = q * (1 - z) * (1 - c^2)
    d(r h) = dx_h U_h^T;  dx_zr = [dz; d(r h) * h] * sig'
    dh = g - q + q * z + d(r h) * r + dx_zr U_zr^T

then `dU_zr = sum_t h^T dx_zr` and `dU_h = sum_t (r * h)^T dx_h`. Tested
against TensorFlow's own gradient of the same loop
(`tests/layers/test_gru_loop.py`).
"""

import tensorflow as tf

#: Set False to let TensorFlow differentiate the loop itself (the same
#: forward pass); the tests and `benchmarks.speed.loop_gradients` compare
#: both.
HAND_WRITTEN_GRADIENT = True


def indexed_loop(length, step, initial, shapes, backwards=False):
    """Runs `step(t, carry) -> (carry, outputs)` for t in `range(length)`
    (or in reverse); returns the final carry and one `TensorArray` per
    output (`shapes`: its dtype and element shape, and optionally True to
    write step t's output at `length - 1 - t`), indexed by t. The arrays
    hold the step's tensors as they are: reading one back copies nothing.
    The hand-written loops' forward and backward passes (here and in
    `RNNSearchDecoder`'s `training_loop`)."""
    arrays = [
        tf.TensorArray(dtype, size=length, element_shape=shape)
        for dtype, shape, *_ in shapes
    ]
    flipped = [bool(flip and flip[0]) for _, _, *flip in shapes]

    def body(i, carry, arrays):
        t = length - 1 - i if backwards else i
        carry, outputs = step(t, carry)
        arrays = [
            a.write(length - 1 - t if flip else t, y)
            for a, y, flip in zip(arrays, outputs, flipped)
        ]
        return i + 1, carry, arrays

    _, carry, arrays = tf.while_loop(
        lambda i, carry, arrays: i < length,
        body,
        (tf.constant(0, tf.int32), initial, arrays),
    )
    return carry, arrays


def _forward(inputs, keep, kernels, initial, reverse):
    n = initial[0].shape[-1]
    length = tf.shape(inputs[0])[0]
    inputs = [tf.TensorArray(x.dtype, size=length).unstack(x) for x in inputs]
    keep = tf.TensorArray(
        keep.dtype, size=length, clear_after_read=False
    ).unstack(keep)  # read by every direction

    def step(t, states):
        new_states, saved = [], []
        for h, x, (u_zr, u_h), flip in zip(states, inputs, kernels, reverse):
            time = length - 1 - t if flip else t
            x_zr, x_h = tf.split(x.read(time), [2 * n, n], axis=-1)
            gates = tf.sigmoid(x_zr + tf.matmul(h, u_zr))
            z, r = tf.split(gates, 2, axis=-1)
            candidate = tf.tanh(x_h + tf.matmul(r * h, u_h))
            gru = candidate + z * (h - candidate)
            new_states.append(h + keep.read(time) * (gru - h))
            saved += [h, gates, candidate]
        return new_states, new_states + saved

    shape = initial[0].shape
    dtype = initial[0].dtype
    # Everything in time order: a reversed direction's step t writes at
    # `length - 1 - t`.
    shapes = [(dtype, shape, flip) for flip in reverse]
    for flip in reverse:
        shapes += [
            (dtype, shape, flip),
            (dtype, (shape[0], 2 * n), flip),
            (dtype, shape, flip),
        ]
    final, arrays = indexed_loop(length, step, list(initial), shapes)
    directions = len(kernels)
    return final, [a.stack() for a in arrays[:directions]], arrays[directions:]


def _backward(d_final, d_states, keep, kernels, saved, reverse):
    n = d_final[0].shape[-1]
    length = tf.shape(d_states[0])[0]
    saved = [saved[i : i + 3] for i in range(0, len(saved), 3)]

    def step(t, gradients):
        new_gradients, outputs = [], []
        for g, d_s, (u_zr, u_h), arrays, flip in zip(
            gradients, d_states, kernels, saved, reverse
        ):
            time = length - 1 - t if flip else t
            h, gates, c = [a.read(time) for a in arrays]
            g = g + d_s[time]
            q = keep[time] * g
            z, r = tf.split(gates, 2, axis=-1)
            dx_h = tf.raw_ops.TanhGrad(y=c, dy=q * (1 - z))
            d_rh = tf.matmul(dx_h, u_h, transpose_b=True)
            dx_zr = tf.raw_ops.SigmoidGrad(
                y=gates, dy=tf.concat([q * (h - c), d_rh * h], -1)
            )
            new_gradients.append(
                g
                - q
                + q * z
                + d_rh * r
                + tf.matmul(dx_zr, u_zr, transpose_b=True)
            )
            outputs.append(tf.concat([dx_zr, dx_h], -1))
        return new_gradients, outputs

    shape = d_final[0].shape
    shapes = [(d_final[0].dtype, (shape[0], 3 * n), flip) for flip in reverse]
    d_initial, d_inputs = indexed_loop(
        length, step, list(d_final), shapes, backwards=True
    )
    d_inputs = [a.stack() for a in d_inputs]
    d_kernels = []
    for dx, (h, gates, _) in zip(d_inputs, saved):
        h, gates = h.stack(), gates.stack()
        dx_zr, dx_h = tf.split(dx, [2 * n, n], axis=-1)
        r = tf.split(gates, 2, axis=-1)[1]
        dtype = h.dtype
        d_kernels += [
            kernel_gradient(h, dx_zr, dtype),
            kernel_gradient(r * h, dx_h, dtype),
        ]
    return d_inputs, d_initial, d_kernels


def kernel_gradient(x, dy, dtype):
    """`sum_rows x^T dy` over `(..., d_in)` and `(..., d_out)`, in `dtype`:
    a kernel's gradient over every step at once."""
    x = tf.reshape(tf.cast(x, dtype), (-1, x.shape[-1]))
    dy = tf.reshape(tf.cast(dy, dtype), (-1, dy.shape[-1]))
    return tf.matmul(x, dy, transpose_a=True)


def gru_loop(inputs, keep, kernels, initial, reverse=None):
    """Several independent GRUs (reset before `U`) over the same steps.

    Args:
        inputs: one `(T, batch_size, 3n)` per GRU, time-major, `W x + b`.
        keep: `(T, batch_size, 1)`: 1 where a step updates the states, 0
            where they keep theirs.
        kernels: one `(U_zr, U_h)` per GRU, `(n, 2n)` and `(n, n)`.
        initial: one `(batch_size, n)` start state per GRU.
        reverse: one bool per GRU, True to read the time axis from the end
            (a backward GRU without flipping its inputs and states). Default
            all False.

    Returns:
        `(final_states, states)`: per GRU, its last state and every
        step's new state `(T, batch_size, n)` in time order. All in the
        inputs' dtype.
    """
    directions = len(kernels)
    kernels = [tuple(k) for k in kernels]
    reverse = [False] * directions if reverse is None else list(reverse)
    if not HAND_WRITTEN_GRADIENT:
        final, states, _ = _forward(inputs, keep, kernels, initial, reverse)
        return final, states

    @tf.custom_gradient
    def loop(*args):
        inputs = args[:directions]
        initial = args[directions : 2 * directions]
        flat_kernels = args[2 * directions :]
        kernels = [flat_kernels[i : i + 2] for i in range(0, 2 * directions, 2)]
        final, states, saved = _forward(inputs, keep, kernels, initial, reverse)

        def gradient(*d_outputs):
            d_outputs = [
                tf.zeros_like(x) if d is None else d
                for d, x in zip(d_outputs, final + states)
            ]
            d_inputs, d_initial, d_kernels = _backward(
                d_outputs[:directions],
                d_outputs[directions:],
                keep,
                kernels,
                saved,
                reverse,
            )
            return (*d_inputs, *d_initial, *d_kernels)

        return tuple(final + states), gradient

    flat = [u for pair in kernels for u in pair]
    outputs = loop(*inputs, *initial, *flat)
    return list(outputs[:directions]), list(outputs[directions:])
