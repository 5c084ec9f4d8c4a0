"""SemEval-2014 Task 4 (aspect-based sentiment) XML reader.

The official files (Pontiki et al., SemEval 2014) look like::

    <sentences>
      <sentence id="3121">
        <text>But the staff was so horrible to us.</text>
        <aspectTerms>
          <aspectTerm term="staff" polarity="negative" from="8" to="13"/>
        </aspectTerms>
        <aspectCategories>
          <aspectCategory category="service" polarity="negative"/>
        </aspectCategories>
      </sentence>
    </sentences>

`read_semeval` returns one `AspectExample` per (sentence, aspect) pair, at
the aspect-term level (with character offsets, end exclusive) or the
aspect-category level. As in Wang et al. (2016), "conflict" examples are
dropped by default, and the binary setting also drops "neutral".
"""

import dataclasses
import xml.etree.ElementTree as ElementTree

POLARITIES = ("positive", "negative", "neutral", "conflict")
LEVELS = ("term", "category")


class SemEvalFormatError(ValueError):
    """A malformed SemEval file; the message names the file and sentence."""


@dataclasses.dataclass(frozen=True)
class AspectExample:
    """One (sentence, aspect) pair.

    Attributes:
        sentence_id (str): The `id` of the `<sentence>`.
        text (str): The sentence.
        aspect (str): The aspect term (as written in the text) or category.
        polarity (str): `positive`, `negative`, `neutral` or `conflict`.
        start (int): Character offset of the term in `text` (`from`);
            None at the category level.
        end (int): End offset, exclusive (`to`); None for categories.
    """

    sentence_id: str
    text: str
    aspect: str
    polarity: str
    start: int | None = None
    end: int | None = None


def label_names(classes=3, drop_conflict=True):
    """The class names, index = label id.

    Args:
        classes (int): 3 (positive, negative, neutral) or 2 (positive,
            negative).
        drop_conflict (bool): When False, "conflict" is one more class.

    Raises:
        ValueError: If `classes` is not 2 or 3.
    """
    if classes not in (2, 3):
        raise ValueError(f"classes must be 2 or 3; received {classes!r}.")
    names = ("positive", "negative", "neutral")[:classes]
    return names if drop_conflict else names + ("conflict",)


def _sentence_examples(path, sentence, level):
    sentence_id = sentence.get("id")
    where = f"{path}: sentence id {sentence_id!r}"
    if sentence_id is None:
        raise SemEvalFormatError(f"{path}: a <sentence> has no id attribute.")
    text_element = sentence.find("text")
    if text_element is None:
        raise SemEvalFormatError(f"{where}: no <text> element.")
    text = text_element.text or ""
    tag = "aspectTerm" if level == "term" else "aspectCategory"
    key = "term" if level == "term" else "category"
    examples = []
    for element in sentence.iter(tag):
        aspect = element.get(key)
        polarity = element.get("polarity")
        if aspect is None:
            raise SemEvalFormatError(
                f"{where}: <{tag}> has no {key} attribute."
            )
        if polarity not in POLARITIES:
            raise SemEvalFormatError(
                f"{where}: unknown polarity {polarity!r} for {key} "
                f"{aspect!r}; expected one of {list(POLARITIES)}."
            )
        start = end = None
        if level == "term":
            try:
                start, end = int(element.get("from")), int(element.get("to"))
            except (TypeError, ValueError):
                raise SemEvalFormatError(
                    f"{where}: term {aspect!r} has no valid from/to offsets."
                ) from None
            if text[start:end] != aspect:
                raise SemEvalFormatError(
                    f"{where}: offsets {start}:{end} give "
                    f"{text[start:end]!r}, not the term {aspect!r}."
                )
        examples.append(
            AspectExample(sentence_id, text, aspect, polarity, start, end)
        )
    return examples


def read_semeval(path, level="term", classes=3, drop_conflict=True):
    """Reads a SemEval-2014 Task 4 XML file.

    Args:
        path (str): The XML file.
        level (str): `"term"` (aspect terms, default) or `"category"`.
        classes (int): 3 (default) keeps positive, negative and neutral; 2
            also drops neutral (the paper's binary setting).
        drop_conflict (bool): Drop "conflict" examples. Default True.

    Returns:
        A list of `AspectExample`, in file order.

    Raises:
        SemEvalFormatError: For malformed XML (naming the last sentence id
            read before the error, and the line), a sentence without an
            id or text, an unknown polarity, or term offsets that do not
            match the text.
        ValueError: For an unknown `level` or `classes`.
    """
    if level not in LEVELS:
        raise ValueError(
            f"level must be one of {list(LEVELS)}; received {level!r}."
        )
    keep = set(label_names(classes, drop_conflict))
    examples = []
    sentence_id = None
    try:
        for event, element in ElementTree.iterparse(
            path, events=("start", "end")
        ):
            if element.tag != "sentence":
                continue
            if event == "start":
                sentence_id = element.get("id")
                continue
            for example in _sentence_examples(path, element, level):
                if example.polarity in keep:
                    examples.append(example)
            element.clear()
    except ElementTree.ParseError as error:
        line, column = error.position
        where = (
            "before the first sentence"
            if sentence_id is None
            else f"in or after sentence id {sentence_id!r}"
        )
        raise SemEvalFormatError(
            f"{path}: malformed XML {where} (line {line}, column "
            f"{column}): {error}"
        ) from None
    return examples


def labels(examples, names):
    """Label ids of `examples` for the class `names` (see `label_names`).

    Raises:
        ValueError: If an example's polarity is not one of `names`,
            naming its sentence id.
    """
    index = {name: i for i, name in enumerate(names)}
    ids = []
    for example in examples:
        if example.polarity not in index:
            raise ValueError(
                f"sentence id {example.sentence_id!r}: polarity "
                f"{example.polarity!r} is not one of {list(names)}."
            )
        ids.append(index[example.polarity])
    return ids
