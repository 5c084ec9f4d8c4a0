"""BLEU against source length, with and without attention.

Trains the four translation models with matched parameter counts and equal
training-time budgets on the same data, then scores corpus BLEU per
source-length bucket (Bahdanau et al. 2015, Figure 2; Cho et al. 2014b).

    from s2s_zoo.tasks import bottleneck

    report = bottleneck.run(bottleneck.Config(quick=True))  # synthetic task

On real data (a manythings TSV such as Tatoeba fra-eng) set `data`,
`source_lang` and `target_lang`. Writes into `output_dir`:
`bleu_by_length.csv`, `bleu_by_length.png`, `attention_<model>_<k>.png`
for long test sentences and `metrics.json`.
"""

import csv
import dataclasses
import functools
import json
import os
import time
import typing

import keras
import numpy as np

from s2s_zoo import registry
from s2s_zoo import training
from s2s_zoo.data import synthetic
from s2s_zoo.data import translation as text
from s2s_zoo.serving.translation import make_translator
from s2s_zoo.serving.translation import translate_corpus
from s2s_zoo.tasks import base
from s2s_zoo.tasks import common
from s2s_zoo.tasks import translation
from s2s_zoo.tasks.common import option

TASK = "bottleneck"
MODELS = (
    "rnn_encoder_decoder",
    "deep_lstm_seq2seq",
    "bahdanau_attention",
    "luong_attention",
)
# Fixed shape of each model; hidden_dim is searched to match parameters.
SHAPES = {
    "rnn_encoder_decoder": dict(output_rank=None),
    "deep_lstm_seq2seq": dict(num_layers=2),
    "bahdanau_attention": dict(),
    "luong_attention": dict(num_layers=2, dropout=0.0),
}


@dataclasses.dataclass
class Config:
    """Settings of a bottleneck study; None means the data's default."""

    data: typing.Optional[list] = option(
        None,
        "a manythings TSV (e.g. fra.txt) or two parallel files; default: "
        "the synthetic task generated in code",
    )
    source_lang: str = option("fr", "language code of the source")
    target_lang: str = option("en", "language code of the target")
    models: list = option(list(MODELS), "registry names to compare")
    quick: bool = option(False, "synthetic task in under 10 minutes")
    minutes_per_model: typing.Optional[float] = option(
        None, "training budget of each model (default 1.5 / 4 / 10)"
    )
    train_max_length: typing.Optional[int] = option(
        None, "longest training source in words (the -30/-50 of the paper)"
    )
    test_max_length: typing.Optional[int] = option(
        None, "longest test source in words"
    )
    bucket_width: int = option(5, "words per source-length bucket")
    train_pairs: typing.Optional[int] = option(None, "training pairs used")
    test_pairs: typing.Optional[int] = option(None, "test pairs scored")
    parameters: typing.Optional[int] = option(
        None, "parameter budget each model is matched to"
    )
    embedding_dim: typing.Optional[int] = option(None, "embedding width")
    batch_size: int = option(64, "sentence pairs per batch")
    learning_rate: typing.Optional[float] = option(
        None,
        "Adam learning rate; default 1e-2 on the synthetic task (the small "
        "models need it to learn within minutes), 1e-3 on real data",
    )
    beam_width: int = option(1, "beams (1: greedy)")
    output_dir: str = option("runs/bottleneck", "where outputs go")
    seed: int = option(0, "random seed")
    resume: bool = option(
        False,
        "continue an interrupted study in --output-dir: finished models "
        "are kept, the one in training goes on from its last epoch",
    )
    presets_dir: typing.Optional[str] = option(
        None,
        "also save each trained model as a trained preset, "
        "bottleneck_<model>, in this folder (s2s_zoo.tasks.from_preset "
        "loads it)",
    )


def resolve(config):
    """`config` with every None set to the default of its kind of data."""
    synthetic_task = not config.data
    quick = config.quick
    defaults = dict(
        minutes_per_model=(1.5 if quick else 4.0) if synthetic_task else 10,
        train_max_length=(15 if quick else 25) if synthetic_task else 15,
        test_max_length=(30 if quick else 50) if synthetic_task else 40,
        learning_rate=1e-2 if synthetic_task else 1e-3,
        train_pairs=(12000 if quick else 30000) if synthetic_task else None,
        test_pairs=(600 if quick else 1500) if synthetic_task else 3000,
        parameters=(60000 if quick else 150000) if synthetic_task else 2000000,
        embedding_dim=32 if synthetic_task else 128,
    )
    values = {
        key: value
        for key, value in defaults.items()
        if getattr(config, key) is None
    }
    for name in config.models:
        if name not in MODELS:
            raise ValueError(
                f"Unknown model {name!r} for the bottleneck study; valid: "
                f"{', '.join(MODELS)}."
            )
    return dataclasses.replace(config, **values)


def length(sentence):
    """Words of a sentence (the unit of the length buckets)."""
    return len(sentence.split())


def load_data(config):
    """Training pairs up to the length cap; test pairs of every length."""
    if not config.data:
        train = synthetic.synthetic_pairs(
            config.train_pairs, 3, config.train_max_length, seed=config.seed
        )
        dev = synthetic.synthetic_pairs(
            500, 3, config.train_max_length, seed=config.seed + 1
        )
        test = synthetic.synthetic_pairs(
            config.test_pairs, 3, config.test_max_length, seed=config.seed + 2
        )
        return train, dev, test
    pairs = translation.load_pairs(
        config.data, config.source_lang, config.target_lang
    )
    splits = text.split_pairs(pairs)
    cap = config.train_max_length
    train = [p for p in splits["train"] if length(p[0]) <= cap]
    rng = np.random.default_rng(config.seed)
    if config.train_pairs and len(train) > config.train_pairs:
        # A random sample: the manythings files are sorted by length.
        keep = sorted(rng.choice(len(train), config.train_pairs, replace=False))
        train = [train[i] for i in keep]
    dev = [p for p in splits["dev"] if length(p[0]) <= cap]
    # Long sentences are rare: keep every long test pair, sample the rest.
    test = [p for p in splits["test"] if length(p[0]) <= config.test_max_length]
    long = [p for p in test if length(p[0]) > cap]
    short = [p for p in test if length(p[0]) <= cap]
    keep = max(config.test_pairs - len(long), 0)
    if len(short) > keep:
        short = [short[i] for i in sorted(rng.choice(len(short), keep, False))]
    return train, dev, long + short


def matched_config(name, config, source_size, target_size):
    """The hidden size whose parameter count is closest to the budget.

    Parameters grow monotonically with `hidden_dim`, so a binary search over
    even sizes finds the two sizes around the budget; the closer one wins.
    """

    def config_for(hidden):
        values = dict(
            SHAPES[name],
            source_vocabulary_size=source_size,
            target_vocabulary_size=target_size,
            embedding_dim=config.embedding_dim,
            hidden_dim=hidden,
        )
        if name == "bahdanau_attention":
            values.update(attention_dim=hidden, maxout_dim=max(hidden // 2, 1))
        elif name == "rnn_encoder_decoder":
            values.update(maxout_dim=max(hidden // 2, 1))
        elif name == "luong_attention":
            values.update(attention_dim=hidden)
        return values

    def count(hidden):
        return registry.build(name, **config_for(hidden)).count_params()

    low, high = 1, 512  # hidden = 2 * k
    while low < high:
        mid = (low + high) // 2
        if count(2 * mid) < config.parameters:
            low = mid + 1
        else:
            high = mid
    candidates = [2 * k for k in (low - 1, low) if k >= 1]
    hidden = min(candidates, key=lambda h: abs(count(h) - config.parameters))
    return config_for(hidden), count(hidden)


def buckets(config):
    """`(lowest, highest)` source lengths of each bucket."""
    edges = list(range(0, config.test_max_length + 1, config.bucket_width))
    return [(lo + 1, lo + config.bucket_width) for lo in edges[:-1]]


def save_preset(
    config,
    name,
    model,
    settings,
    source_tok,
    target_tok,
    max_tokens,
    results,
    bucket_list,
):
    """One trained model of the study as the preset `bottleneck_<name>`:
    a translation run over the synthetic (or given) data, greedy, with its
    BLEU by source length in its figures."""
    from s2s_zoo.tasks.translation import run as translation_run

    task_config = translation.Config(
        model=name,
        preset="paper",
        model_config=settings,
        data=config.data,
        source_lang=config.source_lang if config.data else "synthetic",
        target_lang=config.target_lang if config.data else "synthetic",
        max_minutes=config.minutes_per_model,
        batch_size=config.batch_size,
        max_length=max_tokens,
        beam_width=config.beam_width,
        length_penalty=0.0,
        seed=config.seed,
        output_dir=None,
    )
    figures = {
        "bleu": results["bleu"],
        "bleu_by_length": {
            f"{lo}-{hi}": bleu
            for (lo, hi), bleu in zip(bucket_list, results["bleu_by_length"])
        },
        "bleu_signature": results["bleu_signature"],
    }
    task = "synthetic task" if not config.data else config.data[0]
    record = base.metrics_record(
        translation.TASK,
        task_config,
        settings,
        figures,
        results["train_seconds"],
        common.command_line("bottleneck", config),
        training={
            "parameters": results["parameters"],
            "epochs_completed": results["epochs"],
            "best_dev_loss": results["best_dev_loss"],
            "study": common.to_dict(config),
        },
    )
    translator = translation_run.TranslationRun(
        model, source_tok, target_tok, task_config, record
    )
    path = os.path.join(config.presets_dir, f"bottleneck_{name}")
    translator.save_to_preset(
        path,
        summary=f"translation, {name}: the bottleneck study's "
        f"{task} ({config.minutes_per_model:g} min, "
        f"{results['parameters']:,} parameters), BLEU "
        f"{results['bleu']:.1f}",
        data=task,
        license="Apache-2.0 (generated data)"
        if not config.data
        else "that of the training data",
        command=record["command"],
    )
    print(f"   wrote the preset {path}")


def run(config=None, **overrides):
    """Trains and scores every model; returns the report (also written to
    `metrics.json`)."""
    from s2s_zoo import plotting
    from s2s_zoo.metrics import translation as metrics

    config = resolve(common.replace(config or Config(), **overrides))
    wall_start = time.perf_counter()
    os.makedirs(config.output_dir, exist_ok=True)

    def out(name):
        return os.path.join(config.output_dir, name)

    keras.utils.set_random_seed(config.seed)
    train, dev, test = load_data(config)
    print(f"pairs: train {len(train)}, dev {len(dev)}, test {len(test)}")
    source_tok = text.Tokenizer.train([s for s, _ in train], "wordpiece", 8000)
    target_tok = text.Tokenizer.train([t for _, t in train], "wordpiece", 8000)
    max_tokens = 3 * config.test_max_length
    train_epochs = functools.partial(
        text.make_dataset,
        *text.encode_pairs(train, source_tok, target_tok, max_tokens),
        config.batch_size,
        shuffle=True,
        seed=config.seed,
        max_length=max_tokens,
    )
    batches = int(train_epochs().cardinality())  # one epoch's
    dev_data = text.make_dataset(
        *text.encode_pairs(dev, source_tok, target_tok, max_tokens),
        config.batch_size,
        max_length=max_tokens,
    )
    sources, references = text.group_references(test)
    bucket_list = buckets(config)
    in_bucket = [
        [i for i, s in enumerate(sources) if lo <= length(s) <= hi]
        for lo, hi in bucket_list
    ]

    # Resumable by model: each finished model's figures are written to
    # models_done.json; the model in training checkpoints every epoch
    # (BackupAndRestore), with its clock and best epoch.
    done_path = out("models_done.json")
    results = {}
    if config.resume and os.path.exists(done_path):
        if training.unreadable(done_path) is None:
            with open(done_path) as f:
                results = json.load(f)
        else:
            print(f"warning: {done_path} is unreadable; training every model.")
    elif os.path.exists(done_path):
        os.remove(done_path)
    for name in config.models:
        if name in results:
            print(f"== {name}: finished before, kept from {done_path}")
            continue
        model_settings, parameters = matched_config(
            name, config, source_tok.vocabulary_size, target_tok.vocabulary_size
        )
        keras.utils.set_random_seed(config.seed)
        model = registry.build(name, **model_settings)
        model.compile(
            optimizer=training.FusedAdam(
                config.learning_rate, global_clipnorm=1.0
            ),
            loss=training.masked_loss(),
        )
        print(f"== {name}: {parameters:,} parameters, {model_settings}")
        budget_path = out(f"{name}_budget.json")
        budget = training.TimeBudget(
            config.minutes_per_model, state_path=budget_path
        )
        # The time budget ends training; the best dev epoch is kept.
        fitted = training.resumable_fit(
            model,
            train_epochs,
            directory=config.output_dir,
            prefix=f"{name}_",
            epochs=100_000,
            steps_per_epoch=batches,
            seed=config.seed,
            resume=config.resume,
            validation_data=dev_data,
            monitor="val_loss",
            mode="min",
            callbacks=[budget],
            state_files=[[budget_path]],
        )
        translator = make_translator(
            model,
            source_tok,
            target_tok,
            beam_width=config.beam_width,
            length_penalty=0.0,
            max_source_length=max_tokens,
            max_output_length=max_tokens + 10,
        )
        hypotheses, seconds = translate_corpus(
            translator, sources, config.batch_size
        )
        by_bucket = []
        for index in in_bucket:
            by_bucket.append(
                metrics.corpus_bleu(
                    [hypotheses[i] for i in index],
                    [references[i] for i in index],
                )
                if index
                else None
            )
        results[name] = {
            "parameters": parameters,
            "config": model_settings,
            # Over every epoch, those before a resume included.
            "epochs": len(fitted.run_history.get("loss", [])),
            "train_seconds": budget.spent,
            "best_dev_loss": float(fitted.best),
            "bleu": metrics.corpus_bleu(hypotheses, references),
            "bleu_signature": metrics.bleu_signature(references),
            "bleu_by_length": by_bucket,
            "decode_seconds": seconds,
        }
        common.write_json(done_path, results)
        if config.presets_dir:
            save_preset(
                config,
                name,
                model,
                model_settings,
                source_tok,
                target_tok,
                max_tokens,
                results[name],
                bucket_list,
            )
        print(
            f"   BLEU {results[name]['bleu']:.2f}; by length: "
            + ", ".join(
                f"{lo}-{hi}: {b:.1f}"
                for (lo, hi), b in zip(bucket_list, by_bucket)
                if b is not None
            )
        )
        if model.has_attention:
            longest = sorted(
                range(len(sources)), key=lambda i: -length(sources[i])
            )
            for k, i in enumerate(longest[:2]):
                ids = source_tok.tokenize([sources[i]])[0].numpy()[:max_tokens]
                output = model.generate(ids[None], max_length=max_tokens + 10)
                n = int(output.lengths[0, 0])
                plotting.attention_heatmap(
                    output.attention[0, 0, :n, : len(ids)],
                    [source_tok.vocabulary[t] for t in ids],
                    [
                        target_tok.vocabulary[t]
                        for t in output.token_ids[0, 0, :n]
                    ],
                    out(f"attention_{name}_{k}.png"),
                    title=f"{name}: a {length(sources[i])}-word test sentence",
                )

    counts = [len(index) for index in in_bucket]
    with open(out("bleu_by_length.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source_length", "sentences", *config.models])
        for k, (lo, hi) in enumerate(bucket_list):
            row = [f"{lo}-{hi}", counts[k]]
            for name in config.models:
                bleu = results[name]["bleu_by_length"][k]
                row.append("" if bleu is None else f"{bleu:.2f}")
            writer.writerow(row)
    centers = [(lo + hi) / 2 for lo, hi in bucket_list]
    series = {}
    for name in config.models:
        values = results[name]["bleu_by_length"]
        series[name] = (
            [c for c, v in zip(centers, values) if v is not None],
            [v for v in values if v is not None],
        )
    task = (
        "synthetic task"
        if not config.data
        else os.path.basename(config.data[0])
    )
    plotting.line_chart(
        series,
        out("bleu_by_length.png"),
        "source sentence length (words)",
        "BLEU",
        title=f"BLEU by source length, {task}, {config.minutes_per_model:g} "
        f"min per model, ~{config.parameters:,} parameters each",
        vertical=(config.train_max_length + 0.5, "longest training sentence"),
        xticks=(
            centers,
            [f"{lo}-{hi}\n(n={n})" for (lo, hi), n in zip(bucket_list, counts)],
        ),
    )
    report = {
        "task": task,
        "buckets": [f"{lo}-{hi}" for lo, hi in bucket_list],
        "sentences_per_bucket": counts,
        "models": results,
        "config": common.to_dict(config),
        "wall_seconds": time.perf_counter() - wall_start,
        "machine": common.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": common.command_line("bottleneck", config),
    }
    common.write_json(out("metrics.json"), report)
    print(
        f"wall {report['wall_seconds'] / 60:.1f} min; wrote {config.output_dir}"
    )
    return report


def train(config=None, **overrides):
    """`run`, under the name every task module has (the CLI calls it)."""
    return run(config, **overrides)
