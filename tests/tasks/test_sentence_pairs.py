"""The sentence-pair task on fixture files in the official formats."""

import json
import os
import sys

import keras
import numpy as np
import pytest

from s2s_zoo import tasks
from s2s_zoo.tasks import sentence_pairs as task
from s2s_zoo.tasks.sentence_pairs import fitting
from tests import helpers
from tests.helpers import ROOT
from tests.helpers import kill_when
from tests.helpers import run_python

FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def figures(metrics):
    """metrics.json with its `results` (dev, test) and `training`
    (restarts, history, ...) sections lifted to the top."""
    return {**metrics, **metrics["results"], **metrics["training"]}


def main(config):
    """Trains from a dict of settings; returns the run's metrics (see
    `figures`)."""
    return figures(task.train(task.Config(**config)).metrics)


TINY = {
    "epochs": 1,
    "restarts": 1,
    "batch_size": 4,
    "oov_buckets": 5,
    "heatmap_pairs": 1,
    "model_config": {
        "embedding_dim": 4,
        "filters": 3,
        "num_blocks": 2,
        "sequence_length_1": 6,
        "sequence_length_2": 8,
    },
}

# Run in a fresh interpreter that imports only tensorflow and
# tensorflow_text: empty strings (also a whole empty batch), unseen words
# and very long text must all give an answer.
SERVE = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops)
fn = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
long = " ".join(["glacier"] * 5000)
batches = [
    (["how are glacier caves formed ?", "", "zyzzyva qwerty", long],
     ["a glacier cave is formed", "x", "", long]),
    (["", ""], ["", ""]),
]
out = []
for s1, s2 in batches:
    result = fn(sentence1=tf.constant(s1), sentence2=tf.constant(s2))
    out.append({k: v.numpy().tolist() for k, v in result.items()})
print(json.dumps(out, default=lambda b: b.decode()))
"""


def _serve(path):
    return run_python(SERVE, path, timeout=120)


def test_wikiqa_main_writes_everything_and_serves(tmp_path):
    output_dir = str(tmp_path / "wikiqa")
    metrics = main(
        {
            **TINY,
            "task": "wikiqa",
            "model": "abcnn3",
            "train": os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.txt"),
            "dev": os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.tsv"),
            "output_dir": output_dir,
        }
    )
    files = set(os.listdir(output_dir))
    assert {"metrics.json", "model.keras", "saved_model"} <= files
    assert "attention_0_block_1_input.png" in files
    assert "attention_0_block_2_convolution.png" in files
    assert not any(name.startswith(".") for name in files)  # atomic writes
    with open(os.path.join(output_dir, "metrics.json")) as f:
        written = figures(json.load(f))
    assert written["dev"] == metrics["dev"]
    assert written["dev"]["questions"] == 2  # Q3 has no correct answer
    assert 0 < written["dev"]["map"] <= 1
    # The defaults: random vectors trained with the model, the
    # similarity-only standardized output layer, one shared attention W.
    assert written["config"]["word_vectors"] == "trained"
    assert written["model_config"]["trainable_embeddings"] is True
    assert written["model_config"]["pooled_features"] is False
    assert written["model_config"]["standardize_features"] is True
    assert written["model_config"]["share_attention_weights"] is True
    # .keras reload gives the recipe's model
    model = keras.saving.load_model(os.path.join(output_dir, "model.keras"))
    assert model.get_config()["variant"] == 3
    out = _serve(os.path.join(output_dir, "saved_model"))
    assert sorted(out[0]) == ["score", "truncated"]
    # Only the 5,000-word pair is longer than the model reads.
    assert out[0]["truncated"] == [False, False, False, True]
    scores = np.array(out[0]["score"])
    assert scores.shape == (4,) and np.all(np.isfinite(scores))
    assert np.array(out[1]["score"]).shape == (2,)


def test_sick_main_three_way_signature(tmp_path):
    sick = os.path.join(FIXTURES, "sick", "SICK-tiny.txt")
    output_dir = str(tmp_path / "sick")
    metrics = main(
        {
            **TINY,
            "task": "sick",
            "model": "abcnn1",
            "train": sick,
            "dev": sick,
            "test": sick,
            "output_dir": output_dir,
        }
    )
    assert metrics["dev"]["pairs"] == 3 and metrics["test"]["pairs"] == 3
    out = _serve(os.path.join(output_dir, "saved_model"))
    assert sorted(out[0]) == ["label", "probabilities", "score", "truncated"]
    probabilities = np.array(out[0]["probabilities"])
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out[0]["score"], probabilities.max(-1), 1e-6)
    assert set(out[0]["label"]) <= {"ENTAILMENT", "NEUTRAL", "CONTRADICTION"}


def test_ppmi_word_vectors_and_bcnn_get_only_their_keys(tmp_path, capsys):
    metrics = main(
        {
            **TINY,
            "task": "wikiqa",
            "model": "bcnn",
            "word_vectors": "ppmi",
            "train": os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.txt"),
            "dev": os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.tsv"),
            "output_dir": str(tmp_path / "wikiqa"),
            "export": False,
            "heatmap_pairs": 0,
        }
    )
    assert metrics["model_config"]["trainable_embeddings"] is False
    assert metrics["restarts"] == [{"seed": 1, "dev": metrics["dev"]["map"]}]
    # BCNN has no attention weights to share: the common key is left out.
    assert "share_attention_weights" not in metrics["model_config"]
    assert "word vectors: PPMI-SVD, " in capsys.readouterr().out


def test_restarts_keep_the_initialisation_best_on_dev(tmp_path, capsys):
    metrics = main(
        {
            **TINY,
            "task": "sick",
            "model": "bcnn",
            "restarts": 3,
            "epochs": 2,
            "seed": 5,
            "train": os.path.join(FIXTURES, "sick", "SICK-tiny.txt"),
            "dev": os.path.join(FIXTURES, "sick", "SICK-tiny.txt"),
            "test": os.path.join(FIXTURES, "sick", "SICK-tiny.txt"),
            "output_dir": str(tmp_path / "sick"),
            "export": False,
            "heatmap_pairs": 0,
        }
    )
    restarts = metrics["restarts"]
    assert [r["seed"] for r in restarts] == [5, 1005, 2005]
    best = max(r["dev"] for r in restarts)
    first = next(r for r in restarts if r["dev"] == best)  # earliest on ties
    assert metrics["restart_seed"] == first["seed"]
    assert metrics["history"][0]["accuracy"] == best
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert "restart 3/3 (seed 2005)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="restarts and epochs must be at"):
        main({**TINY, "task": "sick", "restarts": 0})


def test_uncovered_rows_are_random_at_the_known_length():
    matrix = np.zeros((4, 3), "float32")
    matrix[1] = [0.0, 3.0, 0.0]
    matrix[3] = [0.0, 0.0, 1.0]  # known lengths 3 and 1: mean 2
    covered = np.array([False, True, False, True])
    full = task.fill_uncovered_rows(matrix, covered, size=7, seed=0)
    assert full.shape == (7, 3) and full.dtype == np.float32
    np.testing.assert_array_equal(full[[1, 3]], matrix[[1, 3]])
    np.testing.assert_array_equal(full[0], 0.0)  # padding
    # word 2 (no vector) and the 3 OOV buckets: random, length 2, distinct
    np.testing.assert_allclose(np.linalg.norm(full[[2, 4, 5, 6]], axis=1), 2)
    assert len({tuple(row) for row in full[[2, 4, 5, 6]]}) == 4


def test_trained_vectors_start_at_trained_vector_norm_per_restart(
    tmp_path, monkeypatch
):
    starts = []
    build_model = task.build

    def recording(config, model_config, vectors, statistics):
        starts.append(vectors)
        return build_model(config, model_config, vectors, statistics)

    monkeypatch.setattr(fitting, "build", recording)
    config = {
        **TINY,
        "task": "wikiqa",
        "model": "bcnn",
        "restarts": 2,
        "trained_vector_norm": 3.0,  # the caller's wins over WikiQA's None
        "train": os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.txt"),
        "dev": os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.tsv"),
        "output_dir": str(tmp_path / "wikiqa"),
        "export": False,
        "heatmap_pairs": 0,
    }
    metrics = main(config)
    size = metrics["model_config"]["vocabulary_size"]
    assert [v.shape for v in starts] == [(size, 4), (size, 4)]
    for vectors in starts:
        np.testing.assert_array_equal(vectors[0], 0.0)  # padding
        np.testing.assert_allclose(np.linalg.norm(vectors[1:], axis=1), 3.0)
    assert not np.allclose(starts[0], starts[1])  # drawn per restart
    # WikiQA's own default, None: Keras' initializer, nothing copied in
    del config["trained_vector_norm"]
    starts.clear()
    metrics = main(
        {**config, "restarts": 1, "output_dir": str(tmp_path / "again")}
    )
    assert starts == [None]
    assert metrics["config"]["trained_vector_norm"] is None


def test_task_defaults_sit_between_config_and_the_caller():
    def resolved(**values):
        return task.resolve(task.Config(**values)).trained_vector_norm

    assert resolved(task="sick") == 3
    assert resolved(task="wikiqa") is None
    assert resolved(task="wikiqa", trained_vector_norm=2.0) == 2.0
    assert resolved(task="wikiqa", trained_vector_norm=None) is None
    with pytest.raises(
        ValueError, match=r"Unknown task 'snli'; known: \['msrp'"
    ):
        task.resolve(task.Config(task="snli"))


def test_msrp_main_carves_dev_and_test_with_embeddings(tmp_path, capsys):
    glove = tmp_path / "vectors.txt"
    glove.write_text("the 1 0 0 0 0\n. 0 1 0 0 0\n, 0 0 1 0 0\n")
    metrics = main(
        {
            **TINY,
            "task": "msrp",
            "model": "bcnn",
            "train": os.path.join(FIXTURES, "msrp", "msr_paraphrase_tiny.txt"),
            "embeddings": str(glove),
            "output_dir": str(tmp_path / "msrp"),
            "export": False,
            "heatmap_pairs": 0,
        }
    )
    # 10 pairs: 1 dev, 1 test, 8 train
    assert metrics["train_pairs"] == 8
    assert metrics["dev"]["pairs"] == 1 and metrics["test"]["pairs"] == 1
    assert set(metrics["test"]) == {"accuracy", "f1", "pairs"}
    # the file's width wins; vectors given means frozen embeddings
    assert metrics["model_config"]["embedding_dim"] == 5
    assert metrics["model_config"]["trainable_embeddings"] is False
    words = metrics["vocabulary_words"] - 1
    assert f"embeddings: found 3, missing {words - 3} of {words}" in (
        capsys.readouterr().out
    )


def parse(flags):
    return helpers.parse("sentence-pairs", task, flags)


def test_flags_keep_their_names():
    config = parse(
        "--task msrp --model abcnn2 --train a --dev b --test c "
        "--embeddings e.txt --epochs 3 --output-dir out --seed 7 "
        "--trained-vector-norm none --set num_blocks=1".split()
    )
    assert config == task.Config(
        task="msrp",
        model="abcnn2",
        train="a",
        dev="b",
        test="c",
        embeddings="e.txt",
        epochs=3,
        output_dir="out",
        seed=7,
        trained_vector_norm=None,
        model_config={"num_blocks": 1},
    )
    assert parse(["--word-vectors", "ppmi"]).word_vectors == "ppmi"
    assert parse([]) == task.Config()
    with pytest.raises(SystemExit):
        parse(["--task", "snli"])
    with pytest.raises(SystemExit):
        parse(["--word-vectors", "glove"])


def test_missing_data_names_the_file_and_where_to_get_it(monkeypatch):
    # Before, the default data folder existed only on the developers'
    # machines, and a missing file was a bare traceback.
    monkeypatch.delenv("S2S_ZOO_DATA", raising=False)
    with pytest.raises(
        FileNotFoundError,
        match=r"No file given for the "
        r"wikiqa train file\. Get WikiQA",
    ):
        task.load_splits(task.resolve(task.Config()))
    monkeypatch.setenv("S2S_ZOO_DATA", "/nowhere")
    with pytest.raises(FileNotFoundError, match="sick/SICK.txt' does not"):
        task.load_splits(task.resolve(task.Config(task="sick")))


def test_run_scores_raw_strings_and_loads_by_path(tmp_path):
    sick = os.path.join(FIXTURES, "sick", "SICK-tiny.txt")
    output_dir = str(tmp_path / "sick")
    run = task.train(
        task.Config(
            **{**TINY, "heatmap_pairs": 0},
            task="sick",
            model="abcnn3",
            train=sick,
            dev=sick,
            test=sick,
            output_dir=output_dir,
        )
    )
    first = ["A dog runs", "", "A man is playing a guitar"]
    second = ["An animal is running", "A dog runs", "Nobody plays"]
    scored = run.score(first, second)
    assert len(scored) == 3 and set(scored.labels) <= set(
        ["ENTAILMENT", "NEUTRAL", "CONTRADICTION"]
    )
    np.testing.assert_allclose(scored.probabilities.sum(-1), 1.0, rtol=1e-5)
    loaded = tasks.load(output_dir)
    assert isinstance(loaded, task.SentencePairRun)
    again = loaded.score(first, second)
    assert again.labels == scored.labels
    np.testing.assert_allclose(again.scores, scored.scores, rtol=1e-5)
    with pytest.raises(ValueError, match="one second sentence per first"):
        run.score(first, second[:2])


#: Epochs of the resumable run (after its two restarts).
RESUMABLE_EPOCHS = 7


def resumable_flags(output_dir):
    sick = os.path.join(FIXTURES, "sick", "SICK-tiny.txt")
    model = TINY["model_config"]
    return [
        "--task=sick",
        "--model=abcnn3",
        f"--train={sick}",
        f"--dev={sick}",
        f"--test={sick}",
        f"--epochs={RESUMABLE_EPOCHS}",
        "--restarts=2",
        "--batch-size=4",
        "--oov-buckets=5",
        "--heatmap-pairs=0",
        "--no-export",
        f"--output-dir={output_dir}",
        *[f"--set={k}={v}" for k, v in model.items()],
    ]


def test_resume_after_kill_ends_where_an_uninterrupted_run_ends(tmp_path):
    whole = task.train(parse(resumable_flags(str(tmp_path / "whole"))))
    # The same run as a recipe process, killed with SIGKILL once the two
    # restarts and two more epochs have finished, then resumed here.
    killed = str(tmp_path / "killed")

    def finished():
        try:
            progress = task.read_progress(killed)
        except (OSError, ValueError, KeyError):
            return 0
        return len(progress["restarts"]) + len(progress["history"])

    script = os.path.join(ROOT, "recipes", "sentence_pairs.py")
    done = kill_when(
        [sys.executable, script, *resumable_flags(killed)], finished, 5
    )
    assert 5 <= done < 2 + RESUMABLE_EPOCHS
    before = task.read_progress(killed)["history"]
    resumed = task.train(parse([*resumable_flags(killed), "--resume"]))
    whole.metrics, resumed.metrics = (
        figures(whole.metrics),
        figures(resumed.metrics),
    )
    # The finished epochs were kept, not trained again ...
    assert resumed.metrics["history"][: len(before)] == before
    # ... and the rest trained as in the uninterrupted run.
    assert resumed.metrics["restarts"] == whole.metrics["restarts"]
    assert resumed.metrics["best_epoch"] == whole.metrics["best_epoch"]
    for ran, expected in zip(
        resumed.metrics["history"], whole.metrics["history"], strict=True
    ):
        assert ran == pytest.approx(expected, rel=1e-5)
    assert resumed.metrics["test"] == pytest.approx(whole.metrics["test"])
    for a, b in zip(whole.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_a_corrupt_checkpoint_starts_clean_with_a_message(tmp_path, capsys):
    output_dir = str(tmp_path / "run")
    task.train(parse([*resumable_flags(output_dir), "--epochs=2"]))
    chosen = task.read_progress(output_dir)["chosen"]
    latest = os.path.join(
        output_dir, f"restart{chosen}_backup", "latest.weights.h5"
    )
    # Both the latest checkpoint and the one before it (kept for a kill
    # that truncates the latest) are broken.
    for path in (latest, latest + ".bkp"):
        with open(path, "r+b") as f:
            f.truncate(100)
    capsys.readouterr()
    run = task.train(parse([*resumable_flags(output_dir), "--resume"]))
    said = capsys.readouterr().out
    assert f"warning: {latest} is unreadable (" in said
    assert "starting clean" in said.lower()
    # trained again from scratch
    assert len(run.metrics["training"]["history"]) == RESUMABLE_EPOCHS
