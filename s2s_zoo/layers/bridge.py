"""The encoder-to-decoder bridge, `tanh(W h)`."""

import keras


@keras.saving.register_keras_serializable(package="s2s_zoo")
class Bridge(keras.layers.Dense):
    """Maps an encoder state to a decoder state: `tanh(W h + b)`.

    A `Dense` layer with the papers' defaults: `tanh` and `N(0, 0.01^2)`
    weights. It is each paper's hand-over from encoder to decoder:

    - RNNsearch: `s_0 = tanh(W_s h<-_1)` from the backward encoder's state at
      the first source word (Bahdanau et al. 2015, Appendix A.2.2).
    - RNN Encoder-Decoder: the summary `c = tanh(V h_N)` and the decoder's
      first state `h'_0 = tanh(V' c)` (Cho et al. 2014, Appendix A).

    Args:
        units (int): Decoder state size.
        activation: Default `"tanh"`.
        kernel_initializer: Default `N(0, 0.01^2)`.
        **kwargs: Other `keras.layers.Dense` arguments.
    """

    def __init__(
        self, units, activation="tanh", kernel_initializer=None, **kwargs
    ):
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.RandomNormal(stddev=0.01)
        super().__init__(
            units,
            activation=activation,
            kernel_initializer=kernel_initializer,
            **kwargs,
        )
