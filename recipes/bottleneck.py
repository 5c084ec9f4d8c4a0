"""BLEU against source length, with and without attention.

    python recipes/bottleneck.py --quick                  # synthetic, <10 min
    python recipes/bottleneck.py --data fra.txt --source-lang fr \\
        --target-lang en --minutes-per-model 10

The same as `s2s-zoo bottleneck`; `--help` lists every flag and default.
All the logic is library code: `s2s_zoo.tasks.bottleneck`.
"""

import sys

from s2s_zoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["bottleneck", *sys.argv[1:]]))
