"""Alt texts and captions for the figures the benchmarks write.

A figure on the site needs words for a reader who cannot see it (its alt
text says what it shows) and a caption a reader can follow (no file names,
no machine paths). The benchmarks name their figures by a fixed pattern,
so the words are made from the name; `describe` raises for a name it does
not know, and the docs build fails with that message instead of showing a
file name.
"""

import re

PATTERNS = [
    (
        re.compile(r"^translation_(\w+?)_attention_(\d+)\.png$"),
        lambda m: (
            f"Heat map of the attention weights of {m[1]} (the default "
            f"translation run) on test sentence {int(m[2]) + 1}: one row per "
            "English word it wrote, one column per source token; a bright "
            "cell marks a source token the word drew on.",
            f"Attention of the default translation run, test sentence "
            f"{int(m[2]) + 1}.",
        ),
    ),
    (
        re.compile(r"^bottleneck_(\w+?)_bleu_by_length\.png$"),
        lambda m: (
            "Line chart of BLEU against source sentence length, one line "
            f"per model, for the {_study(m[1])}; a dotted line marks the "
            "longest training sentence.",
            f"BLEU by source length, {_study(m[1])}.",
        ),
    ),
    (
        re.compile(r"^bottleneck_(\w+?)_attention_(\w+?)_(\d+)\.png$"),
        lambda m: (
            f"Heat map of {m[2]}'s attention weights on one of the longest "
            f"test sentences of the {_study(m[1])}: one row per output word, "
            "one column per source word; a near-diagonal band is the "
            "word-by-word alignment, off-diagonal cells the reorderings.",
            f"Attention of {m[2]} on a long test sentence ({_study(m[1])}, "
            f"example {int(m[3]) + 1}).",
        ),
    ),
]


def _study(tag):
    if tag == "bottleneck_quick":
        return "synthetic task (quick setting)"
    if tag == "bottleneck_fra":
        return "French-English Tatoeba run"
    return f"run {tag.removeprefix('bottleneck_')}"


def describe(name):
    """`(alt text, caption)` of the figure file `name`.

    Raises:
        ValueError: For a name no pattern describes.
    """
    for pattern, words in PATTERNS:
        match = pattern.match(name)
        if match:
            return words(match)
    raise ValueError(
        f"no alt text for the figure {name!r}: add its pattern to "
        "benchmarks/figure_text.py"
    )
