"""Steady-state decoding speed and BLEU of a trained translation run.

    python benchmarks/decode_speed.py runs/translate

Loads the run's model.keras and vocabularies, builds the same in-graph
Translator the SavedModel exports, traces it once (untimed), then translates
the test split of the bundled data (or --data) with beam 5 and greedy search
and prints sentences per second and BLEU for each. Run it on an idle machine.
"""

import argparse
import os

import keras
import tensorflow as tf

from s2s_zoo import export
from s2s_zoo.data import translation as text
from s2s_zoo.metrics import translation as metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", help="a translate recipe output directory")
    parser.add_argument("--data", nargs="+", default=None)
    parser.add_argument("--source-lang", default="zh")
    parser.add_argument("--target-lang", default="en")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--length-penalty", type=float, default=1.0)
    args = parser.parse_args(argv)

    model = keras.saving.load_model(os.path.join(args.run, "model.keras"))
    vocabulary = os.path.join(args.run, "vocabulary")
    source = text.Tokenizer.load(vocabulary, "source")
    target = text.Tokenizer.load(vocabulary, "target")
    pairs = text.load_pairs(args.data, args.source_lang, args.target_lang)
    sources, references = text.group_references(text.split_pairs(pairs)["test"])
    rows = []
    for beam_width in (5, 1):
        translator = export.Translator(
            model,
            source,
            target,
            beam_width=beam_width,
            length_penalty=args.length_penalty,
        )
        translator.translate(tf.constant(sources[:2]))  # trace, untimed
        hypotheses, seconds = export.translate_corpus(
            translator, sources, args.batch_size
        )
        rows.append(
            (
                beam_width,
                len(sources) / seconds,
                metrics.corpus_bleu(hypotheses, references),
                metrics.corpus_bleu(hypotheses, references, lowercase=True),
            )
        )
    print("| beam | sentences/s | BLEU | BLEU (lowercased) |")
    print("|---|---|---|---|")
    for beam_width, speed, bleu, bleu_lc in rows:
        print(f"| {beam_width} | {speed:.1f} | {bleu:.2f} | {bleu_lc:.2f} |")


if __name__ == "__main__":
    main()
