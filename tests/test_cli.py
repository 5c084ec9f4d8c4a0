"""The `s2s-zoo` command line: every subcommand's help prints."""

import contextlib
import io

import pytest

from s2s_zoo import cli


@pytest.mark.parametrize(
    "command",
    [
        "translate",
        "aspect-sentiment",
        "sentence-pairs",
        "bottleneck",
        "ensemble",
    ],
)
def test_every_subcommand_prints_its_help(command):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as end:
        cli.parser().parse_args([command, "--help"])
    assert end.value.code == 0
    assert "--output-dir" in out.getvalue()


def test_a_percent_sign_in_a_help_text_is_printed_as_written():
    # argparse %-formats help texts: "pads 13% of the tokens" once made
    # `s2s-zoo translate --help` fail with "%o format: an integer is
    # required".
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.parser().parse_args(["translate", "--help"])
    assert "13% of the tokens" in " ".join(out.getvalue().split())
