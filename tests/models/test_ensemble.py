"""Ensembles: the mean of the members' log probabilities at every step."""

import keras
import numpy as np
import pytest

from s2s_zoo.models.ensemble import Ensemble
from tests.models.test_translation_models import DECODER_INPUT
from tests.models.test_translation_models import SOURCE
from tests.models.test_translation_models import build
from tests.models.test_translation_models import inputs
from tests.models.test_translation_models import randomized


def log_softmax(x):
    x = np.asarray(x, "float64")
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def members():
    keras.utils.set_random_seed(0)
    bahdanau = randomized(build("bahdanau_attention"))
    luong = randomized(build("luong_attention"), stddev=0.4)
    cho = randomized(build("rnn_encoder_decoder"), stddev=0.3)
    return bahdanau, luong, cho


def test_step_is_the_renormalised_mean_of_log_probabilities(members):
    bahdanau, luong, cho = members
    ensemble = Ensemble([bahdanau, luong, cho])
    state, memory = ensemble.encode(SOURCE)
    tokens = np.array([2, 2], "int32")
    got, _, attention = ensemble.decode_step(tokens, state, memory)
    # By hand: each member's own step, log-softmaxed, averaged, and
    # renormalised over the vocabulary.
    logits, weights = [], []
    for member in members:
        s, m = member.encode(SOURCE)
        step_logits, _, step_attention = member.decode_step(tokens, s, m)
        logits.append(log_softmax(numpy(step_logits)))
        if member.has_attention:
            weights.append(numpy(step_attention))
    expected = log_softmax(np.mean(logits, axis=0))
    np.testing.assert_allclose(numpy(got), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.exp(numpy(got)).sum(-1), 1.0, rtol=1e-5)
    # Attention: the mean of the two members that attend (Cho has none).
    np.testing.assert_allclose(
        numpy(attention), np.mean(weights, axis=0), rtol=1e-5, atol=1e-6
    )
    assert ensemble.has_attention


def test_teacher_forced_call_matches_the_members(members):
    ensemble = Ensemble(list(members))
    got = numpy(ensemble(inputs()))
    expected = log_softmax(
        np.mean([log_softmax(numpy(m(inputs()))) for m in members], axis=0)
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert got.shape == DECODER_INPUT.shape + (13,)


@pytest.mark.parametrize("copies", [1, 2])
def test_copies_of_one_model_search_as_the_model(members, copies):
    model = members[0]
    ensemble = Ensemble([model] * copies)
    for beam_width in (1, 3):
        alone = model.generate(SOURCE, max_length=6, beam_width=beam_width)
        together = ensemble.generate(
            SOURCE, max_length=6, beam_width=beam_width
        )
        np.testing.assert_array_equal(
            numpy(together.token_ids), numpy(alone.token_ids)
        )
        np.testing.assert_allclose(
            numpy(together.scores), numpy(alone.scores), rtol=1e-5
        )
        np.testing.assert_allclose(
            numpy(together.attention),
            numpy(alone.attention),
            rtol=1e-5,
            atol=1e-6,
        )


def test_ensemble_changes_the_search(members):
    bahdanau, luong, _ = members
    ensemble = Ensemble([bahdanau, luong])
    out = ensemble.generate(SOURCE, max_length=6, beam_width=3)
    assert numpy(out.token_ids).shape == (2, 3, 6)
    assert numpy(out.attention).shape == (2, 3, 6, SOURCE.shape[1])
    scores = numpy(out.scores)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    # The decoding options run inside the same loop.
    blocked = ensemble.generate(
        SOURCE, max_length=6, beam_width=3, no_repeat_ngram_size=1
    )
    for row in numpy(blocked.token_ids).reshape(-1, 6):
        words = [t for t in row.tolist() if t not in (0, 3)]
        assert len(words) == len(set(words))


def test_keras_file_round_trip(members, tmp_path):
    ensemble = Ensemble(list(members))
    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Ensemble)
    assert [type(m) for m in loaded.members] == [type(m) for m in members]
    before = ensemble.generate(SOURCE, max_length=6, beam_width=2)
    after = loaded.generate(SOURCE, max_length=6, beam_width=2)
    np.testing.assert_array_equal(
        numpy(after.token_ids), numpy(before.token_ids)
    )
    np.testing.assert_allclose(
        numpy(after.scores), numpy(before.scores), rtol=1e-6
    )


def test_members_must_share_the_target_vocabulary(members):
    other = build("bahdanau_attention", target_vocabulary_size=14)
    with pytest.raises(ValueError) as error:
        Ensemble([members[0], other])
    assert str(error.value) == (
        "Ensemble member 1 predicts 14 target tokens, member 0 13; members "
        "must share the target vocabulary."
    )
    ends = build("bahdanau_attention", end_token_id=4)
    with pytest.raises(ValueError, match="member 1 has end_token_id 4"):
        Ensemble([members[0], ends])
    with pytest.raises(ValueError, match="at least one model"):
        Ensemble([])
    with pytest.raises(TypeError, match="member 1 is a Sequential"):
        Ensemble([members[0], keras.Sequential([keras.layers.Dense(1)])])


def test_members_of_one_name_are_copied_under_new_names(members, tmp_path):
    # Runs trained in separate processes all load under one name (say
    # "rnn_search"); a model made from another's config takes its name.
    first = members[0]
    second = randomized(type(first).from_config(first.get_config()), 0.3)
    assert second.name == first.name
    ensemble = Ensemble([first, second])
    names = [m.name for m in ensemble.members]
    assert names == [first.name, f"{first.name}_1"]
    assert second.name == first.name  # the caller's model is unchanged
    for copy, original in zip(ensemble.members[1].weights, second.weights):
        np.testing.assert_array_equal(numpy(copy), numpy(original))
    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        numpy(loaded(inputs())), numpy(ensemble(inputs())), rtol=1e-5
    )
