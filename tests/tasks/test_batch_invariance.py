"""A sentence's translation does not depend on the rest of its batch.

Sorting, padding, filler rows, the fused step and the traced-back beams
are where toolkits let one sentence change another's output (OpenNMT-py
#137, fairseq #3078). A tiny run trained in mixed bfloat16 (the recipe's
precision on CPUs that have it, and the least forgiving) translates
sentences alone, in one batch, in reversed order and mixed with long
strings, through `run.translate`, the exported SavedModel and the
XLA-compiled search, and each must give the same tokens, and scores within
`SCORE_TOLERANCE`.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from s2s_zoo import commands
from s2s_zoo.tasks import translation
from tests.helpers import run_python
from tests.tasks.test_translation import TINY

SENTENCES = [
    "我喜欢中国美食",
    "猫在桌子下",
    "回家。",
    "我生病了。",
    "趕快!",
    "他每天早上都喝一杯咖啡。",
    "你明天有空吗？",
    "",
    "这是我第一次来北京，我很喜欢这里的人和食物。",
    "我",
]
# Long inputs, to make the batch's source and output lengths change.
LONG = ["我喜欢中国美食，" * 6, "猫在桌子下。" * 9]

# Scores are float32 sums of per-token log probabilities; a sentence
# alone and inside a batch of 40 run matrix products of other shapes, so
# the sums may differ in their last bits.
SCORE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run whose weights are then drawn at random and saved: a
    model trained for a minute says nearly the same thing for every
    input, which would make equal outputs vacuous."""
    output_dir = str(tmp_path_factory.mktemp("invariance"))
    trained = translation.train(
        translation.Config(
            **TINY,
            epochs=1,
            max_minutes=2,
            precision="mixed_bfloat16",
            output_dir=output_dir,
            tensorboard=False,
            export=False,
        )
    )
    rng = np.random.default_rng(0)
    for weight in trained.model.weights:
        weight.assign(rng.normal(0, 0.3, weight.shape).astype("float32"))
    trained.save()
    trained.export()
    return commands.open_run(output_dir)


def _by_call(translate, sentences):
    """`translate(list) -> (translations, scores)` over `sentences`."""
    translations, scores = translate(sentences)
    return dict(zip(sentences, zip(translations, scores)))


def _batchings(translate):
    """Every sentence of SENTENCES: alone, all together, reversed, and in
    batches of three mixed with long strings; returns `{way: {sentence:
    (translation, score)}}`."""
    found = {"alone": {}}
    for sentence in SENTENCES:
        found["alone"].update(_by_call(translate, [sentence]))
    found["together"] = _by_call(translate, SENTENCES)
    found["reversed"] = _by_call(translate, SENTENCES[::-1])
    mixed = {}
    for k in range(0, len(SENTENCES), 3):
        batch = [LONG[0], *SENTENCES[k : k + 3], LONG[1]]
        mixed.update(_by_call(translate, batch))
    found["mixed"] = mixed
    return found


def _assert_invariant(found):
    alone = found["alone"]
    for way, results in found.items():
        for sentence in SENTENCES:
            translation_, score = results[sentence]
            assert translation_ == alone[sentence][0], (way, sentence)
            assert score == pytest.approx(
                alone[sentence][1], abs=SCORE_TOLERANCE
            ), (way, sentence)


def _run_translate(run, **options):
    def translate(sentences):
        out = run.translate(sentences, **options)
        return out.translations, out.scores

    return translate


def _served(path):
    serve = tf.saved_model.load(path).signatures["serving_default"]

    def translate(sentences):
        out = serve(text=tf.constant(sentences, tf.string))
        return (
            [t.decode() for t in out["translation"].numpy()],
            out["score"].numpy().tolist(),
        )

    return translate


def test_run_translate_is_batch_invariant(run):
    assert run.config.fused_decoding  # the default serving step
    found = _batchings(_run_translate(run))
    _assert_invariant(found)
    # and the training graph's step gives the same tokens.
    plain = _batchings(_run_translate(run, fused_decoding=False))
    _assert_invariant(plain)


def test_saved_model_is_batch_invariant_and_is_the_run(run):
    served = _batchings(_served(os.path.join(run.output_dir, "saved_model")))
    _assert_invariant(served)
    ours = _batchings(_run_translate(run))
    for sentence in SENTENCES:
        assert served["alone"][sentence][0] == ours["alone"][sentence][0]


def test_xla_search_is_batch_invariant_and_exports(run, tmp_path):
    # XLA compiles one program per batch size (rounded up to a power of
    # two) and eight source lengths; filler rows start finished.
    found = _batchings(_run_translate(run, xla_decoding=True))
    _assert_invariant(found)
    path = str(tmp_path / "xla")
    commands.export(commands.open_run(run.output_dir), path, xla_decoding=True)
    # The exported search compiles again in its own functions: one batch
    # of every sentence is enough to show it is the same search.
    served = _by_call(_served(path), SENTENCES)
    for sentence in SENTENCES:
        assert served[sentence][0] == found["alone"][sentence][0]
    outputs = _served(path)([])
    assert outputs == ([], [])


def test_the_sentences_get_different_translations(run):
    # Equal outputs mean something only if the outputs differ: most
    # sentences get their own translation, and the scores spread far
    # beyond the tolerance.
    out = run.translate(SENTENCES)
    assert len(set(out.translations)) >= len(SENTENCES) // 2
    assert np.ptp(out.scores) > 1000 * SCORE_TOLERANCE
    assert np.isfinite(out.scores).all()


MEMORY = r"""
import json, random, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401

serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
rng = random.Random(0)
words = list("我喜欢中国美食猫在桌子下回家生病了他每天早上都喝一杯咖啡")


def rss():
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024.0


found = []
for call in range(1, 501):
    batch = [
        "".join(rng.choices(words, k=rng.randint(0, 40)))
        for _ in range(rng.randint(1, 48))
    ]
    serve(text=tf.constant(batch))["translation"].numpy()
    if call % 100 == 0:
        found.append(rss())
print(json.dumps(found))
"""

# Resident memory may grow by at most this much between call 300 and
# call 500: it settles once the few batch shapes a translator decodes in
# (`s2s_zoo.serving.translation.bucketed_shape`) have been seen. Without
# them it grew by about 50 MiB every 200 calls of this test.
MEMORY_GROWTH_MIB = 25


def test_serving_memory_settles_after_warm_up(run):
    # 500 calls of 1 to 48 strings of 0 to 40 characters: the resident
    # memory of the serving process after call 300 and after call 500.
    rss = run_python(MEMORY, os.path.join(run.output_dir, "saved_model"))
    assert len(rss) == 5
    assert rss[-1] - rss[2] < MEMORY_GROWTH_MIB, rss
