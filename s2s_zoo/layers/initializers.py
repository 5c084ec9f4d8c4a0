"""Initializers: one fresh instance per weight, and orthogonal gate blocks.

Two things Keras 3 does not do for us:

- A Keras 3 random initializer draws its seed once, when it is created,
  so calling one instance twice gives the same values (and calling it on
  two shapes gives the same leading values). A builder that passes one
  `RandomUniform(-0.08, 0.08)` to every layer of a stack starts them all
  equal. `fresh` gives each weight its own copy with its own seed.
- `keras.initializers.Orthogonal` on a GRU's stacked recurrent kernel
  `[U_z | U_r | U]` of shape `(n, 3n)` makes the rows of the whole
  `(n, 3n)` matrix orthonormal, which leaves each `n x n` block far from
  orthogonal (max |B^T B - I| about 0.85). The papers initialise each of
  `U`, `U_z`, `U_r` as its own orthogonal matrix (Cho et al. 2014;
  Bahdanau et al. 2015, Appendix B): `BlockOrthogonal` does that.
"""

import math
import random

import keras
from keras import ops


def fresh(initializer):
    """A copy of `initializer` with a seed of its own, for one weight.

    `Initializer.clone()` rebuilds an instance from its config, so one
    built without a seed draws a new default seed (still reproducible
    under `keras.utils.set_random_seed`); one with an explicit seed keeps
    it, as Keras would use it: identical values are then what was asked
    for. Strings and dicts resolve as in `keras.initializers.get`.

    Examples:
    >>> import keras
    >>> shared = keras.initializers.RandomUniform(-0.08, 0.08)
    >>> a, b = fresh(shared)((2, 2)), fresh(shared)((2, 2))
    >>> bool(keras.ops.all(a == b))
    False
    """
    initializer = keras.initializers.get(initializer)
    if isinstance(initializer, keras.initializers.Initializer):
        return initializer.clone()
    return initializer  # a plain callable: the caller's own


@keras.saving.register_keras_serializable(package="s2s_zoo")
class BlockOrthogonal(keras.initializers.Initializer):
    """Each square block of a stacked recurrent kernel orthogonal on its own.

    For a kernel of shape `(..., n, k * n)`, the `k` blocks `[:, i*n:(i+1)*n]`
    (a GRU's `U_z, U_r, U`, or an LSTM's four gates), and every slice along
    the leading axes, are independent orthogonal matrices: the left singular
    vectors of a white Gaussian matrix (Saxe et al. 2014), times `gain`. A
    kernel whose last axis is not a multiple of its second-to-last is
    initialised as one orthogonal matrix, as `keras.initializers.Orthogonal`
    does.

    Args:
        gain (float): Multiplier of each block. Default 1.
        seed (int): Optional; without one, each instance draws its own.

    Examples:
    >>> import numpy as np
    >>> kernel = np.asarray(BlockOrthogonal()((4, 12)))
    >>> blocks = np.split(kernel, 3, axis=1)
    >>> all(np.allclose(b.T @ b, np.eye(4), atol=1e-5) for b in blocks)
    True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = float(gain)
        self._init_seed = seed
        self.seed = seed if seed is not None else _default_seed()

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(
                f"BlockOrthogonal needs a kernel of rank 2 or more; got "
                f"shape {shape}."
            )
        *leading, rows, cols = shape
        if cols % rows or cols < rows:
            return keras.initializers.Orthogonal(self.gain, seed=self.seed)(
                shape, dtype=dtype
            )
        count = math.prod(leading) * (cols // rows)
        # One Gaussian draw for all blocks; QR of each (the sign fix makes
        # Q uniformly distributed over the orthogonal group).
        gaussian = keras.random.normal(
            (count, rows, rows), seed=self.seed, dtype="float32"
        )
        q, r = ops.linalg.qr(gaussian)
        sign = ops.sign(ops.diagonal(r, axis1=-2, axis2=-1))
        q = q * sign[:, None, :]
        # (count, rows, rows) -> (*leading, rows, blocks * rows)
        q = ops.reshape(q, (*leading, cols // rows, rows, rows))
        q = ops.moveaxis(q, -3, -2)
        q = ops.reshape(q, shape)
        return ops.cast(self.gain * q, dtype or keras.config.floatx())

    def get_config(self):
        return {"gain": self.gain, "seed": self._init_seed}


def _default_seed():
    # As Keras's own initializers draw theirs: from Python's `random`, which
    # `keras.utils.set_random_seed` seeds.
    return random.randint(1, int(1e9))


def block_deviation(kernel, rows=None):
    """The largest `|B^T B - I|` over the square blocks of `kernel`.

    `kernel` has shape `(..., n, k * n)`; 0 means every block is exactly
    orthogonal. For tests and for checking a loaded model.
    """
    import numpy as np

    kernel = np.asarray(kernel, dtype="float64")
    rows = rows or kernel.shape[-2]
    kernel = kernel.reshape(-1, rows, kernel.shape[-1])
    worst = 0.0
    for matrix in kernel:
        for block in np.split(matrix, matrix.shape[-1] // rows, axis=-1):
            gram = block.T @ block
            worst = max(worst, float(np.abs(gram - np.eye(rows)).max()))
    return worst
