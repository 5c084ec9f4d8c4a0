"""Train, evaluate and export a translator (default: Chinese to English).

    python recipes/translate.py                       # bundled Tatoeba zh->en
    python recipes/translate.py --model luong_attention --max-minutes 5
    python recipes/translate.py --data fra.txt --source-lang fr --target-lang en
    python recipes/translate.py --data train.zh train.en --source-lang zh
    python recipes/translate.py --resume              # after a kill

Writes into --output-dir: metrics.json, history.csv, model.keras,
saved_model/ (string in, string out), attention_*.png, vocabularies.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import time

import keras
import numpy as np
import tensorflow as tf

import s2s_zoo
from s2s_zoo import export
from s2s_zoo import plotting
from s2s_zoo import training
from s2s_zoo.data import translation as text
from s2s_zoo.metrics import translation as metrics

## Config

SAMPLES = {"zh": ["我喜欢中国美食", "猫在桌子下"]}
# Sizes that train in minutes on 2 CPU cores; any other key of the model's
# registry defaults can be set with --set KEY=VALUE.
CPU_SIZES = {
    # Measured on the bundled data, 15 minutes on 2 cores, with the
    # recipe's defaults (label smoothing 0.1, annealed learning rate, the
    # epoch kept on dev BLEU): test BLEU 26.2 lowercased. See
    # docs/results/translation.md for the runs behind each default.
    "bahdanau_attention": dict(
        embedding_dim=128, hidden_dim=256, attention_dim=256, maxout_dim=256
    ),
    "luong_attention": dict(
        embedding_dim=128, hidden_dim=256, num_layers=2, dropout=0.2
    ),
    "rnn_encoder_decoder": dict(
        embedding_dim=128, hidden_dim=256, maxout_dim=256, output_rank=None
    ),
    "deep_lstm_seq2seq": dict(embedding_dim=128, hidden_dim=256, num_layers=2),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    names = s2s_zoo.model_names(task="translation")
    parser.add_argument(
        "--model",
        default="bahdanau_attention",
        choices=names,
        help="registry name of the translation model",
    )
    parser.add_argument(
        "--data",
        nargs="+",
        default=None,
        help="a Tatoeba/manythings TSV file, or SOURCE_FILE TARGET_FILE "
        "(line-aligned); default: the bundled Tatoeba cmn-eng pairs",
    )
    parser.add_argument(
        "--source-lang", default="zh", help="language code of the source"
    )
    parser.add_argument(
        "--target-lang", default="en", help="language code of the target"
    )
    parser.add_argument(
        "--epochs", type=int, default=40, help="most epochs (early stopping)"
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=15.0,
        help="training time budget in minutes (0: none)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=128, help="sentence pairs per batch"
    )
    parser.add_argument(
        "--beam-width", type=int, default=5, help="beams (1: greedy search)"
    )
    parser.add_argument(
        "--length-penalty",
        type=float,
        default=1.0,
        help="GNMT length penalty alpha (0: off)",
    )
    parser.add_argument(
        "--learning-rate", type=float, default=1.5e-3, help="Adam learning rate"
    )
    parser.add_argument(
        "--label-smoothing",
        type=float,
        default=0.1,
        help="label smoothing of the training loss (0: off)",
    )
    parser.add_argument(
        "--decay-start",
        type=float,
        default=0.5,
        help="with --max-minutes: share of the time budget after which the "
        "learning rate falls linearly to 1e-5 at the budget's end (without "
        "a budget it halves whenever the dev loss stalls)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=50,
        help="tokens kept per training sentence",
    )
    parser.add_argument(
        "--source-vocabulary-size",
        type=int,
        default=6000,
        help="most source tokens",
    )
    parser.add_argument(
        "--target-vocabulary-size",
        type=int,
        default=8000,
        help="most target tokens",
    )
    parser.add_argument(
        "--source-tokenizer",
        choices=text.TOKENIZER_KINDS,
        default=None,
        help="default: character for zh/ja, wordpiece otherwise",
    )
    parser.add_argument(
        "--target-tokenizer",
        choices=text.TOKENIZER_KINDS,
        default=None,
        help="default: character for zh/ja, wordpiece otherwise",
    )
    parser.add_argument(
        "--precision",
        choices=training.PRECISIONS,
        default="auto",
        help="Keras dtype policy; auto: mixed_bfloat16 on a CPU with native "
        "bfloat16 (AMX, AVX512-BF16), else float32",
    )
    parser.add_argument(
        "--select-on",
        choices=("bleu", "loss"),
        default="bleu",
        help="dev figure that picks the kept epoch and stops training: "
        "greedy-search BLEU (default) or loss",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=3,
        help="epochs without a better dev figure before stopping",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model hyperparameter, e.g. --set hidden_dim=512",
    )
    parser.add_argument(
        "--output-dir",
        default="runs/translate",
        help="where every output is written",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run in --output-dir",
    )
    parser.add_argument(
        "--max-train-pairs",
        type=int,
        default=None,
        help="use only the first N training pairs (smoke tests)",
    )
    return parser.parse_args(argv)


def model_config(args, source_size, target_size):
    config = dict(CPU_SIZES.get(args.model, {}))
    for item in args.set:
        key, _, value = item.partition("=")
        config[key] = json.loads(value) if value not in ("", None) else None
    config.update(
        source_vocabulary_size=source_size,
        target_vocabulary_size=target_size,
        start_token_id=text.START_ID,
        end_token_id=text.END_ID,
    )
    return config


def train_tokenizers(args, train_pairs):
    """Source and target tokenizers trained on the training pairs."""
    source = text.Tokenizer.train(
        [s for s, _ in train_pairs],
        args.source_tokenizer or text.default_tokenizer_kind(args.source_lang),
        args.source_vocabulary_size,
    )
    target = text.Tokenizer.train(
        [t for _, t in train_pairs],
        args.target_tokenizer or text.default_tokenizer_kind(args.target_lang),
        args.target_vocabulary_size,
    )
    return source, target


def build_model(args, source_tok, target_tok):
    """The compiled model and its config (optimizer and loss of the recipe)."""
    config = model_config(
        args, source_tok.vocabulary_size, target_tok.vocabulary_size
    )
    model = s2s_zoo.build(args.model, **config)
    model.compile(
        optimizer=keras.optimizers.Adam(
            args.learning_rate, global_clipnorm=1.0
        ),
        loss=training.masked_loss(args.label_smoothing),
    )
    return model, config


## Main


def main(argv=None):
    args = parse_args(argv)
    precision = training.resolve_precision(args.precision)
    # Set for this run only: tests call main() in-process.
    with training.global_dtype_policy(precision):
        return run(args, precision, argv)


def run(args, precision, argv=None):
    wall_start = time.perf_counter()
    os.makedirs(args.output_dir, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    out = lambda name: os.path.join(args.output_dir, name)  # noqa: E731

    # Data: deterministic split, tokenizers trained on train only.
    pairs = text.load_pairs(args.data, args.source_lang, args.target_lang)
    splits = text.split_pairs(pairs)
    train_pairs = splits["train"][: args.max_train_pairs]
    print(
        f"pairs: {len(pairs)} (train {len(train_pairs)}, dev "
        f"{len(splits['dev'])}, test {len(splits['test'])})"
    )
    vocab_dir = out("vocabulary")
    if args.resume and os.path.exists(os.path.join(vocab_dir, "source.vocab")):
        source_tok = text.Tokenizer.load(vocab_dir, "source")
        target_tok = text.Tokenizer.load(vocab_dir, "target")
    else:
        source_tok, target_tok = train_tokenizers(args, train_pairs)
        source_tok.save(vocab_dir, "source")
        target_tok.save(vocab_dir, "target")
    print(
        f"vocabularies: source {source_tok.vocabulary_size} "
        f"({source_tok.kind}), target {target_tok.vocabulary_size} "
        f"({target_tok.kind})"
    )
    train_ids = text.encode_pairs(
        train_pairs, source_tok, target_tok, args.max_length
    )
    dev_ids = text.encode_pairs(
        splits["dev"], source_tok, target_tok, args.max_length
    )
    train_data = text.make_dataset(
        *train_ids,
        args.batch_size,
        shuffle=True,
        seed=args.seed,
        max_length=args.max_length,
    )
    dev_data = text.make_dataset(
        *dev_ids, args.batch_size, max_length=args.max_length
    )

    # Model.
    model, config = build_model(args, source_tok, target_tok)
    print(
        f"model: {args.model}, {model.count_params():,} parameters, {precision}"
    )

    # Fit: resumable, time-budgeted, early-stopped on dev loss.
    train_tokens = int(np.sum(train_ids[1].row_lengths()) + len(train_pairs))
    batches = int(train_data.cardinality())
    if not args.resume:
        # A fresh run must not pick up an earlier run's checkpoint or clock.
        shutil.rmtree(out("backup"), ignore_errors=True)
        if os.path.exists(out("train_state.json")):
            os.remove(out("train_state.json"))
    budget = training.TimeBudget(
        args.max_minutes or None, state_path=out("train_state.json")
    )
    throughput = training.Throughput(train_tokens, batches)
    callbacks = [keras.callbacks.BackupAndRestore(out("backup"))]
    if args.select_on == "bleu":
        # Before every callback that reads the epoch logs.
        dev_sources, dev_references = text.group_references(splits["dev"])
        callbacks.append(
            training.DevBleu(
                export.Translator(
                    model,
                    source_tok,
                    target_tok,
                    beam_width=1,
                    max_source_length=args.max_length * 2,
                ),
                dev_sources,
                dev_references,
                args.batch_size,
            )
        )
    callbacks += [
        keras.callbacks.EarlyStopping(
            monitor="val_bleu" if args.select_on == "bleu" else "val_loss",
            mode="max" if args.select_on == "bleu" else "min",
            patience=args.patience,
            restore_best_weights=True,
        ),
    ]
    if budget.max_seconds is not None:
        # Anneal by the end of the time budget: every halving of the rate
        # raised dev BLEU by 1.5-3 points, and a budgeted run used to end
        # before the plateau schedule had lowered it much.
        callbacks.append(
            training.BudgetDecay(
                budget, args.learning_rate, start=args.decay_start
            )
        )
    else:
        # Halve the learning rate when the dev loss stalls for an epoch.
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5
            )
        )
    # After every callback that adds to the epoch logs.
    callbacks += [
        keras.callbacks.CSVLogger(out("history.csv"), append=args.resume),
        budget,
        throughput,
    ]
    history = model.fit(
        train_data,
        validation_data=dev_data,
        epochs=args.epochs,
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself every epoch
        verbose=1 if sys.stdout.isatty() else 2,
    )
    export.save_keras(model, out("model.keras"))
    dev_losses = history.history.get("val_loss", [])
    dev_bleus = history.history.get("val_bleu", [])

    # Evaluate on test through the exported path: strings in, strings out.
    translator = export.Translator(
        model,
        source_tok,
        target_tok,
        beam_width=args.beam_width,
        length_penalty=args.length_penalty,
        max_source_length=args.max_length * 2,
    )
    sources, references = text.group_references(splits["test"])
    translator.translate(tf.constant(sources[:2]))  # trace once, untimed
    hypotheses, decode_seconds = export.translate_corpus(
        translator, sources, args.batch_size
    )
    results = {
        "bleu": metrics.corpus_bleu(hypotheses, references),
        "bleu_lowercase": metrics.corpus_bleu(hypotheses, references, True),
        "chrf": metrics.corpus_chrf(hypotheses, references),
        "test_sentences": len(sources),
        "test_pairs": len(splits["test"]),
        "decode_sentences_per_second": len(sources) / decode_seconds,
    }

    # Samples and attention heatmaps.
    samples = SAMPLES.get(args.source_lang, []) + sources[:3]
    result = translator.translate(tf.constant(samples))
    sample_rows = []
    for k, sentence in enumerate(samples):
        translation = result["translation"][k].numpy().decode("utf-8")
        sample_rows.append({"source": sentence, "translation": translation})
        print(f"  {sentence}  ->  {translation}")
        if model.has_attention:
            source_ids = source_tok.tokenize([sentence])[0].numpy()
            output = model.generate(
                source_ids[None],
                beam_width=args.beam_width,
                length_penalty=args.length_penalty,
            )
            length = int(output.lengths[0, 0])
            output_ids = output.token_ids[0, 0, :length].numpy()
            labels = [target_tok.vocabulary[i] for i in output_ids]
            plotting.attention_heatmap(
                output.attention[0, 0, :length, : len(source_ids)],
                [source_tok.vocabulary[i] for i in source_ids],
                labels,
                out(f"attention_{k}.png"),
                title=f"{sentence} -> {translation}",
            )

    # Export, then write every figure.
    export.export_translator(
        out("saved_model"),
        model,
        source_tok,
        target_tok,
        beam_width=args.beam_width,
        length_penalty=args.length_penalty,
        max_source_length=args.max_length * 2,
    )
    report = {
        "model": args.model,
        "results": results,
        "training": {
            "epochs_completed": len(history.history.get("loss", [])),
            "train_seconds": budget.spent,
            "stopped_by_time_budget": budget.stopped_early,
            "target_tokens_per_second": throughput.tokens_per_second,
            "best_dev_loss": min(dev_losses) if dev_losses else None,
            "best_dev_bleu": max(dev_bleus) if dev_bleus else None,
            "selected_on": f"dev {args.select_on}",
            "parameters": model.count_params(),
            "precision": precision,
        },
        "samples": sample_rows,
        "config": {**vars(args), "model_config": config},
        "wall_seconds": time.perf_counter() - wall_start,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "python recipes/translate.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    with export.atomic_file(out("metrics.json")) as tmp:
        with open(tmp, "w") as f:
            json.dump(report, f, indent=2, ensure_ascii=False)
    print(
        f"test BLEU {results['bleu']:.2f} (lowercased "
        f"{results['bleu_lowercase']:.2f}), chrF {results['chrf']:.2f}; "
        f"{report['training']['target_tokens_per_second']:.0f} target "
        f"tokens/s training, {results['decode_sentences_per_second']:.1f} "
        f"sentences/s beam-{args.beam_width} decoding; wall "
        f"{report['wall_seconds'] / 60:.1f} min"
    )
    return report


if __name__ == "__main__":
    main()
