"""The docs site: it builds strictly, every model has a card, links resolve,
and the API reference renders every public symbol.

The site is built once per session (`mkdocs build --strict` in a
subprocess, into a temporary folder); the other tests read the HTML.
"""

import glob
import html.parser
import importlib
import inspect
import os
import posixpath
import re
import subprocess
import sys
import urllib.parse

import pytest

import s2s_zoo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
RECIPES = sorted(glob.glob(os.path.join(ROOT, "recipes", "*.py")))
# Written by the benchmarks from real runs, never by hand; the pages include
# them and show a "pending" note until they exist.
RESULTS = ["translation", "bottleneck", "aspect_sentiment", "sentence_pairs"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site_dir = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "NO_MKDOCS_2_WARNING": "1",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(site_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = result.stdout + result.stderr
    problems = [
        line
        for line in log.splitlines()
        if line.startswith(("WARNING -", "ERROR -"))
    ]
    assert result.returncode == 0, (
        "mkdocs build --strict failed:\n" + "\n".join(problems or [log[-3000:]])
    )
    return str(site_dir)


def _html_files(site):
    return sorted(glob.glob(os.path.join(site, "**", "*.html"), recursive=True))


class _Links(html.parser.HTMLParser):
    """Collects link targets and element ids of one page."""

    def __init__(self):
        super().__init__()
        self.targets = []
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "img", "link", "script"):
                self.targets.append(attrs[key])


def _parse(path):
    parser = _Links()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    return parser


# === Model cards ===


def test_every_registered_model_has_a_card():
    missing = [
        f"docs/models/{name}.md"
        for name in s2s_zoo.model_names()
        if not os.path.isfile(os.path.join(DOCS, "models", f"{name}.md"))
    ]
    assert not missing, f"Registered models without a card: {missing}"


def test_every_card_is_built_and_in_the_navigation(site):
    with open(os.path.join(site, "index.html"), encoding="utf-8") as f:
        home = f.read()
    for name in s2s_zoo.model_names():
        page = os.path.join(site, "models", f"{name}.html")
        assert os.path.isfile(page), f"no built page for {name}"
        assert f'href="models/{name}.html"' in home, (
            f"{name}'s card is not linked from the home page / navigation"
        )


def test_translation_cards_have_the_required_sections(site):
    for name in s2s_zoo.model_names(task="translation"):
        with open(os.path.join(site, "models", f"{name}.html")) as f:
            page = f.read()
        for needle in (
            "arxiv.org/abs/",
            'class="mermaid"',
            'id="equations"',
            'id="default-hyperparameters"',
            'id="where-and-why-we-differ-from-the-paper"',
            'id="measured-results"',
        ):
            assert needle in page, f"{name}: {needle!r} missing"
        # The defaults table is generated from the registry.
        for key, value in s2s_zoo.describe(name).defaults.items():
            assert f"<code>{key}</code>" in page, f"{name}: default {key}"


# === Links ===


def test_internal_links_and_anchors_resolve(site):
    pages = {path: _parse(path) for path in _html_files(site)}
    broken = []
    for path, parsed in pages.items():
        if os.path.basename(path) == "404.html":
            continue  # mkdocs writes it with site-absolute links
        for target in parsed.targets:
            parts = urllib.parse.urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith("/"):
                continue
            file_part = urllib.parse.unquote(parts.path)
            if file_part:
                resolved = os.path.normpath(
                    os.path.join(os.path.dirname(path), file_part)
                )
                if os.path.isdir(resolved):
                    resolved = os.path.join(resolved, "index.html")
            else:
                resolved = path
            where = os.path.relpath(path, site)
            if not os.path.exists(resolved):
                broken.append(f"{where}: {target}")
                continue
            if parts.fragment and resolved.endswith(".html"):
                ids = pages[resolved].ids if resolved in pages else set()
                if urllib.parse.unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: {target} (no such anchor)")
    assert not broken, "Broken links:\n" + "\n".join(sorted(set(broken)))


# === API reference ===


def _public_symbols():
    """Dotted paths of what the API pages must document."""
    paths = set()
    for package in (s2s_zoo, s2s_zoo.layers, s2s_zoo.models):
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.ismodule(obj):
                paths.add(obj.__name__)
            else:
                paths.add(f"{obj.__module__}.{obj.__qualname__}")
    for module_name in (
        "s2s_zoo.decoding",
        "s2s_zoo.export",
        "s2s_zoo.registry",
        "s2s_zoo.tasks.translation",
        "s2s_zoo.tasks.aspect_sentiment",
        "s2s_zoo.tasks.sentence_pairs",
        "s2s_zoo.tasks.bottleneck",
        "s2s_zoo.cli",
    ):
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_"):
                continue
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and (
                obj.__module__ == module_name
            ):
                paths.add(f"{module_name}.{name}")
    return sorted(paths)


def test_api_pages_render_every_public_symbol(site):
    ids = set()
    for path in glob.glob(os.path.join(site, "api", "*.html")):
        ids |= _parse(path).ids
    missing = [path for path in _public_symbols() if path not in ids]
    assert not missing, f"Not rendered in the API reference: {missing}"


def test_api_pages_are_not_empty(site):
    for path in glob.glob(os.path.join(site, "api", "*.html")):
        with open(path, encoding="utf-8") as f:
            page = f.read()
        assert page.count('class="doc doc-heading"') >= 2, path


# === Generated content ===


def _command_parser(command):
    import argparse

    from s2s_zoo import cli

    for action in cli.parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]


COMMANDS = {
    "translate.py": "translate",
    "aspect_sentiment.py": "aspect-sentiment",
    "sentence_pairs.py": "sentence-pairs",
    "bottleneck.py": "bottleneck",
}


def test_recipe_pages_list_every_flag(site):
    with open(os.path.join(DOCS, "recipes.md"), encoding="utf-8") as f:
        source = f.read()
    with open(os.path.join(site, "recipes.html"), encoding="utf-8") as f:
        page = f.read()
    for path in RECIPES:
        relative = posixpath.join("recipes", os.path.basename(path))
        assert f"<!-- gen:recipe {relative} -->" in source, (
            f"docs/recipes.md does not document {relative}"
        )
        parser = _command_parser(COMMANDS[os.path.basename(path)])
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert re.search(rf"<code>{re.escape(flag)}\b", page), (
                        f"{relative}: flag {flag} missing from recipes.html"
                    )


def test_benchmark_results_are_present():
    """Pending (skipped) until the benchmarks have written their results."""
    missing = [
        f"docs/results/{name}.{ext}"
        for name in RESULTS
        for ext in ("md", "json")
        if not os.path.isfile(os.path.join(DOCS, "results", f"{name}.{ext}"))
    ]
    figures = glob.glob(
        os.path.join(
            DOCS, "results", "figures", "translation_*_attention_*.png"
        )
    )
    if not figures:
        missing.append("docs/results/figures/translation_*_attention_*.png")
    if missing:
        pytest.skip(
            "pending, not written by the benchmarks yet: " + ", ".join(missing)
        )


MACHINE_PATH = re.compile(r"(/tmp/|/work/|/root/|/home/|\.\./shared)")


def test_no_path_of_a_developers_machine_in_docs_or_results():
    # A reader's clone has none of our folders: commands and tables show
    # file names (s2s_zoo.tasks.common.scrub_paths) and flags.
    found = []
    paths = [os.path.join(ROOT, "README.md")] + glob.glob(
        os.path.join(ROOT, "docs", "**", "*.*"), recursive=True
    )
    for path in paths:
        if not path.endswith((".md", ".json", ".yml", ".csv")):
            continue
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if MACHINE_PATH.search(line):
                    found.append(f"{os.path.relpath(path, ROOT)}:{number}")
    assert not found, found
