"""Sentence-pair modelling with BCNN / ABCNN-1/2/3 (Yin et al. 2016).

    python recipes/sentence_pairs.py --task wikiqa --model abcnn3 \\
        --train WikiQA-train.txt --dev WikiQA-dev.tsv
    S2S_ZOO_DATA=~/data python recipes/sentence_pairs.py --task sick

The same as `s2s-zoo train sentence-pairs`; `--help` lists every flag and
default. Files default to $S2S_ZOO_DATA/{wikiqa,msrp,sick}/. All the logic
is library code: `s2s_zoo.tasks.sentence_pairs`.
"""

import sys

from s2s_zoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "sentence-pairs", *sys.argv[1:]]))
