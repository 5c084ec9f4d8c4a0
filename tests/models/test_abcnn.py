import numpy as np
import pytest

from s2s_zoo import registry
from s2s_zoo.models.abcnn import ABCNN
from s2s_zoo.models.abcnn import _LexicalOverlap
from tests.helpers import assert_config_round_trip

NAMES = ("bcnn", "abcnn1", "abcnn2", "abcnn3")


@pytest.fixture
def tiny_config():
    # The registry's "tiny" preset, spelled out where a test overrides it.
    return registry.describe("abcnn3").preset("tiny")


@pytest.fixture
def tiny_batch():
    return {
        "token_ids_1": np.array([[2, 3, 4, 0], [5, 0, 0, 0]], "int32"),
        "token_ids_2": np.array([[2, 6, 7, 8, 0], [0, 0, 0, 0, 0]], "int32"),
    }


def test_registry_lists_the_four_models():
    assert registry.model_names(family="abcnn") == sorted(NAMES)
    assert registry.describe("abcnn3").defaults["filters"] == 50


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("num_blocks", [1, 2])
def test_build_forward_shape_and_finite(
    name, num_blocks, tiny_config, tiny_batch
):
    model = registry.build(name, **{**tiny_config, "num_blocks": num_blocks})
    logits = np.asarray(model(tiny_batch))
    assert logits.shape == (2,)
    assert np.all(np.isfinite(logits))
    # Logits, like every s2s_zoo classifier: the sigmoid is the score.
    np.testing.assert_allclose(
        model.predict_probabilities(tiny_batch),
        1 / (1 + np.exp(-logits)),
        rtol=1e-5,
    )


@pytest.mark.parametrize("name", NAMES)
def test_softmax_head_and_overlap_features(name, tiny_config, tiny_batch):
    model = registry.build(
        name, **tiny_config, head="softmax", overlap_features=True
    )
    logits = np.asarray(model(tiny_batch))
    assert logits.shape == (2, 3)
    probabilities = model.predict_probabilities(tiny_batch)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)


def test_attention_layers_per_variant(tiny_config):
    counts = {}
    for name in NAMES:
        model = registry.build(name, **tiny_config)
        counts[name] = (
            len(model.attention_feature_maps),
            len(model.attention_poolings),
            len(model.window_poolings),
        )
    assert counts == {
        "bcnn": (0, 0, 2),
        "abcnn1": (2, 0, 2),
        "abcnn2": (0, 2, 0),
        "abcnn3": (2, 2, 0),
    }
    # ABCNN-1 block 1: W_0 (s_1, d_0) and W_1 (s_0, d_0); block 2: d = 3.
    model = registry.build("abcnn1", **tiny_config)
    shapes = [tuple(w.shape) for w in model.attention_feature_maps[0].weights]
    assert shapes == [(5, 4), (4, 4)]
    # ABCNN-1's convolution reads 2 channels: 2 d_0 input features.
    assert tuple(model.convolutions[0].weights[0].shape) == (2, 8, 3)


def test_attention_matrices_for_plots(tiny_config, tiny_batch):
    model = registry.build("abcnn3", **tiny_config)
    matrices = model.attention_matrices(
        tiny_batch["token_ids_1"], tiny_batch["token_ids_2"]
    )
    assert sorted(matrices) == [
        "block_1_convolution",
        "block_1_input",
        "block_2_convolution",
        "block_2_input",
    ]
    assert matrices["block_1_input"].shape == (2, 4, 5)
    assert matrices["block_1_convolution"].shape == (2, 5, 6)
    # the second pair's sentence 2 is empty: every entry is masked
    np.testing.assert_array_equal(matrices["block_1_input"][1], 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip_and_keras_file(
    name, tiny_config, tiny_batch, tmp_path
):
    import keras

    model = registry.build(name, **tiny_config, overlap_features=True)
    model.set_word_statistics(np.ones((12, 2), "float32"))
    clone = assert_config_round_trip(model)
    assert clone.get_config()["variant"] == NAMES.index(name)
    path = str(tmp_path / "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is ABCNN
    np.testing.assert_allclose(
        restored(tiny_batch), model(tiny_batch), rtol=1e-6
    )


def test_lexical_overlap_by_hand():
    layer = _LexicalOverlap(6)
    layer.build()
    # ids 2, 3, 4 are content words with IDF 1, 2, 3; id 5 a stopword.
    layer.word_statistics.assign(
        np.array([[0, 0], [0, 0], [1, 1], [1, 2], [1, 3], [0, 0]], "float32")
    )
    features = np.asarray(
        layer(np.array([[2, 3, 5, 0]]), np.array([[3, 4, 5, 0, 0]]))
    )
    # 1 in 2: only id 3 matches -> count 1 of 2, IDF 2 of 3.
    # 2 in 1: only id 3 matches -> count 1 of 2, IDF 2 of 5.
    expected = [
        1 / 2,
        2 / 3,
        1 / 2,
        2 / 5,
        np.log(2),
        np.log(3),
        np.log(2),
        np.log(3),
    ]
    np.testing.assert_allclose(features[0], expected, rtol=1e-6)


def test_bad_hyperparameters_are_refused(tiny_config):
    with pytest.raises(ValueError, match="must be one of"):
        registry.build("bcnn", **tiny_config, head="regression")
    with pytest.raises(ValueError, match="Unknown hyperparameter"):
        registry.build("bcnn", **tiny_config, normalize_pool_weights=True)
    with pytest.raises(ValueError, match="variant must be 0"):
        ABCNN(variant=4)
    with pytest.raises(ValueError, match="needs num_classes >= 2"):
        ABCNN(variant=0, head="softmax", num_classes=1, **tiny_config)
    model = registry.build("bcnn", **tiny_config)
    with pytest.raises(ValueError, match="has no overlap features"):
        model.set_word_statistics(np.zeros((12, 2)))


@pytest.mark.parametrize(
    "pooled, overlap, width",
    [
        # 3 levels (embeddings, 2 blocks): a cosine each; all-ap vectors of
        # both sentences 2 * (4 + 3 + 3); 8 overlap features.
        (True, False, 3 + 20),
        (False, True, 3 + 8),
        (False, False, 3),
    ],
)
def test_output_layer_inputs(pooled, overlap, width, tiny_config):
    model = registry.build(
        "abcnn3",
        **tiny_config,
        pooled_features=pooled,
        overlap_features=overlap,
        standardize_features=True,
    )
    assert tuple(model.classifier.kernel.shape) == (width, 1)
    assert tuple(model.standardize.moving_mean.shape) == (width,)
    assert model.standardize.gamma is None  # no scale: a plain shift
    assert_config_round_trip(model)


@pytest.mark.parametrize(
    "name, extra, symmetric",
    [
        ("bcnn", {}, True),
        ("abcnn2", {}, True),
        ("abcnn1", {"share_attention_weights": True}, True),
        ("abcnn3", {"share_attention_weights": True}, True),
        ("abcnn3", {"share_attention_weights": False}, False),
    ],
)
def test_shared_weights_keep_the_pair_symmetric(name, extra, symmetric):
    # With similarity features only, score(a, b) == score(b, a) unless the
    # two sentences have attention matrices of their own.
    model = registry.build(
        name,
        vocabulary_size=12,
        embedding_dim=4,
        sequence_length_1=5,
        sequence_length_2=5,
        filters=3,
        kernel_size=2,
        pooled_features=False,
        **extra,
    )
    a = np.array([[2, 3, 4, 0, 0], [5, 6, 7, 8, 9]], "int32")
    b = np.array([[3, 9, 0, 0, 0], [5, 1, 2, 0, 0]], "int32")
    forward = np.asarray(model({"token_ids_1": a, "token_ids_2": b}))
    swapped = np.asarray(model({"token_ids_1": b, "token_ids_2": a}))
    assert np.allclose(forward, swapped, atol=1e-6) == symmetric


def test_an_output_layer_without_features_is_refused(tiny_config):
    with pytest.raises(ValueError, match="needs at least one of"):
        registry.build(
            "bcnn",
            **tiny_config,
            similarity_features=False,
            pooled_features=False,
        )


def test_standardized_features_stay_in_the_training_range(
    tiny_config, monkeypatch
):
    # An empty sentence, or one word repeated to the full length, gives
    # features far outside what training saw (cosines of 0 where training
    # saw ~1); standardized, they were unbounded and so was the logit.
    model = registry.build(
        "abcnn1",
        **tiny_config,
        standardize_features=True,
        overlap_features=True,
        pooled_features=False,
    )
    model.set_word_statistics(np.ones((tiny_config["vocabulary_size"], 2)))
    model.compile()
    rng = np.random.default_rng(0)
    inputs = {
        "token_ids_1": rng.integers(2, 12, (32, 4)).astype("int32"),
        "token_ids_2": rng.integers(2, 12, (32, 5)).astype("int32"),
    }
    model.fit(inputs, rng.integers(0, 2, 32), batch_size=8, verbose=0)
    layer = model.standardize
    low, high = layer.feature_min.numpy(), layer.feature_max.numpy()
    assert np.all(low <= high)

    seen = {}
    call = layer.call

    def spy(x, training=None, mask=None):
        seen["inputs"] = np.asarray(x)
        seen["outputs"] = np.asarray(call(x, training=training, mask=mask))
        return seen["outputs"]

    monkeypatch.setattr(layer, "call", spy)
    out_of_range = {
        "token_ids_1": np.array([[0, 0, 0, 0], [3, 3, 3, 3]], "int32"),
        "token_ids_2": np.array([[4, 5, 6, 0, 0], [3, 3, 3, 3, 3]], "int32"),
    }
    logits = np.asarray(model(out_of_range, training=False))
    assert np.all(np.isfinite(logits))
    raw = seen["inputs"]
    assert np.any((raw < low - 1e-6) | (raw > high + 1e-6))  # truly outside

    def standardized(x):
        std = np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
        return (x - layer.moving_mean.numpy()) / std + layer.beta.numpy()

    z_low, z_high = standardized(low), standardized(high)
    assert np.all(seen["outputs"] >= z_low - 1e-4)
    assert np.all(seen["outputs"] <= z_high + 1e-4)
    # The same pairs with the range forgotten: what the model did before.
    layer.feature_min.assign(np.full_like(low, np.inf))
    layer.feature_max.assign(np.full_like(high, -np.inf))
    model(out_of_range, training=False)
    assert np.any(seen["outputs"] > z_high + 1e-2) or np.any(
        seen["outputs"] < z_low - 1e-2
    )


def test_a_run_saved_before_the_range_weights_still_loads(tiny_config):
    # Its standardize layer holds the three BatchNormalization weights only:
    # they load, and the range stays unset (no clipping).
    from s2s_zoo.layers import BoundedStandardization

    layer = BoundedStandardization(scale=False)
    layer.build((None, 3))
    store = {"0": np.ones(3), "1": np.full(3, 2.0), "2": np.full(3, 4.0)}
    layer.load_own_variables(store)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), [2.0] * 3)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), [4.0] * 3)
    assert np.all(np.isinf(layer.feature_min.numpy()))


def test_probabilities_batch_by_batch_are_those_of_one_call(
    tiny_config, tiny_batch
):
    model = registry.build("abcnn3", **tiny_config)
    whole = model.predict_probabilities(tiny_batch)
    assert whole.shape == (2,)
    np.testing.assert_allclose(
        model.predict_probabilities(tiny_batch, batch_size=1), whole, rtol=1e-6
    )
