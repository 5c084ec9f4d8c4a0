"""Trained presets: any task's run saved in keras-hub's preset layout loads
back as the same run from a local directory, a model hub handle (only the
network call replaced) or a built-in name; every file is checked against
its SHA-256; `s2s_zoo.build(name, weights=...)` follows the Keras
convention, and sizes keep their old spelling."""

import json
import os
import shutil

import numpy as np
import pytest

import s2s_zoo
from s2s_zoo import pretrained
from s2s_zoo import tasks
from tests.tasks.test_base import KEPT
from tests.tasks.test_base import _use

TASKS = ("translation", "aspect_sentiment", "sentence_pairs")


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """Each task's kept run, and its preset."""
    out = {}
    for task in TASKS:
        run = tasks.load(os.path.join(KEPT, task))
        path = str(tmp_path_factory.mktemp("presets") / task)
        assert run.save_to_preset(path, data="tiny fixture") == path
        out[task] = (run, path)
    return out


@pytest.mark.parametrize("task", TASKS)
def test_a_preset_loads_back_as_the_same_run(presets, task):
    run, path = presets[task]
    again = tasks.from_preset(path)
    assert type(again) is type(run)
    assert _use(again) == _use(run)
    for a, b in zip(run.model.weights, again.model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert again.metrics["results"] == run.metrics["results"]
    config = {**vars(run.config), "output_dir": None}
    assert vars(again.config) == config


def test_a_preset_is_keras_hubs_layout_with_its_figures(presets):
    from keras_hub.src.utils import preset_utils

    _, path = presets["translation"]
    # What keras_hub.upload_preset checks before it uploads.
    preset_utils._validate_backbone(path)
    assert sorted(os.listdir(path)) == [
        "assets",
        "config.json",
        "metadata.json",
        "metrics.json",
        "model.weights.h5",
        "task.json",
    ]
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    assert config["class_name"] == "RNNSearch"
    with open(os.path.join(path, "metadata.json")) as f:
        metadata = json.load(f)
    assert metadata["task"] == "translation"
    assert metadata["model"] == "bahdanau_attention"
    assert metadata["data"] == "tiny fixture"
    assert set(metadata["files"]) == {
        "config.json",
        "model.weights.h5",
        "task.json",
        "metrics.json",
        *(
            f"assets/{name}"
            for name in os.listdir(os.path.join(path, "assets"))
        ),
    }
    assert metadata["summary"].startswith("translation, bahdanau_attention: ")
    # No folder of the machine that trained it.
    with open(os.path.join(path, "task.json")) as f:
        assert json.load(f)["config"]["output_dir"] is None


def test_an_altered_file_is_refused_by_name(presets, tmp_path):
    _, path = presets["translation"]
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    with open(copy / "model.weights.h5", "r+b") as f:
        f.seek(-100, os.SEEK_END)
        f.write(b"\x5a" * 10)
    with pytest.raises(pretrained.PresetError, match="model.weights.h5 of"):
        tasks.from_preset(str(copy))
    os.remove(copy / "assets" / "source.vocab")
    with pytest.raises(pretrained.PresetError, match="missing assets/source"):
        tasks.from_preset(str(copy))


def test_a_hub_handle_goes_through_keras_hubs_fetching(
    presets, tmp_path, monkeypatch
):
    # Only the network call is replaced: Hugging Face's download returns
    # the file from a local copy of the published folder.
    from keras_hub.src.utils import preset_utils

    run, path = presets["translation"]
    fetched = []

    def hf_hub_download(repo_id, filename, **kwargs):
        assert repo_id == "someone/zh-en"
        fetched.append(filename)
        return os.path.join(path, filename)

    monkeypatch.setattr(
        preset_utils.huggingface_hub, "hf_hub_download", hf_hub_download
    )
    monkeypatch.setenv("S2S_ZOO_CACHE", str(tmp_path))
    again = tasks.from_preset("hf://someone/zh-en")
    assert _use(again) == _use(run)
    assert fetched[0] == "metadata.json"
    assert "model.weights.h5" in fetched


def test_an_unknown_handle_names_the_built_in_presets():
    with pytest.raises(pretrained.PresetError) as error:
        tasks.from_preset("bahdanau_nowhere")
    message = str(error.value)
    assert message.startswith("Unknown preset 'bahdanau_nowhere': not a ")
    for name in pretrained.builtin_names():
        assert name in message


def test_build_takes_trained_weights_the_keras_way(presets):
    run, path = presets["translation"]
    model = s2s_zoo.build("bahdanau_attention", weights=path)
    for a, b in zip(run.model.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="holds a 'bahdanau_attention' model"):
        s2s_zoo.build("luong_attention", weights=path)
    with pytest.raises(ValueError, match="takes its sizes from the preset"):
        s2s_zoo.build("bahdanau_attention", weights=path, size="tiny")


def test_sizes_keep_their_old_name():
    new = s2s_zoo.build("bahdanau_attention", size="tiny")
    old = s2s_zoo.build("bahdanau_attention", preset="tiny")
    assert new.count_params() == old.count_params()
    with pytest.raises(ValueError, match="Unknown size 'huge'.*weights="):
        s2s_zoo.build("bahdanau_attention", size="huge")
