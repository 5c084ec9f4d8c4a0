"""The built site as a reader sees it: headless Chromium, network off.

Every page is opened from disk (`file://`, as `mkdocs.yml` promises the site
works) in a browser context that is offline, and any request that leaves the
disk fails the test. On each page: every Mermaid block became a diagram (an
SVG that is not Mermaid's error picture), every formula was typeset by
KaTeX without an error, no table is wider than its column, and where the
page shows Chinese, the site's own font was loaded to draw it.

Needs Debian's `chromium` (`apt-get install chromium`; `.ci/run` installs
it) and the `playwright` package (a dev dependency; its own browser
download is not used). Without Chromium the module is skipped, saying so.

`S2S_ZOO_SCREENSHOTS=DIR python -m pytest tests/test_rendering.py -k
screenshots` also writes full-page screenshots of four pages to DIR.
"""

import os
import shutil

import pytest

from tests.helpers import CJK
from tests.helpers import html_files

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install -e '.[dev]')",
)
CHROMIUM = os.environ.get("S2S_ZOO_CHROMIUM") or next(
    filter(None, map(shutil.which, ["chromium", "chromium-browser"])), None
)
if not CHROMIUM:
    pytest.skip(
        "headless Chromium is not installed (Debian: apt-get install "
        "chromium); the rendering tests need it",
        allow_module_level=True,
    )

# The flags that keep Chromium from calling home at start-up.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]
LOCAL = ("file:", "data:", "blob:", "about:")
SCREENSHOTS = {
    "home": "index.html",
    "model_card": "models/bahdanau_attention.html",
    "tutorial": "tutorials/attention.html",
    "benchmarks": "benchmarks.html",
}

# Waits until Material has rendered the page's Mermaid blocks (it swaps
# each <pre class="mermaid"> for a <div class="mermaid"> holding a closed
# shadow root) and KaTeX has typeset every formula.
RENDERED = """() => {
  const math = [...document.querySelectorAll('.arithmatex')];
  const typeset = math.every(e => e.querySelector('.katex, .katex-error'));
  const pending = document.querySelectorAll('pre.mermaid').length;
  return typeset && pending === 0;
}"""

PAGE_FACTS = """async () => {
  await document.fonts.ready;
  const wide = [];
  const box = document.querySelector('.md-content__inner');
  for (const table of document.querySelectorAll('.md-content table')) {
    if (table.getBoundingClientRect().width > box.clientWidth + 1) {
      wide.push(table.rows[0] ? table.rows[0].innerText.slice(0, 80) : '');
    }
  }
  return {
    formulas: document.querySelectorAll('.arithmatex').length,
    typeset: document.querySelectorAll('.arithmatex .katex').length,
    errors: [...document.querySelectorAll('.katex-error')].map(
      e => e.getAttribute('title') || e.textContent),
    wideTables: wide,
    cjkFont: [...document.fonts].filter(
      f => f.family.includes('s2s_zoo CJK')).map(f => f.status),
    text: document.body.innerText,
  };
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def pages(site, browser):
    """What each built page shows once rendered, keyed by its path."""
    context = browser.new_context(
        offline=True, viewport={"width": 1280, "height": 900}
    )
    leaks = []

    def record_leak(request):
        if not request.url.startswith(LOCAL):
            leaks.append(request.url)

    context.on("request", record_leak)
    facts = {}
    # One tab for every page, as a reader clicks through the site: each
    # `goto` loads a new document (half the time of a new tab per page).
    page = context.new_page()
    for path in html_files(site):
        path = os.path.relpath(path, site)
        if path == "404.html":  # site-absolute links: made to be served
            continue
        page.goto("file://" + os.path.join(site, path))
        page.wait_for_function(RENDERED, timeout=30_000)
        result = page.evaluate(PAGE_FACTS)
        result["diagrams"] = _mermaid_diagrams(context, page)
        with open(os.path.join(site, path), encoding="utf-8") as f:
            result["mermaid_blocks"] = f.read().count('class="mermaid"')
        facts[path] = result
    context.close()
    assert not leaks, f"pages requested the network: {sorted(set(leaks))}"
    return facts


def _mermaid_diagrams(context, page):
    """(svg count, error svg count) inside the pages' closed shadow roots,
    read through the DevTools protocol, which sees closed roots."""
    session = context.new_cdp_session(page)
    root = session.send("DOM.getDocument", {"depth": -1, "pierce": True})
    svgs = errors = 0

    def walk(node, in_mermaid):
        nonlocal svgs, errors
        attributes = node.get("attributes", [])
        classes = dict(zip(attributes[::2], attributes[1::2])).get("class", "")
        here = in_mermaid or (
            node.get("nodeName") == "DIV" and "mermaid" in classes.split()
        )
        if here and node.get("nodeName") == "svg":
            svgs += 1
            role = dict(zip(attributes[::2], attributes[1::2])).get(
                "aria-roledescription", ""
            )
            errors += role == "error"
        for child in node.get("children", []) + node.get("shadowRoots", []):
            walk(child, here)

    walk(root["root"], False)
    session.detach()
    return svgs, errors


def test_every_mermaid_block_became_a_diagram(pages):
    with_diagrams = {p: f for p, f in pages.items() if f["mermaid_blocks"]}
    assert len(with_diagrams) >= 13, sorted(with_diagrams)
    for path, facts in with_diagrams.items():
        svgs, errors = facts["diagrams"]
        assert svgs >= facts["mermaid_blocks"], (
            f"{path}: {facts['mermaid_blocks']} Mermaid blocks, {svgs} SVGs"
        )
        assert errors == 0, f"{path}: Mermaid drew {errors} syntax errors"
        assert "flowchart TB" not in facts["text"], path
        assert "flowchart LR" not in facts["text"], path


def test_every_formula_is_typeset(pages):
    with_maths = {p: f for p, f in pages.items() if f["formulas"]}
    # The Concepts page, every model card and the tutorials.
    assert "concepts.html" in with_maths
    for name in ["bahdanau_attention", "atae_lstm", "abcnn2"]:
        assert f"models/{name}.html" in with_maths, name
    for path, facts in with_maths.items():
        assert facts["typeset"] == facts["formulas"], path
        assert not facts["errors"], f"{path}: KaTeX errors {facts['errors']}"


def test_no_table_is_wider_than_its_column(pages):
    wide = {p: f["wideTables"] for p, f in pages.items() if f["wideTables"]}
    assert not wide, f"tables wider than the text column: {wide}"


def test_chinese_is_drawn_with_the_shipped_font(pages):
    chinese = {p: f for p, f in pages.items() if CJK.search(f["text"])}
    assert "index.html" in chinese
    for path, facts in chinese.items():
        assert "loaded" in facts["cjkFont"], (
            f"{path} shows Chinese but the site's CJK font did not load "
            f"({facts['cjkFont']})"
        )


def test_screenshots(site, browser):
    folder = os.environ.get("S2S_ZOO_SCREENSHOTS")
    if not folder:
        pytest.skip("set S2S_ZOO_SCREENSHOTS=DIR to write screenshots")
    os.makedirs(folder, exist_ok=True)
    context = browser.new_context(
        offline=True, viewport={"width": 1280, "height": 900}
    )
    for name, path in SCREENSHOTS.items():
        page = context.new_page()
        page.goto("file://" + os.path.join(site, path))
        page.wait_for_function(RENDERED, timeout=30_000)
        page.evaluate("document.fonts.ready")
        target = os.path.join(folder, f"{name}.png")
        page.screenshot(path=target, full_page=True)
        page.close()
    context.close()
