"""The aspect-sentiment task on fixture XML, at tiny sizes."""

import csv
import json
import os
import sys
import textwrap

import keras
import numpy as np
import pytest

from s2s_zoo import cli
from s2s_zoo import tasks
from s2s_zoo import training
from s2s_zoo.data import semeval
from s2s_zoo.tasks import aspect_sentiment as task
from tests import helpers
from tests.helpers import ROOT
from tests.helpers import csv_rows
from tests.helpers import kill_when
from tests.helpers import run_python

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
TRAIN = os.path.join(FIXTURES, "semeval", "train.xml")
TEST = os.path.join(FIXTURES, "semeval", "test.xml")
GLOVE = os.path.join(FIXTURES, "embeddings", "tiny_glove.txt")
TINY_MODEL = {
    "embedding_dim": 4,
    "aspect_embedding_dim": 3,
    "hidden_dim": 4,
}


def figures(metrics):
    """A run's test figures and training facts, from metrics.json's
    `results` and `training` sections."""
    return {**metrics["results"], **metrics["training"]}


def parse(flags):
    """The task Config the command line `s2s-zoo aspect-sentiment` gets."""
    return helpers.parse("aspect-sentiment", task, flags)


@pytest.fixture(scope="module")
def term_run(tmp_path_factory):
    output_dir = str(tmp_path_factory.mktemp("run") / "out")
    config = parse(
        [
            "--model",
            "atae_lstm",
            "--train",
            TRAIN,
            "--test",
            TEST,
            "--epochs",
            "1",
            "--dev-fraction",
            "0.25",
            "--output-dir",
            output_dir,
            "--seed",
            "3",
            "--max-length",
            "12",
        ]
    )
    run = task.train(config, model_config=TINY_MODEL, verbose=0)
    return run.metrics, output_dir, run


def test_flags_keep_their_names():
    config = parse(
        "--model at_lstm --train a.xml --test b.xml --level category "
        "--classes 2 --embeddings v.txt --epochs 7 --dev-fraction 0.2 "
        "--output-dir out --seed 5 --set hidden_dim=8".split()
    )
    keys = [
        "model",
        "train",
        "test",
        "level",
        "classes",
        "embeddings",
        "epochs",
        "dev_fraction",
        "output_dir",
        "seed",
        "model_config",
    ]
    assert {k: getattr(config, k) for k in keys} == {
        "model": "at_lstm",
        "train": "a.xml",
        "test": "b.xml",
        "level": "category",
        "classes": 2,
        "embeddings": "v.txt",
        "epochs": 7,
        "dev_fraction": 0.2,
        "output_dir": "out",
        "seed": 5,
        "model_config": {"hidden_dim": 8},
    }
    default = parse(["--train", "a.xml", "--test", "b.xml"])
    assert default == task.Config(train="a.xml", test="b.xml")
    assert default.output_dir == "runs/aspect_sentiment"
    assert default.model == "atae_lstm"
    with pytest.raises(SystemExit):
        parse(["--train", "a", "--test", "b", "--classes", "4"])


def test_an_unknown_model_override_names_the_valid_keys():
    # Before, unknown overrides were dropped without a word.
    with pytest.raises(SystemExit, match="Unknown hyperparameter 'hiden_dim'"):
        cli.main(["aspect-sentiment", "--set", "hiden_dim=8"])
    with pytest.raises(ValueError, match="Did you mean 'hidden_dim'"):
        task.model_config(
            task.Config(model_config={"hiden_dim": 8}),
            task.Data([], [], [], ("a", "b", "c"), *_vocabularies()),
        )


def _vocabularies():
    from s2s_zoo.data.aspect_text import Vocabulary

    return Vocabulary(["[PAD]", "[UNK]", "x"]), Vocabulary(["[PAD]", "[UNK]"])


def test_missing_files_say_where_to_get_the_data(monkeypatch):
    monkeypatch.delenv("S2S_ZOO_DATA", raising=False)
    with pytest.raises(
        FileNotFoundError,
        match="No file given for the "
        "SemEval-2014 training file. Get the SemEval-2014",
    ):
        task.prepare(task.Config())
    with pytest.raises(FileNotFoundError, match="'nowhere.xml' does not exist"):
        task.prepare(task.Config(train="nowhere.xml", test=TEST))


def test_dev_split_is_by_sentence_and_never_touches_test():
    examples = semeval.read_semeval(TRAIN)
    train, dev = task.split_dev(examples, 0.25, seed=3)
    assert len(train) + len(dev) == len(examples)
    assert not {e.sentence_id for e in train} & {e.sentence_id for e in dev}
    assert len({e.sentence_id for e in dev}) == 2  # round(0.25 * 7)
    with pytest.raises(ValueError, match=r"^dev_fraction must be in \[0, 1\)"):
        task.split_dev(examples, 1.0, seed=0)


def test_metrics_json(term_run):
    metrics, output_dir, _ = term_run
    with open(os.path.join(output_dir, "metrics.json")) as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(metrics))
    assert saved["model_config"]["hidden_dim"] == 4
    saved = figures(saved)
    assert saved["classes"] == ["positive", "negative", "neutral"]
    matrix = np.array(saved["confusion_matrix"])
    assert matrix.shape == (3, 3)
    assert matrix.sum() == saved["counts"]["test"] == 7
    assert saved["accuracy"] == pytest.approx(np.trace(matrix) / 7)
    assert saved["counts"]["test_per_class"] == {
        "positive": 3,
        "negative": 2,
        "neutral": 2,
    }
    assert saved["counts"]["train"] + saved["counts"]["dev"] == 12
    per_class = saved["per_class"]
    assert [per_class[c]["support"] for c in saved["classes"]] == [3, 2, 2]
    assert saved["macro_f1"] == pytest.approx(
        np.mean([per_class[c]["f1"] for c in saved["classes"]])
    )
    assert saved["epochs_run"] == 1 and saved["best_epoch"] == 1


def test_outputs_are_written_atomically(term_run):
    _, output_dir, _ = term_run
    names = sorted(os.listdir(output_dir))
    assert names == [
        "best.weights.h5",  # the kept epoch and its figure, for --resume
        "best.weights.h5.json",
        "heatmaps",
        "history.csv",
        "logs",  # TensorBoard's
        "metrics.json",
        "model.keras",
        "run.json",
        "saved_model",
        "vocabulary",
    ]  # no temporary ".name.xxxx" left behind
    assert sorted(os.listdir(os.path.join(output_dir, "vocabulary"))) == [
        "aspects.json",
        "aspects.vocab",
        "words.json",
        "words.vocab",
    ]
    heatmaps = sorted(os.listdir(os.path.join(output_dir, "heatmaps")))
    # The test sentences with two or more aspects (conflict dropped).
    assert heatmaps == ["sentence_t1.png", "sentence_t2.png", "sentence_t3.png"]
    with open(os.path.join(output_dir, "heatmaps", heatmaps[0]), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def _serve_in_fresh_process(saved_model, batches):
    """Runs serving_default in a python that imports only TF and TF Text.

    `batches` is a list of `(sentences, aspects)`; returns one dict of
    outputs per batch.
    """
    code = textwrap.dedent(
        f"""
        import json, sys
        import tensorflow as tf
        import tensorflow_text  # registers the text ops
        serve = tf.saved_model.load({saved_model!r}).signatures[
            "serving_default"]
        answers = []
        for sentences, aspects in {batches!r}:
            out = serve(sentence=tf.constant(sentences),
                        aspect=tf.constant(aspects))
            answers.append({{
                "probabilities": out["probabilities"].numpy().tolist(),
                "label": [x.decode() for x in out["label"].numpy()],
                "attention": out["attention"].numpy().tolist(),
            }})
        assert "s2s_zoo" not in sys.modules
        print(json.dumps(answers))
        """
    )
    return run_python(code, cwd=os.path.dirname(saved_model), timeout=120)


def test_saved_model_in_a_fresh_process_handles_bad_inputs(term_run):
    _, output_dir, run = term_run
    sentences = [
        "The pasta was awful but the staff was friendly.",
        "",  # empty sentence
        "The pasta was awful.",  # aspect absent from the sentence
        "Zorblax quuxes were flibbertigibbet!",  # unseen words
        " ".join(["pasta"] * 5000),  # very long text
    ]
    aspects = ["pasta", "staff", "view", "zorblax", "pasta"]
    out, only_empty = _serve_in_fresh_process(
        os.path.join(output_dir, "saved_model"),
        [(sentences, aspects), (["", ""], ["", "pasta"])],
    )
    probabilities = np.array(out["probabilities"])
    attention = np.array(out["attention"])
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    labels = ["positive", "negative", "neutral"]
    assert out["label"] == [labels[i] for i in probabilities.argmax(axis=1)]
    assert attention.shape == (5, 12)  # cut to max_length
    assert np.isfinite(attention).all()
    lengths = [10, 0, 5, 5, 12]
    for row, n in zip(attention, lengths):
        assert np.all(row[n:] == 0.0)
        if n:
            assert row[:n].sum() == pytest.approx(1.0, abs=1e-5)
    # The run object answers what the SavedModel answers.
    predicted = run.predict(sentences, aspects)
    assert predicted.labels == out["label"]
    np.testing.assert_allclose(
        predicted.probabilities, probabilities, rtol=1e-4, atol=1e-6
    )
    # A batch of nothing but empty strings still answers.
    assert np.array(only_empty["attention"]).shape == (2, 1)
    assert len(only_empty["label"]) == 2
    np.testing.assert_allclose(
        np.array(only_empty["probabilities"]).sum(axis=1), 1.0, atol=1e-5
    )


def test_saved_model_agrees_with_model_keras(term_run):
    import tensorflow as tf

    from s2s_zoo.data import aspect_text

    _, output_dir, _ = term_run
    model = keras.saving.load_model(os.path.join(output_dir, "model.keras"))
    vocabulary = aspect_text.Vocabulary.load(
        os.path.join(output_dir, "vocabulary"), "words"
    )
    aspect_vocabulary = aspect_text.Vocabulary.load(
        os.path.join(output_dir, "vocabulary"), "aspects"
    )
    sentences = ["The pasta was awful but the staff was friendly."] * 2
    aspects = ["pasta", "staff"]
    words = aspect_text.to_lists(aspect_text.split_words(sentences))
    terms = aspect_text.to_lists(aspect_text.aspect_tokens(aspects, "term"))
    logits, weights = model.call_with_attention(
        {
            "token_ids": aspect_text.encode_numpy(words, vocabulary, 12),
            "aspect_token_ids": aspect_text.encode_numpy(
                terms, aspect_vocabulary
            ),
        }
    )
    served = tf.saved_model.load(os.path.join(output_dir, "saved_model"))
    out = served.signatures["serving_default"](
        sentence=tf.constant(sentences), aspect=tf.constant(aspects)
    )
    np.testing.assert_allclose(
        out["probabilities"], keras.ops.softmax(logits), atol=1e-6
    )
    np.testing.assert_allclose(out["attention"], weights, atol=1e-6)


def test_load_gives_back_the_classifier(term_run):
    _, output_dir, run = term_run
    loaded = tasks.load(output_dir)
    assert isinstance(loaded, task.AspectSentimentRun)
    assert loaded.config == run.config and loaded.names == run.names
    sentences = ["The pasta was awful but the staff was friendly."] * 2
    aspects = ["pasta", "staff"]
    np.testing.assert_allclose(
        loaded.predict(sentences, aspects).probabilities,
        run.predict(sentences, aspects).probabilities,
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="one aspect per sentence"):
        run.predict(sentences, aspects[:1])


def test_category_level_binary_with_pretrained_vectors(tmp_path, capsys):
    config = parse(
        [
            "--model",
            "at_lstm",
            "--train",
            TRAIN,
            "--test",
            TEST,
            "--level",
            "category",
            "--classes",
            "2",
            "--embeddings",
            GLOVE,
            "--epochs",
            "1",
            "--dev-fraction",
            "0",
            "--output-dir",
            str(tmp_path / "out"),
            "--no-export",
            "--heatmap-sentences",
            "0",
            "--set",
            "hidden_dim=4",
        ]
    )
    metrics = task.train(config).metrics
    printed = capsys.readouterr().out
    assert metrics["model_config"]["embedding_dim"] == 3
    metrics = figures(metrics)
    assert metrics["classes"] == ["positive", "negative"]
    assert metrics["counts"]["test"] == 3
    assert metrics["counts"]["dev"] == 0 and metrics["dev_accuracy"] is None
    # Words counted once per training sentence, min_count 1 with vectors.
    coverage = metrics["embedding_coverage"]["embedding"]
    assert coverage["found"] == 3  # "the", "pizza", ","
    assert f"embedding coverage: 3 found, {coverage['missing']} missing" in (
        printed
    )
    # The file's 3-d vectors set the embedding width (checked above).
    assert sorted(os.listdir(tmp_path / "out")) == [
        "history.csv",
        "logs",
        "metrics.json",
    ]


def test_load_vectors_fills_both_tables_from_one_read():
    from s2s_zoo.data.aspect_text import Vocabulary

    words = Vocabulary(["[PAD]", "[UNK]", "the", "pizza", "zebra"])
    aspects = Vocabulary(["[PAD]", "[UNK]", "pizza", ","])
    matrices, coverage = task.load_vectors(GLOVE, (words, aspects), seed=0)
    np.testing.assert_array_equal(
        matrices["embedding"][[0, 2, 3]],
        np.float32([[0, 0, 0], [0.1, 0.2, 0.3], [1.0, -1.0, 0.5]]),
    )
    np.testing.assert_array_equal(
        matrices["aspect_embedding"][[0, 2, 3]],
        np.float32([[0, 0, 0], [1.0, -1.0, 0.5], [0.0, 0.0, 1.0]]),
    )
    assert coverage == {
        "embedding": {"found": 2, "missing": 2, "examples": ["[UNK]", "zebra"]},
        "aspect_embedding": {"found": 2, "missing": 1, "examples": ["[UNK]"]},
    }


RESUMABLE_EPOCHS = 8


def resumable_flags(output_dir):
    return [
        "--train",
        TRAIN,
        "--test",
        TEST,
        "--epochs",
        str(RESUMABLE_EPOCHS),
        "--patience",
        "100",
        "--dev-fraction",
        "0.25",
        "--output-dir",
        output_dir,
        "--seed",
        "4",
        "--batch-size",
        "3",  # several batches an epoch: their order matters
        "--no-export",
        *[f"--set={k}={v}" for k, v in TINY_MODEL.items()],
    ]


def test_resume_after_kill_ends_where_an_uninterrupted_run_ends(tmp_path):
    # The uninterrupted run, in this process.
    whole = task.train(parse(resumable_flags(str(tmp_path / "whole"))))
    # The same run as a recipe process, killed with SIGKILL once two epochs
    # have finished, then resumed here.
    killed = str(tmp_path / "killed")
    history = os.path.join(killed, "history.csv")
    script = os.path.join(ROOT, "recipes", "aspect_sentiment.py")
    finished = kill_when(
        [sys.executable, script, *resumable_flags(killed)],
        lambda: csv_rows(history),
        2,
    )
    assert 2 <= finished < RESUMABLE_EPOCHS
    resumed = task.train(parse([*resumable_flags(killed), "--resume"]))
    with open(history) as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs[:finished] == list(range(finished))  # kept, not redone
    assert sorted(set(epochs)) == list(range(RESUMABLE_EPOCHS))
    for key in ("accuracy", "macro_f1", "best_epoch", "dev_accuracy"):
        assert figures(resumed.metrics)[key] == pytest.approx(
            figures(whole.metrics)[key]
        )
    # Every epoch after the kill trained as in the uninterrupted run: the
    # same data order, from the same weights and optimizer state.
    ran = training.read_history(history)
    expected = training.read_history(
        os.path.join(str(tmp_path / "whole"), "history.csv")
    )
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(ran[key], expected[key], rtol=1e-5)
    for a, b in zip(whole.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
