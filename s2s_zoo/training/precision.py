"""Precision: the `--precision` choices and Keras' global dtype policy."""

import contextlib

import keras

PRECISIONS = ("auto", "float32", "mixed_bfloat16")


def cpu_has_native_bfloat16(cpuinfo_path="/proc/cpuinfo"):
    """Whether the CPU computes bfloat16 natively (AMX or AVX512-BF16).

    Without it, TensorFlow emulates bfloat16 and a mixed policy is slower
    than float32. Reads the Linux `flags` line; False elsewhere.
    """
    try:
        with open(cpuinfo_path) as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def resolve_precision(precision, cpuinfo_path="/proc/cpuinfo"):
    """Maps a `--precision` choice to a Keras dtype policy name.

    `"auto"` is `"mixed_bfloat16"` (bfloat16 compute, float32 weights) on a
    CPU-only machine whose CPU has native bfloat16, else `"float32"`.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(PRECISIONS)}; "
            f"received {precision!r}."
        )
    if precision != "auto":
        return precision
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float32"
    if cpu_has_native_bfloat16(cpuinfo_path):
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def global_dtype_policy(name):
    """Sets Keras's global dtype policy for the block, then restores it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
