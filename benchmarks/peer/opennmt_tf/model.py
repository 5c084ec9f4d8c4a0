"""The OpenNMT-tf peer: bi-GRU encoder, GRU decoder, Bahdanau attention
(the `opennmt` size of s2s_zoo)."""

import opennmt
import tensorflow as tf
import tensorflow_addons as tfa

UNITS = 256


def model():
    return opennmt.models.SequenceToSequence(
        source_inputter=opennmt.inputters.WordEmbedder(embedding_size=UNITS),
        target_inputter=opennmt.inputters.WordEmbedder(embedding_size=UNITS),
        encoder=opennmt.encoders.RNNEncoder(
            num_layers=1,
            num_units=UNITS // 2,
            bidirectional=True,
            cell_class=tf.keras.layers.GRUCell,
            dropout=0.2,
        ),
        decoder=opennmt.decoders.AttentionalRNNDecoder(
            num_layers=1,
            num_units=UNITS,
            cell_class=tf.keras.layers.GRUCell,
            attention_mechanism_class=tfa.seq2seq.BahdanauAttention,
            dropout=0.2,
        ),
    )
