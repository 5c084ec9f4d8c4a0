"""The sentence-pair serving graph: two strings in, a match score out."""

import tensorflow as tf

from s2s_zoo.serving.base import ServingModule
from s2s_zoo.serving.base import bound_pair


class SentencePairModule(ServingModule):
    """Two strings in, a match score out: the exported sentence-pair graph.

    `serving_default(sentence1, sentence2)` takes two 1-D string tensors
    and returns `score`: the probability of the positive class (answer
    selection, paraphrase) or, for a 3-way model, that of the predicted
    label, with `probabilities` and `label` as well. The model returns
    logits; the sigmoid or softmax is applied here. Tokenization
    (`s2s_zoo.data.sentence_pairs.PairTokenizer`) runs inside the graph,
    on text made valid UTF-8 and cut to 16 characters per token of the
    model's sentence length; `truncated` (bool per pair) is True where
    either sentence was longer than the model reads. Inputs holding
    different numbers of strings get an `InvalidArgumentError` that says
    so.

    Args:
        model: A trained `s2s_zoo.models.ABCNN`.
        tokenizer: Its `PairTokenizer`.
        label_names (tuple[str]): Names of a 3-way model's classes.
    """

    def __init__(self, model, tokenizer, label_names=()):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.three_way = model.head == "softmax"
        self.label_names = tf.constant(list(label_names) or [""], tf.string)
        self.length_1 = model.sequence_length_1
        self.length_2 = model.sequence_length_2

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="sentence1"),
            tf.TensorSpec([None], tf.string, name="sentence2"),
        ],
        autograph=False,
    )
    def serving_default(self, sentence1, sentence2):
        inputs, truncated = self._prepare(sentence1, sentence2)
        return self._finish(*self._model_outputs(inputs), truncated)

    def _prepare(self, sentence1, sentence2):
        sentence1, cut_1, sentence2, cut_2 = bound_pair(
            sentence1,
            sentence2,
            (self.length_1, self.length_2),
            ("sentence1", "sentence2"),
        )
        ids_1, long_1 = self.tokenizer.encode(sentence1, self.length_1)
        ids_2, long_2 = self.tokenizer.encode(sentence2, self.length_2)
        inputs = {"token_ids_1": ids_1, "token_ids_2": ids_2}
        return inputs, cut_1 | cut_2 | long_1 | long_2

    def _finish(self, logits, truncated):
        logits = tf.cast(logits, tf.float32)
        if not self.three_way:
            return {"score": tf.sigmoid(logits), "truncated": truncated}
        probabilities = tf.nn.softmax(logits, axis=-1)
        return {
            "score": tf.reduce_max(probabilities, axis=-1),
            "probabilities": probabilities,
            "label": tf.gather(self.label_names, tf.argmax(logits, axis=-1)),
            "truncated": truncated,
        }

    def _model_outputs(self, inputs):
        return (self.model(inputs, training=False),)
