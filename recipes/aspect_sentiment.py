"""Aspect-level sentiment on SemEval-2014 Task 4 with the ATAE-LSTM family.

    python recipes/aspect_sentiment.py --model atae_lstm \\
        --train Restaurants_Train_v2.xml --test Restaurants_Test_Gold.xml

The same as `s2s-zoo train aspect-sentiment`; `--help` lists every flag and
default. Without --train / --test the files are read from
$S2S_ZOO_DATA/semeval14/. All the logic is library code:
`s2s_zoo.tasks.aspect_sentiment`.
"""

import sys

from s2s_zoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "aspect-sentiment", *sys.argv[1:]]))
