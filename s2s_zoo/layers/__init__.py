"""Shared layers of s2s_zoo: Keras-serializable and written with keras.ops."""

from s2s_zoo.layers.attention import AdditiveAttention
from s2s_zoo.layers.attention import ConcatAttention
from s2s_zoo.layers.attention import CosineAttention
from s2s_zoo.layers.attention import DotAttention
from s2s_zoo.layers.attention import GeneralAttention
from s2s_zoo.layers.attention import ScoreAttention
from s2s_zoo.layers.attention import get_attention
from s2s_zoo.layers.bridge import Bridge
from s2s_zoo.layers.context_gru import ContextGRUCell
from s2s_zoo.layers.deep_output import DeepOutput
from s2s_zoo.layers.deep_output import Maxout
from s2s_zoo.layers.masking import ExplicitMaskLayer
from s2s_zoo.layers.sequence import ReverseSequences
from s2s_zoo.layers.sequence import reverse_sequences

__all__ = [
    "AdditiveAttention",
    "Bridge",
    "ConcatAttention",
    "ContextGRUCell",
    "CosineAttention",
    "DeepOutput",
    "DotAttention",
    "ExplicitMaskLayer",
    "GeneralAttention",
    "Maxout",
    "ReverseSequences",
    "ScoreAttention",
    "get_attention",
    "reverse_sequences",
]
