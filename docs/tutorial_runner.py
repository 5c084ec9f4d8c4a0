"""Runs one tutorial script and writes its page: code, real output, figures.

A tutorial is a plain Python script in the "percent" format that Jupytext,
VS Code and Spyder read as a notebook: cells start with `# %%`, and a
`# %% [markdown]` cell is prose in comment lines. A reader can run the
script as it is (`python docs/tutorials/attention.py`); the docs build runs
it through this file (see `docs/hooks.py`), which executes the code cells
in order in one namespace and writes `page.md` into the output folder:

- a markdown cell becomes its text;
- a code cell becomes a Python block, followed by what it printed (a text
  block, with the folders of this machine cut to their last part) and by
  every matplotlib figure left open at its end, saved as a PNG and closed.
  A figure's label (`fig.set_label(...)`) is its alt text and must say
  what the figure shows: a figure without one fails the run.

A cell that raises stops the run with the traceback, and the docs build
fails with it: a page never shows output that its code did not produce.

Usage: `python docs/tutorial_runner.py SCRIPT OUTPUT_DIR`
"""

import contextlib
import io
import json
import os
import platform
import re
import sys
import tempfile
import time
import traceback

CELL = re.compile(r"^# %%(.*)$")
# This machine's folders that a tutorial's output may name: the temporary
# folders its runs write to, the checkout, the home folder.
MACHINE_FOLDER = re.compile(
    "(?:"
    + "|".join(
        re.escape(os.path.realpath(folder))
        for folder in (
            tempfile.gettempdir(),
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
            os.path.expanduser("~"),
        )
    )
    + r")(?:/[^\s'\"]*)?"
)


def _last_part(match):
    return os.path.basename(match.group(0).rstrip("/")) or "."


def cells(source):
    """[(kind, first line number, text)] of a percent-format script."""
    out = []
    kind, start, lines = "code", 1, []
    for number, line in enumerate(source.split("\n"), start=1):
        match = CELL.match(line)
        if match:
            out.append((kind, start, lines))
            kind = "markdown" if "[markdown]" in match.group(1) else "code"
            start, lines = number + 1, []
        else:
            lines.append(line)
    out.append((kind, start, lines))
    result = []
    for kind, start, lines in out:
        if kind == "markdown":
            lines = [re.sub(r"^# ?", "", line) for line in lines]
        text = "\n".join(lines).strip("\n")
        if text.strip():
            result.append((kind, start, text))
    return result


def _save_figures(plt, output_dir, stem, counter):
    images = []
    for number in plt.get_fignums():
        figure = plt.figure(number)
        alt = figure.get_label().strip()
        if not alt:
            raise ValueError(
                "a figure has no alt text: give it one with "
                "fig.set_label('what the figure shows')"
            )
        counter[0] += 1
        name = f"{stem}_{counter[0]}.png"
        figure.savefig(
            os.path.join(output_dir, name), dpi=110, bbox_inches="tight"
        )
        plt.close(figure)
        images.append((name, alt))
    return images


def run(script, output_dir):
    os.makedirs(output_dir, exist_ok=True)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    stem = os.path.splitext(os.path.basename(script))[0]
    with open(script, encoding="utf-8") as f:
        source = f.read()
    namespace = {"__name__": "__main__", "__file__": script}
    counter = [0]
    parts = []
    started = time.time()
    for index, (kind, line, text) in enumerate(cells(source)):
        if kind == "markdown":
            parts.append(text)
            if index == 0:
                parts.append("<!-- tutorial:provenance -->")
            continue
        # Line numbers of tracebacks are the script's own.
        code = compile("\n" * (line - 1) + text, script, "exec")
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(code, namespace)
        except Exception:
            sys.stderr.write(printed.getvalue())
            sys.stderr.write(
                f"{script}: the cell at line {line} failed:\n"
                + traceback.format_exc()
            )
            raise SystemExit(1)
        parts.append(f"```python\n{text}\n```")
        # No folder of this machine on the page (temporary run folders).
        output = MACHINE_FOLDER.sub(_last_part, printed.getvalue()).rstrip()
        if output:
            parts.append(f'```text title="Output"\n{output}\n```')
        for name, alt in _save_figures(plt, output_dir, stem, counter):
            parts.append(f"![{alt}]({name})")
    seconds = time.time() - started
    with open(os.path.join(output_dir, "page.md"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(parts) + "\n")
    with open(os.path.join(output_dir, "run.json"), "w") as f:
        json.dump(
            {
                "script": f"docs/tutorials/{stem}.py",
                "seconds": round(seconds, 1),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "s2s_zoo": _package_version(),
            },
            f,
            indent=2,
        )


def _package_version():
    import s2s_zoo

    return s2s_zoo.__version__


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("Usage: ")[1])
    run(sys.argv[1], sys.argv[2])
