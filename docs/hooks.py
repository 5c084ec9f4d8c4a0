"""MkDocs hooks: pages that are generated from the code, so they cannot drift.

Directives, written as HTML comments in a page (a page read without the hook
shows nothing in their place):

- `<!-- gen:models -->`: the registry's models (name, paper, family, task),
  each name linked to its card `models/<name>.md`.
- `<!-- gen:defaults NAME CLASS -->`: the registered default hyperparameters
  of model `NAME`, the allowed values, and each argument's description from
  the docstring of `CLASS` (e.g. `s2s_zoo.models.RNNSearch`).
- `<!-- gen:recipe PATH -->`: the module docstring of a recipe (what it does,
  what it writes) and a table of every command-line flag, read from the
  `s2s-zoo` parser the recipe calls (`s2s_zoo.cli`, generated from the
  task's `Config`).
- `<!-- gen:recipe_sizes NAME -->`: the registry's `"cpu"` preset of model
  `NAME`, the sizes the tasks train it at by default.
- `<!-- gen:docstring PATH -->`: the module docstring of a script.
- `<!-- gen:presets -->`: the built-in trained presets, from their
  `metadata.json` (task, data, figures, size, licence, command).
- `<!-- gen:figures GLOB [JSON] [optional] -->`: every PNG in
  `docs/results/figures/` whose name matches `GLOB`, and, if `JSON`
  (relative to `docs/`) exists, the command, date and machine recorded in
  it. No match gives a "pending" note, or nothing with `optional`.

Includes: a line `--8<-- "docs/results/NAME.md"` (pymdownx.snippets syntax)
is expanded here, before snippets runs, so that a results file that a
benchmark has not written yet becomes a "pending" note instead of a hole,
relative links and images inside the included file are rebased to the
including page, and its headings are demoted below the heading that
precedes the include.

Docstring layout (`DocstringLayout`, a Griffe extension that mkdocstrings
loads from this file): the docstrings put the `>>>` lines of an
`Examples:` section at the indentation of the title, and list call
arguments as `name: text` lines; Griffe would read the first as plain text
and run the second together into one paragraph. The extension indents such
examples under their title and turns `Call arguments:` entries into a
list, for rendering only (the source is unchanged).

Offline diagrams and maths: Mermaid and KaTeX are vendored under
`docs/vendor/` (versions and licences in its README) and loaded by
`mkdocs.yml`'s `extra_javascript`; mkdocs-material uses a global `mermaid`
when one is defined instead of fetching it from a CDN.
"""

import argparse
import fnmatch
import glob
import hashlib
import importlib
import inspect
import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
import textwrap

from griffe import Extension

log = logging.getLogger("mkdocs.hooks.s2s_zoo")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
FIGURES = os.path.join(DOCS, "results", "figures")

if ROOT not in sys.path:  # benchmarks/ is not installed with the package
    sys.path.insert(0, ROOT)
from benchmarks import figure_text  # noqa: E402

DIRECTIVE = re.compile(r"^<!--\s*gen:(\w+)\s*(.*?)\s*-->\s*$", re.M)
INCLUDE = re.compile(r'^--8<--\s+"(docs/[^"]+)"\s*$', re.M)
HEADING = re.compile(r"^(#{1,6})\s")
MARKDOWN_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)")
HTML_LINK = re.compile(r'((?:src|href)=")([^"]+)')

# === Docstring layout (Griffe extension) ===

EXAMPLES_TITLE = re.compile(r"^(\s*)Examples?:\s*$")
CALL_ARGUMENTS_TITLE = re.compile(r"^(\s*)Call arguments:\s*$")


def layout_docstring(text):
    """Indents unindented doctest examples; lists call arguments."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        examples = EXAMPLES_TITLE.match(line)
        if examples and i < len(lines):
            indent = examples.group(1)
            if lines[i].startswith(indent + ">>>"):
                # The example runs to the next blank line.
                while i < len(lines) and lines[i].strip():
                    out.append(indent + "    " + lines[i][len(indent) :])
                    i += 1
            continue
        call = CALL_ARGUMENTS_TITLE.match(line)
        if call:
            item = re.compile(rf"^{call.group(1)}    (\w+): ")
            while i < len(lines) and (
                not lines[i].strip() or lines[i].startswith(call.group(1) + " ")
            ):
                match = item.match(lines[i])
                if match:
                    rest = lines[i][match.end() :]
                    lines[i] = (
                        f"{call.group(1)}    - `{match.group(1)}`: {rest}"
                    )
                out.append(lines[i])
                i += 1
    return "\n".join(out)


class DocstringLayout(Extension):
    """Griffe extension: `layout_docstring` on every docstring."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = layout_docstring(obj.docstring.value)


# === Helpers ===


def _page_dir(page):
    """The page's folder relative to `docs/`, POSIX style ("" at the top)."""
    return posixpath.dirname(page.file.src_uri)


def _relative(target, page):
    """`target` (relative to `docs/`) as a link from `page`."""
    return posixpath.relpath(target, _page_dir(page) or ".")


def _cell(value):
    """Text safe inside a Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _literal(value):
    """A Python value as the user would type it."""
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value!r}`"


def _pending(
    what,
    how,
    then="Once it has run, the next build of this site fills this in.",
):
    return f'!!! note "Pending: {what}"\n    {how}\n    {then}\n'


def _file_docstring(path):
    import ast

    with open(path, encoding="utf-8") as f:
        return ast.get_docstring(ast.parse(f.read())) or ""


def _docstring_markdown(text):
    """A module docstring as Markdown: indented blocks become code fences."""
    out, block = [], []

    def flush():
        if block:
            code = textwrap.dedent("\n".join(block)).strip("\n")
            out.extend(["", "```bash", code, "```", ""])
            block.clear()

    for line in text.splitlines():
        if line.startswith("    ") or (block and not line.strip()):
            block.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return "\n".join(out).strip() + "\n"


# === gen:models ===


def _nav_order(config):
    """Position of each page in the nav, to list models in reading order."""
    order = []

    def walk(items):
        for item in items or []:
            value = list(item.values())[0] if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            else:
                order.append(value)

    walk(config.get("nav"))
    return {path: k for k, path in enumerate(order)}


def _models(args, page, config):
    import s2s_zoo

    order = _nav_order(config)
    infos = sorted(
        s2s_zoo.list_models(),
        key=lambda info: order.get(f"models/{info.name}.md", len(order)),
    )
    rows = ["| model | paper | task |", "|---|---|---|"]
    for info in infos:
        card = _relative(f"models/{info.name}.md", page)
        rows.append(
            f"| [`{info.name}`]({card}) | {_cell(info.paper)} | "
            f"{_cell(info.task.replace('_', ' '))} |"
        )
    return "\n".join(rows) + "\n"


# === gen:defaults ===


def _argument_docs(cls):
    """`{argument: description}` from the Args section of `cls`'s docstring."""
    from griffe import Docstring

    sections = Docstring(inspect.getdoc(cls) or "").parse(
        "google", warn_missing_types=False, warn_unknown_params=False
    )
    docs = {}
    for section in sections:
        if section.kind.value == "parameters":
            for parameter in section.value:
                docs[parameter.name] = parameter.description
    return docs


def _without_default_sentences(text):
    """Drops "Default ..." sentences: the table has a column for them."""
    sentences = re.split(r"(?<=\.)\s+(?=[A-Z`\"(])", " ".join(text.split()))
    kept = [s for s in sentences if not s.startswith("Default")]
    return " ".join(kept)


def _defaults(args, page):
    import s2s_zoo

    name, class_path = args.split()
    module_name, _, class_name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    info = s2s_zoo.describe(name)
    docs = _argument_docs(cls)
    rows = [
        "| hyperparameter | default | allowed | meaning (from the docstring) |",
        "|---|---|---|---|",
    ]
    for key, value in info.defaults.items():
        if key in info.choices:
            allowed = ", ".join(_literal(c) for c in info.choices[key])
        elif isinstance(value, bool):
            allowed = "`True`, `False`"
        elif isinstance(value, float):
            allowed = "number in [0, 1)" if "dropout" in key else "number ≥ 0"
        elif isinstance(value, int) or value is None:
            allowed = "integer ≥ 0" if key.endswith("_id") else "integer ≥ 1"
        else:
            allowed = ""
        if key in info.nullable or (value is None and key not in info.choices):
            allowed += " or `None`"
        rows.append(
            f"| `{key}` | {_literal(value)} | {allowed} | "
            f"{_cell(_without_default_sentences(docs.get(key, '')))} |"
        )
    anchor = f"{cls.__module__}.{class_name}"
    source = (
        f'\nGenerated from `s2s_zoo.describe("{name}").defaults` and the '
        f"docstring of [`{class_name}`]"
        f"({_relative('api/models.md', page)}#{anchor}) when the site is "
        f"built. Override any of them: "
        f'`s2s_zoo.build("{name}", hidden_dim=256)`, or '
        "`--set hidden_dim=256` in the translation recipe.\n"
    )
    return "\n".join(rows) + "\n" + source


# === gen:recipe ===


RECIPE_COMMANDS = {
    "recipes/translate.py": ("train", "translation"),
    "recipes/aspect_sentiment.py": ("train", "aspect-sentiment"),
    "recipes/sentence_pairs.py": ("train", "sentence-pairs"),
    "recipes/bottleneck.py": ("bottleneck",),
}


def recipe_parser(path):
    """The `argparse` parser of the `s2s-zoo` command a recipe runs."""
    from s2s_zoo import cli

    return cli.command_parser(*RECIPE_COMMANDS[path])


def flag_rows(parser):
    """`(flag, default, values, help)` strings for every flag but --help."""
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        flag = ", ".join(action.option_strings) or action.dest
        if isinstance(action, argparse._StoreTrueAction):
            values, default = "switch", "off"
        elif isinstance(action, argparse.BooleanOptionalAction):
            values = "switch"
            default = "on" if action.default else "off"
        else:
            if action.choices is not None:
                values = ", ".join(f"`{c}`" for c in action.choices)
            elif action.type is not None:
                values = action.type.__name__
            else:
                values = "str"
            if action.nargs == "+":
                values = "one or more: " + values
            elif action.nargs == "*":
                values = "any number: " + values
            elif isinstance(action.nargs, int):
                values = f"{action.nargs} x {values}"
            if action.metavar:
                values += f" (`{action.metavar}`)"
            if isinstance(action, argparse._AppendAction):
                values += ", repeatable"
            if action.required:
                default = "**required**"
            elif action.default in (None, [], argparse.SUPPRESS):
                default = "none"
            elif isinstance(action.default, (list, tuple)):
                default = " ".join(f"`{v}`" for v in action.default)
            else:
                default = f"`{action.default}`"
        rows.append((flag, default, values, action.help or ""))
    return rows


def _recipe(args, page):
    path = args.strip()
    if not os.path.isfile(os.path.join(ROOT, path)):
        return _pending(
            f"`{path}`", "This recipe is not in the tree yet.", then=""
        )
    parser = recipe_parser(path)
    doc = _docstring_markdown(_file_docstring(os.path.join(ROOT, path)))
    table = ["| flag | default | values | help |", "|---|---|---|---|"]
    for flag, default, values, help_text in flag_rows(parser):
        flag = "`, `".join(flag.split(", "))
        table.append(
            f"| `{flag}` | {default} | {values} | {_cell(help_text)} |"
        )
    return (
        f"From the recipe's docstring (`{path}`):\n\n"
        + "\n".join("> " + line if line else ">" for line in doc.splitlines())
        + f"\n\nEvery flag, read from the recipe's `argparse` parser "
        f"(`python {path} --help` prints the same):\n\n"
        + "\n".join(table)
        + "\n"
    )


def _recipe_sizes(args, page):
    import s2s_zoo

    name = args.strip()
    sizes = s2s_zoo.describe(name).presets.get("cpu")
    if not sizes:
        return (
            f"The tasks build `{name}` with the defaults above, except the "
            "vocabulary sizes and special ids, which come from the data.\n"
        )
    items = ", ".join(f"`{k}={v!r}`" for k, v in sizes.items())
    return (
        f"The tasks train `{name}` at its `cpu` preset, sizes that train in "
        f'minutes on a CPU (`s2s_zoo.build("{name}", preset="cpu")`): '
        f"{items}; the vocabulary sizes and special ids come from the data, "
        "and `--set KEY=VALUE` overrides any key.\n"
    )


# === gen:docstring ===


def _docstring(args, page):
    path = args.strip()
    return _docstring_markdown(_file_docstring(os.path.join(ROOT, path)))


# === gen:figures ===


def _figures(args, page):
    parts = args.split()
    optional = "optional" in parts
    parts = [p for p in parts if p != "optional"]
    pattern = parts[0]
    names = sorted(
        name
        for name in (os.listdir(FIGURES) if os.path.isdir(FIGURES) else [])
        if fnmatch.fnmatch(name, pattern) and name.endswith(".png")
    )
    if not names and optional:
        return ""
    if not names:
        return _pending(
            f"figures `results/figures/{pattern}`",
            "No figure of this kind has been produced yet; the benchmark "
            "writes them from a trained model.",
        )
    out = []
    records = _records(os.path.join(DOCS, parts[1])) if len(parts) > 1 else []
    for name in names:
        src = _relative(f"results/figures/{name}", page)
        alt, caption = figure_text.describe(name)
        out.append(f"![{alt}]({src})\n")
        record = _record_for(name, records)
        if record:
            provenance = _provenance(record)
            caption += f" {provenance[:1].upper()}{provenance[1:]}."
        out.append(f"*{caption}*\n")
    return "\n".join(out)


def _records(path):
    """`[(key, run)]` of a results JSON: one run, a list, or a dict of runs."""
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict) and "command" in data:
        return [("", data)]
    if isinstance(data, dict) and isinstance(data.get("runs"), list):
        return [(str(r.get("model", "")), r) for r in data["runs"]]
    if isinstance(data, dict):
        return [
            (key, value)
            for key, value in data.items()
            if isinstance(value, dict) and "command" in value
        ]
    return []


def _record_for(figure, records):
    """The run whose key is the longest one in the figure's file name."""
    matching = [(len(key), run) for key, run in records if key in figure]
    if not matching:
        return None
    return max(matching, key=lambda item: item[0])[1]


def _provenance(run):
    facts = []
    if run.get("command"):
        facts.append(f"produced by `{run['command']}`")
    if run.get("date"):
        facts.append(f"on {run['date']}")
    machine = run.get("machine")
    if isinstance(machine, dict):
        machine = ", ".join(
            f"{k} {v}" for k, v in machine.items() if k in ("cpus", "platform")
        )
    if machine:
        facts.append(f"({_cell(machine)})")
    return " ".join(facts)


# === gen:presets ===


def _presets(args, page):
    """The built-in trained presets, from their own metadata.json."""
    from s2s_zoo import pretrained

    def size(name):
        folder = os.path.join(pretrained.BUILTIN_DIR, name)
        return sum(
            os.path.getsize(os.path.join(root, f))
            for root, _, files in os.walk(folder)
            for f in files
        )

    rows = [
        "| preset | task, model | trained on | figures on held-out data | "
        "parameters | size |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    for name in pretrained.builtin_names():
        meta = pretrained.read_metadata(name)
        figures = ", ".join(
            f"{key} {value:.2f}"
            for key, value in meta["results"].items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        rows.append(
            f"| `{name}` | {meta['task']}, `{meta['model']}` | "
            f"{_cell(meta.get('data', ''))} | {figures} | "
            f"{meta['parameter_count']:,} | {size(name) / 1e6:.1f} MB |"
        )
        notes.append(
            f"- `{name}`: {_cell(meta['summary'])}. Licence: "
            f"{_cell(meta.get('license', 'not stated'))}. Trained by "
            f"`{meta.get('command', '?')}`, saved {meta['date_saved']}."
        )
    return "\n".join(rows + [""] + notes) + "\n"


GENERATORS = {
    "models": _models,
    "presets": _presets,
    "defaults": _defaults,
    "recipe": _recipe,
    "recipe_sizes": _recipe_sizes,
    "docstring": _docstring,
    "figures": _figures,
}


# === Includes ===


def _rebase(text, source_dir, page):
    """Rewrites relative links of text written in `source_dir` for `page`."""

    def fix(target):
        if re.match(r"^([a-z][a-z0-9+.-]*:|/|#)", target):
            return target
        path, hash_, anchor = target.partition("#")
        full = posixpath.normpath(posixpath.join(source_dir, path))
        return _relative(full, page) + hash_ + anchor

    text = MARKDOWN_LINK.sub(lambda m: m.group(1) + fix(m.group(2)), text)
    return HTML_LINK.sub(lambda m: m.group(1) + fix(m.group(2)), text)


def _demote(text, base_level):
    """Shifts headings so the top one is one level below `base_level`."""
    lines = text.splitlines()
    fence = False
    levels = []
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        elif not fence and HEADING.match(line):
            levels.append(len(HEADING.match(line).group(1)))
    if not levels:
        return text
    shift = base_level + 1 - min(levels)
    fence = False
    out = []
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        match = None if fence else HEADING.match(line)
        if match and shift > 0:
            level = min(6, len(match.group(1)) + shift)
            line = "#" * level + line[len(match.group(1)) :]
        out.append(line)
    return "\n".join(out)


def _include(match, markdown, page):
    path = match.group(1)  # relative to the repository root
    full = os.path.join(ROOT, path)
    if not os.path.isfile(full):
        return _pending(
            f"`{path}`",
            "The benchmark that measures these figures has not written "
            "this file yet.",
        )
    with open(full, encoding="utf-8") as f:
        text = f.read()
    before = markdown[: match.start()]
    fence = False
    base_level = 1
    for line in before.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        elif not fence and HEADING.match(line):
            base_level = len(HEADING.match(line).group(1))
    source_dir = posixpath.dirname(posixpath.relpath(path, "docs"))
    text = _rebase(text, source_dir, page)
    return _demote(text, base_level) + "\n"


# === The page hook ===


def on_page_markdown(markdown, page, config, files):
    markdown = INCLUDE.sub(lambda m: _include(m, markdown, page), markdown)

    def generate(match):
        kind, args = match.group(1), match.group(2)
        if kind not in GENERATORS:
            raise ValueError(
                f"{page.file.src_uri}: unknown directive gen:{kind}; "
                f"valid: {sorted(GENERATORS)}."
            )
        if kind == "models":
            return _models(args, page, config)
        return GENERATORS[kind](args, page)

    return DIRECTIVE.sub(generate, markdown)


def results_figures(pattern="*.png"):
    """Figures under docs/results/figures matching `pattern` (for tests)."""
    return sorted(glob.glob(os.path.join(FIGURES, pattern)))


# === Tutorials ===
#
# Each `docs/tutorials/NAME.py` (a percent-format script, see
# `docs/tutorial_runner.py`) is executed and becomes the page
# `tutorials/NAME.md`, with the code, what it printed and its figures. As
# keras.io does with its examples, the result is kept in the repository
# (`docs/tutorials/ran/NAME/`) with a key of the script and the runner: a
# build runs a tutorial again only when one of them changed, or with
# `S2S_ZOO_TUTORIALS=rerun` (do that when the package's behaviour changed,
# and commit the new output). Building the site thus trains no model, and
# the test suite, which builds it, stays within its time.

TUTORIALS = os.path.join(DOCS, "tutorials")
RUNNER = os.path.join(DOCS, "tutorial_runner.py")
TUTORIAL_OUTPUTS = os.path.join(TUTORIALS, "ran")
PROVENANCE_MARK = "<!-- tutorial:provenance -->"


def tutorial_key(script):
    """The hash of `script` and the runner that its kept output records."""
    digest = hashlib.sha256()
    for path in (script, RUNNER):
        digest.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]


def tutorial_run(stem):
    """The kept run.json of tutorial `stem`, or None."""
    path = os.path.join(TUTORIAL_OUTPUTS, stem, "run.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def run_tutorial(script):
    """The output folder of `script`, executing it unless its kept output
    is of this script and runner."""
    stem = os.path.splitext(os.path.basename(script))[0]
    folder = os.path.join(TUTORIAL_OUTPUTS, stem)
    key = tutorial_key(script)
    kept = tutorial_run(stem)
    if (
        kept
        and kept.get("key") == key
        and os.environ.get("S2S_ZOO_TUTORIALS") != "rerun"
    ):
        return folder
    partial = folder + ".partial"
    if os.path.isdir(partial):
        shutil.rmtree(partial)  # an interrupted run
    log.info("running tutorial %s", os.path.relpath(script, ROOT))
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(
            [ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        ),
    }
    result = subprocess.run(
        [sys.executable, RUNNER, script, partial],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"tutorial {os.path.relpath(script, ROOT)} failed:\n"
            + result.stderr[-4000:]
        )
    with open(os.path.join(partial, "run.json")) as f:
        run = json.load(f)
    run["key"] = key
    with open(os.path.join(partial, "run.json"), "w") as f:
        json.dump(run, f, indent=2)
        f.write("\n")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.replace(partial, folder)
    return folder


def _tutorial_page(folder, stem):
    with open(os.path.join(folder, "page.md"), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(folder, "run.json")) as f:
        run = json.load(f)
    note = (
        f'!!! info "This page ran"\n'
        f"    Everything below was produced by running "
        f"[`docs/tutorials/{stem}.py`]({stem}.py) with s2s_zoo "
        f"{run.get('s2s_zoo', '')} on {run['date']} ({run['cpus']} CPUs, "
        f"{run['seconds']:.0f} s); the site's build runs it again when the "
        f"script changes. Run it yourself with "
        f"`python docs/tutorials/{stem}.py`: the code cells run in order and "
        f"print the same kind of output (training figures vary a little "
        f"between machines)."
    )
    return text.replace(PROVENANCE_MARK, note)


def on_files(files, config):
    from mkdocs.structure.files import File

    for script in sorted(glob.glob(os.path.join(TUTORIALS, "*.py"))):
        stem = os.path.splitext(os.path.basename(script))[0]
        folder = run_tutorial(script)
        files.append(
            File.generated(
                config,
                f"tutorials/{stem}.md",
                content=_tutorial_page(folder, stem),
            )
        )
        for image in sorted(glob.glob(os.path.join(folder, "*.png"))):
            files.append(
                File.generated(
                    config,
                    f"tutorials/{os.path.basename(image)}",
                    abs_src_path=image,
                )
            )
    return files
