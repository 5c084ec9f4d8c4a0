"""What the data readers do with a malformed row.

By default a reader skips the row and says so with a
`MalformedRowWarning` naming the file, the line and what is wrong, so one
bad row never makes a whole official file unusable; `strict=True` raises
the reader's error at the first one instead. What no row can fix (a
missing header, files of different lengths, a file with no valid row)
always raises.
"""

import warnings


class MalformedRowWarning(UserWarning):
    """A malformed row was skipped; the message names the file and line."""


def skip_or_raise(error, strict):
    """Raises `error` when `strict`; else warns with its message (the
    caller then skips the row)."""
    if strict:
        raise error
    warnings.warn(
        f"{error} The row is skipped (strict=True stops at it).",
        MalformedRowWarning,
        stacklevel=3,
    )
