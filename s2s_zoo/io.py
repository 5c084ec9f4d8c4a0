"""Files that are never half-written: atomic files and directories, JSON.

The bottom of the package: it imports nothing of ours and no TensorFlow,
so data readers, tokenizers, plots, callbacks and exports can all write
through it.

A crash or a kill while writing never leaves a half-written file where a
good one was: everything is written to a temporary sibling first and then
moved into place with `os.replace` (atomic on POSIX for a file, and for a
directory when the target does not exist; an existing directory is first
moved aside and removed only after the new one is in place).
"""

import contextlib
import json
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


def write_json(path, value):
    """Writes `value` as indented JSON to `path`, atomically."""
    with atomic_file(path, suffix=".json") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2, ensure_ascii=False, default=str)


def read_json(path):
    """The JSON value in the UTF-8 file `path`."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)
