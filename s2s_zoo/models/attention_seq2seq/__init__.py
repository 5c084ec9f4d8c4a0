"""Attention seq2seq: RNNsearch (Bahdanau et al. 2015) and Luong et al. (2015).

The two differ in the ORDER of operations at target step i:

- RNNsearch: score with the previous state `s_{i-1}`, form `c_i`, feed `c_i`
  into every gate of the GRU update to `s_i`, read out through maxout.
- Luong: run the LSTM stack to `h_t` first, then score with `h_t`, form
  `c_t` and `h~_t = tanh(W_c [c_t; h_t])`, read out `softmax(W_s h~_t)`.

The common tutorial shortcut "run the RNN over the target, then attend" is
Luong's order; using it under Bahdanau's name is the most common bug in
re-implementations. Keras 3 RNN layers take no `constants`, so the RNNsearch
decoder is its own loop (`keras.ops.scan`).

One module each: `rnn_search` (RNNsearch, `bahdanau_attention`) and
`luong` (`luong_attention`).
"""

from s2s_zoo.models.attention_seq2seq.luong import ATTENTION_TYPES
from s2s_zoo.models.attention_seq2seq.luong import LUONG_DEFAULTS
from s2s_zoo.models.attention_seq2seq.luong import LUONG_PRESETS
from s2s_zoo.models.attention_seq2seq.luong import LuongDecoder
from s2s_zoo.models.attention_seq2seq.luong import LuongSeq2Seq
from s2s_zoo.models.attention_seq2seq.luong import luong_attention
from s2s_zoo.models.attention_seq2seq.rnn_search import RNNSEARCH_DEFAULTS
from s2s_zoo.models.attention_seq2seq.rnn_search import RNNSEARCH_PRESETS
from s2s_zoo.models.attention_seq2seq.rnn_search import RNNSearch
from s2s_zoo.models.attention_seq2seq.rnn_search import RNNSearchDecoder
from s2s_zoo.models.attention_seq2seq.rnn_search import bahdanau_attention

__all__ = [
    "ATTENTION_TYPES",
    "LUONG_DEFAULTS",
    "LUONG_PRESETS",
    "LuongDecoder",
    "LuongSeq2Seq",
    "RNNSEARCH_DEFAULTS",
    "RNNSEARCH_PRESETS",
    "RNNSearch",
    "RNNSearchDecoder",
    "bahdanau_attention",
    "luong_attention",
]
