"""Base class for layers that take padding masks as explicit arguments."""

import keras


class ExplicitMaskLayer(keras.layers.Layer):
    """A layer that consumes padding masks passed as arguments.

    Keras attaches implicit masks to tensors (for example the outputs of an
    RNN called with `mask=`) and warns when a layer that does not support
    masking receives one. Layers derived from this class take every mask
    they need as an explicit argument, accept and drop implicit masks
    silently, and attach no mask to their outputs.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, *args, **kwargs):
        return None
