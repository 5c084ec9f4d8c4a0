"""`--threads`: TensorFlow's two thread pools for a training process.

TensorFlow runs independent ops side by side on its inter-op pool and
splits each large op over its intra-op pool; by default both have one
thread per core. The time loops of these models are chains of small ops
(a few dozen per step on `(batch, n)` and `(batch, T_x, n)` tensors):
each op split over the intra-op pool waits for a second thread that is
often busy with an op of the other chain (a weight gradient, Adam), so
on a machine of two cores a step runs faster with ONE intra-op thread
and two inter-op threads, two ops at a time, each on its own core.
Measured on 2 CPUs at the peer's sizes (`benchmarks/speed/threads.py`,
results in the docs' benchmarks page). More cores were not measured, so
`auto` keeps TensorFlow's defaults there.
"""

import os

#: `--threads` choices besides an explicit `INTRA,INTER`.
THREAD_CHOICES = ("auto", "default")

#: `auto` on machines with at most this many CPUs.
AUTO_MAX_CPUS = 2

#: TensorFlow's own settings of the two pools, read when it starts.
_ENVIRONMENT = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def resolve_threads(spec, cpus=None, environ=None, gpus=0):
    """`--threads` as `(intra_op, inter_op)` thread counts, or None for
    TensorFlow's defaults.

    `auto`: `(1, cpus)` on a machine of at most `AUTO_MAX_CPUS` CPUs and
    no GPU, unless `TF_NUM_INTRAOP_THREADS` or `TF_NUM_INTEROP_THREADS`
    is set (the user's choice wins); TensorFlow's defaults elsewhere.
    `default`: TensorFlow's defaults. `"INTRA,INTER"`: those counts.
    """
    environ = os.environ if environ is None else environ
    if spec == "default":
        return None
    if spec == "auto":
        cpus = os.cpu_count() if cpus is None else cpus
        chosen = any(name in environ for name in _ENVIRONMENT)
        if chosen or gpus or not cpus or cpus > AUTO_MAX_CPUS:
            return None
        return (1, cpus)
    parts = str(spec).split(",")
    try:
        counts = tuple(int(p) for p in parts)
    except ValueError:
        counts = ()
    if len(counts) != 2 or min(counts) < 1:
        raise ValueError(
            f"threads must be auto, default or INTRA,INTER (two positive "
            f"integers, e.g. 1,2); received {spec!r}."
        )
    return counts


def use_threads(spec):
    """Sets TensorFlow's thread pools from `--threads` (see
    `resolve_threads`) and returns what the process runs with, as
    `"INTRA,INTER"` (`default` for TensorFlow's one per core).

    The pools start with TensorFlow's first op: an explicit setting after
    that is an error that says so; `auto` then keeps what is there.
    """
    import tensorflow as tf

    counts = resolve_threads(
        spec, gpus=len(tf.config.list_physical_devices("GPU"))
    )
    threading = tf.config.threading
    if counts is not None:
        current = (
            threading.get_intra_op_parallelism_threads(),
            threading.get_inter_op_parallelism_threads(),
        )
        if current != counts:
            try:
                threading.set_intra_op_parallelism_threads(counts[0])
                threading.set_inter_op_parallelism_threads(counts[1])
            except RuntimeError:
                if spec != "auto":
                    raise ValueError(
                        f"threads={spec}: TensorFlow's thread pools already "
                        "started in this process; set it before any "
                        "TensorFlow op runs, or set TF_NUM_INTRAOP_THREADS "
                        "and TF_NUM_INTEROP_THREADS before starting Python."
                    ) from None
    return current_threads()


def current_threads():
    """The pools this process runs with, as `"INTRA,INTER"` (`default`
    for TensorFlow's one per core)."""
    import tensorflow as tf

    threading = tf.config.threading
    pools = (
        threading.get_intra_op_parallelism_threads(),
        threading.get_inter_op_parallelism_threads(),
    )
    described = []
    for count, name in zip(pools, _ENVIRONMENT):
        # 0, set here or in TensorFlow's variable: TensorFlow's default.
        value = str(count or os.environ.get(name, "0"))
        described.append("default" if value == "0" else value)
    return ",".join(described)
