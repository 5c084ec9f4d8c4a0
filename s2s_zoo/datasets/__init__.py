"""Data sets shipped with s2s_zoo, reachable without any download.

Only the default data of the main recipe ships: the Tatoeba English-Mandarin
pairs (CC-BY 2.0 FR, attribution kept; see `tatoeba/NOTICE.md`). Other data
is read from files you pass (`s2s_zoo.data.translation.read_tsv_pairs`).

This module depends on `s2s_zoo.data` (for the reader), never the other
way round; the tasks import both.
"""

import os

from s2s_zoo.data.translation import read_tsv_pairs

_HERE = os.path.dirname(os.path.abspath(__file__))
_TATOEBA = {"cmn": os.path.join(_HERE, "tatoeba", "cmn.txt")}


def tatoeba_path(language="cmn"):
    """Path of a bundled Tatoeba file (`"cmn"`: English-Mandarin)."""
    if language not in _TATOEBA:
        raise ValueError(
            f"No bundled Tatoeba data for {language!r}; bundled: "
            f"{sorted(_TATOEBA)}. Pass the path of a manythings.org TSV file "
            "instead (e.g. --data fra.txt)."
        )
    return _TATOEBA[language]


def tatoeba(language="cmn", source="zh"):
    """Bundled Tatoeba pairs as `(source, target)` tuples.

    Args:
        language (str): `"cmn"` (English-Mandarin), the only bundled file.
        source (str): `"zh"` for Chinese to English (default), `"en"` for
            English to Chinese.

    Examples:
    >>> pairs = tatoeba("cmn")
    >>> pairs[0]
    ('嗨。', 'Hi.')
    """
    if source not in ("zh", "en"):
        raise ValueError(f"source must be 'zh' or 'en'; received {source!r}.")
    columns = (1, 0) if source == "zh" else (0, 1)
    return read_tsv_pairs(tatoeba_path(language), *columns)
