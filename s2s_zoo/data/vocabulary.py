"""Reserved ids and the one save format of every s2s_zoo vocabulary.

Every vocabulary s2s_zoo builds starts with the same reserved tokens, so
id 0 pads everywhere (the models mask on it) and id 1 is unknown:

| id | token | used by |
|---|---|---|
| 0 | `[PAD]` | every model |
| 1 | `[UNK]` | every tokenizer |
| 2 | `[START]` | translation targets |
| 3 | `[END]` | translation targets |

A tokenizer is saved as two files in a directory: `NAME.vocab`, one token
a line in id order, and `NAME.json`, its kind and options. Translation,
aspect-sentiment and sentence-pair tokenizers all use `save` and `load`.
A SentencePiece tokenizer adds a third, `NAME.model`, its model as
SentencePiece writes it (`s2s_zoo.data.translation.Tokenizer.save`).
"""

import json
import os

from s2s_zoo.io import atomic_file

PADDING_TOKEN = "[PAD]"
UNKNOWN_TOKEN = "[UNK]"
START_TOKEN = "[START]"
END_TOKEN = "[END]"
PADDING_ID, UNKNOWN_ID, START_ID, END_ID = 0, 1, 2, 3


def save(directory, name, tokens, kind, **options):
    """Writes `NAME.vocab` and `NAME.json` into `directory` atomically.

    Args:
        directory (str): Created if missing.
        name (str): File stem, e.g. `"source"`.
        tokens (list[str]): Tokens by id; none may hold a line break.
        kind (str): What reads them back (e.g. `"wordpiece"`).
        **options: JSON-serializable settings of the tokenizer.
    """
    tokens = list(tokens)
    for token in tokens:
        if "\n" in token or "\r" in token:
            raise ValueError(
                f"A vocabulary token must not hold a line break; got {token!r}."
            )
    os.makedirs(directory, exist_ok=True)
    with atomic_file(os.path.join(directory, f"{name}.vocab")) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(token + "\n" for token in tokens))
    with atomic_file(os.path.join(directory, f"{name}.json")) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"kind": kind, **options}, f)


def load(directory, name):
    """Reads what `save` wrote: `(tokens, {"kind": ..., **options})`.

    Raises:
        FileNotFoundError: Naming the missing file.
    """
    vocab_path = os.path.join(directory, f"{name}.vocab")
    json_path = os.path.join(directory, f"{name}.json")
    for path in (vocab_path, json_path):
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No tokenizer file {path!r}: a run directory keeps its "
                "tokenizers as NAME.vocab and NAME.json."
            )
    with open(vocab_path, encoding="utf-8", newline="\n") as f:
        tokens = f.read().split("\n")[:-1]
    with open(json_path, encoding="utf-8") as f:
        options = json.load(f)
    return tokens, options
