"""One process of a small data-parallel job (run by test_distributed.py).

    python -m tests.distributed.job MODE NUM_PROCESSES PROCESS_ID PORT OUT

MODE: `train` (4 steps on fixed global batches of 7 sentences, then the
weights to OUT.npz from process 0; the weights before training go to
OUT_initial.npz), `die` (process 1 exits at its third
step), `devices` (one process, over every local device), `mirrored`
(TensorFlow's MirroredStrategy over the local devices; 0 devices for one
default device).
"""

import os
import sys

MODE, COUNT, INDEX, PORT, OUT = sys.argv[1:6]
COUNT, INDEX = int(COUNT), int(INDEX)
if MODE == "mirrored" and int(PORT) > 1:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * int(PORT)
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from s2s_zoo import distributed  # noqa: E402
from s2s_zoo import registry  # noqa: E402
from s2s_zoo import training  # noqa: E402

GLOBAL_BATCH, STEPS, SOURCE_LENGTH, TARGET_LENGTH = 7, 4, 6, 5

if MODE == "mirrored":
    setup = distributed.setup("mirrored" if int(PORT) > 1 else "none")
else:
    setup = distributed.setup(
        "data_parallel" if COUNT > 1 or MODE == "devices" else "none",
        f"127.0.0.1:{PORT}" if COUNT > 1 else None,
        COUNT,
        INDEX,
        heartbeat_timeout=10,
    )
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
batches = []
for _ in range(STEPS):
    source = rng.integers(4, 30, (GLOBAL_BATCH, SOURCE_LENGTH)).astype("int32")
    target = rng.integers(4, 30, (GLOBAL_BATCH, TARGET_LENGTH)).astype("int32")
    # Ragged lengths: padding at the end of some rows.
    source[::2, -2:] = 0
    target[1::3, -1:] = 0
    decoder = np.concatenate(
        [np.full((GLOBAL_BATCH, 1), 2, "int32"), target[:, :-1]], 1
    )
    batches.append(
        ({"encoder_token_ids": source, "decoder_token_ids": decoder}, target)
    )


def generator():
    yield from batches


spec = (
    {
        "encoder_token_ids": tf.TensorSpec([None, None], tf.int32),
        "decoder_token_ids": tf.TensorSpec([None, None], tf.int32),
    },
    tf.TensorSpec([None, None], tf.int32),
)
dataset = distributed.shard_dataset(
    tf.data.Dataset.from_generator(generator, output_signature=spec)
)
with setup.scope():
    model = registry.build(
        "bahdanau_attention",
        preset="tiny",
        source_vocabulary_size=30,
        target_vocabulary_size=30,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2, global_clipnorm=1.0),
        loss=training.masked_loss(0.1),
    )


class Die(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if MODE == "die" and INDEX == 1 and batch == 2:
            os._exit(3)


if setup.is_chief:  # the weights before training, beside OUT
    np.savez(OUT.replace(".npz", "_initial.npz"), *model.get_weights())
model.fit(
    dataset.repeat() if MODE == "die" else dataset,
    epochs=1000 if MODE == "die" else 1,
    steps_per_epoch=STEPS,
    verbose=0,
    callbacks=[Die()],
)
if setup.is_chief:
    np.savez(OUT, *model.get_weights())
print("done", setup.describe(), flush=True)
