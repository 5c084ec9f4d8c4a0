"""Progress of the steps outside `fit` that take more than a few seconds
(training tokenizers, decoding a corpus, exporting): a bar that redraws
itself in a terminal, one line when a stage starts and one when it ends in
a log (a file, a pipe, a test's captured output).
"""

import contextlib
import sys
import time


def _terminal(stream):
    return hasattr(stream, "isatty") and stream.isatty()


@contextlib.contextmanager
def stage(what, stream=None):
    """Prints `what...`, runs the block, then `what: 12.3 s`."""
    stream = stream or sys.stdout
    start = time.perf_counter()
    print(f"{what}...", file=stream, flush=True)
    yield
    print(
        f"{what}: {time.perf_counter() - start:.1f} s", file=stream, flush=True
    )


class Bar:
    """`done / total` of a loop, redrawn in place in a terminal; silent
    elsewhere (the stage's two lines say enough in a log)."""

    def __init__(self, total, what, stream=None):
        self.total, self.what = total, what
        self.stream = stream or sys.stdout
        self.live = _terminal(self.stream) and total > 0
        self.start = time.perf_counter()

    def update(self, done):
        if not self.live:
            return
        width = 30
        filled = int(width * done / self.total)
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(
            f"\r{self.what} [{'=' * filled}{' ' * (width - filled)}] "
            f"{done}/{self.total} ({rate:.0f}/s)"
        )
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()
