import keras
import pytest

import s2s_zoo
from s2s_zoo import registry

TRANSLATION = [
    "bahdanau_attention",
    "deep_lstm_seq2seq",
    "luong_attention",
    "rnn_encoder_decoder",
]


def test_list_models_has_translation_models_with_family_task_paper():
    infos = s2s_zoo.list_models(task="translation")
    assert [info.name for info in infos] == TRANSLATION
    bahdanau = infos[0]
    assert bahdanau.family == "attention_seq2seq"
    assert bahdanau.task == "translation"
    assert "Bahdanau" in bahdanau.paper
    assert "defaults" not in repr(bahdanau)  # the listing stays readable


def test_model_names_sorted():
    names = s2s_zoo.model_names()
    assert names == sorted(names)
    assert set(TRANSLATION) <= set(names)


def test_describe_gives_paper_defaults():
    info = s2s_zoo.describe("bahdanau_attention")
    assert info.defaults["embedding_dim"] == 620
    assert info.defaults["hidden_dim"] == 1000
    assert info.defaults["maxout_dim"] == 500
    assert info.choices["attention_score"] == ("additive", "concat", "general")


def test_unknown_model_names_closest_and_known():
    with pytest.raises(KeyError) as error:
        s2s_zoo.build("bahdanau_atention")
    message = str(error.value)
    assert message.startswith(
        "Unknown model 'bahdanau_atention'. Did you mean 'bahdanau_attention'?"
    )
    for name in TRANSLATION:
        assert name in message


def test_unknown_hyperparameter_lists_valid_keys():
    with pytest.raises(ValueError) as error:
        s2s_zoo.build("bahdanau_attention", hiden_dim=8)
    message = str(error.value)
    assert message.startswith(
        "Unknown hyperparameter 'hiden_dim' for model 'bahdanau_attention'. "
        "Did you mean 'hidden_dim'? Valid keys: attention_dim, "
        "attention_score, dropout, embedding_dim,"
    )


@pytest.mark.parametrize(
    "key, value, expected",
    [
        (
            "hidden_dim",
            -4,
            "Hyperparameter 'hidden_dim' of model 'bahdanau_attention' must "
            "be a positive integer; received -4.",
        ),
        (
            "hidden_dim",
            "8",
            "Hyperparameter 'hidden_dim' of model 'bahdanau_attention' must "
            "be a positive integer; received '8'.",
        ),
        (
            "hidden_dim",
            True,
            "Hyperparameter 'hidden_dim' of model 'bahdanau_attention' must "
            "be a positive integer; received True.",
        ),
        (
            "attention_score",
            "dot",
            "Hyperparameter 'attention_score' of model 'bahdanau_attention' "
            "must be one of ['additive', 'concat', 'general']; received 'dot'.",
        ),
        (
            "end_token_id",
            -1,
            "Hyperparameter 'end_token_id' of model 'bahdanau_attention' must "
            "be a non-negative integer; received -1.",
        ),
    ],
)
def test_invalid_hyperparameter_value(key, value, expected):
    with pytest.raises(ValueError) as error:
        s2s_zoo.build("bahdanau_attention", **{key: value})
    assert str(error.value) == expected


def test_invalid_float_and_bool_values():
    with pytest.raises(ValueError, match="must be in \\[0, 1\\); received 1.5"):
        s2s_zoo.build("luong_attention", dropout=1.5)
    with pytest.raises(ValueError, match="must be a bool; received 1"):
        s2s_zoo.build("luong_attention", input_feeding=1)


def test_optional_integer_accepts_none():
    config = registry.check_config("rnn_encoder_decoder", {"output_rank": None})
    assert config["output_rank"] is None
    with pytest.raises(ValueError) as error:
        s2s_zoo.build("rnn_encoder_decoder", output_rank=0)
    assert str(error.value) == (
        "Hyperparameter 'output_rank' of model 'rnn_encoder_decoder' must be "
        "a positive integer or None; received 0."
    )


def test_register_twice_raises():
    with pytest.raises(ValueError, match="'rnn_encoder_decoder' is already"):
        registry.register(
            "rnn_encoder_decoder",
            family="x",
            task="x",
            paper="x",
            defaults={},
        )(lambda **config: None)


def test_build_returns_uncompiled_model():
    model = s2s_zoo.build(
        "rnn_encoder_decoder",
        source_vocabulary_size=10,
        target_vocabulary_size=10,
        embedding_dim=4,
        hidden_dim=4,
        maxout_dim=2,
        output_rank=3,
    )
    assert isinstance(model, keras.Model)
    assert not model.compiled
