"""Undo prepare.py's English tokenization (words and punctuation split by
spaces)."""

import re
import sys

for line in sys.stdin:
    s = line.strip().replace(" ' ", "'")
    s = re.sub(r" ([.,!?;:%)])", r"\1", s)
    s = re.sub(r"([($]) ", r"\1", s)
    print(s)
