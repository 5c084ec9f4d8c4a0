import os

import numpy as np
import pytest

from s2s_zoo.data import sentence_pairs as data

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
WIKIQA_TSV = os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.tsv")
WIKIQA_TXT = os.path.join(FIXTURES, "wikiqa", "WikiQA-tiny.txt")
MSRP = os.path.join(FIXTURES, "msrp", "msr_paraphrase_tiny.txt")
SICK = os.path.join(FIXTURES, "sick", "SICK-tiny.txt")


def test_read_wikiqa_tsv():
    pairs = data.read_wikiqa(WIKIQA_TSV)
    assert len(pairs) == 7
    assert pairs.groups == ["Q1"] * 3 + ["Q2"] * 2 + ["Q3"] * 2
    np.testing.assert_array_equal(pairs.labels, [0, 1, 0, 1, 1, 0, 0])
    assert pairs.sentence1[5] == 'What is the "Rocky" film about?'
    assert pairs.sentence2[1] == (
        "A glacier cave is a cave formed within the ice of a glacier."
    )


def test_read_wikiqa_txt_groups_by_consecutive_question():
    pairs = data.read_wikiqa(WIKIQA_TXT)
    assert len(pairs) == 8
    # the last row repeats q1's text after q3: a new group, as in the corpus
    assert pairs.groups == ["q0"] * 3 + ["q1"] * 2 + ["q2"] * 2 + ["q3"]
    np.testing.assert_array_equal(pairs.labels, [0, 1, 0, 1, 0, 0, 1, 1])


def test_read_msrp_bom_crlf_and_quotes():
    pairs = data.read_msrp(MSRP)
    assert len(pairs) == 10
    np.testing.assert_array_equal(pairs.labels, [1, 0, 1, 0, 1, 0, 1, 0, 1, 1])
    assert pairs.sentence1[0].startswith("Amrozi accused his brother, whom")
    assert '"the witness"' in pairs.sentence1[0]
    assert pairs.sentence2[3].endswith("or 4.6%, to set a record closing high.")
    assert not any(s.endswith("\r") for s in pairs.sentence2)
    assert pairs.sentence2[6] == 'On Friday the court said "no".'


def test_read_sick_labels_relatedness_and_split():
    pairs = data.read_sick(SICK)
    assert len(pairs) == 12
    np.testing.assert_array_equal(pairs.labels[:3], [0, 2, 1])
    np.testing.assert_allclose(pairs.relatedness[:2], [4.5, 3.1])
    assert [len(data.read_sick(SICK, split)) for split in data.SICK_SPLITS] == [
        6,
        3,
        3,
    ]
    test = data.read_sick(SICK, "TEST")
    assert test.sentence1[-1] == "A man is walking"  # no final newline
    np.testing.assert_array_equal(test.labels, [0, 2, 1])
    with pytest.raises(ValueError, match="split must be one of"):
        data.read_sick(SICK, "DEV")


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_strict_errors_name_file_and_line(tmp_path):
    path = _write(tmp_path, "bad.txt", "q ?\ta .\t1\nq ?\ta . 0\n")
    with pytest.raises(
        data.SentencePairFileError,
        match=rf"^{path}:2: expected 3 TAB-separated columns "
        r"\(WikiQA TXT: question, sentence, label\); found 2\.$",
    ):
        data.read_wikiqa(path, strict=True)
    path = _write(tmp_path, "bad_label.txt", "q ?\ta .\t1\nq ?\tb .\tyes\n")
    with pytest.raises(
        data.SentencePairFileError,
        match=rf"^{path}:2: Label must be 0 or 1; found 'yes'\.$",
    ):
        data.read_wikiqa(path, strict=True)
    header = "\t".join(data.MSRP_HEADER)
    path = _write(tmp_path, "msrp.txt", f"{header}\r\n2\t1\t2\ta\tb\r\n")
    with pytest.raises(
        data.SentencePairFileError,
        match=rf"^{path}:2: Quality must be 0 or 1; found '2'\.$",
    ):
        data.read_msrp(path, strict=True)
    path = _write(tmp_path, "nohead.txt", "1\t1\t2\ta\tb\n")
    with pytest.raises(
        data.SentencePairFileError, match=rf"^{path}:1: expected the MSRP"
    ):
        data.read_msrp(path, strict=True)
    header = "\t".join(data.SICK_HEADER)
    row = "1\ta\tb\tMAYBE\t4.5\tx\ty\tz\tw\tF\tF\tTRAIN"
    path = _write(tmp_path, "sick.txt", f"{header}\r\n{row}\r\n")
    with pytest.raises(
        data.SentencePairFileError,
        match=rf"^{path}:2: entailment_label must be one of",
    ):
        data.read_sick(path, strict=True)


def test_tokenize_lowercases_and_splits_punctuation_and_cjk():
    assert data.tokenize_to_lists(
        ["Glacier caves, formed?", "今天天气 OK", "", "  "]
    ) == [
        ["glacier", "caves", ",", "formed", "?"],
        ["今", "天", "天", "气", "ok"],
        [],
        [],
    ]


def test_vocabulary_and_pair_tokenizer():
    vocabulary = data.build_vocabulary(["b c a", "c b d", "c"])
    assert vocabulary == ["[PAD]", "[UNK]", "c", "b", "a", "d"]
    tokenizer = data.PairTokenizer(vocabulary, oov_buckets=3)
    assert tokenizer.size == 9
    ids = tokenizer(["C b zz zz", "", "a a a a a a a"], 4).numpy()
    assert ids[:, :2].tolist() == [[2, 3], [0, 0], [4, 4]]
    assert ids[0, 2] == ids[0, 3] and 6 <= ids[0, 2] < 9  # one hash bucket
    assert ids[1:].tolist() == [[0, 0, 0, 0], [4, 4, 4, 4]]
    # every string empty: still (batch_size, length)
    assert tokenizer(["", ""], 3).numpy().tolist() == [[0, 0, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="must start with the padding"):
        data.PairTokenizer(["a", "b"])


def test_word_statistics_idf_and_stopwords():
    sentences = ["the cat sat", "the cat ran", "a dog ran", "dogs ?"]
    vocabulary = data.build_vocabulary(sentences)
    tokenizer = data.PairTokenizer(vocabulary, oov_buckets=2)
    stats = data.word_statistics(sentences, tokenizer)
    row = {w: stats[i].tolist() for i, w in enumerate(vocabulary)}
    assert row["the"] == [0.0, 0.0] and row["?"] == [0.0, 0.0]
    assert row["[PAD]"] == [0.0, 0.0] and row["[UNK]"] == [0.0, 0.0]
    assert row["sat"] == pytest.approx([1.0, np.log(4 / 2)])
    assert row["cat"] == pytest.approx([1.0, np.log(4 / 3)])
    np.testing.assert_allclose(stats[-2:], [[1, np.log(4)]] * 2, rtol=1e-6)


def test_pair_tokenizer_saves_in_the_shared_format(tmp_path):
    tokenizer = data.PairTokenizer(
        data.build_vocabulary(["a b", "b c"]), oov_buckets=3
    )
    tokenizer.save(str(tmp_path))
    assert (tmp_path / "words.vocab").read_text() == "[PAD]\n[UNK]\nb\na\nc\n"
    loaded = data.PairTokenizer.load(str(tmp_path))
    assert loaded.vocabulary == tokenizer.vocabulary
    assert loaded.oov_buckets == 3
    texts = ["a b zz", "c"]
    np.testing.assert_array_equal(loaded(texts, 4), tokenizer(texts, 4))
