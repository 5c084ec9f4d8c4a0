"""Attention heatmaps with matplotlib, Chinese glyphs included.

matplotlib's default font has no CJK glyphs and silently draws empty boxes.
`cjk_font()` looks for a font that does, in this order: the
`S2S_ZOO_CJK_FONT` environment variable (a font file), fonts installed on
the machine (Noto / Source Han / WenQuanYi / Droid / SimHei / PingFang /
Microsoft YaHei...), then the subset of Droid Sans Fallback that ships with
s2s_zoo. If none is usable it raises an error that says what to install.
"""

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402

_BUNDLED_FONT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "assets",
    "fonts",
    "DroidSansFallback-s2s_zoo-subset.ttf",
)
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "Arial Unicode MS",
)


class FontNotFoundError(RuntimeError):
    """No font with Chinese glyphs could be found."""


def _covers(path, text="中文猫"):
    try:
        from matplotlib.ft2font import FT2Font

        font = FT2Font(path)
        charmap = font.get_charmap()
        return all(ord(c) in charmap for c in text)
    except Exception:
        return False


def cjk_font():
    """Returns `FontProperties` that draw Latin and Chinese characters.

    Raises:
        FontNotFoundError: With what to install, if no candidate works.
    """
    tried = []
    candidates = []
    if os.environ.get("S2S_ZOO_CJK_FONT"):
        candidates.append(os.environ["S2S_ZOO_CJK_FONT"])
    for family in _CJK_FAMILIES:
        try:
            path = font_manager.findfont(
                font_manager.FontProperties(family=family),
                fallback_to_default=False,
            )
            candidates.append(path)
        except ValueError:
            continue
    candidates.append(_BUNDLED_FONT)
    for path in candidates:
        if os.path.exists(path) and _covers(path):
            # CJK fonts often lack Latin glyphs (Droid Sans Fallback does):
            # let matplotlib fall back between DejaVu Sans and this font.
            font_manager.fontManager.addfont(path)
            family = font_manager.FontProperties(fname=path).get_name()
            return font_manager.FontProperties(family=["DejaVu Sans", family])
        tried.append(path)
    raise FontNotFoundError(
        "No font with Chinese glyphs found (tried: "
        + ", ".join(tried)
        + "). Install one (e.g. `apt-get install fonts-noto-cjk`) or set "
        "S2S_ZOO_CJK_FONT to the path of a .ttf/.otf/.ttc file."
    )


def attention_heatmap(weights, source_tokens, target_tokens, path, title=None):
    """Saves a heatmap of attention weights to `path` (PNG).

    Args:
        weights: Array `(len(target_tokens), len(source_tokens))`; row i is
            the attention of output token i over the source.
        source_tokens (list[str]): Column labels.
        target_tokens (list[str]): Row labels.
        path (str): Output file.
        title (str): Optional title.
    """
    weights = np.asarray(weights)[: len(target_tokens), : len(source_tokens)]
    font = cjk_font()
    width = max(4.0, 0.45 * len(source_tokens) + 2)
    height = max(3.0, 0.4 * len(target_tokens) + 1.5)
    fig, ax = plt.subplots(figsize=(width, height), dpi=120)
    image = ax.imshow(
        weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto"
    )
    ax.set_xticks(range(len(source_tokens)))
    ax.set_xticklabels(source_tokens, fontproperties=font, fontsize=11)
    ax.set_yticks(range(len(target_tokens)))
    ax.set_yticklabels(target_tokens, fontproperties=font, fontsize=11)
    ax.xaxis.tick_top()
    ax.set_xlabel("source", fontproperties=font)
    ax.set_ylabel("output", fontproperties=font)
    if title:
        ax.set_title(title, fontproperties=font, fontsize=10, pad=28)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
