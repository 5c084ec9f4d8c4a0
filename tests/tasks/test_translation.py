"""The translation task end to end, on a slice of the bundled data."""

import csv
import dataclasses
import json
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from s2s_zoo import tasks
from s2s_zoo import training
from s2s_zoo.serving.translation import output_limits
from s2s_zoo.tasks import translation
from tests.helpers import ROOT
from tests.helpers import Clock
from tests.helpers import FakeMachine
from tests.helpers import KillBeforeEpoch
from tests.helpers import PoisonWeights
from tests.helpers import csv_rows
from tests.helpers import kill_when
from tests.helpers import run_python

TINY = dict(
    preset="tiny",
    model_config={
        "embedding_dim": 8,
        "hidden_dim": 8,
        "attention_dim": 8,
        "maxout_dim": 4,
    },
    max_train_pairs=400,
    # Dev BLEU every epoch and test BLEU at the end on 100 pairs each
    # instead of about 1,000: most of a tiny run's time.
    max_eval_pairs=100,
    batch_size=32,
    beam_width=2,
)
TINY_FLAGS = [
    "--preset",
    "tiny",
    "--max-train-pairs",
    "400",
    "--max-eval-pairs",
    "100",
    "--batch-size",
    "32",
    "--beam-width",
    "2",
    "--set",
    "embedding_dim=8",
    "--set",
    "hidden_dim=8",
    "--set",
    "attention_dim=8",
    "--set",
    "maxout_dim=4",
]


def train_tiny(tmp_path_factory, name, **overrides):
    """`(output_dir, run)` of one epoch at the TINY sizes."""
    output_dir = str(tmp_path_factory.mktemp(name))
    trained = translation.train(
        translation.Config(
            **TINY, epochs=1, max_minutes=2, output_dir=output_dir, **overrides
        )
    )
    return output_dir, trained


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_tiny(tmp_path_factory, "translate")


def test_train_writes_every_output(run):
    output_dir, trained = run
    for name in (
        "metrics.json",
        "run.json",
        "history.csv",
        "model.keras",
        "saved_model/saved_model.pb",
        "vocabulary/source.vocab",
        "vocabulary/target.json",
        "attention_0.png",
        "test_hypotheses.txt",
    ):
        assert os.path.exists(os.path.join(output_dir, name)), name
    with open(os.path.join(output_dir, "metrics.json")) as f:
        saved = json.load(f)
    for key in ("bleu", "bleu_lowercase", "chrf"):
        assert 0 <= saved["results"][key] <= 100
    assert saved["results"]["test_sentences"] > 0
    assert saved["config"]["model"] == "bahdanau_attention"
    training_figures = saved["training"]
    assert training_figures["epochs_completed"] == 1
    assert training_figures["train_sentences_per_second"] > 0
    assert training_figures["target_tokens_per_second"] > 0
    # `--batch-slices auto` follows the pools the run recorded (the tests'
    # 1 intra-op and 2 inter-op threads: 2 slices).
    assert (
        training_figures["threads"] != "1,2"
        or training_figures["batch_slices"] == 2
    )
    assert training_figures["batch_slices"] == (
        training.resolve_batch_slices(
            "auto", threads=training_figures["threads"]
        )
    )
    assert saved["samples"][0]["source"] == "我喜欢中国美食"
    assert saved == trained.metrics
    # TensorBoard logs, on by default: the epoch's figures as scalars.
    events = [
        os.path.join(folder, name)
        for folder, _, names in os.walk(os.path.join(output_dir, "logs"))
        for name in names
        if name.startswith("events.out.tfevents")
    ]
    assert events, "no TensorBoard event file under logs/"
    tags = set()
    for path in events:
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {value.tag for value in event.summary.value}
    assert {
        "epoch_loss",
        "epoch_learning_rate",
        "epoch_train_sentences_per_second",
    } <= tags, tags
    # and the attention of a few dev sentences as images after epoch 1.
    assert {f"attention/{k}" for k in (1, 2, 3, 4)} <= tags, tags
    with open(os.path.join(output_dir, "history.csv")) as f:
        row = next(csv.DictReader(f))
    assert float(row["train_minutes"]) > 0 and "val_bleu" in row
    assert not [n for n in os.listdir(output_dir) if n.startswith(".")]


def test_load_gives_back_the_same_translator(run):
    output_dir, trained = run
    sentences = ["我喜欢中国美食", "猫在桌子下", ""]
    expected = trained.translate(sentences)
    loaded = tasks.load(output_dir)  # by path, whatever the task
    assert isinstance(loaded, translation.TranslationRun)
    assert loaded.config == trained.config
    again = loaded.translate(sentences)
    assert again.translations == expected.translations
    # bfloat16 compute where the CPU has it: equal to its rounding.
    np.testing.assert_allclose(again.scores, expected.scores, rtol=1e-3)
    # Attention: one row per output token ([END] included), one column per
    # source character; each row sums to one.
    weights = again.attention[1]
    assert weights.shape == (
        len(again.output_tokens[1]),
        len(again.source_tokens[1]),
    )
    assert len(again.source_tokens[1]) == 5  # characters, [UNK] for unseen
    # Loaded in the precision it trained in: bfloat16 where the CPU has it
    # (8 bits of mantissa), as its SavedModel computes.
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=2**-7)
    assert loaded.metrics["results"] == trained.metrics["results"]


def test_load_refuses_a_directory_without_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="no run.json"):
        tasks.load(str(tmp_path))


def test_train_on_a_users_own_pairs(tmp_path):
    pairs = [(f"源{i}", f"word{i % 7} w{i % 5}") for i in range(300)]
    trained = translation.train(
        pairs=pairs,
        preset="tiny",
        epochs=1,
        max_minutes=0,
        batch_size=16,
        beam_width=1,
        export=False,
        output_dir=str(tmp_path),
    )
    out = trained.translate(["源12"])
    assert len(out) == 1 and isinstance(out[0], str)
    assert trained.metrics["training"]["train_pairs"] < 300


def test_unknown_setting_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Did you mean 'max_minutes'"):
        translation.train(max_minute=1)


HOSTILE = [
    "我喜欢中国美食",
    "",
    "   ",
    "\t\n",
    "😀🚀",
    "ꙮ𓀀",  # characters never seen in training
    "猫" * 400,  # longer than any training sentence
    "Tom 是 个 好人 !!! ???",
    "\u200b",
    "a\x00b",
]

SERVE = """
import sys, json
import tensorflow as tf
import tensorflow_text  # registers the text ops
model = tf.saved_model.load(sys.argv[1])
serve = model.signatures["serving_default"]
texts = json.loads(sys.stdin.read())
out = serve(text=tf.constant(texts))
assert "s2s_zoo" not in sys.modules and "keras_hub" not in sys.modules
empty = serve(text=tf.constant(["", ""]))
print(json.dumps({
    "translation": [t.decode("utf-8") for t in out["translation"].numpy()],
    "score": out["score"].numpy().tolist(),
    "attention_shape": list(out["attention"].shape),
    "empty": [t.decode("utf-8") for t in empty["translation"].numpy()],
}))
"""


def serve_in_a_fresh_process(saved_model, texts=HOSTILE):
    """`SERVE` run on `texts` in a process that imports only TensorFlow
    and tensorflow-text; returns what it printed."""
    return run_python(SERVE, saved_model, stdin=json.dumps(texts))


def test_saved_model_serves_strings_in_a_fresh_process(run):
    output_dir, trained = run
    out = serve_in_a_fresh_process(os.path.join(output_dir, "saved_model"))
    assert out["translation"] == trained.translate(HOSTILE).translations
    assert len(out["score"]) == len(HOSTILE)
    assert out["attention_shape"][0] == len(HOSTILE)
    assert len(out["empty"]) == 2


def test_n_best_signature_returns_every_beam_best_first(run):
    output_dir, trained = run
    loaded = tf.saved_model.load(os.path.join(output_dir, "saved_model"))
    sentences = ["我喜欢中国美食", "猫在桌子下"]
    best = loaded.signatures["serving_default"](text=tf.constant(sentences))
    n_best = loaded.signatures["n_best"](text=tf.constant(sentences))
    beams = trained.config.beam_width
    assert n_best["translations"].shape == (2, beams)
    scores = n_best["scores"].numpy()
    assert (np.diff(scores, axis=1) <= 0).all()  # best first
    np.testing.assert_array_equal(
        n_best["translations"][:, 0], best["translation"]
    )
    np.testing.assert_allclose(scores[:, 0], best["score"], rtol=1e-6)
    # The beams are the model's own search (its fused serving step, each
    # sentence cut at its own output limit), detokenized.
    source = best["source_ids"].numpy()
    assert trained.config.fused_decoding
    out = trained.model.generate(
        source,
        max_length=min(2 * source.shape[1] + 10, 100),
        beam_width=beams,
        length_penalty=trained.config.length_penalty,
        constants=trained.model.serving_constants(),
        stop_lengths=output_limits(source, 100),
    )
    np.testing.assert_array_equal(
        n_best["token_ids"], keras.ops.convert_to_numpy(out.token_ids)
    )


def test_decoding_options_are_fixed_in_the_saved_model(run, tmp_path):
    output_dir, trained = run
    options = dict(
        no_repeat_ngram_size=1, max_length_ratio=1.0, coverage_penalty=0.2
    )
    expected = trained.translate(SENTENCES, **options)
    with_options = dataclasses.replace(trained.config, **options)
    rerun = translation.TranslationRun(
        trained.model,
        trained.source_tokenizer,
        trained.target_tokenizer,
        with_options,
    )
    path = rerun.export(str(tmp_path / "saved_model"))
    serve = tf.saved_model.load(path).signatures["serving_default"]
    out = serve(text=tf.constant(SENTENCES))
    got = [t.decode("utf-8") for t in out["translation"].numpy()]
    assert got == expected.translations
    for ids, sentence_ids in zip(out["token_ids"].numpy(), out["source_ids"]):
        words = [i for i in ids.tolist() if i not in (0, 3)]  # PAD, END
        assert len(words) == len(set(words))  # no token twice
        assert len(words) <= int(np.sum(sentence_ids.numpy() != 0))


SENTENCES = ["我喜欢中国美食", "猫在桌子下", "回家。"]


def test_search_options_are_empty_by_default_and_named_when_wrong():
    config = translation.Config()
    assert translation.search_options(config) == {}
    assert translation.search_options(config, sample=True, top_p=0.9) == {
        "sample": True,
        "top_p": 0.9,
        "seed": 0,
    }
    with pytest.raises(
        ValueError, match=r"Unknown decoding option\(s\) \['beam'\]"
    ):
        translation.search_options(config, beam=3)


@pytest.fixture(scope="module")
def serve(run):
    output_dir, _ = run
    loaded = tf.saved_model.load(os.path.join(output_dir, "saved_model"))
    return loaded.signatures["serving_default"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_any_text_gets_a_string(serve, texts):
    # Lone surrogates too: bytes no UTF-8 decoder accepts.
    texts = [t.encode("utf-8", "surrogatepass") for t in texts]
    out = serve(text=tf.constant(texts))
    assert out["translation"].shape == (len(texts),)
    assert out["translation"].dtype == tf.string


def test_long_and_invalid_input_is_cut_and_flagged(serve):
    texts = [
        b"\xed\xa0\x80\xff\xc3\x28",  # a lone surrogate, broken bytes
        ("猫" * 10_000).encode(),
        "我喜欢中国美食".encode(),
        ("猫" * 120).encode(),  # within 16 characters a token, too many tokens
    ]
    out = serve(text=tf.constant(texts))
    assert out["truncated"].numpy().tolist() == [False, True, False, True]
    assert out["source_ids"].shape[1] <= 100  # the exported maximum
    assert out["translation"].shape == (4,)


def test_a_nan_loss_stops_the_run_and_exports_nothing(tmp_path):
    config = translation.Config(
        **{**TINY, "max_train_pairs": 96},
        epochs=3,
        output_dir=str(tmp_path),
    )
    data = translation.prepare(config)
    model = translation.build(config, data)
    with pytest.raises(
        training.TrainingDiverged,
        match=r"^The training loss became nan at "
        r"epoch 2, step 1: training stopped",
    ):
        translation.fit(
            config, model, data, extra_callbacks=[PoisonWeights(epoch=1)]
        )
    # Epoch 1 finished: its checkpoint and best weights are kept; no model
    # file or SavedModel was written.
    assert os.listdir(tmp_path / "backup")
    assert os.path.exists(tmp_path / "best.weights.h5")
    assert not os.path.exists(tmp_path / "model.keras")
    assert not os.path.exists(tmp_path / "saved_model")


def test_a_truncated_checkpoint_resumes_from_the_previous_one(tmp_path, capsys):
    config = translation.Config(
        **{**TINY, "max_train_pairs": 96},
        epochs=3,
        select_on="loss",
        output_dir=str(tmp_path),
    )
    data = translation.prepare(config)
    with pytest.raises(KeyboardInterrupt):
        translation.fit(
            config,
            translation.build(config, data),
            data,
            extra_callbacks=[KillBeforeEpoch(2)],
        )
    latest = os.path.join(str(tmp_path), "backup", "latest.weights.h5")
    with open(latest, "r+b") as f:
        f.truncate(100)
    resumed = dataclasses.replace(config, resume=True)
    result = translation.fit(resumed, translation.build(resumed, data), data)
    said = capsys.readouterr().out
    assert f"warning: {latest} is unreadable (" in said
    assert "resuming from the previous checkpoint" in said
    # Epoch 1's checkpoint: this run trained epochs 2 and 3.
    assert len(result.history["loss"]) == 2
    with open(os.path.join(str(tmp_path), "history.csv")) as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == [0, 1, 1, 2]  # epoch 2 again, after the lost one


@pytest.mark.parametrize("seconds_per_batch", [0.5, 1.5])
def test_fast_and_slow_machines_follow_one_schedule(
    tmp_path, seconds_per_batch
):
    # A 30-second budget: the fast machine runs 3x the batches of the slow
    # one; both must follow the same schedule to the end of the budget, and
    # a dev loss that stops improving must not stop either one early.
    config = translation.Config(
        **{**TINY, "max_train_pairs": 96},
        max_minutes=0.5,
        select_on="loss",
        output_dir=str(tmp_path),
    )
    data = translation.prepare(config)
    model = translation.build(config, data)
    clock = Clock()
    machine = FakeMachine(clock, seconds_per_batch, 30.0)
    result = translation.fit(
        config, model, data, clock=clock, extra_callbacks=[machine]
    )
    assert result.budget.stopped_early  # stopped by the budget's end ...
    assert result.budget.spent == pytest.approx(30.0)
    assert len(machine.rates) == int(np.ceil(30.0 / seconds_per_batch))
    epochs = len(result.history["loss"])
    assert epochs > 1  # ... not by the epochs or the dev loss
    decay = training.BudgetDecay(
        result.budget, config.learning_rate, start=config.decay_start
    )
    for share, rate in zip(machine.shares, machine.rates):
        assert rate == pytest.approx(decay.rate(share), rel=1e-5)
    # Flat for the first half, annealed to near the floor at the end.
    assert machine.rates[0] == pytest.approx(config.learning_rate)
    assert machine.shares[-1] == pytest.approx(1 - seconds_per_batch / 30)
    assert machine.rates[-1] < 0.2 * config.learning_rate
    # The kept epoch is the one with the best dev loss, restored at the end.
    losses = result.history["val_loss"]
    assert result.best_dev == pytest.approx(min(losses))
    assert result.best_epoch == 1 + int(np.argmin(losses))
    restored = translation.build(config, data)
    restored.optimizer.build(restored.trainable_variables)
    restored.load_weights(os.path.join(str(tmp_path), "best.weights.h5"))
    for a, b in zip(model.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_resume_after_kill_ends_where_an_uninterrupted_run_ends(tmp_path):
    fixed = dict(epochs=4, max_minutes=0, patience=100, export=False)
    whole = translation.train(
        **TINY, **fixed, output_dir=str(tmp_path / "whole")
    )
    output_dir = str(tmp_path / "killed")
    command = [
        sys.executable,
        os.path.join(ROOT, "recipes", "translate.py"),
        *TINY_FLAGS,
        "--epochs",
        "4",
        "--max-minutes",
        "0",
        "--patience",
        "100",
        "--no-export",
        "--output-dir",
        output_dir,
    ]
    history = os.path.join(output_dir, "history.csv")
    finished = kill_when(command, lambda: csv_rows(history), 2)
    assert 2 <= finished < 4
    # The checkpoint is written last in an epoch: a kill just after the
    # history row repeats that epoch.
    checkpointed = training.resume_epoch(os.path.join(output_dir, "backup"))
    assert finished - 1 <= checkpointed <= finished
    with open(os.path.join(output_dir, "best.weights.h5.json")) as f:
        best_before = json.load(f)

    resumed = translation.train(
        **TINY, **fixed, output_dir=output_dir, resume=True
    )
    with open(history) as f:
        rows = list(csv.DictReader(f))
    epochs = [int(row["epoch"]) for row in rows]
    # The finished epochs are kept and training went on from the next one.
    assert epochs[:finished] == list(range(finished))
    assert sorted(set(epochs)) == list(range(4))
    # Every epoch of the run counts, those before the kill too.
    assert resumed.metrics["training"]["epochs_completed"] == 4
    # The best epoch before the kill is still a candidate after it.
    bleus = [float(row["val_bleu"]) for row in rows]
    assert max(bleus[:finished]) == pytest.approx(best_before["best"])
    # And every epoch trained as in the run that was never stopped: the
    # same batches, dropout masks, optimizer state and schedule counters.
    ran = training.read_history(history)
    expected = training.read_history(
        os.path.join(str(tmp_path / "whole"), "history.csv")
    )
    for key in ("loss", "val_loss", "val_bleu", "learning_rate"):
        np.testing.assert_allclose(ran[key], expected[key], rtol=1e-4)
    for key in ("best_epoch", "best_dev_bleu"):
        assert resumed.metrics["training"][key] == pytest.approx(
            whole.metrics["training"][key]
        )
    assert resumed.metrics["results"]["bleu"] == pytest.approx(
        whole.metrics["results"]["bleu"], abs=1e-6
    )


def test_weight_averages_are_scored_and_the_selected_weights_exported(
    tmp_path,
):
    config = translation.Config(
        **TINY,
        epochs=2,
        max_minutes=None,
        select_on="loss",
        ema_decay=0.9,
        average_last=2,
        output_dir=str(tmp_path),
    )
    # An earlier run's epochs in the directory are not averaged in.
    (tmp_path / "last_epochs").mkdir()
    (tmp_path / "last_epochs" / "epoch_9.weights.h5").write_text("old")
    trained = translation.train(config)
    averages = trained.metrics["results"]["weight_averaging"]
    assert set(averages) == {
        "selected",
        "ema 0.9",
        "average of the last 2 epochs",
    }
    for figures in averages.values():
        assert 0 <= figures["dev_bleu"] <= 100
        assert 0 <= figures["test_bleu"] <= 100
    assert (
        averages["selected"]["test_bleu"] == trained.metrics["results"]["bleu"]
    )
    assert sorted(os.listdir(tmp_path / "last_epochs")) == [
        "epoch_1.weights.h5",
        "epoch_2.weights.h5",
    ]
    # The results table reads the run.
    from benchmarks.quality import weight_averaging

    table = tmp_path / "table.md"
    weight_averaging.main([str(tmp_path), "--markdown", str(table)])
    rows = [r for r in table.read_text().splitlines() if "| seed 0 |" in r]
    assert len(rows) == 3 and "ema 0.9" in rows[1]
    # The model holds the selected epoch's weights again, as saved.
    loaded = tasks.load(str(tmp_path))
    for mine, theirs in zip(trained.model.weights, loaded.model.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


# === Ensembles ===


@pytest.fixture(scope="module")
def second_run(tmp_path_factory):
    return train_tiny(tmp_path_factory, "translate_seed1", seed=1)


def test_an_ensemble_of_runs_is_scored_saved_and_served(
    run, second_run, tmp_path
):
    from s2s_zoo.models.ensemble import Ensemble
    from tests.test_cli_verbs import s2s_zoo

    members = [run[0], second_run[0]]
    out = str(tmp_path / "ensemble")
    # Through the installed `s2s-zoo` entry point, as a user runs it.
    code, _, err = s2s_zoo("ensemble", *members, "--output-dir", out)
    assert code == 0, err[-3000:]
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)["results"]
    assert [m["run"] for m in metrics["members"]] == members
    # Each member scored as its own run scored itself (same test split,
    # same decoding).
    for figures, (_, trained) in zip(metrics["members"], (run, second_run)):
        assert figures["test_bleu"] == pytest.approx(
            trained.metrics["results"]["bleu"], abs=1e-6
        )
    assert 0 <= metrics["ensemble"]["test_bleu"] <= 100
    # In memory, reloaded and served: one translator.
    combined = translation.ensemble(members)
    assert isinstance(combined.model, Ensemble)
    expected = combined.translate(HOSTILE)
    loaded = tasks.load(out)
    assert isinstance(loaded.model, Ensemble)
    assert loaded.translate(HOSTILE).translations == expected.translations
    served = serve_in_a_fresh_process(os.path.join(out, "saved_model"))
    assert served["translation"] == expected.translations
    np.testing.assert_allclose(served["score"], expected.scores, rtol=1e-3)
    # The results table reads the ensemble's metrics.
    from benchmarks.quality import ensemble

    table = tmp_path / "table.md"
    ensemble.main([out, "--markdown", str(table)])
    text = table.read_text()
    assert f"{metrics['ensemble']['test_bleu']:.2f}" in text
    assert "**ensemble of all 2**" in text


def test_an_ensemble_refuses_runs_of_other_vocabularies(run):
    output_dir, trained = run
    from s2s_zoo.data import translation as text

    target = trained.target_tokenizer
    other = translation.TranslationRun(
        trained.model,
        trained.source_tokenizer,
        text.Tokenizer(target.vocabulary[:-1], kind=target.kind),
        dataclasses.replace(trained.config, output_dir="runs/other"),
    )
    n = target.vocabulary_size
    with pytest.raises(ValueError) as error:
        translation.ensemble([trained, other])
    assert str(error.value) == (
        f"'runs/other' has another target tokenizer ({target.kind}, {n - 1} "
        f"tokens) than {output_dir!r} ({target.kind}, {n} tokens); the "
        "members of an ensemble must share both vocabularies (train them on "
        "the same data with the same tokenizer settings)."
    )
    from s2s_zoo import cli

    with pytest.raises(SystemExit, match="s2s-zoo ensemble: error: "):
        cli.main(["ensemble", output_dir, os.path.dirname(output_dir)])


# === SentencePiece ===


def test_sentencepiece_run_is_saved_loaded_and_served(tmp_path):
    output_dir = str(tmp_path / "spm")
    trained = translation.train(
        translation.Config(
            **{**TINY, "max_train_pairs": 2000},
            epochs=1,
            max_minutes=None,
            source_tokenizer="sentencepiece_unigram",
            target_tokenizer="sentencepiece_bpe",
            source_vocabulary_size=1500,
            target_vocabulary_size=500,
            output_dir=output_dir,
        )
    )
    for side, kind in (("source", "unigram"), ("target", "bpe")):
        tokenizer = getattr(trained, f"{side}_tokenizer")
        assert tokenizer.kind == f"sentencepiece_{kind}"
        assert os.path.exists(
            os.path.join(output_dir, "vocabulary", f"{side}.model")
        )
    # The source pieces span several characters where the data repeats
    # them (unlike the character tokenizer).
    pieces = trained.source_tokenizer.vocabulary
    assert max(len(p.lstrip("\u2581")) for p in pieces[4:]) > 1
    expected = trained.translate(HOSTILE)
    loaded = tasks.load(output_dir)
    assert loaded.source_tokenizer.vocabulary == pieces
    assert loaded.translate(HOSTILE).translations == expected.translations
    served = serve_in_a_fresh_process(os.path.join(output_dir, "saved_model"))
    assert served["translation"] == expected.translations
    # The tokenizers table reads the run and its vocabularies.
    from benchmarks.quality import tokenizers

    table = tmp_path / "table.md"
    tokenizers.main([output_dir, "--markdown", str(table)])
    assert "sentencepiece_unigram" in table.read_text()
