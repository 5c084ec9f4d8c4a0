"""Saving: `.keras` files and SavedModels, each written atomically.

A crash or a kill while writing never leaves a half-written model where a
good one was: everything is written to a temporary sibling first and then
moved into place with `os.replace` (atomic on POSIX for a file, and for a
directory when the target does not exist; an existing directory is first
moved aside and removed only after the new one is in place).
"""

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_directory(path):
    """Yields a temporary directory that replaces `path` on success.

    On an exception the temporary directory is removed and `path` is left
    as it was.

    Examples:
    >>> with atomic_directory("runs/x/saved_model") as tmp:
    ...     tf.saved_model.save(module, tmp)
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if os.path.exists(path):
        old = tempfile.mkdtemp(
            prefix=f".{os.path.basename(path)}.old.", dir=parent
        )
        os.rmdir(old)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path, suffix=""):
    """Yields a temporary file name that replaces `path` on success.

    Args:
        path (str): Final file name.
        suffix (str): Suffix of the temporary name (Keras insists on
            `.keras` for `model.save`).
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=suffix, dir=parent
    )
    os.close(fd)
    try:
        yield tmp
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)


def save_keras(model, path):
    """Saves `model` to the `.keras` file `path` atomically."""
    if not str(path).endswith(".keras"):
        raise ValueError(
            f"A Keras model file must end in .keras; got {path!r}."
        )
    with atomic_file(path, suffix=".keras") as tmp:
        model.save(tmp)
