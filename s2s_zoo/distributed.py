"""Scaling out: data-parallel training over devices, processes and machines.

Two engines, one per backend, both data parallel (every device holds all
the weights and takes a slice of each global batch):

- JAX: `keras.distribution.DataParallel` over every device of every
  process, the processes joined by `keras.distribution.initialize`
  (coordinator address, number of processes, process id; or the
  `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES`
  and `KERAS_DISTRIBUTION_PROCESS_ID` variables). One program runs over
  the global batch, so the loss and its gradient are those of one device
  reading the whole batch.
- TensorFlow: `tf.distribute.MirroredStrategy` over the devices of one
  machine. (Keras 3's `fit` does not work with TensorFlow's multi-worker
  strategy, keras-team/keras#20585, so several machines need JAX.)

What each process reads: the input pipeline (already tokenized ids) is run
the same way in every process, from the same seed, and each process keeps
only its rows of each global batch (`shard_batch`). That way every process
sees batches of one shape at each step and as many steps per epoch, which
the collective operations need, and the job trains on exactly the batches
one process would. A global batch whose size is not a multiple of the
number of processes is completed with rows of padding, which the masked
loss ignores.

What is written: only process 0 (`Setup.is_chief`) writes the run's files
(checkpoints, history, metrics, exports). The others keep a private copy
of process 0's training state, taken when training starts, so that a job
killed as a whole and started again resumes every process from the same
checkpoint (the output directory must be one that every process reads,
as on one machine or a shared file system; a process that finds another
starting epoch stops with an error that says so).

A process that dies must not leave the others waiting forever inside a
collective operation (they would: JAX's CPU collectives block, and
JAX's own heartbeats did not end the survivor here). Every process runs a
`s2s_zoo.watchdog` beside it, which kills it with a message naming the
dead peer within seconds (`heartbeat_timeout` for a silent one).
"""

import atexit
import contextlib
import dataclasses
import os

from s2s_zoo import watchdog

STRATEGIES = ("none", "data_parallel", "mirrored")

# Seconds a peer's watchdog may be silent before the job is stopped (it
# beats every second from its own process, whatever the trainer does).
HEARTBEAT_TIMEOUT = 30.0


@dataclasses.dataclass
class Setup:
    """How this process takes part in a run.

    Attributes:
        strategy (str): `"none"`, `"data_parallel"` or `"mirrored"`.
        num_processes (int): Processes of the job.
        process_id (int): This one's, from 0.
        num_devices (int): Devices over all processes (replicas).
        tf_strategy: The `tf.distribute.MirroredStrategy`, when mirrored.
    """

    strategy: str = "none"
    num_processes: int = 1
    process_id: int = 0
    num_devices: int = 1
    tf_strategy: object = None

    @property
    def is_chief(self):
        """Whether this process writes the run's files."""
        return self.process_id == 0

    @property
    def multi_process(self):
        return self.num_processes > 1

    def scope(self):
        """The context to build and compile the model in."""
        if self.tf_strategy is not None:
            return self.tf_strategy.scope()
        return contextlib.nullcontext()

    def describe(self):
        if self.strategy == "none":
            return "one device"
        if self.strategy == "mirrored":
            return f"MirroredStrategy over {self.num_devices} devices"
        return (
            f"DataParallel over {self.num_devices} devices in "
            f"{self.num_processes} process(es); this is process "
            f"{self.process_id}"
        )


_SETUP = None


def current():
    """The `Setup` of this process (one device until `setup` is called)."""
    return _SETUP or Setup()


def _environment_int(name, value):
    if value is not None:
        return int(value)
    if os.environ.get(name):
        return int(os.environ[name])
    return None


def setup(
    strategy="none",
    coordinator_address=None,
    num_processes=None,
    process_id=None,
    heartbeat_timeout=HEARTBEAT_TIMEOUT,
):
    """Joins this process to its job and sets the Keras distribution.

    Call it before building a model. Calling it again with the same
    arguments returns the same `Setup` (JAX joins a job once per process).

    Args:
        strategy (str): `"none"`; `"data_parallel"` (JAX backend) over all
            devices of all processes; `"mirrored"` (TensorFlow backend)
            over the local devices.
        coordinator_address (str): `host:port` of process 0, for several
            processes; default `$KERAS_DISTRIBUTION_JOB_ADDRESSES`.
        num_processes (int): Default `$KERAS_DISTRIBUTION_NUM_PROCESSES`,
            else 1.
        process_id (int): Default `$KERAS_DISTRIBUTION_PROCESS_ID`, else 0.
        heartbeat_timeout (float): Seconds of silence from a peer after
            which the job stops (several processes only).

    Raises:
        ValueError: For an unknown strategy, one the running backend lacks,
            or an inconsistent set of process arguments.
    """
    global _SETUP
    import keras

    if strategy not in STRATEGIES:
        raise ValueError(
            f"Unknown distribution strategy {strategy!r}; choose one of "
            f"{', '.join(STRATEGIES)}."
        )
    backend = keras.backend.backend()
    num_processes = _environment_int(
        "KERAS_DISTRIBUTION_NUM_PROCESSES", num_processes
    )
    process_id = _environment_int("KERAS_DISTRIBUTION_PROCESS_ID", process_id)
    coordinator_address = coordinator_address or os.environ.get(
        "KERAS_DISTRIBUTION_JOB_ADDRESSES"
    )
    key = (strategy, coordinator_address, num_processes, process_id)
    if _SETUP is not None and getattr(_SETUP, "_key", None) == key:
        return _SETUP
    if strategy == "none":
        if (num_processes or 1) > 1:
            raise ValueError(
                f"num_processes={num_processes} needs strategy 'data_parallel'."
            )
        _SETUP = Setup()
    elif strategy == "mirrored":
        if backend != "tensorflow":
            raise ValueError(
                "strategy 'mirrored' is TensorFlow's MirroredStrategy; the "
                f"Keras backend is {backend!r}. Use --backend tensorflow, "
                "or 'data_parallel' on JAX."
            )
        if (num_processes or 1) > 1:
            raise ValueError(
                "strategy 'mirrored' runs in one process (Keras 3's fit "
                "does not work with TensorFlow's multi-worker strategy); "
                "use 'data_parallel' on the JAX backend for several."
            )
        import tensorflow as tf

        tf_strategy = tf.distribute.MirroredStrategy()
        _SETUP = Setup(
            "mirrored",
            num_devices=tf_strategy.num_replicas_in_sync,
            tf_strategy=tf_strategy,
        )
    else:
        if backend != "jax":
            raise ValueError(
                "strategy 'data_parallel' is keras.distribution, which "
                f"runs on JAX; the Keras backend is {backend!r}. Use "
                "--backend jax (or KERAS_BACKEND=jax), or 'mirrored' on "
                "TensorFlow."
            )
        import jax

        num_processes = num_processes or 1
        process_id = process_id or 0
        if not 0 <= process_id < num_processes:
            raise ValueError(
                f"process_id must be in [0, {num_processes}); received "
                f"{process_id}."
            )
        if num_processes > 1:
            if not coordinator_address:
                raise ValueError(
                    f"{num_processes} processes need the coordinator "
                    "address (host:port of process 0): --coordinator-"
                    "address or $KERAS_DISTRIBUTION_JOB_ADDRESSES."
                )
            if not jax.distributed.is_initialized():
                # The watchdog first: a peer that dies during start-up
                # must not leave this process waiting either.
                dog = watchdog.Watchdog(
                    process_id,
                    num_processes,
                    watchdog.watchdog_address(coordinator_address),
                    heartbeat_timeout,
                )
                atexit.register(dog.close)
                keras.distribution.initialize(
                    coordinator_address, num_processes, process_id
                )
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(
                devices=devices,
                # Our pipelines shard themselves (`shard_batch`): Keras's
                # auto-sharding needs a fixed batch size, and bucketed
                # batches have none.
                auto_shard_dataset=False,
            )
        )
        _SETUP = Setup(
            "data_parallel",
            num_processes=num_processes,
            process_id=process_id,
            num_devices=len(devices),
        )
    _SETUP._key = key
    return _SETUP


def shard_batch(inputs, targets, index, count, multiple=None):
    """Part `index` of `count` equal parts of one global batch (tf ops).

    The batch is first completed with rows of zeros (padding: the masked
    loss gives them no weight) to a multiple of `multiple` rows (default
    `count`; the number of devices, which each take an equal slice), so
    every process gets as many rows, and every row keeps the global
    batch's length.
    """
    import tensorflow as tf

    multiple = multiple or count
    rows = tf.shape(targets)[0]
    padded = (rows + multiple - 1) // multiple * multiple
    per_process = padded // count

    def cut(x):
        pad = [[0, padded - rows]] + [[0, 0]] * (len(x.shape) - 1)
        x = tf.pad(x, pad)
        return x[index * per_process : (index + 1) * per_process]

    return tf.nest.map_structure(cut, inputs), cut(targets)


def shard_dataset(dataset, setup=None):
    """`dataset` (of `(inputs, targets)` global batches) as this process's
    part under `setup` (default: `current()`), each batch completed to a
    multiple of the number of devices; unchanged on one device.
    (MirroredStrategy splits a batch over its devices itself, but fails
    on a batch that does not split evenly.)"""
    setup = setup or current()
    if setup.num_devices == 1:
        return dataset
    index, count = setup.process_id, setup.num_processes
    devices = setup.num_devices
    return dataset.map(lambda x, y: shard_batch(x, y, index, count, devices))


def agree(value):
    """Process 0's `value` (a bool or int), in every process.

    Decisions that end a loop (a time budget spent, early stopping) must
    be taken the same way everywhere, or some processes would wait forever
    for the others.
    """
    setup = current()
    if not setup.multi_process:
        return value
    import numpy as np
    from jax.experimental import multihost_utils

    return type(value)(
        np.asarray(multihost_utils.broadcast_one_to_all(np.int64(value)))
    )


def barrier(name):
    """Waits until every process gets here (no-op in one process)."""
    if current().multi_process:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
