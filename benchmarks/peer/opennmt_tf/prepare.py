"""Tokenize Tatoeba-format TSV files (English TAB Chinese [TAB attribution])
for the OpenNMT-tf peer: Chinese as characters, English as lowercased words
and punctuation.
usage: prepare.py TRAIN.tsv DEV.tsv TEST.tsv OUT_DIR"""

import pathlib
import re
import sys


def zh(s):
    return " ".join(
        ch for ch in s.strip() if not ch.isspace() and ch != "\u200b"
    )


def en(s):
    return " ".join(re.findall(r"\w+|[^\w\s]", s.lower()))


def main(train, dev, test, out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, path in (("train", train), ("dev", dev), ("test", test)):
        rows = [
            line.split("\t")
            for line in open(path, encoding="utf-8").read().splitlines()
            if line.strip()
        ]
        (out / f"{name}.zh").write_text(
            "\n".join(zh(r[1]) for r in rows) + "\n", encoding="utf-8"
        )
        (out / f"{name}.en").write_text(
            "\n".join(en(r[0]) for r in rows) + "\n", encoding="utf-8"
        )
        (out / f"{name}.ref").write_text(
            "\n".join(r[0] for r in rows) + "\n", encoding="utf-8"
        )
        print(f"{name}: {len(rows)} pairs")


if __name__ == "__main__":
    main(*sys.argv[1:5])
