"""The aspect-sentiment serving graph: sentence and aspect strings in,
polarity out."""

import tensorflow as tf

from s2s_zoo.data import aspect_text
from s2s_zoo.serving.base import ServingModule
from s2s_zoo.serving.base import bound_pair


class AspectSentimentModule(ServingModule):
    """String in, sentiment out: the exported serving graph.

    `serving_default(sentence, aspect)` takes two 1-D string tensors of the
    same length and returns a dict: `probabilities` float32
    `(batch_size, num_classes)`, `label` string `(batch_size,)` and
    `attention` float32 `(batch_size, N)` over the sentence tokens (as
    `split_words` gives them, cut to `max_length`; zeros for the models
    without attention), and `truncated` bool `(batch_size,)`: True where the
    sentence had more than `max_length` tokens (or `16 * max_length`
    characters, the most read) or the aspect more than
    `max_aspect_length`. Empty sentences, aspects absent from the sentence,
    unseen words (id 1), invalid UTF-8 and over-long text all get an
    answer, in bounded time; inputs of different lengths get an
    `InvalidArgumentError` that says so.

    Args:
        model: A trained `s2s_zoo.models.ATAELSTM`.
        vocabulary (Vocabulary): Sentence words.
        aspect_vocabulary (Vocabulary): Aspect tokens.
        label_names (list[str]): Class names by label id.
        level (str): `"term"` or `"category"`, how aspects are tokenized.
        max_length (int): Most sentence tokens read. Default 100.
        max_aspect_length (int): Most aspect tokens read. Default 16.
    """

    def __init__(
        self,
        model,
        vocabulary,
        aspect_vocabulary,
        label_names,
        level,
        max_length=100,
        max_aspect_length=16,
    ):
        super().__init__()
        self.model = model
        self.word_table = vocabulary.table()
        self.aspect_table = aspect_vocabulary.table()
        self.label_names = tf.constant(list(label_names), tf.string)
        self.level = level
        self.max_length = max_length
        self.max_aspect_length = max_aspect_length

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="sentence"),
            tf.TensorSpec([None], tf.string, name="aspect"),
        ],
        autograph=False,
    )
    def serving_default(self, sentence, aspect):
        inputs, truncated = self._prepare(sentence, aspect)
        return self._finish(*self._model_outputs(inputs), truncated)

    def _prepare(self, sentence, aspect):
        sentence, cut, aspect, aspect_cut = bound_pair(
            sentence,
            aspect,
            (self.max_length, self.max_aspect_length),
            ("sentence", "aspect"),
        )
        words = aspect_text.split_words(sentence)
        aspect_words = aspect_text.aspect_tokens(aspect, self.level)
        truncated = (
            cut
            | aspect_cut
            | (words.row_lengths() > self.max_length)
            | (aspect_words.row_lengths() > self.max_aspect_length)
        )
        token_ids = aspect_text.encode(words, self.word_table, self.max_length)
        aspect_token_ids = aspect_text.encode(
            aspect_words, self.aspect_table, self.max_aspect_length
        )
        inputs = {"token_ids": token_ids, "aspect_token_ids": aspect_token_ids}
        return inputs, truncated

    def _finish(self, logits, attention, truncated):
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        label = tf.gather(self.label_names, tf.argmax(probabilities, -1))
        return {
            "probabilities": probabilities,
            "label": label,
            "attention": tf.cast(attention, tf.float32),
            "truncated": truncated,
        }

    def _model_outputs(self, inputs):
        return self.model.call_with_attention(inputs)
