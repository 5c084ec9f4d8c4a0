"""Every weight starts from its own draw, and GRU blocks start orthogonal.

Keras 3 random initializers draw their seed when they are created, so one
instance passed to several weights starts them all equal (and two shapes
share their leading values): a deep LSTM stack would start symmetric. The
papers' recurrent matrices U_z, U_r, U are each orthogonal on their own
(Cho et al. 2014; Bahdanau et al. 2015, Appendix B), which Keras's
`"orthogonal"` on the stacked `(n, 3n)` kernel does not give.
"""

import itertools

import keras
import numpy as np
import pytest

import s2s_zoo
from s2s_zoo.layers.initializers import BlockOrthogonal
from s2s_zoo.layers.initializers import block_deviation
from s2s_zoo.layers.initializers import fresh
from tests.test_sweep import SETUP

NAMES = s2s_zoo.model_names()


def _built(name):
    model, inputs, _, _ = SETUP[s2s_zoo.describe(name).task](name)
    model(inputs)
    return model


@pytest.mark.parametrize("name", NAMES)
def test_no_two_random_weights_start_equal(name):
    model = _built(name)
    weights = [
        (w.path, np.ravel(w.numpy()))
        for w in model.weights
        if np.ptp(w.numpy()) > 0  # zeros and ones are not draws
    ]
    assert len(weights) >= 4
    equal = [
        (a_path, b_path)
        for (a_path, a), (b_path, b) in itertools.combinations(weights, 2)
        if np.array_equal(a[: min(a.size, b.size)], b[: min(a.size, b.size)])
    ]
    assert not equal, f"{name}: these weights start equal: {equal}"


@pytest.mark.parametrize("name", ["rnn_encoder_decoder", "bahdanau_attention"])
def test_each_gru_block_starts_orthogonal(name):
    model = _built(name)
    kernels = [w for w in model.weights if "recurrent_kernel" in w.path]
    # rnn_encoder_decoder: encoder and decoder; bahdanau: the bi-GRU
    # (both directions in one weight) and the decoder.
    assert len(kernels) == 2
    for kernel in kernels:
        assert block_deviation(kernel.numpy()) < 1e-5, kernel.path


def test_keras_orthogonal_leaves_gru_blocks_far_from_orthogonal():
    # The reason for BlockOrthogonal: Keras's initializer makes the rows of
    # the whole (n, 3n) kernel orthonormal, not each n x n block.
    kernel = keras.initializers.Orthogonal(seed=1)((16, 48))
    assert block_deviation(kernel) > 0.5
    assert block_deviation(BlockOrthogonal(seed=1)((16, 48))) < 1e-5


def test_block_orthogonal_covers_every_leading_slice_and_gain():
    kernel = np.asarray(BlockOrthogonal(gain=2.0, seed=3)((2, 5, 15)))
    assert kernel.shape == (2, 5, 15)
    assert block_deviation(kernel / 2.0) < 1e-5
    # The two directions and the three gates are six different matrices.
    blocks = [b for m in kernel for b in np.split(m, 3, axis=-1)]
    for a, b in itertools.combinations(blocks, 2):
        assert not np.allclose(a, b)


def test_block_orthogonal_round_trips_and_falls_back_when_not_square():
    config = keras.initializers.serialize(BlockOrthogonal(gain=0.5, seed=7))
    restored = keras.initializers.deserialize(config)
    assert isinstance(restored, BlockOrthogonal)
    assert restored.gain == 0.5
    np.testing.assert_array_equal(
        restored((3, 6)), BlockOrthogonal(gain=0.5, seed=7)((3, 6))
    )
    # (4, 6): not a stack of square blocks, so one orthogonal matrix.
    kernel = np.asarray(BlockOrthogonal(seed=2)((4, 6)))
    np.testing.assert_allclose(kernel @ kernel.T, np.eye(4), atol=1e-5)
    with pytest.raises(ValueError, match="rank 2 or more"):
        BlockOrthogonal()((5,))


def test_fresh_gives_an_unseeded_initializer_a_new_seed_only():
    shared = keras.initializers.RandomUniform(-0.08, 0.08)
    a = np.asarray(fresh(shared)((3, 3)))
    b = np.asarray(fresh(shared)((3, 3)))
    assert not np.array_equal(a, b)
    seeded = keras.initializers.RandomUniform(-0.08, 0.08, seed=5)
    np.testing.assert_array_equal(fresh(seeded)((3, 3)), seeded((3, 3)))
    assert isinstance(fresh("zeros"), keras.initializers.Zeros)
