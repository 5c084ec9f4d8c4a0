"""BCNN and ABCNN-1/2/3 (Yin, Schuetze, Xiang, Zhou, TACL 2016).

Two weight-sharing CNNs, one per sentence, built from blocks of wide
convolution and average pooling; the ABCNNs relate the two sentences
inside the CNN through an attention matrix `A[i, j] = 1 / (1 + |x_i -
y_j|)`:

- BCNN: no attention (Siamese).
- ABCNN-1: `A` of each block's INPUT becomes attention feature maps, a
  second input channel of the convolution.
- ABCNN-2: `A` of each block's convolution OUTPUT; its row / column sums
  weight the window pooling.
- ABCNN-3: both.

The output layer (logistic regression, or a softmax for entailment) reads,
for every level (the input layer and every block), the cosine similarity of
the two sentences' all-ap vectors (the released code's features), by
default also the all-ap vectors themselves (`pooled_features`) and,
optionally, lexical word-overlap features computed from the token ids
(`overlap_features`).
"""

import keras
import numpy as np
from keras import ops

from s2s_zoo import registry
from s2s_zoo.layers.convolution import WideConv1D
from s2s_zoo.layers.convolution import wide_padding_mask
from s2s_zoo.layers.masking import ExplicitMaskLayer
from s2s_zoo.layers.pair_attention import AttentionFeatureMap
from s2s_zoo.layers.pair_attention import AttentionMatrix
from s2s_zoo.layers.pooling import AllAveragePooling
from s2s_zoo.layers.pooling import AttentionPooling
from s2s_zoo.layers.pooling import WindowAveragePooling
from s2s_zoo.layers.standardization import BoundedStandardization
from s2s_zoo.models.base import ZooModel

# === Defaults ===

# Yin et al. 2016, Sec. 5 and the released code: d = 50 filters per block,
# w = 4 for answer selection (3 for PI / TE), tanh, two blocks in the
# headline row, 300-d frozen word2vec vectors, answers cut at 40 tokens,
# L2 0.0006 (two-block AS rows of the hyperparameter table).
BCNN_DEFAULTS = {
    "vocabulary_size": 30000,
    "embedding_dim": 300,
    "sequence_length_1": 40,
    "sequence_length_2": 40,
    "filters": 50,
    "kernel_size": 4,
    "num_blocks": 2,
    "head": "score",
    "num_classes": 3,
    "similarity_features": True,
    "pooled_features": True,
    "overlap_features": False,
    "standardize_features": False,
    "trainable_embeddings": False,
    "l2": 0.0006,
    "dropout": 0.0,
}
ABCNN1_DEFAULTS = {**BCNN_DEFAULTS, "share_attention_weights": False}
ABCNN2_DEFAULTS = {**BCNN_DEFAULTS, "normalize_pool_weights": False}
ABCNN3_DEFAULTS = {
    **BCNN_DEFAULTS,
    "share_attention_weights": False,
    "normalize_pool_weights": False,
}
CHOICES = {"head": ("score", "softmax")}
# Named sizes. The sentence-pair task sets the per-task lengths, filter
# width and head itself; "cpu" is the paper's model with 100-d vectors
# trained with it (no pretrained word2vec ships), "tiny" is for tests.
PRESETS = {
    "cpu": dict(embedding_dim=100),
    "tiny": dict(
        vocabulary_size=12,
        embedding_dim=4,
        sequence_length_1=4,
        sequence_length_2=5,
        filters=3,
        kernel_size=2,
        num_blocks=2,
        trainable_embeddings=True,
    ),
}
PAPER = "Yin, Schuetze, Xiang, Zhou 2016 (TACL), ABCNN"
NUM_OVERLAP_FEATURES = 8

# === Helpers ===


def _cosine(x, y):
    dot = ops.sum(x * y, axis=-1, keepdims=True)
    norms = ops.sqrt(ops.sum(ops.square(x), -1, keepdims=True) + 1e-12) * (
        ops.sqrt(ops.sum(ops.square(y), -1, keepdims=True) + 1e-12)
    )
    return dot / norms


@keras.saving.register_keras_serializable(package="s2s_zoo")
class _LexicalOverlap(ExplicitMaskLayer):
    """Word-overlap features of a pair, from token ids (8 numbers).

    For each direction (sentence 1 in 2, sentence 2 in 1): the fraction of
    content-word tokens that also occur in the other sentence, the same
    fraction weighted by IDF, and `log(1 + count)` of both (Yang et al.
    2015's WordCnt / WgtWordCnt, which the paper adds for WikiQA). Which
    ids count and their IDF live in the non-trainable `word_statistics`
    `(vocabulary_size, 2)`: column 0 the indicator, column 1 indicator x
    IDF (`s2s_zoo.data.sentence_pairs.word_statistics`). Zero until set, so
    the features are 0 until `set_word_statistics` is called.
    """

    def __init__(self, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size

    def build(self, token_ids_1_shape=None, token_ids_2_shape=None):
        self.word_statistics = self.add_weight(
            name="word_statistics",
            shape=(self.vocabulary_size, 2),
            initializer="zeros",
            trainable=False,
        )
        self.built = True

    def call(self, token_ids_1, token_ids_2):
        stats_1 = ops.take(self.word_statistics, token_ids_1, axis=0)
        stats_2 = ops.take(self.word_statistics, token_ids_2, axis=0)
        # (batch_size, T_0, T_1): token i of sentence 1 equals token j of 2.
        same = ops.equal(
            ops.expand_dims(token_ids_1, 2), ops.expand_dims(token_ids_2, 1)
        )
        in_2 = ops.cast(ops.any(same, axis=2), stats_1.dtype)
        in_1 = ops.cast(ops.any(same, axis=1), stats_2.dtype)
        count_12 = ops.sum(stats_1 * ops.expand_dims(in_2, -1), axis=1)
        count_21 = ops.sum(stats_2 * ops.expand_dims(in_1, -1), axis=1)
        total_1 = ops.maximum(ops.sum(stats_1, axis=1), 1e-6)
        total_2 = ops.maximum(ops.sum(stats_2, axis=1), 1e-6)
        return ops.concatenate(
            [
                count_12 / total_1,
                count_21 / total_2,
                ops.log1p(count_12),
                ops.log1p(count_21),
            ],
            axis=-1,
        )  # (batch_size, 8)

    def compute_output_spec(self, token_ids_1, token_ids_2):
        return keras.KerasTensor(
            (token_ids_1.shape[0], NUM_OVERLAP_FEATURES), self.compute_dtype
        )

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


# === Model ===


@keras.saving.register_keras_serializable(package="s2s_zoo")
class ABCNN(ZooModel):
    """BCNN (`variant=0`) and ABCNN-1/2/3 for sentence pairs.

    Yin, Schuetze, Xiang, Zhou, "ABCNN: Attention-Based Convolutional
    Neural Network for Modeling Sentence Pairs", TACL 4, 2016
    (https://arxiv.org/abs/1512.05193).

    Each block: [ABCNN-1: attention matrix on the block input, attention
    feature maps concatenated to the input as a second channel] -> wide
    convolution (`WideConv1D`, weights shared by both sentences) ->
    [ABCNN-2: attention matrix on the convolution outputs, attention-
    weighted w-ap (`AttentionPooling`)] or plain w-ap. Every level (the
    embeddings and each block's pooled output) is all-ap'd; the output
    layer reads all levels.

    Deviations: every block ends in (attention) w-ap and its all-ap feeds
    the output layer, where the paper's top block applies all-ap straight
    to the convolution output; by default the input of the output layer
    also holds the raw all-ap vectors (the released code passes only
    similarities: `pooled_features=False`).

    Args:
        variant (int): 0 (BCNN), 1, 2 or 3.
        vocabulary_size (int): Ids `0 ... vocabulary_size - 1`, 0 = padding.
        embedding_dim (int): `d_0`. Default 300.
        sequence_length_1 (int): Fixed (padded) length of sentence 1.
            ABCNN-1's weights depend on it. Default 40.
        sequence_length_2 (int): The same for sentence 2. Default 40.
        filters (int): Filters per block, `d_k`. Default 50.
        kernel_size (int): Filter width `w`. Default 4.
        num_blocks (int): Convolution-pooling blocks, 1 or 2 in the paper.
            Default 2.
        head (str): `"score"`: one logit per pair, the logistic regression
            of answer selection and paraphrase; `"softmax"`: `num_classes`
            logits (entailment). Default `"score"`.
        num_classes (int): Classes of the softmax head. Default 3.
        similarity_features (bool): Add the cosine of the two all-ap
            vectors of each level. Default True.
        pooled_features (bool): Add the all-ap vectors themselves. Default
            True; False gives the released code's output layer, which
            reads similarities (and extra features) only.
        overlap_features (bool): Add the 8 word-overlap features
            (`set_word_statistics` gives the IDF). Default False.
        standardize_features (bool): Standardize the output layer's input
            (`BatchNormalization` without a scale). At inference this is a
            fixed affine map, so the output layer is still a logistic
            regression on the same features; it only changes how fast that
            regression learns (the per-level cosines of mean-pooled tanh
            maps all sit close to 1). Inputs are clipped at inference to
            the range each feature took in training
            (`BoundedStandardization`), so a pair far outside it (an empty
            sentence) cannot push the answer to certainty. Default False
            (the paper).
        trainable_embeddings (bool): Default False (the paper freezes its
            word2vec vectors); set True for random initial vectors.
        l2 (float): L2 weight of every kernel but the embeddings. Default
            0.0006.
        dropout (float): On the output layer's input. Default 0.
        share_attention_weights (bool): ABCNN-1/3: one `W` for both
            sentences (released code) instead of two (paper). Default False.
        normalize_pool_weights (bool): ABCNN-2/3: renormalize the pooling
            weights to sum to 1 (released code). Default False (paper).
        **kwargs: `keras.Model` keyword arguments.

    Call arguments:
        inputs: dict with int `token_ids_1` `(batch_size,
            sequence_length_1)` and `token_ids_2` `(batch_size,
            sequence_length_2)`, right-padded with 0.

    Returns:
        Logits: `(batch_size,)` (score head; `sigmoid` gives the
        probability of the positive class) or `(batch_size, num_classes)`
        (softmax head). `predict_probabilities` applies the link.

    Examples:
    >>> model = ABCNN(variant=3, vocabulary_size=20, embedding_dim=4,
    ...               sequence_length_1=5, sequence_length_2=6, filters=3,
    ...               kernel_size=2, num_blocks=1)
    >>> model({"token_ids_1": np.ones((2, 5)),
    ...        "token_ids_2": np.ones((2, 6))}).shape
    TensorShape([2])
    """

    def __init__(
        self,
        variant=0,
        vocabulary_size=30000,
        embedding_dim=300,
        sequence_length_1=40,
        sequence_length_2=40,
        filters=50,
        kernel_size=4,
        num_blocks=2,
        head="score",
        num_classes=3,
        similarity_features=True,
        pooled_features=True,
        overlap_features=False,
        standardize_features=False,
        trainable_embeddings=False,
        l2=0.0006,
        dropout=0.0,
        share_attention_weights=False,
        normalize_pool_weights=False,
        **kwargs,
    ):
        if variant not in (0, 1, 2, 3):
            raise ValueError(
                f"variant must be 0 (BCNN), 1, 2 or 3; received {variant!r}."
            )
        if head not in CHOICES["head"]:
            raise ValueError(
                f"head must be one of {list(CHOICES['head'])}; "
                f"received {head!r}."
            )
        if head == "softmax" and num_classes < 2:
            raise ValueError(
                "The softmax head needs num_classes >= 2; "
                f"received {num_classes!r}."
            )
        if num_blocks < 1:
            raise ValueError(
                f"num_blocks must be at least 1; received {num_blocks!r}."
            )
        if not (similarity_features or pooled_features or overlap_features):
            raise ValueError(
                "The output layer needs at least one of similarity_features, "
                "pooled_features and overlap_features."
            )
        self.variant = variant
        self.kernel_size = kernel_size
        self.head = head
        self.sequence_length_1 = sequence_length_1
        self.sequence_length_2 = sequence_length_2
        self.similarity_features = similarity_features
        self.pooled_features = pooled_features
        self.input_attention = variant in (1, 3)
        self.pooling_attention = variant in (2, 3)
        regularizer = keras.regularizers.L2(l2) if l2 else None

        # === Layers ===
        self.embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            trainable=trainable_embeddings,
            name="embedding",
        )
        self.convolutions = []
        self.window_poolings = []
        self.input_attention_matrices = []
        self.attention_feature_maps = []
        self.output_attention_matrices = []
        self.attention_poolings = []
        for k in range(1, num_blocks + 1):
            width = embedding_dim if k == 1 else filters
            if self.input_attention:
                self.input_attention_matrices.append(
                    AttentionMatrix(name=f"input_attention_{k}")
                )
                self.attention_feature_maps.append(
                    AttentionFeatureMap(
                        width,
                        share_weights=share_attention_weights,
                        kernel_regularizer=regularizer,
                        name=f"attention_feature_map_{k}",
                    )
                )
            self.convolutions.append(
                WideConv1D(
                    filters,
                    kernel_size,
                    kernel_regularizer=regularizer,
                    name=f"convolution_{k}",
                )
            )
            if self.pooling_attention:
                self.output_attention_matrices.append(
                    AttentionMatrix(name=f"output_attention_{k}")
                )
                self.attention_poolings.append(
                    AttentionPooling(
                        kernel_size,
                        normalize=normalize_pool_weights,
                        name=f"attention_pooling_{k}",
                    )
                )
            else:
                self.window_poolings.append(
                    WindowAveragePooling(kernel_size, name=f"w_ap_{k}")
                )
        self.all_ap = AllAveragePooling(name="all_ap")
        self.lexical_overlap = (
            _LexicalOverlap(vocabulary_size, name="lexical_overlap")
            if overlap_features
            else None
        )
        self.standardize = (
            BoundedStandardization(
                momentum=0.9, scale=False, name="standardize"
            )
            if standardize_features
            else None
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        # Logits, as every s2s_zoo classifier returns (the SavedModel
        # signature applies the sigmoid or softmax): a user's own
        # `compile(loss=...)` then cannot silently train on probabilities
        # as if they were logits, or the other way round.
        self.classifier = keras.layers.Dense(
            1 if head == "score" else num_classes,
            kernel_regularizer=regularizer,
            name="classifier",
        )

        # === Functional model ===
        inputs = {
            "token_ids_1": keras.Input(
                shape=(sequence_length_1,), dtype="int32", name="token_ids_1"
            ),
            "token_ids_2": keras.Input(
                shape=(sequence_length_2,), dtype="int32", name="token_ids_2"
            ),
        }
        outputs, _ = self._forward(inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self._arguments = {
            "variant": variant,
            "vocabulary_size": vocabulary_size,
            "embedding_dim": embedding_dim,
            "sequence_length_1": sequence_length_1,
            "sequence_length_2": sequence_length_2,
            "filters": filters,
            "kernel_size": kernel_size,
            "num_blocks": num_blocks,
            "head": head,
            "num_classes": num_classes,
            "similarity_features": similarity_features,
            "pooled_features": pooled_features,
            "overlap_features": overlap_features,
            "standardize_features": standardize_features,
            "trainable_embeddings": trainable_embeddings,
            "l2": l2,
            "dropout": dropout,
            "share_attention_weights": share_attention_weights,
            "normalize_pool_weights": normalize_pool_weights,
        }

    def _forward(self, inputs, training=None, display=False):
        """Returns `(outputs, attention)`; `attention` maps names to `A`s.

        With `display=True` (eager use only) a parameter-free attention
        matrix is also computed on block inputs that use none, so BCNN and
        ABCNN-2 pairs can be plotted too.
        """
        ids_1 = ops.cast(inputs["token_ids_1"], "int32")
        ids_2 = ops.cast(inputs["token_ids_2"], "int32")
        mask_1 = ops.not_equal(ids_1, 0)
        mask_2 = ops.not_equal(ids_2, 0)
        x_1 = self.embedding(ids_1)  # (batch_size, s_0, d_0)
        x_2 = self.embedding(ids_2)
        levels = [(x_1, x_2)]
        attention = {}
        w = self.kernel_size
        for k, convolution in enumerate(self.convolutions):
            in_1, in_2 = x_1, x_2
            if self.input_attention:
                a = self.input_attention_matrices[k](x_1, x_2, mask_1, mask_2)
                attention[f"block_{k + 1}_input"] = a
                maps_1, maps_2 = self.attention_feature_maps[k](
                    a, mask_1, mask_2
                )
                # Two channels as one: (batch_size, s, 2 d), see the spec.
                in_1 = ops.concatenate([x_1, maps_1], axis=-1)
                in_2 = ops.concatenate([x_2, maps_2], axis=-1)
            elif display:
                attention[f"block_{k + 1}_input"] = AttentionMatrix()(
                    x_1, x_2, mask_1, mask_2
                )
            conv_1 = convolution(in_1, mask_1)  # (batch_size, s_0 + w - 1, d)
            conv_2 = convolution(in_2, mask_2)
            if self.pooling_attention:
                a = self.output_attention_matrices[k](
                    conv_1,
                    conv_2,
                    wide_padding_mask(mask_1, w),
                    wide_padding_mask(mask_2, w),
                )
                attention[f"block_{k + 1}_convolution"] = a
                x_1, x_2 = self.attention_poolings[k](
                    conv_1, conv_2, a, mask_1, mask_2
                )
            else:
                x_1 = self.window_poolings[k](conv_1, mask_1)
                x_2 = self.window_poolings[k](conv_2, mask_2)
            levels.append((x_1, x_2))
        features = []
        for level_1, level_2 in levels:
            pooled_1 = self.all_ap(level_1, mask_1)
            pooled_2 = self.all_ap(level_2, mask_2)
            if self.pooled_features:
                features += [pooled_1, pooled_2]
            if self.similarity_features:
                features.append(_cosine(pooled_1, pooled_2))
        if self.lexical_overlap is not None:
            features.append(self.lexical_overlap(ids_1, ids_2))
        hidden = ops.concatenate(features, axis=-1)
        if self.standardize is not None:
            hidden = self.standardize(hidden, training=training)
        hidden = self.dropout_layer(hidden, training=training)
        outputs = self.classifier(hidden)
        if self.classifier.units == 1:
            outputs = ops.squeeze(outputs, -1)  # (batch_size,)
        return outputs, attention

    def default_optimizer(self):
        """AdaGrad at lr 0.05 with the accumulator at 0: the released
        code's rows of the paper's hyperparameter table (lr 0.05-0.085 per
        task and variant); L2 is in the model's regularizers."""
        return keras.optimizers.Adagrad(
            learning_rate=0.05, initial_accumulator_value=0.0
        )

    def default_loss(self):
        """Binary cross-entropy on the score logit, or sparse categorical
        cross-entropy on the softmax head's logits."""
        if self.head == "score":
            return keras.losses.BinaryCrossentropy(from_logits=True)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def predict_probabilities(self, inputs, batch_size=256):
        """`sigmoid` (score head) or `softmax` of the logits, as NumPy."""
        # Batch by batch: Keras' `predict` would put the arrays in a
        # `tf.data` pipeline whose iterator can take seconds to delete
        # (`s2s_zoo.data.pipelines.without_autotuning`).
        rows = len(keras.tree.flatten(inputs)[0])
        if not rows:
            return self.predict(inputs, verbose=0)
        logits = np.concatenate(
            [
                np.asarray(
                    self.predict_on_batch(
                        keras.tree.map_structure(
                            lambda a: a[start : start + batch_size], inputs
                        )
                    )
                )
                for start in range(0, rows, batch_size)
            ]
        )
        if self.head == "score":
            return 1.0 / (1.0 + np.exp(-logits))
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    def attention_matrices(self, token_ids_1, token_ids_2):
        """Attention matrices of a batch, for plots: name -> `(B, T0, T1)`.

        Names are `block_k_input` (ABCNN-1/3; for BCNN and ABCNN-2 the same
        match score of the block inputs, which the model does not use) and
        `block_k_convolution` (ABCNN-2/3).
        """
        inputs = {
            "token_ids_1": ops.convert_to_tensor(token_ids_1, "int32"),
            "token_ids_2": ops.convert_to_tensor(token_ids_2, "int32"),
        }
        _, attention = self._forward(inputs, display=True)
        return {name: ops.convert_to_numpy(a) for name, a in attention.items()}

    def set_embeddings(self, matrix):
        """Copies a `(vocabulary_size, embedding_dim)` matrix in."""
        self.embedding.embeddings.assign(matrix)

    def set_word_statistics(self, statistics):
        """Sets the word-overlap weights, `(vocabulary_size, 2)`."""
        if self.lexical_overlap is None:
            raise ValueError(
                "This model has no overlap features (overlap_features=False)."
            )
        self.lexical_overlap.word_statistics.assign(statistics)


# === Registered builders ===


@registry.register(
    "bcnn",
    family="abcnn",
    task="sentence_pairs",
    paper=PAPER + ", BCNN",
    defaults=BCNN_DEFAULTS,
    choices=CHOICES,
    presets=PRESETS,
)
def bcnn(**config):
    return ABCNN(variant=0, **config)


@registry.register(
    "abcnn1",
    family="abcnn",
    task="sentence_pairs",
    paper=PAPER + "-1",
    defaults=ABCNN1_DEFAULTS,
    choices=CHOICES,
    presets=PRESETS,
)
def abcnn1(**config):
    return ABCNN(variant=1, **config)


@registry.register(
    "abcnn2",
    family="abcnn",
    task="sentence_pairs",
    paper=PAPER + "-2",
    defaults=ABCNN2_DEFAULTS,
    choices=CHOICES,
    presets=PRESETS,
)
def abcnn2(**config):
    return ABCNN(variant=2, **config)


@registry.register(
    "abcnn3",
    family="abcnn",
    task="sentence_pairs",
    paper=PAPER + "-3",
    defaults=ABCNN3_DEFAULTS,
    choices=CHOICES,
    presets=PRESETS,
)
def abcnn3(**config):
    return ABCNN(variant=3, **config)
