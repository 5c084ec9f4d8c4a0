"""`train`: a sentence-pair run from files to a served model."""

import time

import keras

from s2s_zoo.tasks import base
from s2s_zoo.tasks import common
from s2s_zoo.tasks.sentence_pairs.config import SELECTION_METRIC
from s2s_zoo.tasks.sentence_pairs.config import TASK
from s2s_zoo.tasks.sentence_pairs.config import Config
from s2s_zoo.tasks.sentence_pairs.config import resolve
from s2s_zoo.tasks.sentence_pairs.data import prepare
from s2s_zoo.tasks.sentence_pairs.fitting import fit
from s2s_zoo.tasks.sentence_pairs.run import SentencePairRun
from s2s_zoo.tasks.sentence_pairs.run import plot_attention
from s2s_zoo.tasks.sentence_pairs.run import task_figures


def train(config=None, pairs=None, **overrides):
    """Trains with restarts, selects on dev, evaluates, saves, exports.

    Args:
        config (Config): Settings; `config.task` names the kind of pairs.
        pairs (list): Your own `(first, second, label)` items instead of
            the task's files: the label 0/1 for wikiqa (question, candidate
            answer) and msrp (paraphrase), ENTAILMENT / NEUTRAL /
            CONTRADICTION for sick. Split 80 / 10 / 10 (by question for
            wikiqa).
        **overrides: `Config` fields.

    Returns:
        A `SentencePairRun` whose `metrics` hold the dev and test figures.
    """
    config = resolve(common.replace(config or Config(), **overrides))
    if config.restarts < 1 or config.epochs < 1:
        raise ValueError(
            "restarts and epochs must be at least 1; received "
            f"restarts={config.restarts!r}, epochs={config.epochs!r}."
        )
    started = time.perf_counter()
    # A finished run keeps its checkpoints: --resume with more epochs
    # continues it, keeping its history.
    base.claim_output_dir(config.output_dir, config.resume, continuable=True)
    keras.utils.set_random_seed(config.seed)
    data = prepare(config, pairs)
    fitted = fit(config, data)
    model = fitted.model
    run = SentencePairRun(model, data.tokenizer, config)
    results = {
        name: task_figures(config.task, model, data.splits[name], inputs)
        for name, inputs in data.inputs.items()
        if name != "train"
    }
    heatmaps = []
    if config.heatmap_pairs:
        heatmaps = plot_attention(
            model,
            data.dev,
            data.inputs["dev"],
            config.output_dir,
            config.heatmap_pairs,
        )
    if config.export:
        run.save()
        run.export()
    selection = SELECTION_METRIC[config.task]
    run.write_metrics(
        base.metrics_record(
            TASK,
            config,
            data.model_config,
            results,
            time.perf_counter() - started,
            common.command_line("train sentence-pairs", config),
            training={
                "best_epoch": fitted.best_epoch,
                "restarts": [
                    {"seed": r["seed"], "dev": r["dev"]}
                    for r in fitted.restarts
                ],
                "restart_seed": fitted.restart_seed,
                "selected_on": f"dev {selection}",
                "history": fitted.history,
                "train_pairs": len(data.train),
                "vocabulary_words": len(data.vocabulary),
            },
            heatmaps=heatmaps,
        )
    )
    print(results)
    return run
