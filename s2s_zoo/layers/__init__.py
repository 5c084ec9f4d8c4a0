"""Shared layers of s2s_zoo: Keras-serializable and written with keras.ops."""

from s2s_zoo.layers.aspect_attention import AspectAttention
from s2s_zoo.layers.attention import AdditiveAttention
from s2s_zoo.layers.attention import ConcatAttention
from s2s_zoo.layers.attention import CosineAttention
from s2s_zoo.layers.attention import DotAttention
from s2s_zoo.layers.attention import GeneralAttention
from s2s_zoo.layers.attention import LocalAttention
from s2s_zoo.layers.attention import ScoreAttention
from s2s_zoo.layers.attention import get_attention
from s2s_zoo.layers.bidirectional_gru import BidirectionalGRU
from s2s_zoo.layers.bridge import Bridge
from s2s_zoo.layers.context_gru import ContextGRUCell
from s2s_zoo.layers.convolution import WideConv1D
from s2s_zoo.layers.deep_output import DeepOutput
from s2s_zoo.layers.deep_output import Maxout
from s2s_zoo.layers.initializers import BlockOrthogonal
from s2s_zoo.layers.initializers import block_deviation
from s2s_zoo.layers.initializers import fresh
from s2s_zoo.layers.masking import ExplicitMaskLayer
from s2s_zoo.layers.pair_attention import AttentionFeatureMap
from s2s_zoo.layers.pair_attention import AttentionMatrix
from s2s_zoo.layers.pooling import AllAveragePooling
from s2s_zoo.layers.pooling import AttentionPooling
from s2s_zoo.layers.pooling import WindowAveragePooling
from s2s_zoo.layers.sequence import ReverseSequences
from s2s_zoo.layers.sequence import reverse_sequences
from s2s_zoo.layers.standardization import BoundedStandardization

__all__ = [
    "AdditiveAttention",
    "AllAveragePooling",
    "AspectAttention",
    "AttentionFeatureMap",
    "AttentionMatrix",
    "AttentionPooling",
    "BidirectionalGRU",
    "BlockOrthogonal",
    "BoundedStandardization",
    "Bridge",
    "ConcatAttention",
    "ContextGRUCell",
    "CosineAttention",
    "DeepOutput",
    "DotAttention",
    "ExplicitMaskLayer",
    "GeneralAttention",
    "LocalAttention",
    "Maxout",
    "ReverseSequences",
    "ScoreAttention",
    "WideConv1D",
    "WindowAveragePooling",
    "block_deviation",
    "fresh",
    "get_attention",
    "reverse_sequences",
]
