"""Train, evaluate and export a translator (default: Chinese to English).

    python recipes/translate.py                       # bundled Tatoeba zh->en
    python recipes/translate.py --model luong_attention --max-minutes 5
    python recipes/translate.py --set attention_score=concat
    python recipes/translate.py --data fra.txt --source-lang fr --target-lang en
    python recipes/translate.py --data train.zh train.en --source-lang zh
    python recipes/translate.py --resume              # after a kill

The same as `s2s-zoo train translation`; `--help` lists every flag and default.
Writes into --output-dir: metrics.json, history.csv, model.keras, the
vocabularies, saved_model/ (string in, string out) and attention_*.png.
All the logic is library code: `s2s_zoo.tasks.translation`.
"""

import sys

from s2s_zoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", "translation", *sys.argv[1:]]))
