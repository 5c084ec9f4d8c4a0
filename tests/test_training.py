"""Training helpers: losses, precision choice, dtype policy scope."""

import os

import keras
import numpy as np
import pytest

from s2s_zoo import training

LOGITS = np.array(
    [[[2.0, 0.0, 1.0], [0.5, 0.5, 3.0], [1.0, 2.0, 3.0]]], "float32"
)
TARGETS = np.array([[2, 1, 0]], "int32")  # the last position is padding


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_unsmoothed_loss_is_the_mean_over_real_tokens():
    logp = log_softmax(LOGITS[0])
    expected = -(logp[0, 2] + logp[1, 1]) / 2
    loss = training.masked_loss()(TARGETS, LOGITS)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_smoothed_loss_matches_the_smoothed_target_distribution():
    eps = 0.1
    logp = log_softmax(LOGITS[0])
    # Target: 1 - eps + eps/K on the gold token, eps/K elsewhere.
    per_token = []
    for t, gold in enumerate([2, 1]):
        target = np.full(3, eps / 3)
        target[gold] += 1 - eps
        per_token.append(-(target * logp[t]).sum())
    loss = training.masked_loss(label_smoothing=eps)(TARGETS, LOGITS)
    assert float(loss) == pytest.approx(np.mean(per_token), rel=1e-6)
    # eps = 0 is the plain loss.
    plain = training.SmoothedTokenCrossentropy(0.0)(TARGETS, LOGITS)
    assert float(plain) == pytest.approx(
        float(training.masked_loss()(TARGETS, LOGITS)), rel=1e-6
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the stated gradient is TensorFlow's path",
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_smoothed_loss_gradient_is_softmax_minus_the_smoothed_target(dtype):
    import tensorflow as tf

    eps = 0.1
    logits = tf.cast(tf.constant(LOGITS), dtype)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = training.masked_loss(eps)(TARGETS, logits)
    gradient = tape.gradient(loss, logits)
    # d loss / d z = (softmax(z) - q) / (real tokens), 0 on padding.
    logits32 = np.asarray(tf.cast(logits, "float32"))[0]
    expected = np.zeros_like(logits32)
    for t, gold in enumerate([2, 1]):
        target = np.full(3, eps / 3)
        target[gold] += 1 - eps
        expected[t] = (np.exp(log_softmax(logits32[t])) - target) / 2
    tolerance = 1e-6 if dtype == "float32" else 1e-2
    np.testing.assert_allclose(
        np.asarray(tf.cast(gradient, "float32"))[0], expected, atol=tolerance
    )


def test_smoothed_loss_of_padding_only_is_zero_and_config_round_trips():
    loss = training.SmoothedTokenCrossentropy(0.2)
    assert float(loss(np.zeros((1, 3), "int32"), LOGITS)) == 0.0
    clone = training.SmoothedTokenCrossentropy.from_config(loss.get_config())
    assert clone.label_smoothing == 0.2
    with pytest.raises(
        ValueError, match=r"label_smoothing must be in \[0, 1\)"
    ):
        training.SmoothedTokenCrossentropy(1.0)


def write_cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(
        "processor\t: 0\nmodel name\t: Test CPU\n"
        f"flags\t\t: fpu sse2 avx2 {flags}\n\n"
    )
    return str(path)


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("avx512f amx_tile amx_bf16", True),
        ("avx512f avx512_bf16", True),
        ("avx512f avx512_vnni", False),
    ],
)
def test_native_bfloat16_is_read_from_cpu_flags(tmp_path, flags, expected):
    path = write_cpuinfo(tmp_path, flags)
    assert training.cpu_has_native_bfloat16(path) is expected


def test_native_bfloat16_is_false_without_cpuinfo(tmp_path):
    assert not training.cpu_has_native_bfloat16(str(tmp_path / "missing"))


def test_resolve_precision(tmp_path, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [])
    amx = write_cpuinfo(tmp_path, "amx_bf16")
    assert training.resolve_precision("auto", amx) == "mixed_bfloat16"
    old = tmp_path / "old"
    old.mkdir()
    assert training.resolve_precision("auto", write_cpuinfo(old, "")) == (
        "float32"
    )
    assert training.resolve_precision("float32", amx) == "float32"
    with pytest.raises(ValueError, match="precision must be one of auto, "):
        training.resolve_precision("fp8")


def test_global_dtype_policy_is_restored_after_an_error():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError):
        with training.global_dtype_policy("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError
    assert keras.config.dtype_policy().name == before


def test_budget_decay_is_flat_then_linear_to_the_floor():
    budget = training.TimeBudget(10.0)
    decay = training.BudgetDecay(budget, peak=1e-3, start=0.5, min_lr=1e-5)
    assert decay.rate(0.0) == decay.rate(0.5) == 1e-3
    # Halfway through the decay: halfway between peak and floor.
    assert decay.rate(0.75) == pytest.approx((1e-3 + 1e-5) / 2)
    assert decay.rate(1.0) == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="needs a TimeBudget with a limit"):
        training.BudgetDecay(training.TimeBudget(None), peak=1e-3)


def test_budget_decay_sets_the_optimizer_rate_from_the_budget_clock():
    budget = training.TimeBudget(10.0)
    budget.spent = 450.0  # 3/4 of 10 minutes, as after a resume
    decay = training.BudgetDecay(budget, peak=1e-3, start=0.5, min_lr=0.0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    decay.set_model(model)
    budget.on_train_begin()
    decay.on_train_batch_begin(0)
    rate = float(model.optimizer.learning_rate.numpy())
    assert rate == pytest.approx(0.5e-3, rel=1e-3)


def test_a_nan_loss_stops_training_naming_epoch_and_step(tmp_path):
    # Batch 3 of epoch 2 holds a NaN: the loss turns NaN there.
    x = np.ones((8, 2), "float32")
    y = np.ones((8, 1), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")

    class PoisonBatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if self.epoch == 1 and batch == 2:
                self.model.layers[0].kernel.assign(np.full((2, 1), np.nan))

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    backup = str(tmp_path / "backup")
    with pytest.raises(training.TrainingDiverged) as caught:
        model.fit(
            x,
            y,
            batch_size=2,
            epochs=3,
            verbose=0,
            callbacks=[
                keras.callbacks.BackupAndRestore(backup),
                PoisonBatch(),
                training.StopOnNonFinite("a lower --learning-rate"),
            ],
        )
    assert str(caught.value) == (
        "The training loss became nan at epoch 2, step 3: training stopped, "
        "and nothing was saved or exported. The last finished epoch's "
        "checkpoint is kept (--resume starts from it). Try a lower "
        "--learning-rate."
    )
    # BackupAndRestore's end-of-training cleanup did not run: epoch 1's
    # checkpoint is still there to resume from.
    assert os.listdir(backup)


def test_first_epoch_numbers_fits_of_one_epoch_each():
    guard = training.StopOnNonFinite(first_epoch=5)
    guard.on_epoch_begin(0)
    assert guard.epoch == 5


def _checkpoint(directory, epoch, model):
    os.makedirs(directory, exist_ok=True)
    model.save_weights(os.path.join(directory, "latest.weights.h5"))
    with open(os.path.join(directory, "training_metadata.json"), "w") as f:
        f.write(f'{{"epoch": {epoch}, "batch": 0}}')


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def test_check_checkpoint_falls_back_to_the_previous_or_starts_clean(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    backup = str(tmp_path / "backup")
    said = []
    assert training.check_checkpoint(backup, said.append)  # none yet
    _checkpoint(backup, 1, model)
    for name in ("latest.weights.h5", "training_metadata.json"):
        path = os.path.join(backup, name)
        os.replace(path, path + ".bkp")  # epoch 1 becomes the previous one
    _checkpoint(backup, 2, model)
    assert training.check_checkpoint(backup, said.append)
    assert said == []  # both whole: nothing to say

    latest = os.path.join(backup, "latest.weights.h5")
    _truncate(latest)
    assert training.check_checkpoint(backup, said.append)
    assert said[0].startswith(f"warning: {latest} is unreadable (")
    assert said[0].endswith(
        f"resuming from the previous checkpoint ({latest}.bkp), one epoch "
        "earlier."
    )
    with open(os.path.join(backup, "training_metadata.json")) as f:
        assert '"epoch": 1' in f.read()
    model.load_weights(latest)  # whole again

    _truncate(latest)
    _truncate(latest + ".bkp")
    assert not training.check_checkpoint(backup, said.append)
    assert not os.path.exists(backup)
    assert said[1].startswith(f"warning: {latest} is unreadable (")
    assert "no earlier checkpoint is whole" in said[1]
    assert "Starting clean; the broken checkpoint was moved to " in said[1]


def test_drop_unreadable_removes_a_bad_group_and_says_why(tmp_path):
    good = tmp_path / "best.weights.h5.json"
    good.write_text('{"best": 1.0, "epoch": 0}')
    bad = tmp_path / "best.weights.h5"
    bad.write_bytes(b"\x89HDF\r\n")  # a truncated HDF5 header
    said = []
    assert training.drop_unreadable([str(bad), str(good)], said.append)
    assert not bad.exists() and not good.exists()
    assert said[0].startswith(f"warning: unreadable, so removed: {bad} (")
    state = tmp_path / "train_state.json"
    state.write_text('{"train_seconds": 12')
    assert training.drop_unreadable([str(state)], said.append)
    assert "JSONDecodeError" in said[1]
    assert not training.drop_unreadable([str(state)], said.append)


# === Weight averaging ===


def one_weight_model(value=1.0):
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(
                1,
                use_bias=False,
                kernel_initializer=keras.initializers.Constant(value),
            ),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_exponential_moving_average_by_hand():
    # x = 1, y = 0, squared error: each SGD step multiplies w by
    # 1 - 0.1 * 2 = 0.8, so w = 1 -> 0.8 -> 0.64. With decay 0.5 the
    # average goes 1 -> 0.5 * 1 + 0.5 * 0.8 = 0.9 -> 0.5 * 0.9 + 0.5 * 0.64.
    model = one_weight_model()
    ema = training.ExponentialMovingAverage(decay=0.5)
    x, y = np.ones((2, 1), "float32"), np.zeros((2, 1), "float32")
    model.fit(x, y, batch_size=1, epochs=1, callbacks=[ema], verbose=0)
    np.testing.assert_allclose(ema.values()[0], [[0.77]], rtol=1e-6)
    kernel = model.trainable_weights[0]
    with ema.swapped():
        np.testing.assert_allclose(kernel.numpy(), [[0.77]], rtol=1e-6)
    np.testing.assert_allclose(kernel.numpy(), [[0.64]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"decay must be in \(0, 1\)"):
        training.ExponentialMovingAverage(decay=1.0)


def test_average_checkpoints_is_the_mean_of_the_files(tmp_path):
    paths = []
    for value in (1.0, 2.0, 6.0):
        path = str(tmp_path / f"w{value}.weights.h5")
        one_weight_model(value).save_weights(path)
        paths.append(path)
    model = training.average_checkpoints(one_weight_model(0.0), paths)
    np.testing.assert_allclose(model.trainable_weights[0].numpy(), [[3.0]])
    with pytest.raises(ValueError, match="at least one file"):
        training.average_checkpoints(model, [])


def test_keep_last_checkpoints_keeps_k_epochs(tmp_path):
    model = one_weight_model()
    keep = training.KeepLastCheckpoints(str(tmp_path / "last"), k=2)
    x, y = np.ones((2, 1), "float32"), np.zeros((2, 1), "float32")
    model.fit(x, y, batch_size=2, epochs=4, callbacks=[keep], verbose=0)
    assert [os.path.basename(p) for p in keep.paths()] == [
        "epoch_3.weights.h5",
        "epoch_4.weights.h5",
    ]
    assert sorted(os.listdir(tmp_path / "last")) == [
        "epoch_3.weights.h5",
        "epoch_4.weights.h5",
    ]


def test_threads_auto_takes_one_intra_op_thread_on_two_cpus_only():
    resolve = training.resolve_threads
    assert resolve("auto", cpus=2, environ={}) == (1, 2)
    assert resolve("auto", cpus=1, environ={}) == (1, 1)
    assert resolve("auto", cpus=4, environ={}) is None
    assert resolve("auto", cpus=2, environ={}, gpus=1) is None
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        assert resolve("auto", cpus=2, environ={name: "2"}) is None
    assert resolve("default", cpus=2, environ={}) is None
    assert resolve("3,4", cpus=2, environ={}) == (3, 4)
    for bad in ("0,2", "x", "1,2,3", "1"):
        with pytest.raises(
            ValueError,
            match=rf"threads must be auto, default or INTRA,INTER .*"
            rf"received '{bad}'",
        ):
            resolve(bad)


def test_threads_after_tensorflow_started_is_an_error_unless_auto():
    import tensorflow as tf

    float(tf.constant(1.0) + 1.0)  # the pools start with the first op
    with pytest.raises(
        ValueError,
        match=r"threads=7,7: TensorFlow's thread pools already started",
    ):
        training.use_threads("7,7")
    # auto keeps what the process runs with, and says what that is.
    assert training.use_threads("auto") == training.use_threads("default")
