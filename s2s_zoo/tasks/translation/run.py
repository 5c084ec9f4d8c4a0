"""A trained translator as one object: translate, evaluate, save, export."""

import dataclasses

import tensorflow as tf

from s2s_zoo.data import translation as text
from s2s_zoo.serving.translation import export_translator
from s2s_zoo.serving.translation import make_translator
from s2s_zoo.serving.translation import translate_corpus
from s2s_zoo.serving.translation import unpack
from s2s_zoo.tasks import base
from s2s_zoo.tasks.translation.config import TASK
from s2s_zoo.tasks.translation.config import Config
from s2s_zoo.tasks.translation.config import search_options
from s2s_zoo.tasks.translation.data import test_pairs


@dataclasses.dataclass
class Translations:
    """What `TranslationRun.translate` returns, one entry per source.

    Attributes:
        sources (list[str]): The inputs.
        translations (list[str]): The best beam of each.
        scores (list[float]): Its length-penalised log probability.
        attention (list[np.ndarray]): `(output tokens, source tokens)`
            weights of each (empty for models without attention).
        source_tokens (list[list[str]]): How the source was tokenized.
        output_tokens (list[list[str]]): The output tokens, `[END]`
            included.
    """

    sources: list
    translations: list
    scores: list
    attention: list
    source_tokens: list
    output_tokens: list

    def __len__(self):
        return len(self.translations)

    def __getitem__(self, index):
        return self.translations[index]


class TranslationRun(base.Run):
    """A trained translator: the model, its tokenizers and its config.

    Returned by `train` and `load`. Takes raw strings:

        run.translate(["我喜欢中国美食"]).translations  # ['I like ...']

    Attributes:
        model: The `keras.Model`.
        source_tokenizer, target_tokenizer: `s2s_zoo.data.translation.
            Tokenizer`s.
        config (Config): The settings it was trained with.
        metrics (dict): Its `metrics.json`, when trained or loaded from a
            finished run.
    """

    task = TASK
    Config = Config
    # Their SavedModels decode with the plain step.
    LEGACY_CONFIG = {"fused_decoding": False}
    # A translation run's metrics.json always had `results`; an ensemble's
    # (`assemble`) kept its figures at the top before the one schema.
    LEGACY_RESULTS = ("ensemble", "members", "test_sentences")

    def __init__(
        self, model, source_tokenizer, target_tokenizer, config, metrics=None
    ):
        super().__init__(model, config, metrics)
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self._translators = {}

    def save_assets(self, directory):
        self.source_tokenizer.save(directory, "source")
        self.target_tokenizer.save(directory, "target")

    @classmethod
    def load_assets(cls, directory, info):
        return {
            "source_tokenizer": text.Tokenizer.load(directory, "source"),
            "target_tokenizer": text.Tokenizer.load(directory, "target"),
        }

    def serving_module(self):
        """The in-graph `Translator` with the run's decoding settings."""
        return self.translator()

    def write_saved_model(self, path):
        """The SavedModel: `serving_default` and `n_best`, with the run's
        decoding options fixed in it (see `export`)."""
        export_translator(
            path,
            self.model,
            self.source_tokenizer,
            self.target_tokenizer,
            beam_width=self.config.beam_width,
            length_penalty=self.config.length_penalty,
            max_source_length=self.config.max_length * 2,
            fused=self.config.fused_decoding,
            xla=self.config.xla_decoding,
            **search_options(self.config),
        )

    def translator(self, beam_width=None, length_penalty=None, **options):
        """The in-graph `s2s_zoo.serving.Translator` (cached per setting).

        `options` are the decoding options of `Config` (`coverage_penalty`,
        `no_repeat_ngram_size`, `min_length_ratio`, `max_length_ratio`,
        `sample`, `top_k`, `top_p`, `temperature`, `sampling_seed`),
        `fused_decoding` and `xla_decoding`; each one not given is the
        run's.
        """
        beam_width = (
            self.config.beam_width if beam_width is None else beam_width
        )
        if length_penalty is None:
            length_penalty = self.config.length_penalty
        fused = options.pop("fused_decoding", self.config.fused_decoding)
        xla = options.pop("xla_decoding", self.config.xla_decoding)
        options = search_options(self.config, **options)
        key = (
            beam_width,
            length_penalty,
            fused,
            xla,
            tuple(sorted(options.items())),
        )
        if key not in self._translators:
            self._translators[key] = make_translator(
                self.model,
                self.source_tokenizer,
                self.target_tokenizer,
                beam_width=beam_width,
                length_penalty=length_penalty,
                max_source_length=self.config.max_length * 2,
                fused=fused,
                xla=xla,
                **options,
            )
        return self._translators[key]

    def translate(
        self,
        sentences,
        beam_width=None,
        length_penalty=None,
        batch_size=64,
        **options,
    ):
        """Translates raw strings; returns `Translations`.

        Args:
            sentences (list[str] or str): Source sentences.
            beam_width (int): Default: the run's.
            length_penalty (float): Default: the run's.
            batch_size (int): Sentences per call.
            **options: Decoding options (see `translator`); default: the
                run's.
        """
        if isinstance(sentences, str):
            sentences = [sentences]
        sentences = list(sentences)
        translator = self.translator(beam_width, length_penalty, **options)
        translations, scores, attention = [], [], []
        source_tokens, output_tokens = [], []
        source_vocabulary = self.source_tokenizer.vocabulary
        target_vocabulary = self.target_tokenizer.vocabulary
        for offset in range(0, len(sentences), batch_size):
            batch = sentences[offset : offset + batch_size]
            out = translator.translate(tf.constant(batch, tf.string))
            for k, sentence in enumerate(batch):
                translations.append(out["translation"][k].numpy().decode())
                scores.append(float(out["score"][k]))
                source, output, weights = unpack(
                    out,
                    k,
                    source_vocabulary,
                    target_vocabulary,
                    self.model.has_attention,
                )
                source_tokens.append(source)
                output_tokens.append(output)
                attention.append(weights)
        return Translations(
            sentences,
            translations,
            scores,
            attention,
            source_tokens,
            output_tokens,
        )

    def evaluate(self, pairs=None, beam_width=None, batch_size=None, **options):
        """BLEU, lowercased BLEU and chrF on `pairs` (default: the test
        split of the run's data); see `evaluate`."""
        return evaluate(self, pairs, beam_width, batch_size, **options)

    def plot_attention(self, sentence, path):
        """Draws the attention of the best beam for `sentence` to `path`."""
        from s2s_zoo import plotting

        result = self.translate([sentence])
        return plotting.attention_heatmap(
            result.attention[0],
            result.source_tokens[0],
            result.output_tokens[0],
            path,
            title=f"{sentence} -> {result.translations[0]}",
        )


def load(run_dir):
    """Loads a finished run directory in one call; returns a
    `TranslationRun`.

    Raises:
        FileNotFoundError: If `run_dir` holds no finished run.
        ValueError: If it holds a run of another task.
    """
    return TranslationRun.load(run_dir)


def evaluate(run, pairs=None, beam_width=None, batch_size=None, **options):
    """Scores `run` on `pairs`, through the in-graph translator.

    Sources with several references (Tatoeba has many) are translated once
    and scored against all of them. `options` are decoding options (see
    `TranslationRun.translator`; `length_penalty` among them).

    Returns:
        A dict: `bleu`, `bleu_lowercase` (sacreBLEU's defaults; their
        signatures as `bleu_signature`, `bleu_lowercase_signature`),
        `chrf`, `test_sentences`, `test_pairs`,
        `decode_sentences_per_second` (after tracing), and `hypotheses`.
    """
    from s2s_zoo.metrics import translation as metrics

    if pairs is None:
        pairs = test_pairs(run.config)
    sources, references = text.group_references(pairs)
    translator = run.translator(beam_width, **options)
    translator.translate(tf.constant(sources[:2]))  # trace once, untimed
    hypotheses, seconds = translate_corpus(
        translator,
        sources,
        batch_size or run.config.batch_size,
        progress=f"decoding {len(sources)} sentences",
    )
    return {
        "bleu": metrics.corpus_bleu(hypotheses, references),
        "bleu_lowercase": metrics.corpus_bleu(hypotheses, references, True),
        "bleu_signature": metrics.bleu_signature(references),
        "bleu_lowercase_signature": metrics.bleu_signature(references, True),
        "chrf": metrics.corpus_chrf(hypotheses, references),
        "test_sentences": len(sources),
        "test_pairs": len(pairs),
        "decode_sentences_per_second": len(sources) / seconds,
        "hypotheses": hypotheses,
    }


def export(run, path=None):
    """Writes the string-in, string-out SavedModel of `run` atomically.

    Its `serving_default` takes a 1-D `tf.string` tensor `text` and
    returns `translation`, `score`, `attention`, `token_ids` and
    `source_ids`; its `n_best` signature returns every beam
    (`translations`, `scores`, `lengths`). The run's decoding options are
    fixed in it. It needs only `tensorflow` and `tensorflow_text`.
    Returns the path (default `<output_dir>/saved_model`).
    """
    return run.export(path)
