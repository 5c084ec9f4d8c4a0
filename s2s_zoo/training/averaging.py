"""Weight averaging: an exponential moving average kept beside the
weights, and the mean of the last epochs' checkpoints."""

import contextlib
import os

import keras
from keras import ops


class ExponentialMovingAverage(keras.callbacks.Callback):
    """Keeps an exponential moving average of the trainable weights:
    after every training step, `average = decay * average + (1 - decay) *
    weight` (Polyak averaging, as in Vaswani et al. 2017's and GNMT's
    evaluation weights).

    Keras optimizers have `use_ema=True`, but it overwrites the model's
    weights with the average at the end of `fit` and keeps it inside the
    optimizer: a run could not be scored with and without the average, or
    pick its best epoch by it. This callback keeps the average next to
    the weights, and `swapped()` puts it into the model for a while.

    Args:
        decay (float): In (0, 1). Default 0.999.
    """

    def __init__(self, decay=0.999):
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1); received {decay}.")
        self.decay = decay
        self.averages = None
        # One graph on TensorFlow: 2.6 ms a step of 143 where the eager
        # update took 11.8 (benchmarks.quality.weight_averaging --ema-cost).
        self._step = self._update
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            self._step = tf.function(self._update, autograph=False)

    def _weights(self):
        return self.model.trainable_weights

    def on_train_begin(self, logs=None):
        if self.averages is None:
            self.averages = [
                keras.Variable(
                    # A NumPy copy: given the weight's own tensor, Keras
                    # may wrap the same storage instead of copying it.
                    ops.convert_to_numpy(w.value).astype("float32"),
                    trainable=False,
                    name=f"ema_{i}",
                )
                for i, w in enumerate(self._weights())
            ]

    def _update(self):
        for average, weight in zip(self.averages, self._weights()):
            average.assign(
                self.decay * average
                + (1.0 - self.decay) * ops.cast(weight.value, "float32")
            )

    def on_train_batch_end(self, batch, logs=None):
        self._step()

    def values(self):
        """The averages as NumPy arrays, in `trainable_weights` order."""
        return [ops.convert_to_numpy(a.value) for a in self.averages]

    @contextlib.contextmanager
    def swapped(self):
        """Within the block the model holds the averaged weights."""
        kept = [ops.convert_to_numpy(w.value) for w in self._weights()]
        for weight, average in zip(self._weights(), self.averages):
            weight.assign(ops.cast(average.value, weight.dtype))
        try:
            yield self.model
        finally:
            for weight, value in zip(self._weights(), kept):
                weight.assign(value)


def average_checkpoints(model, paths):
    """Sets `model`'s weights to the mean of the `.weights.h5` files
    `paths` (checkpoint averaging, Vaswani et al. 2017 average the last 5
    or 20). Non-float weights (step counters, seeds) are taken from the
    last file. Returns the model.

    Raises:
        ValueError: For no paths.
    """
    if not paths:
        raise ValueError("average_checkpoints needs at least one file.")
    sums = None
    for path in paths:
        model.load_weights(path)
        values = [ops.convert_to_numpy(w.value) for w in model.weights]
        if sums is None:
            sums = [v.astype("float64") for v in values]
        else:
            sums = [s + v for s, v in zip(sums, values)]
    for weight, total, last in zip(model.weights, sums, values):
        if "float" in str(weight.dtype):
            weight.assign((total / len(paths)).astype(last.dtype))
    return model


class KeepLastCheckpoints(keras.callbacks.Callback):
    """Writes `epoch_<n>.weights.h5` into `directory` after every epoch
    and deletes all but the last `k`; `paths()` lists those kept, oldest
    first (what `average_checkpoints` reads)."""

    def __init__(self, directory, k):
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be >= 1; received {k}.")
        self.directory = directory
        self.k = k

    def paths(self):
        if not os.path.isdir(self.directory):
            return []
        names = [
            n
            for n in os.listdir(self.directory)
            if n.startswith("epoch_") and n.endswith(".weights.h5")
        ]
        names.sort(key=lambda n: int(n[len("epoch_") : -len(".weights.h5")]))
        return [os.path.join(self.directory, n) for n in names]

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"epoch_{epoch + 1}.weights.h5")
        tmp = os.path.join(self.directory, f".epoch_{epoch + 1}.weights.h5")
        self.model.save_weights(tmp, overwrite=True)
        os.replace(tmp, path)  # atomic: a kill leaves no half file
        for old in self.paths()[: -self.k]:
            os.remove(old)
