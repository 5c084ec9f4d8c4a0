"""The `s2s-zoo` command line: every subcommand's help prints."""

import contextlib
import io

import pytest

from s2s_zoo import cli


@pytest.mark.parametrize(
    "command",
    [
        ["train", "translation"],
        ["train", "aspect-sentiment"],
        ["train", "sentence-pairs"],
        ["train", "bottleneck"],
        ["aspect-sentiment"],
        ["sentence-pairs"],
        ["bottleneck"],
        ["ensemble"],
    ],
)
def test_every_training_subcommand_prints_its_help(command):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as end:
        cli.parser().parse_args([*command, "--help"])
    assert end.value.code == 0
    assert "--output-dir" in out.getvalue()


@pytest.mark.parametrize(
    "verb",
    [
        "translate",
        "predict",
        "score",
        "evaluate",
        "export",
        "average",
        "describe",
        "save-preset",
    ],
)
def test_every_verb_on_a_run_prints_its_help(verb):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as end:
        cli.parser().parse_args([verb, "--help"])
    assert end.value.code == 0
    assert "a finished run directory or a trained preset" in " ".join(
        out.getvalue().split()
    )


def test_a_percent_sign_in_a_help_text_is_printed_as_written():
    # argparse %-formats help texts: "pads 13% of the tokens" once made
    # `s2s-zoo translate --help` fail with "%o format: an integer is
    # required".
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.parser().parse_args(["train", "translation", "--help"])
    assert "13% of the tokens" in " ".join(out.getvalue().split())
