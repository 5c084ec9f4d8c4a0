"""Every reader skips a malformed row with a warning naming file and line
(one bad row never makes an official file unusable), and `strict=True`
raises at the first one instead. Fixtures are in the official formats."""

import dataclasses
import os
import warnings

import pytest

from s2s_zoo.data import embeddings
from s2s_zoo.data import sentence_pairs
from s2s_zoo.data import translation
from s2s_zoo.data.problems import MalformedRowWarning

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
SKIPPED = " The row is skipped (strict=True stops at it)."


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


def read_leniently(reader, *args):
    """`reader(*args)` and the messages of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = reader(*args)
    assert all(w.category is MalformedRowWarning for w in caught)
    return result, [str(w.message) for w in caught]


def check(reader, args, problems, error):
    """Lenient: one warning per problem, in file order; strict: the first
    problem raises `error` with the same text."""
    result, said = read_leniently(reader, *args)
    assert said == [problem + SKIPPED for problem in problems]
    with pytest.raises(error) as raised:
        reader(*args, strict=True)
    assert str(raised.value) == problems[0]
    return result


def test_tatoeba_tsv():
    path = fixture("translation", "bad_rows.tsv")
    pairs = check(
        translation.read_tsv_pairs,
        [path],
        [
            f"{path}:2: expected 2 or 3 tab-separated columns, found 1.",
            f"{path}:3: empty sentence in column 1.",
            f"{path}:4: expected 2 or 3 tab-separated columns, found 4.",
        ],
        translation.DataFormatError,
    )
    assert pairs == [
        ("嗨。", "Hi."),
        ("我喜欢中国美食。", "I like Chinese food."),
    ]


def test_a_file_without_one_valid_row_still_raises():
    path = fixture("translation", "empty_field.tsv")
    with pytest.raises(
        translation.DataFormatError,
        match=f"^{path}: no valid sentence pair.$",
    ):
        read_leniently(translation.read_tsv_pairs, path)


def test_parallel_files():
    source = fixture("translation", "src_gap.txt")
    target = fixture("translation", "tgt_gap.txt")
    pairs = check(
        translation.read_parallel_files,
        [source, target],
        [
            f"{source}:2: empty line opposite a non-empty one.",
            f"{target}:4: empty line opposite a non-empty one.",
        ],
        translation.DataFormatError,
    )
    assert pairs == [("a b c", "x y"), ("d e", "z")]


def test_wikiqa():
    path = fixture("wikiqa", "WikiQA-bad-rows.tsv")
    pairs = check(
        sentence_pairs.read_wikiqa,
        [path],
        [
            f"{path}:3: expected 7 TAB-separated columns (WikiQA TSV); "
            "found 6.",
            f"{path}:4: Label must be 0 or 1; found 'yes'.",
        ],
        sentence_pairs.SentencePairFileError,
    )
    assert pairs.groups == ["Q1", "Q2"]
    assert pairs.labels.tolist() == [0, 1]


def test_msrp():
    path = fixture("msrp", "msr_paraphrase_bad_rows.txt")
    pairs = check(
        sentence_pairs.read_msrp,
        [path],
        [
            f"{path}:3: Quality must be 0 or 1; found '2'.",
            f"{path}:4: expected 5 TAB-separated columns (MSRP); found 4.",
        ],
        sentence_pairs.SentencePairFileError,
    )
    assert pairs.labels.tolist() == [1, 0]
    assert pairs.sentence2[1] == "Shares rose in Tokyo."


def test_sick():
    path = fixture("sick", "SICK-bad-rows.txt")
    pairs = check(
        sentence_pairs.read_sick,
        [path],
        [
            f"{path}:3: entailment_label must be one of ['ENTAILMENT', "
            "'NEUTRAL', 'CONTRADICTION']; found 'MAYBE'.",
            f"{path}:4: relatedness_score must be a number; found 'high'.",
            f"{path}:6: expected 12 TAB-separated columns (SICK); found 4.",
        ],
        sentence_pairs.SentencePairFileError,
    )
    assert pairs.sentence1 == [
        "A group of kids is playing in a yard",
        "A woman is cutting onions",
    ]


def test_word_vectors():
    path = fixture("embeddings", "bad_rows.txt")
    vectors = check(
        embeddings.read_word_vectors,
        [path],
        [
            f"{path}:2: expected 3 values after 'pizza', found 2.",
            f"{path}:3: a value after 'food' is not a number.",
        ],
        embeddings.EmbeddingFileError,
    )
    assert sorted(vectors) == ["Great", "the"]


def test_a_missing_header_is_no_row_to_skip():
    path = fixture("sick", "SICK-tiny.txt")
    with pytest.raises(
        sentence_pairs.SentencePairFileError,
        match=f"^{path}:1: expected the MSRP header",
    ):
        read_leniently(sentence_pairs.read_msrp, path)


def test_the_tasks_pass_strict_data_on():
    from s2s_zoo import cli
    from s2s_zoo.tasks import sentence_pairs as pairs_task
    from s2s_zoo.tasks import translation as translation_task

    path = fixture("translation", "bad_rows.tsv")
    pairs, said = read_leniently(translation_task.load_pairs, [path])
    assert len(pairs) == 2 and len(said) == 3
    with pytest.raises(translation.DataFormatError, match=f"^{path}:2: "):
        translation_task.load_pairs([path], strict=True)
    sick = fixture("sick", "SICK-bad-rows.txt")
    arguments = cli.parser().parse_args(
        ["sentence-pairs", "--task=sick", f"--train={sick}", "--strict-data"]
    )
    config = cli.config_from_args(pairs_task, arguments)
    assert config.strict_data is True
    config = pairs_task.resolve(
        pairs_task.Config(task="sick", train=sick, dev=sick, test=sick)
    )
    splits, said = read_leniently(pairs_task.load_splits, config)
    assert [len(splits[k]) for k in ("train", "dev", "test")] == [1, 1, 0]
    strict = dataclasses.replace(config, strict_data=True)
    with pytest.raises(sentence_pairs.SentencePairFileError, match=":3: "):
        pairs_task.load_splits(strict)


def test_invalid_utf8_is_a_malformed_row_like_any_other(tmp_path):
    # Bytes that are not UTF-8 (Latin-1 "é" here) once stopped a run with
    # a UnicodeDecodeError, with or without strict.
    path = tmp_path / "pairs.tsv"
    path.write_bytes(
        "Hi.\t嗨。\n".encode()
        + b"Caf\xe9.\t\xe5\x92\x96\xe5\x95\xa1\n"
        + "Run.\t跑。\n".encode()
    )
    pairs, said = read_leniently(translation.read_tsv_pairs, str(path))
    assert pairs == [("嗨。", "Hi."), ("跑。", "Run.")]
    assert said == [f"{path}:2: not valid utf-8 text." + SKIPPED]
    source, target = tmp_path / "a.zh", tmp_path / "a.en"
    source.write_bytes("嗨。\n咖啡\n".encode())
    target.write_bytes(b"Hi.\nCaf\xe9.\n")
    pairs, said = read_leniently(
        translation.read_parallel_files, str(source), str(target)
    )
    assert pairs == [("嗨。", "Hi.")]
    assert said == [f"{target}:2: not valid utf-8 text." + SKIPPED]
