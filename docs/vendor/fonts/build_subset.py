"""Writes the Chinese font subset the site ships (NotoSansSC-subset.woff2).

A reader's machine may have no Chinese font at all, and the site fetches
nothing from the network, so the characters it shows are shipped: every
CJK character found in the docs, the results, the tutorials and the
package's docstrings, cut out of Noto Sans CJK SC (SIL Open Font Licence
1.1, `OFL.txt` beside this file). The stylesheet `docs/stylesheets/
extra.css` uses it for those characters only (`unicode-range`).

Needs Debian's `fonts-noto-cjk` (the source font) and the `fonttools` and
`brotli` packages (WOFF2). Run from the repository root:

    python docs/vendor/fonts/build_subset.py

`tests/test_rendering.py` fails, naming the characters, when the built site
shows one that the subset lacks; rerun this script then.
"""

import glob
import os
import re
import tempfile

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
TARGET = os.path.join(os.path.dirname(__file__), "NotoSansSC-subset.woff2")
# CJK punctuation, Kana, Hangul and ideographs; full-width forms.
CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
SOURCES = [
    "README.md",
    "docs/**/*.md",
    "docs/**/*.py",
    "docs/results/*.json",
    "s2s_zoo/**/*.py",
]


def characters():
    found = set()
    for pattern in SOURCES:
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            with open(path, encoding="utf-8", errors="replace") as f:
                found.update(CJK.findall(f.read()))
    return found


def main():
    chars = characters()
    collection = TTCollection(SOURCE)
    face = next(
        font
        for font in collection.fonts
        if "Noto Sans CJK SC" in font["name"].getDebugName(1)
    )
    source = os.path.join(tempfile.mkdtemp(), "NotoSansCJKsc-Regular.otf")
    face.save(source)
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    subset.save_font(font, TARGET, options)
    missing = [c for c in chars if ord(c) not in font.getBestCmap()]
    print(
        f"{len(chars)} characters, {os.path.getsize(TARGET):,} bytes: "
        f"{os.path.relpath(TARGET, ROOT)}"
        + (f"; not in the font: {''.join(sorted(missing))}" if missing else "")
    )


if __name__ == "__main__":
    main()
