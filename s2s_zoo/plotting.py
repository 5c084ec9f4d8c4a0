"""Every figure s2s_zoo draws: attention heatmaps (translation, aspect
sentiment, sentence pairs) and training curves, Chinese glyphs included.

Figures are drawn on `matplotlib.figure.Figure` objects, never through
`pyplot`, so importing s2s_zoo does not switch the matplotlib backend of a
notebook, and drawing works on a machine without a display.

matplotlib's default font has no CJK glyphs and silently draws empty boxes.
`cjk_font()` looks for a font that does, in this order: the
`S2S_ZOO_CJK_FONT` environment variable (a font file), fonts installed on
the machine (Noto / Source Han / WenQuanYi / Droid / SimHei / PingFang /
Microsoft YaHei...), then the subset of Droid Sans Fallback that ships with
s2s_zoo. If none is usable it raises an error that says what to install.
"""

import io
import os

import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure

from s2s_zoo.io import atomic_file

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
    fig = _attention_figure(weights, source_tokens, target_tokens, title)
    _save(fig, path)
    return path


def attention_png(weights, source_tokens, target_tokens, title=None):
    """The heatmap of `attention_heatmap` as PNG bytes (for TensorBoard)."""
    fig = _attention_figure(weights, source_tokens, target_tokens, title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _attention_figure(weights, source_tokens, target_tokens, title):
    weights = np.asarray(weights)[: len(target_tokens), : len(source_tokens)]
    font = cjk_font()
    width = max(4.0, 0.45 * len(source_tokens) + 2)
    height = max(3.0, 0.4 * len(target_tokens) + 1.5)
    fig = Figure(figsize=(width, height), dpi=120)
    ax = fig.subplots()
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
    return fig


def _save(fig, path, dpi=None):
    """Writes `fig` as a PNG to `path`, atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)


def aspect_heatmap(weights, words, labels, path, title=None):
    """Attention of one sentence per aspect: one row per aspect.

    Args:
        weights: Array `(len(labels), len(words))`.
        words (list[str]): The sentence's tokens (columns).
        labels (list[str]): One label per row (aspect, gold / predicted).
        path (str): Output PNG.
        title (str): Default "attention per aspect (gold / predicted)".
    """
    matrix = np.asarray(weights)[:, : len(words)]
    width = len(words)
    fig = Figure(figsize=(max(4, 0.5 * width + 3), 0.5 * len(labels) + 1.5))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Reds", aspect="auto", vmin=0, vmax=1)
    for (row, column), value in np.ndenumerate(matrix):
        ax.text(
            column,
            row,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value > 0.5 else "black",
        )
    fig.colorbar(image, ax=ax, fraction=0.03)
    ax.set_xticks(range(width), words, rotation=60, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_title(title or "attention per aspect (gold / predicted)")
    fig.tight_layout()
    _save(fig, path, dpi=80)
    return path


def pair_heatmap(matrix, path, title, row_tokens=None, column_tokens=None):
    """One ABCNN attention matrix of a sentence pair.

    Args:
        matrix: Array `(rows, columns)`.
        path (str): Output PNG.
        title (str): The title.
        row_tokens, column_tokens (list[str]): Tick labels (for the input
            level, whose rows and columns are words); None for none.
    """
    matrix = np.asarray(matrix)
    fig = Figure(
        figsize=(2 + 0.25 * matrix.shape[1], 2 + 0.25 * matrix.shape[0])
    )
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="viridis", aspect="auto")
    if row_tokens is not None:
        ax.set_yticks(range(len(row_tokens)), row_tokens, fontsize=7)
    if column_tokens is not None:
        ax.set_xticks(
            range(len(column_tokens)), column_tokens, fontsize=7, rotation=90
        )
    ax.set_title(title, fontsize=8)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    _save(fig, path, dpi=80)
    return path


def line_chart(
    series, path, xlabel, ylabel, title=None, vertical=None, xticks=None
):
    """Lines of `(x, y)` points, one per label.

    Args:
        series (dict): `label -> (xs, ys)`.
        path (str): Output PNG.
        xlabel, ylabel (str): Axis labels.
        title (str): Optional title.
        vertical (tuple): Optional `(x, text)`, a dotted marker line.
        xticks (tuple): Optional `(positions, labels)`.
    """
    fig = Figure(figsize=(8, 4.5), dpi=120)
    ax = fig.subplots()
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    if vertical is not None:
        x, note = vertical
        ax.axvline(x, color="grey", linestyle=":")
        ax.text(
            x,
            0.97,
            " " + note,
            color="grey",
            va="top",
            transform=ax.get_xaxis_transform(),
        )
    if xticks is not None:
        ax.set_xticks(xticks[0])
        ax.set_xticklabels(xticks[1], fontsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    return path


def training_curves(
    rows, path, metric="val_bleu", metric_label="dev BLEU", title=None
):
    """Loss, a dev metric and the learning rate, per epoch and per minute.

    Args:
        rows (list): The rows of a run's `history.csv` (`csv.DictReader`
            dicts, or dicts of numbers): `epoch`, `loss`, `val_loss`,
            `metric`, `learning_rate`, and `train_minutes` where the run
            logged it (`training.TimeBudget` does).
        path (str): Output PNG.
        metric (str): The dev column drawn in the middle panels.
        metric_label (str): Its axis label.
        title (str): Optional title over the panels.

    With `train_minutes` the figure has two rows of panels, against epoch
    and against training minutes; without it, one.
    """

    def column(name):
        return [
            float(r[name]) if r.get(name) not in (None, "") else np.nan
            for r in rows
        ]

    epochs = [int(float(r["epoch"])) + 1 for r in rows]
    axes_x = [(epochs, "epoch")]
    if rows and all(r.get("train_minutes") not in (None, "") for r in rows):
        axes_x.append((column("train_minutes"), "training minutes"))
    fig = Figure(figsize=(10, 3.1 * len(axes_x)), dpi=110)
    grid = fig.subplots(len(axes_x), 3, squeeze=False)
    for (xs, xlabel), axes in zip(axes_x, grid):
        loss, bleu, rate = axes
        loss.plot(xs, column("loss"), label="train")
        loss.plot(xs, column("val_loss"), label="dev")
        loss.set_ylabel("loss")
        loss.legend()
        bleu.plot(xs, column(metric), color="tab:green")
        bleu.set_ylabel(metric_label)
        rate.plot(xs, column("learning_rate"), color="tab:purple")
        rate.set_ylabel("learning rate")
        rate.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        for ax in axes:
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    return path
