"""The notebook examples of README.md and the docs run exactly as written.

Every ```python block of a page is run, in page order, in one fresh
Python per page (as a notebook runs its cells), in an empty working
folder. A block whose first line is `# needs: ...` says what it needs that
a fresh clone does not have (a data set to download, a run of another
page) and is skipped; the test checks that it says so. A page whose
blocks are the first blocks of a page already run (the home page repeats
the README's notebook cells) is not run twice.
"""

import glob
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT

BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def pages():
    found = [os.path.join(ROOT, "README.md")]
    found += sorted(
        glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
    )
    # Not the kept output of the tutorials (docs/tutorials/ran): that is
    # what their scripts printed when they ran, not pages to run again.
    kept = os.path.join(ROOT, "docs", "tutorials", "ran") + os.sep
    return [
        p
        for p in found
        if not p.startswith(kept)
        and BLOCK.search(open(p, encoding="utf-8").read())
    ]


def blocks(path):
    with open(path, encoding="utf-8") as f:
        return BLOCK.findall(f.read())


def runnable(path):
    return [b for b in blocks(path) if not b.startswith("# needs:")]


_done = []


@pytest.mark.parametrize(
    "path", pages(), ids=lambda p: os.path.relpath(p, ROOT)
)
def test_examples_run_as_written(path, tmp_path):
    for block in blocks(path):
        if block.startswith("# needs:"):
            assert len(block.splitlines()[0]) > len("# needs: "), (
                f"{path}: a skipped block must say what it needs"
            )
    cells = runnable(path)
    if not cells:
        pytest.skip("every block needs something a fresh clone lacks")
    if any(ran[: len(cells)] == cells for ran in _done):
        return  # these cells ran, in this order, for another page
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(cells)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, (
        f"{os.path.relpath(path, ROOT)}:\n{done.stderr[-4000:]}"
    )
    _done.append(cells)
