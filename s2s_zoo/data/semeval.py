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

Offsets count characters of the raw `<text>`, whitespace included (some
official texts start with spaces). The official files also hold a few
terms whose offsets miss them; by default such a term is found again in
the text (the occurrence nearest its `from`) with a warning that names the
file and the sentence, and `strict=True` makes it an error instead.
"""

import dataclasses
import re
import warnings
import xml.etree.ElementTree as ElementTree

from s2s_zoo.data.problems import skip_or_raise

POLARITIES = ("positive", "negative", "neutral", "conflict")
LEVELS = ("term", "category")


class SemEvalFormatError(ValueError):
    """A malformed SemEval file; the message names the file and sentence."""


class SemEvalOffsetWarning(UserWarning):
    """A term whose offsets miss it, recovered from the text or skipped."""


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


def find_term(text, term, start):
    """The `(from, to)` of the occurrence of `term` in `text` nearest to
    `start`: exact matches first, then case-insensitive ones; None when the
    term is not in the text.

    Examples:
    >>> find_term("a cord and a power cord", "cord", 17)
    (19, 23)
    >>> find_term("The Pizza", "pizza", 0)
    (4, 9)
    """
    for flags in (0, re.IGNORECASE):
        found = [m.start() for m in re.finditer(re.escape(term), text, flags)]
        if found:
            best = min(found, key=lambda i: (abs(i - start), i))
            return best, best + len(term)
    return None


def _check_offsets(where, text, aspect, start, end, strict):
    """The term's offsets, or recovered ones (None: skip the term)."""
    if text[start:end] == aspect:
        return start, end
    problem = (
        f"{where}: offsets {start}:{end} give {text[start:end]!r}, not the "
        f"term {aspect!r}"
    )
    if strict:
        raise SemEvalFormatError(problem + ".")
    found = find_term(text, aspect, start)
    if found is None:
        warnings.warn(
            f"{problem}, and the term is not in the text: skipped.",
            SemEvalOffsetWarning,
            stacklevel=4,
        )
        return None
    warnings.warn(
        f"{problem}; using {found[0]}:{found[1]}, where the text has it.",
        SemEvalOffsetWarning,
        stacklevel=4,
    )
    return found


def _sentence_examples(path, sentence, level, strict):
    sentence_id = sentence.get("id")
    where = f"{path}: sentence id {sentence_id!r}"
    if sentence_id is None:
        skip_or_raise(
            SemEvalFormatError(f"{path}: a <sentence> has no id attribute."),
            strict,
        )
        return []
    text_element = sentence.find("text")
    if text_element is None:
        skip_or_raise(
            SemEvalFormatError(f"{where}: no <text> element."), strict
        )
        return []
    text = text_element.text or ""
    tag = "aspectTerm" if level == "term" else "aspectCategory"
    key = "term" if level == "term" else "category"
    examples = []
    for element in sentence.iter(tag):
        aspect = element.get(key)
        polarity = element.get("polarity")
        if aspect is None:
            skip_or_raise(
                SemEvalFormatError(f"{where}: <{tag}> has no {key} attribute."),
                strict,
            )
            continue
        if polarity not in POLARITIES:
            skip_or_raise(
                SemEvalFormatError(
                    f"{where}: unknown polarity {polarity!r} for {key} "
                    f"{aspect!r}; expected one of {list(POLARITIES)}."
                ),
                strict,
            )
            continue
        start = end = None
        if level == "term":
            try:
                start, end = int(element.get("from")), int(element.get("to"))
            except (TypeError, ValueError):
                skip_or_raise(
                    SemEvalFormatError(
                        f"{where}: term {aspect!r} has no valid from/to "
                        "offsets."
                    ),
                    strict,
                )
                continue
            offsets = _check_offsets(where, text, aspect, start, end, strict)
            if offsets is None:
                continue
            start, end = offsets
        examples.append(
            AspectExample(sentence_id, text, aspect, polarity, start, end)
        )
    return examples


def read_semeval(
    path, level="term", classes=3, drop_conflict=True, strict=False
):
    """Reads a SemEval-2014 Task 4 XML file.

    Args:
        path (str): The XML file.
        level (str): `"term"` (aspect terms, default) or `"category"`.
        classes (int): 3 (default) keeps positive, negative and neutral; 2
            also drops neutral (the paper's binary setting).
        drop_conflict (bool): Drop "conflict" examples. Default True.
        strict (bool): Make a malformed sentence or aspect an error. By
            default (False) a term whose offsets miss it is found again in
            the text, nearest to its `from`, with a `SemEvalOffsetWarning`
            naming the file and the sentence id, or skipped with one when
            the text lacks it; a sentence without an id or a text, and an
            aspect without its attribute, a known polarity or valid
            offsets, are skipped with a `MalformedRowWarning` naming them;
            the rest of the file is read either way.

    Returns:
        A list of `AspectExample`, in file order.

    Raises:
        SemEvalFormatError: For malformed XML (naming the last sentence id
            read before the error, and the line); with `strict=True`, for
            a sentence without an id or text, an unknown polarity, or term
            offsets that do not match the text.
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
            for example in _sentence_examples(path, element, level, strict):
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
