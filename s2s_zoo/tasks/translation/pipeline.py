"""`train`: a translation run from data to a served model, in steps."""

import contextlib
import os
import shutil
import time

import keras

from s2s_zoo import distributed
from s2s_zoo import progress
from s2s_zoo import training
from s2s_zoo.tasks import base
from s2s_zoo.tasks import common
from s2s_zoo.tasks.translation.config import SAMPLES
from s2s_zoo.tasks.translation.config import TASK
from s2s_zoo.tasks.translation.config import Config
from s2s_zoo.tasks.translation.config import check
from s2s_zoo.tasks.translation.data import prepare
from s2s_zoo.tasks.translation.fitting import averaging_callbacks
from s2s_zoo.tasks.translation.fitting import build
from s2s_zoo.tasks.translation.fitting import fit
from s2s_zoo.tasks.translation.fitting import model_config
from s2s_zoo.tasks.translation.fitting import prepare_resume
from s2s_zoo.tasks.translation.run import TranslationRun
from s2s_zoo.tasks.translation.run import evaluate


def train(config=None, pairs=None, *, clock=time.perf_counter, **overrides):
    """Trains, evaluates on test, saves and exports a translator.

    Args:
        config (Config): Settings; default `Config()` (the main recipe).
        pairs (list[tuple[str, str]]): Your own `(source, target)` pairs
            instead of `config.data`; split 92 / 4 / 4 like the bundled
            data.
        clock: Seconds for the time budget (tests pass a fake one).
        **overrides: `Config` fields, e.g. `max_minutes=2`.

    Returns:
        A `TranslationRun`; its `metrics` hold the test figures.
    """
    config = common.replace(config or Config(), **overrides)
    check(config)
    base.claim_output_dir(config.output_dir, config.resume)
    # Before any TensorFlow op: the pools start with the first one.
    threads = training.use_threads(config.threads)
    setup = distributed.setup(
        config.distribute,
        config.coordinator_address,
        config.num_processes,
        config.process_id,
    )
    if not setup.multi_process:
        return _train(config, pairs, clock, threads)
    # Only process 0 writes the run; the others work in a copy of its
    # training state (the same checkpoint to resume from), taken once
    # process 0 has settled it, before any other collective operation.
    if setup.is_chief:
        os.makedirs(config.output_dir, exist_ok=True)
        prepare_resume(config, say=lambda *a, **k: None)
    distributed.barrier("s2s_zoo translation state settled")
    if setup.is_chief:
        return _train(config, pairs, clock, threads)
    with _worker_copy(config) as worker_config:
        run = _train(worker_config, pairs, clock, threads)
    run.config = config
    return run


def _train(config, pairs, clock, threads):
    wall_start = time.perf_counter()
    precision = training.resolve_precision(config.precision)
    os.makedirs(config.output_dir, exist_ok=True)
    # The policy is set for this run only: notebooks and tests train
    # several runs in one process.
    with training.global_dtype_policy(precision):
        keras.utils.set_random_seed(config.seed)
        data = prepare(config, pairs)
        _say_data(data)
        model = build(config, data)
        print(
            f"model: {config.model} ({config.preset} preset), "
            f"{model.count_params():,} parameters, {precision}"
        )
        averaging = averaging_callbacks(config)
        fitted = fit(
            config, model, data, clock=clock, extra_callbacks=averaging
        )
        run = TranslationRun(
            model, data.source_tokenizer, data.target_tokenizer, config
        )
        run.save()
        with progress.stage("scoring the test split"):
            results = evaluate(run, data.splits["test"])
        hypotheses = results.pop("hypotheses")
        if averaging:
            results["weight_averaging"] = _score_averages(
                run, data, averaging, results
            )
        samples = _samples(run, data)
        if config.export:
            with progress.stage("exporting the SavedModel"):
                run.export()
    history = fitted.run_history
    dev_losses = history.get("val_loss", [])
    run.write_metrics(
        base.metrics_record(
            TASK,
            config,
            model_config(config, data.source_tokenizer, data.target_tokenizer),
            results,
            time.perf_counter() - wall_start,
            common.command_line("train translation", config),
            training={
                # Over every epoch, those before a resume included.
                "epochs_completed": len(history.get("loss", [])),
                "best_epoch": fitted.best_epoch,
                "train_seconds": fitted.budget.spent,
                "stopped_by_time_budget": fitted.budget.stopped_early,
                "train_sentences_per_second": (
                    fitted.throughput.sentences_per_second
                ),
                "target_tokens_per_second": (
                    fitted.throughput.tokens_per_second
                ),
                "best_dev_loss": min(dev_losses) if dev_losses else None,
                "best_dev_bleu": fitted.best_dev
                if config.select_on == "bleu"
                else None,
                "selected_on": f"dev {config.select_on}",
                "parameters": model.count_params(),
                "precision": precision,
                "threads": threads,
                "batch_slices": model.batch_slices,
                "train_pairs": data.train_pairs,
            },
            samples=samples,
        )
    )
    with open(run.path("test_hypotheses.txt"), "w") as f:
        f.write("".join(h + "\n" for h in hypotheses))
    # The workers wait here for process 0's files, so that every process
    # of a job leaves together.
    distributed.barrier("s2s_zoo translation done")
    print(
        f"test BLEU {results['bleu']:.2f} (lowercased "
        f"{results['bleu_lowercase']:.2f}), chrF {results['chrf']:.2f}; "
        f"{fitted.throughput.sentences_per_second:.0f} sentences/s and "
        f"{fitted.throughput.tokens_per_second:.0f} target tokens/s "
        f"training, {results['decode_sentences_per_second']:.1f} "
        f"sentences/s beam-{config.beam_width} decoding; wall "
        f"{run.metrics['wall_seconds'] / 60:.1f} min"
    )
    return run


def _say_data(data):
    print(
        f"pairs: train {data.train_pairs}, dev {len(data.splits['dev'])}"
        f", test {len(data.splits['test'])}; vocabularies: source "
        f"{data.source_tokenizer.vocabulary_size} "
        f"({data.source_tokenizer.kind}), target "
        f"{data.target_tokenizer.vocabulary_size} "
        f"({data.target_tokenizer.kind})"
    )


def _samples(run, data):
    """The sample sentences' translations (printed, kept in metrics.json)
    and, with `export`, their attention figures."""
    config = run.config
    samples = SAMPLES.get(config.source_lang, []) + [
        s for s, _ in data.splits["test"][:3]
    ]
    translated = run.translate(samples)
    rows = []
    for k, (sentence, translation) in enumerate(
        zip(samples, translated.translations)
    ):
        rows.append({"source": sentence, "translation": translation})
        print(f"  {sentence}  ->  {translation}")
        if config.export and run.model.has_attention:
            run.plot_attention(sentence, run.path(f"attention_{k}.png"))
    return rows


def _score_averages(run, data, averaging, results):
    """Beam-search dev and test BLEU of the selected weights and of each
    average; the model keeps the selected weights (what is exported)."""

    def score():
        return {
            "dev_bleu": evaluate(run, data.splits["dev"])["bleu"],
            "test_bleu": evaluate(run, data.splits["test"])["bleu"],
        }

    scores = {
        "selected": {
            "dev_bleu": evaluate(run, data.splits["dev"])["bleu"],
            "test_bleu": results["bleu"],
        }
    }
    for callback in averaging:
        if isinstance(callback, training.ExponentialMovingAverage):
            with callback.swapped():
                scores[f"ema {callback.decay}"] = score()
        else:
            kept = [
                keras.ops.convert_to_numpy(w.value) for w in run.model.weights
            ]
            paths = callback.paths()
            training.average_checkpoints(run.model, paths)
            scores[f"average of the last {len(paths)} epochs"] = score()
            for weight, value in zip(run.model.weights, kept):
                weight.assign(value)
    for name, figures in scores.items():
        print(
            f"  {name}: dev BLEU {figures['dev_bleu']:.2f}, test BLEU "
            f"{figures['test_bleu']:.2f}"
        )
    return scores


# What a worker copies from process 0's output directory before training:
# everything `fit` resumes from.
_STATE = (
    "vocabulary",
    "backup",
    "best.weights.h5",
    "best.weights.h5.json",
    "train_state.json",
    "schedule_state.json",
    "history.csv",
)


@contextlib.contextmanager
def _worker_copy(config):
    """A worker's config: the run in a private copy of process 0's state
    (taken after process 0 settled what to resume from)."""
    import tempfile

    private = tempfile.mkdtemp(prefix="s2s_zoo-worker-")
    try:
        for name in _STATE:
            source = os.path.join(config.output_dir, name)
            target = os.path.join(private, name)
            if os.path.isdir(source):
                shutil.copytree(source, target)
            elif os.path.exists(source):
                shutil.copy2(source, target)
        yield common.replace(config, output_dir=private, export=False)
    finally:
        shutil.rmtree(private, ignore_errors=True)
