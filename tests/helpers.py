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
