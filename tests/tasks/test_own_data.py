"""Your own data for every task, from Python and from a file: aspect
sentiment takes `(sentence, aspect, polarity)` items (the aspect a term or
its character offsets), sentence pairs `(first, second, label)` items;
each bad item is named, by index or by file and line."""

import json

import pytest

from s2s_zoo.tasks import aspect_sentiment
from s2s_zoo.tasks import sentence_pairs
from s2s_zoo.tasks.aspect_sentiment import data as aspect_data
from s2s_zoo.tasks.sentence_pairs import data as pair_data
from tests.tasks.test_aspect_sentiment import TINY_MODEL
from tests.tasks.test_sentence_pairs import TINY

NAMES = ("positive", "negative", "neutral")
REVIEWS = [
    ("The food was great but the service was slow .", "food", "positive"),
    ("The food was great but the service was slow .", "service", "negative"),
    ("Our waiter was rude .", (4, 10), "negative"),
    ("The pasta is fine .", "pasta", "neutral"),
    ("I loved the dessert .", "dessert", "positive"),
    ("The wine list is short .", "wine list", "negative"),
    ("Prices are fair .", "Prices", "neutral"),
    ("Great pizza and cheap beer .", "pizza", "positive"),
    ("Great pizza and cheap beer .", "beer", "positive"),
    ("The room was noisy .", "room", "negative"),
] * 4


def test_aspect_items_become_examples_with_offsets():
    examples = aspect_data.examples_from_items(REVIEWS[:3], NAMES)
    food, service, waiter = examples
    assert (food.aspect, food.start, food.end) == ("food", 4, 8)
    assert (waiter.aspect, waiter.start, waiter.end) == ("waiter", 4, 10)
    # One sentence, one id: a split keeps its aspects together.
    assert food.sentence_id == service.sentence_id != waiter.sentence_id


@pytest.mark.parametrize(
    "item, message",
    [
        (("Nice .", "Nice", "great"), "unknown polarity 'great'; valid: "),
        (("Nice .", "food", "positive"), "the aspect 'food' is not in the"),
        (("Nice .", (3, 40), "positive"), "offsets (3, 40) are not (start,"),
        (("Nice .", "positive"), "expected (sentence, aspect, polarity)"),
    ],
)
def test_a_bad_aspect_item_is_named(item, message):
    with pytest.raises(ValueError) as error:
        aspect_data.examples_from_items([REVIEWS[0], item], NAMES)
    assert str(error.value).startswith("item 1 (")
    assert message in str(error.value)


def test_a_bad_line_of_an_examples_file_is_named(tmp_path):
    path = tmp_path / "mine.tsv"
    path.write_text("Good food .\tfood\tpositive\nBad .\tpositive\n")
    with pytest.raises(ValueError) as error:
        aspect_data.read_examples(str(path))
    assert str(error.value) == (
        f"{path}, line 2: expected sentence, aspect and polarity separated "
        "by TABs, got 2 field(s)."
    )
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text(
        json.dumps(
            {
                "sentence": "Rude waiter .",
                "start": 5,
                "end": 11,
                "polarity": "angry",
            }
        )
        + "\n"
    )
    items, places = aspect_data.read_examples(str(jsonl))
    with pytest.raises(ValueError) as error:
        aspect_data.examples_from_items(items, NAMES, places)
    assert str(error.value).startswith(
        f"{jsonl}, line 1: unknown polarity 'angry'"
    )


def test_aspect_sentiment_trains_on_your_own_items(tmp_path):
    run = aspect_sentiment.train(
        aspect_sentiment.Config(
            model="atae_lstm",
            epochs=1,
            output_dir=str(tmp_path / "run"),
            dev_fraction=0.2,
            export=False,
        ),
        examples=REVIEWS,
        model_config=TINY_MODEL,
        verbose=0,
    )
    assert run.metrics["config"]["train"] is None
    assert 0 <= run.metrics["results"]["accuracy"] <= 1
    assert run.predict(["The beer is cold ."], ["beer"]).labels[0] in NAMES


PAIRS = [
    ("A man plays a guitar", "A person plays an instrument", "ENTAILMENT"),
    ("A dog runs", "A cat sleeps", "NEUTRAL"),
    ("A woman is cooking", "Nobody is cooking", "CONTRADICTION"),
    ("Kids play in a yard", "Children play outside", "ENTAILMENT"),
    ("A boy rides a bike", "A girl reads a book", "NEUTRAL"),
] * 6


def test_pair_items_by_task():
    sick = pair_data.pairs_from_items(PAIRS[:3], "sick")
    assert sick.labels.tolist() == [0, 1, 2]
    wikiqa = pair_data.pairs_from_items(
        [("who ?", "him", 1), ("who ?", "her", "0")], "wikiqa"
    )
    assert wikiqa.labels.tolist() == [1, 0]
    assert wikiqa.groups == ["who ?", "who ?"]
    with pytest.raises(ValueError) as error:
        pair_data.pairs_from_items([("a", "b", 2)], "msrp")
    assert str(error.value) == (
        "item 0 (('a', 'b', 2)): unknown label 2; msrp labels are 0 and 1."
    )


def test_sentence_pairs_train_on_your_own_file(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{a}\t{b}\t{y}\n" for a, b, y in PAIRS))
    run = sentence_pairs.train(
        sentence_pairs.Config(
            **{**TINY, "task": "sick", "pairs": str(path)},
            output_dir=str(tmp_path / "run"),
            export=False,
        )
    )
    assert run.metrics["config"]["pairs"] == str(path)
    assert run.score(["A dog runs"], ["A cat sleeps"]).labels[0] in (
        "ENTAILMENT",
        "NEUTRAL",
        "CONTRADICTION",
    )
