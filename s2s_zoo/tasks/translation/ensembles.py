"""Ensembles of finished translation runs, scored beside their members."""

import dataclasses
import os
import time

from s2s_zoo.data import translation as text
from s2s_zoo.tasks import base
from s2s_zoo.tasks import common
from s2s_zoo.tasks.translation.config import TASK
from s2s_zoo.tasks.translation.data import load_pairs
from s2s_zoo.tasks.translation.data import split
from s2s_zoo.tasks.translation.run import TranslationRun
from s2s_zoo.tasks.translation.run import evaluate
from s2s_zoo.tasks.translation.run import load


def _same_tokenizer(a, b):
    return (a.kind, a.lowercase, a.vocabulary, a.proto) == (
        b.kind,
        b.lowercase,
        b.vocabulary,
        b.proto,
    )


def ensemble(runs, output_dir="runs/translate_ensemble"):
    """Finished translation runs that decode as one translator.

    At each step every member reads the same prefix with its own state and
    attention, and the ensemble takes the renormalised mean of their log
    probabilities (`s2s_zoo.models.Ensemble`). The result is a
    `TranslationRun`: `translate`, `evaluate`, `save` and `export` (one
    SavedModel that holds every member) work as for one model, with the
    decoding settings and data of the first run.

    Args:
        runs (list): Run directories or `TranslationRun`s of the same
            data, with the same source and target tokenizers (e.g. the
            default recipe with several `--seed`s); any architectures.
        output_dir (str): Where the ensemble's `save` and `export` write.

    Raises:
        ValueError: For no runs, or a run whose tokenizers or data differ
            from the first's (naming both runs and the side).
    """
    from s2s_zoo.models.ensemble import Ensemble

    loaded = [load(r) if isinstance(r, (str, os.PathLike)) else r for r in runs]
    if not loaded:
        raise ValueError("An ensemble needs at least one run.")
    first = loaded[0]
    name = first.config.output_dir
    for run in loaded[1:]:
        for side in ("source", "target"):
            mine = getattr(first, f"{side}_tokenizer")
            theirs = getattr(run, f"{side}_tokenizer")
            if not _same_tokenizer(mine, theirs):
                raise ValueError(
                    f"{run.config.output_dir!r} has another {side} "
                    f"tokenizer ({theirs.kind}, {theirs.vocabulary_size} "
                    f"tokens) than {name!r} ({mine.kind}, "
                    f"{mine.vocabulary_size} tokens); the members of an "
                    "ensemble must share both vocabularies (train them on "
                    "the same data with the same tokenizer settings)."
                )
        for field in ("data", "source_lang", "target_lang"):
            if getattr(run.config, field) != getattr(first.config, field):
                raise ValueError(
                    f"{run.config.output_dir!r} was trained with {field} "
                    f"{getattr(run.config, field)!r}, {name!r} with "
                    f"{getattr(first.config, field)!r}; an ensemble is "
                    "scored on its members' common test split."
                )
    config = dataclasses.replace(first.config, output_dir=output_dir)
    model = Ensemble([run.model for run in loaded])
    return TranslationRun(
        model,
        first.source_tokenizer,
        first.target_tokenizer,
        config,
        {"members": [run.config.output_dir for run in loaded]},
    )


def assemble(runs, output_dir="runs/translate_ensemble", export_model=True):
    """`ensemble(runs)`, scored beside each member, saved and exported.

    Every member and the ensemble translate the dev and test splits of
    the first run's data with its decoding settings (beam search, sacreBLEU
    against all references). Writes into `output_dir`: `metrics.json`
    (each member's and the ensemble's figures), the ensemble's
    `model.keras`, vocabularies and `run.json` (so `load(output_dir)`
    reads it back) and, with `export_model`, `saved_model/`.

    Returns:
        The ensemble's `TranslationRun`, its `metrics` filled in.
    """
    wall_start = time.perf_counter()
    loaded = [load(r) if isinstance(r, (str, os.PathLike)) else r for r in runs]
    combined = ensemble(loaded, output_dir)
    pairs = load_pairs(
        combined.config.data,
        combined.config.source_lang,
        combined.config.target_lang,
        combined.config.strict_data,
    )
    splits = split(combined.config, pairs)

    def scores(run):
        dev = evaluate(run, splits["dev"])
        test = evaluate(run, splits["test"])
        return {
            "dev_bleu": dev["bleu"],
            "test_bleu": test["bleu"],
            "test_bleu_lowercase": test["bleu_lowercase"],
            "test_chrf": test["chrf"],
            "decode_sentences_per_second": test["decode_sentences_per_second"],
        }

    members = []
    for run in loaded:
        figures = {"run": run.config.output_dir, **scores(run)}
        members.append(figures)
        print(
            f"  {figures['run']}: dev BLEU {figures['dev_bleu']:.2f}, "
            f"test BLEU {figures['test_bleu']:.2f}"
        )
    together = scores(combined)
    print(
        f"  ensemble of {len(loaded)}: dev BLEU {together['dev_bleu']:.2f}, "
        f"test BLEU {together['test_bleu']:.2f}"
    )
    combined.save()
    if export_model:
        combined.export()
    combined.write_metrics(
        base.metrics_record(
            TASK,
            combined.config,
            {"members": [run.metrics.get("model_config") for run in loaded]},
            {
                "ensemble": together,
                "members": members,
                "test_sentences": len(text.group_references(splits["test"])[0]),
            },
            time.perf_counter() - wall_start,
            common.scrub_paths(
                "s2s-zoo ensemble "
                + " ".join(m["run"] for m in members)
                + f" --output-dir {output_dir}"
            ),
        )
    )
    return combined
