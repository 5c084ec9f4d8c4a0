"""The verbs on a finished run or a preset, through the real `s2s-zoo`
entry point in a subprocess: translate / predict / score (file, standard
input), evaluate on a user's file, export again, describe, save-preset;
the old training spelling of `translate`; and user errors as one line with
no traceback."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

KEPT = os.path.join(ROOT, "tests", "fixtures", "finished_runs")
TRANSLATION = os.path.join(KEPT, "translation")
ASPECT = os.path.join(KEPT, "aspect_sentiment")
PAIRS = os.path.join(KEPT, "sentence_pairs")


def s2s_zoo(*args, stdin=None, cwd=ROOT):
    """`s2s-zoo ARGS` as a user types it: `(returncode, stdout, stderr)`."""
    entry = shutil.which("s2s-zoo")
    command = [entry] if entry else [sys.executable, "-m", "s2s_zoo.cli"]
    done = subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return done.returncode, done.stdout, done.stderr


def _user_error(args, expected, **kwargs):
    code, out, err = s2s_zoo(*args, **kwargs)
    assert code != 0
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert expected in last, err
    return last


def test_translate_reads_a_file_and_standard_input_alike(tmp_path):
    source = tmp_path / "zh.txt"
    source.write_text("我喜欢中国美食\n嗨。\n猫\n", encoding="utf-8")
    code, from_file, err = s2s_zoo(
        "translate", TRANSLATION, "--input", str(source)
    )
    assert code == 0, err
    assert len(from_file.splitlines()) == 3
    code, from_stdin, err = s2s_zoo(
        "translate", TRANSLATION, stdin=source.read_text(encoding="utf-8")
    )
    assert code == 0, err
    assert from_stdin == from_file
    code, as_json, err = s2s_zoo(
        "translate",
        TRANSLATION,
        "--json",
        "--attention-dir",
        str(tmp_path),
        stdin="我喜欢中国美食\n",
    )
    assert code == 0, err
    record = json.loads(as_json)
    assert record["translation"] == from_file.splitlines()[0]
    assert len(record["attention"]) == len(record["output_tokens"])
    assert (tmp_path / "attention_00001.png").exists()


def test_predict_and_score_answer_a_line_each():
    code, out, err = s2s_zoo(
        "predict",
        ASPECT,
        stdin="The food was great .\tfood\nBad service .\tservice\n",
    )
    assert code == 0, err
    labels = out.splitlines()
    assert len(labels) == 2
    assert set(labels) <= {"positive", "negative", "neutral"}
    code, out, err = s2s_zoo(
        "score", PAIRS, stdin="A dog runs\tAn animal runs\n"
    )
    assert code == 0, err
    label, score = out.strip().split("\t")
    assert label in {"ENTAILMENT", "CONTRADICTION", "NEUTRAL"}
    assert 0.0 <= float(score) <= 1.0


def test_evaluate_scores_a_run_on_a_users_file(tmp_path):
    report = tmp_path / "figures.json"
    code, out, err = s2s_zoo(
        "evaluate",
        TRANSLATION,
        "--data",
        os.path.join(ROOT, "tests", "fixtures", "translation", "tiny_cmn.tsv"),
        "--output",
        str(report),
    )
    assert code == 0, err
    figures = json.loads(report.read_text())
    assert json.loads(out) == figures
    assert {"bleu", "bleu_lowercase", "chrf", "test_pairs"} <= set(figures)
    assert figures["test_pairs"] == 8
    code, out, err = s2s_zoo(
        "evaluate",
        PAIRS,
        "--data",
        os.path.join(ROOT, "tests", "fixtures", "sick", "SICK-tiny.txt"),
    )
    assert code == 0, err
    assert "accuracy" in json.loads(out)


def test_export_again_with_other_decoding_options(tmp_path):
    out_dir = tmp_path / "served"
    code, out, err = s2s_zoo(
        "export", TRANSLATION, "--output", str(out_dir), "--beam-width", "3"
    )
    assert code == 0, err
    assert (out_dir / "saved_model.pb").exists()
    # An export never replaces a folder.
    _user_error(
        ["export", TRANSLATION, "--output", str(out_dir)], "exists: give a new"
    )


def test_describe_and_save_preset_then_use_the_preset(tmp_path):
    code, out, err = s2s_zoo("describe", TRANSLATION)
    assert code == 0, err
    assert out.startswith(f"{TRANSLATION}: a translation run of bahdanau")
    assert "files:" in out and "model.keras" in out
    preset = tmp_path / "preset"
    code, out, err = s2s_zoo("save-preset", TRANSLATION, str(preset))
    assert code == 0, err
    assert (preset / "metadata.json").exists()
    code, from_preset, err = s2s_zoo(
        "translate", str(preset), stdin="我喜欢中国美食\n"
    )
    assert code == 0, err
    code, from_run, err = s2s_zoo(
        "translate", TRANSLATION, stdin="我喜欢中国美食\n"
    )
    assert from_preset == from_run


def test_translate_with_training_flags_still_trains_and_says_so():
    # An invalid value stops it right after the message: the old spelling
    # reaches the training parser of `s2s-zoo train translation`.
    code, out, err = s2s_zoo("translate", "--beam-width", "many")
    assert code == 2
    assert "s2s-zoo train translation" in err
    assert "usage: s2s-zoo train translation" in err


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["translate", "no/such/run"],
            "s2s-zoo translate: error: Unknown preset 'no/such/run'",
        ),
        (
            ["predict", TRANSLATION, "--input", "x"],
            "s2s-zoo predict: error: s2s-zoo predict works on a "
            "aspect_sentiment run; this is a translation run.",
        ),
        (
            ["translate", TRANSLATION, "--input", "no_such.txt"],
            "s2s-zoo translate: error: no such input file: no_such.txt",
        ),
        (
            ["evaluate", TRANSLATION, "--data", "tests"],
            "s2s-zoo evaluate: error: 'tests' is a folder, not a data file",
        ),
        (
            ["describe", "README.md"],
            "s2s-zoo describe: error: 'README.md' is a file: give a run "
            "directory or a preset.",
        ),
        (
            ["score", PAIRS],
            "s2s-zoo score: error: input line 1: expected two sentences "
            "separated by a TAB, got 1 field(s): 'one sentence only'",
        ),
    ],
)
def test_a_user_error_is_one_line_naming_it(args, expected, monkeypatch):
    # In this process (the entry point's `main`, whose SystemExit message
    # is what the shell prints, alone): the subprocess tests above show
    # the same path end to end.
    import io

    from s2s_zoo import cli

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "stdin", io.StringIO("one sentence only\n"))
    with pytest.raises(SystemExit) as end:
        cli.main(args)
    message = str(end.value)
    assert "\n" not in message
    assert message.startswith(expected), message


def test_a_user_error_in_a_subprocess_has_no_traceback():
    _user_error(["describe", "no/such/run"], "Unknown preset 'no/such/run'")


def _snapshot(folder):
    return {
        os.path.relpath(os.path.join(root, name), folder): open(
            os.path.join(root, name), "rb"
        ).read()
        for root, _, names in os.walk(folder)
        for name in names
    }


@pytest.mark.parametrize("resume", [True, False])
def test_training_into_a_finished_run_changes_nothing(resume, tmp_path):
    from s2s_zoo import cli

    finished = tmp_path / "finished"
    shutil.copytree(TRANSLATION, finished)
    before = _snapshot(finished)
    args = ["train", "translation", "--output-dir", str(finished)]
    with pytest.raises(SystemExit) as end:
        cli.main([*args, *(["--resume"] if resume else [])])
    done = (
        "nothing is left to resume"
        if resume
        else "training would replace its records"
    )
    assert str(end.value) == (
        f"s2s-zoo train translation: error: {str(finished)!r} holds a "
        f"finished run (its metrics.json): {done}. Give a new --output-dir; "
        "the run is unchanged."
    )
    assert _snapshot(finished) == before


def test_an_output_dir_that_is_a_file_is_refused(tmp_path):
    from s2s_zoo import cli

    path = tmp_path / "a_file"
    path.write_text("x")
    with pytest.raises(SystemExit) as end:
        cli.main(["train", "aspect-sentiment", "--output-dir", str(path)])
    assert str(end.value).endswith(f"{str(path)!r} is a file, not a folder.")


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--beam-width", "0"], "--beam-width must be at least 1, got 0."),
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0."),
        (
            ["--max-minutes", "-1"],
            "--max-minutes must be 0 (no budget) or more, got -1.0.",
        ),
        (
            ["--source-lang", "chinese"],
            "--source-lang 'chinese' is not a language code (two or three "
            "lowercase letters, e.g. zh, en, fr).",
        ),
        (
            ["--threads", "0,2"],
            "--threads must be auto, default or INTRA,INTER (two positive "
            "integers, e.g. 1,2); received '0,2'.",
        ),
        (
            ["--batch-slices", "two"],
            "--batch-slices must be auto or a positive integer; received "
            "'two'.",
        ),
        (
            ["--batch-slices", "2", "--distribute", "mirrored"],
            "--batch-slices 2 cannot be combined with a distribution; use "
            "1 or auto.",
        ),
    ],
)
def test_a_bad_value_stops_before_any_work(flags, expected, tmp_path):
    from s2s_zoo import cli

    output_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as end:
        cli.main(
            ["train", "translation", *flags, "--output-dir", str(output_dir)]
        )
    assert str(end.value) == f"s2s-zoo train translation: error: {expected}"
    assert not output_dir.exists()


def test_data_that_contradicts_the_language_codes_is_refused(tmp_path):
    from s2s_zoo import cli

    french = tmp_path / "fra.txt"
    french.write_text(
        "".join(f"Hello {i}.\tBonjour {i}.\n" for i in range(200)),
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as end:
        cli.main(
            [
                "train",
                "translation",
                "--data",
                str(french),
                "--output-dir",
                str(tmp_path / "run"),
            ]
        )
    assert str(end.value) == (
        "s2s-zoo train translation: error: --source-lang zh, but the "
        "source side of the data is 0% Chinese or Japanese characters: set "
        "--source-lang to its language (e.g. fr, en)."
    )


def test_too_few_pairs_for_a_test_split_are_refused_before_training(
    tmp_path,
):
    from s2s_zoo import cli

    few = tmp_path / "few.tsv"
    few.write_text(
        "".join(f"Hi {i}.\t你好{i}。\n" for i in range(20)), encoding="utf-8"
    )
    with pytest.raises(SystemExit) as end:
        cli.main(
            [
                "train",
                "translation",
                "--data",
                str(few),
                "--output-dir",
                str(tmp_path / "run"),
            ]
        )
    assert "a run needs all three" in str(end.value)
    assert str(end.value).endswith("give more pairs.")


def test_average_makes_a_new_run_of_the_mean_of_the_kept_epochs(tmp_path):
    import numpy as np

    from s2s_zoo import tasks

    run_dir = tmp_path / "run"
    shutil.copytree(TRANSLATION, run_dir)
    run = tasks.load(str(run_dir))
    kept = run_dir / "last_epochs"
    kept.mkdir()
    before = [w.numpy().copy() for w in run.model.weights]
    run.model.save_weights(str(kept / "epoch_1.weights.h5"))
    for weight in run.model.weights:
        weight.assign(weight.numpy() + 1.0)
    run.model.save_weights(str(kept / "epoch_2.weights.h5"))
    out = tmp_path / "averaged"
    code, printed, err = s2s_zoo("average", str(run_dir), "--output", str(out))
    assert code == 0, err
    averaged = tasks.load(str(out))
    for value, weight in zip(before, averaged.model.weights):
        np.testing.assert_allclose(weight.numpy(), value + 0.5, atol=1e-6)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["averaged"]["checkpoints"] == [
        "epoch_1.weights.h5",
        "epoch_2.weights.h5",
    ]
    assert json.loads(printed) == metrics["results"]
    assert (out / "saved_model" / "saved_model.pb").exists()
    # The original is unchanged, and a run with nothing kept says so.
    assert not (run_dir / "saved_model").exists()
    _user_error(
        ["average", TRANSLATION, "--output", str(tmp_path / "x")],
        "kept no epoch checkpoints to average: train with --average-last K",
    )
