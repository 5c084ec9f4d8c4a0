"""Progress outside `fit`: one line when a stage starts and one when it
ends in a log; a bar redrawn in place only in a terminal."""

import io

from s2s_zoo import progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_stage_is_two_lines_in_a_log():
    log = io.StringIO()
    with progress.stage("training the tokenizers", stream=log):
        pass
    first, second = log.getvalue().splitlines()
    assert first == "training the tokenizers..."
    assert second.startswith("training the tokenizers: ")
    assert second.endswith(" s")


def test_the_bar_draws_in_a_terminal_only():
    log = io.StringIO()
    bar = progress.Bar(10, "decoding", stream=log)
    bar.update(5)
    bar.update(10)
    assert log.getvalue() == ""
    screen = Terminal()
    bar = progress.Bar(10, "decoding", stream=screen)
    bar.update(5)
    bar.update(10)
    drawn = screen.getvalue()
    assert drawn.count("\r") == 2 and drawn.endswith("\n")
    assert "5/10" in drawn and "10/10" in drawn
    assert "[" + "=" * 30 + "]" in drawn
