"""Model families; importing this module fills the registry."""

from s2s_zoo.models.abcnn import ABCNN
from s2s_zoo.models.atae_lstm import ATAELSTM
from s2s_zoo.models.attention_seq2seq import LuongSeq2Seq
from s2s_zoo.models.attention_seq2seq import RNNSearch
from s2s_zoo.models.base import Seq2SeqModel
from s2s_zoo.models.base import ZooModel
from s2s_zoo.models.ensemble import Ensemble
from s2s_zoo.models.seq2seq import DeepLSTMSeq2Seq
from s2s_zoo.models.seq2seq import RNNEncoderDecoder

__all__ = [
    "ABCNN",
    "ATAELSTM",
    "DeepLSTMSeq2Seq",
    "Ensemble",
    "LuongSeq2Seq",
    "RNNEncoderDecoder",
    "RNNSearch",
    "Seq2SeqModel",
    "ZooModel",
]
