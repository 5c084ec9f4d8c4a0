"""The run every task shares: runs written before the one skeleton still
load, and a run saves and loads back the same whatever its task."""

import json
import os
import shutil

import numpy as np
import pytest

from s2s_zoo import tasks
from s2s_zoo.tasks import base
from s2s_zoo.tasks.aspect_sentiment import AspectSentimentRun
from s2s_zoo.tasks.sentence_pairs import SentencePairRun
from s2s_zoo.tasks.translation import TranslationRun

# Tiny finished runs (model.keras, vocabularies, run.json, metrics.json)
# written by the code before every task shared `tasks.base.Run`: a user's
# earlier runs must keep loading.
KEPT = os.path.join(
    os.path.dirname(__file__), "..", "fixtures", "finished_runs"
)
CLASSES = {
    "translation": TranslationRun,
    "aspect_sentiment": AspectSentimentRun,
    "sentence_pairs": SentencePairRun,
}


def _use(run):
    """The run's own output on raw strings, as plain values."""
    if run.task == "translation":
        out = run.translate(["我喜欢中国美食", "猫"])
        return out.translations, np.round(out.scores, 4).tolist()
    if run.task == "aspect_sentiment":
        out = run.predict(["The food was great ."], ["food"])
        return out.labels, np.round(out.probabilities, 5).tolist()
    out = run.score(["A dog runs"], ["An animal runs"])
    return out.labels, np.round(out.scores, 5).tolist()


@pytest.mark.parametrize("task", sorted(CLASSES))
def test_a_run_written_before_the_shared_base_loads(task):
    run = tasks.load(os.path.join(KEPT, task))
    assert type(run) is CLASSES[task] and run.task == task
    # Its metrics.json, in the one schema of today's runs.
    assert run.metrics["task"] == task
    assert {"results", "training", "config", "model_config"} <= set(run.metrics)
    assert run.config.output_dir == f"tests/fixtures/finished_runs/{task}"
    labels, scores = _use(run)
    assert len(labels) == len(scores) >= 1


@pytest.mark.parametrize("task", sorted(CLASSES))
def test_save_then_load_gives_the_same_run(task, tmp_path):
    run = tasks.load(os.path.join(KEPT, task))
    copy = str(tmp_path / "copy")
    assert run.save(copy) == copy
    assert sorted(os.listdir(copy)) == ["model.keras", "run.json", "vocabulary"]
    again = tasks.load(copy)
    assert again.config == run.config
    assert _use(again) == _use(run)
    for a, b in zip(run.model.weights, again.model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_loading_a_run_of_another_task_names_both(tmp_path):
    with pytest.raises(ValueError) as error:
        TranslationRun.load(os.path.join(KEPT, "sentence_pairs"))
    assert str(error.value).endswith(
        "holds a 'sentence_pairs' run, not a 'translation' run; load it "
        "with s2s_zoo.tasks.load or s2s_zoo.tasks.sentence_pairs.load."
    )


def test_a_folder_without_a_run_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a finished s2s_zoo"):
        tasks.load(str(tmp_path))


def test_metrics_have_one_schema(tmp_path):
    run = tasks.load(os.path.join(KEPT, "aspect_sentiment"))
    run.config = tasks.common.replace(run.config, output_dir=str(tmp_path))
    record = base.metrics_record(
        run.task,
        run.config,
        {"hidden_dim": 4},
        {"accuracy": 0.5},
        12.5,
        "s2s-zoo aspect-sentiment",
        training={"best_epoch": 1},
    )
    run.write_metrics(record)
    with open(tmp_path / "metrics.json") as f:
        written = json.load(f)
    assert list(written) == [
        "task",
        "model",
        "config",
        "model_config",
        "results",
        "wall_seconds",
        "machine",
        "date",
        "command",
        "training",
    ]
    assert written["model"] == "atae_lstm" and written["results"] == {
        "accuracy": 0.5
    }
    assert written["machine"]["cpus"] == os.cpu_count()


def test_a_copy_of_a_kept_run_exports_a_saved_model(tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(os.path.join(KEPT, "sentence_pairs"), copy)
    run = tasks.load(copy)
    path = run.export(str(tmp_path / "saved_model"))
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]


STEPS = ("Config", "prepare", "build", "fit", "evaluate", "export", "train")


@pytest.mark.parametrize("task", sorted(CLASSES))
def test_every_task_exposes_the_same_steps(task):
    module = tasks.get(task)
    missing = [n for n in (*STEPS, "load") if not callable(getattr(module, n))]
    assert not missing
    assert module.load.__doc__ and module.train.__doc__


def test_evaluate_scores_a_kept_run_on_its_own_files():
    from s2s_zoo.data import semeval
    from s2s_zoo.tasks import aspect_sentiment
    from s2s_zoo.tasks import sentence_pairs

    run = tasks.load(os.path.join(KEPT, "sentence_pairs"))
    splits = sentence_pairs.load_splits(run.config)
    figures = sentence_pairs.evaluate(run, splits["test"])
    assert set(figures) == {"accuracy", "macro_f1", "pairs"}
    assert figures["pairs"] == 3
    # The figures the run recorded when it was trained on the same split.
    assert figures["accuracy"] == pytest.approx(
        run.metrics["results"]["test"]["accuracy"]
    )
    run = tasks.load(os.path.join(KEPT, "aspect_sentiment"))
    examples = semeval.read_semeval(run.config.test)
    report, predicted = aspect_sentiment.evaluate(run, examples)
    assert len(predicted) == len(examples)
    assert report["accuracy"] == pytest.approx(
        run.metrics["results"]["accuracy"]
    )


def test_a_run_loads_in_the_precision_it_trained_with(tmp_path):
    # A run trained in mixed_bfloat16 is scored and exported with the
    # layers its model made under that policy; loaded in float32 it would
    # translate differently from its own SavedModel.
    from s2s_zoo import training

    kept = tasks.load(os.path.join(KEPT, "translation"))
    with training.global_dtype_policy("mixed_bfloat16"):
        model = type(kept.model).from_config(kept.model.get_config())
    run = TranslationRun(
        model,
        kept.source_tokenizer,
        kept.target_tokenizer,
        base.common.replace(kept.config, output_dir=str(tmp_path)),
    )
    expected = _use(run)  # builds the weights
    run.save()
    run.write_metrics(
        {**kept.metrics, "training": {"precision": "mixed_bfloat16"}}
    )

    def policies(model):
        return {layer.dtype_policy.name for layer in model._flatten_layers()}

    assert "mixed_bfloat16" in policies(run.model)
    again = tasks.load(str(tmp_path))
    assert policies(again.model) == policies(run.model)
    assert _use(again) == expected
