"""Readers of parallel text: the Tatoeba / manythings.org TSV format (2 or
3 columns: English, the other language, optional attribution) and plain
parallel text files (line i of one file translates line i of the other).

A malformed row (too few or many columns, an empty side, bytes that are
not valid in the file's encoding) is skipped with a `MalformedRowWarning`
naming the file and the line, or raises `DataFormatError` with `strict`.
`s2s_zoo.data.translation` re-exports these names.
"""

from s2s_zoo.data.problems import skip_or_raise


class DataFormatError(ValueError):
    """A malformed input file; the message names the file and the line."""


# === Readers ===


def _undecodable(line):
    """Whether `line` holds bytes its encoding could not decode (read with
    `errors="surrogateescape"`, they become lone surrogates)."""
    return any("\udc80" <= ch <= "\udcff" for ch in line)


def read_tsv_pairs(
    path, source_column=1, target_column=0, encoding="utf-8", strict=False
):
    """Reads sentence pairs from a Tatoeba / manythings.org TSV file.

    Each line is `english<TAB>other` or `english<TAB>other<TAB>attribution`
    (the attribution column is read and dropped). Blank lines are skipped.

    Args:
        path (str): The file.
        source_column (int): Column of the source sentence. Default 1 (the
            non-English side, for translation into English).
        target_column (int): Column of the target sentence. Default 0.
        encoding (str): Default utf-8 (a BOM is tolerated).
        strict (bool): Raise at a malformed line; by default it is skipped
            with a `MalformedRowWarning` naming the file and line.

    Returns:
        A list of `(source, target)` string pairs.

    Raises:
        DataFormatError: With `strict`, for a line with fewer than 2 or
            more than 3 columns, or an empty sentence, naming the file and
            line; always, for a file without one valid pair.
    """
    pairs = []
    # Undecodable bytes are kept (as surrogates) so that their line can be
    # named and skipped like any malformed line.
    with open(
        path, encoding=encoding, newline="", errors="surrogateescape"
    ) as f:
        for line_number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if line_number == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            if _undecodable(line):
                skip_or_raise(
                    DataFormatError(
                        f"{path}:{line_number}: not valid {encoding} text."
                    ),
                    strict,
                )
                continue
            columns = line.split("\t")
            if not 2 <= len(columns) <= 3:
                skip_or_raise(
                    DataFormatError(
                        f"{path}:{line_number}: expected 2 or 3 "
                        f"tab-separated columns, found {len(columns)}."
                    ),
                    strict,
                )
                continue
            source = columns[source_column].strip()
            target = columns[target_column].strip()
            if not source or not target:
                skip_or_raise(
                    DataFormatError(
                        f"{path}:{line_number}: empty sentence in column "
                        f"{source_column if not source else target_column}."
                    ),
                    strict,
                )
                continue
            pairs.append((source, target))
    if not pairs:
        raise DataFormatError(f"{path}: no valid sentence pair.")
    return pairs


def read_parallel_files(
    source_path, target_path, encoding="utf-8", strict=False
):
    """Reads two line-aligned plain text files into `(source, target)` pairs.

    Lines empty on both sides are skipped. A line empty on one side only is
    skipped with a `MalformedRowWarning` naming the file and line (with
    `strict`, it raises).

    Raises:
        DataFormatError: If the files have different numbers of lines (no
            pair can be trusted then) or hold no pair; with `strict`, at a
            line empty on one side only (naming the file and line).
    """
    with open(source_path, encoding=encoding, errors="surrogateescape") as f:
        sources = [line.rstrip("\r\n").lstrip("\ufeff") for line in f]
    with open(target_path, encoding=encoding, errors="surrogateescape") as f:
        targets = [line.rstrip("\r\n").lstrip("\ufeff") for line in f]
    if len(sources) != len(targets):
        raise DataFormatError(
            f"{source_path} has {len(sources)} lines but {target_path} has "
            f"{len(targets)}; parallel files must be line-aligned."
        )
    pairs = []
    for line_number, (source, target) in enumerate(zip(sources, targets), 1):
        source, target = source.strip(), target.strip()
        if not source and not target:
            continue
        bad = [
            path
            for path, line in ((source_path, source), (target_path, target))
            if _undecodable(line)
        ]
        if bad:
            skip_or_raise(
                DataFormatError(
                    f"{bad[0]}:{line_number}: not valid {encoding} text."
                ),
                strict,
            )
            continue
        if not source or not target:
            empty = source_path if not source else target_path
            skip_or_raise(
                DataFormatError(
                    f"{empty}:{line_number}: empty line opposite a "
                    "non-empty one."
                ),
                strict,
            )
            continue
        pairs.append((source, target))
    if not pairs:
        raise DataFormatError(
            f"{source_path}, {target_path}: no valid sentence pair."
        )
    return pairs
