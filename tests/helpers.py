"""Test helpers shared by the test modules (keras.src.testing is private)."""

import json

import keras


def assert_config_round_trip(layer_or_model):
    """get_config -> from_config -> get_config gives equal JSON, also through
    serialize_keras_object / deserialize_keras_object."""
    cls = type(layer_or_model)
    config = layer_or_model.get_config()
    clone = cls.from_config(config)
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(
        config, sort_keys=True
    )
    serialized = keras.saving.serialize_keras_object(layer_or_model)
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is cls
    assert json.dumps(revived.get_config(), sort_keys=True) == json.dumps(
        config, sort_keys=True
    )
    return clone


def kill_after_epochs(command, history_csv, epochs, timeout=240):
    """Starts `command`, waits until `history_csv` holds `epochs` rows (or
    `timeout` seconds pass), kills it with SIGKILL and returns the number
    of rows it had finished."""
    import os
    import signal
    import subprocess
    import time

    def rows():
        if not os.path.exists(history_csv):
            return 0
        with open(history_csv) as f:
            return max(0, len(f.read().strip().splitlines()) - 1)

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + timeout
    while rows() < epochs and time.time() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return rows()
