"""Trains the built-in trained presets and writes them into the package.

    python -m benchmarks.make_presets           # trains what is missing
    python -m benchmarks.make_presets --translator-run runs/translate
    python -m benchmarks.make_presets --only bottleneck

- `bahdanau_zh_en_tatoeba`: the default recipe (`python recipes/translate.py
  --output-dir runs/presets/translator`, 15 minutes), or the finished run
  `--translator-run` gives; Chinese to English, bundled Tatoeba pairs
  (CC-BY 2.0 FR: the attribution goes into the preset's metadata).
- `bottleneck_rnn_encoder_decoder` and `bottleneck_bahdanau_attention`:
  the bottleneck study's quick synthetic task (`s2s-zoo bottleneck --quick
  --models rnn_encoder_decoder bahdanau_attention --presets-dir ...`,
  about 4 minutes): the fixed vector against attention, by source length.

Each preset records its figures, the command that trained it, its data and
licence, and the SHA-256 of its files (`s2s_zoo.pretrained`).
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESETS = os.path.join(ROOT, "s2s_zoo", "pretrained")
TRANSLATOR = "bahdanau_zh_en_tatoeba"
NOTICE = os.path.join(ROOT, "s2s_zoo", "datasets", "tatoeba", "NOTICE.md")


def translator(run_dir):
    from s2s_zoo import tasks

    if not os.path.exists(os.path.join(run_dir, "metrics.json")):
        subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "recipes", "translate.py"),
                "--output-dir",
                run_dir,
                *(["--resume"] if os.path.exists(run_dir) else []),
            ],
            check=True,
        )
    run = tasks.load(run_dir)
    results = run.metrics["results"]
    training = run.metrics["training"]
    with open(NOTICE, encoding="utf-8") as f:
        notice = f.read()
    path = run.save_to_preset(
        os.path.join(PRESETS, TRANSLATOR),
        summary="translation, bahdanau_attention: Chinese to English, "
        f"bundled Tatoeba pairs, {run.config.max_minutes:g} min on a CPU; "
        f"test BLEU {results['bleu']:.2f}",
        data="Tatoeba cmn-eng as bundled (s2s_zoo/datasets/tatoeba), "
        f"its train split ({training.get('train_pairs', 'all')} pairs); "
        "figures on its test split",
        license="weights: Apache-2.0; trained on Tatoeba sentences under "
        "CC-BY 2.0 FR",
        attribution=notice,
        command=run.metrics["command"],
    )
    print(f"wrote {path}")


def bottleneck(output_dir):
    subprocess.run(
        [
            *(sys.executable, "-m", "s2s_zoo.cli", "bottleneck", "--quick"),
            *("--models", "rnn_encoder_decoder", "bahdanau_attention"),
            *("--output-dir", output_dir),
            *("--presets-dir", os.path.relpath(PRESETS)),
        ],
        check=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--translator-run",
        default=os.path.join("runs", "presets", "translator"),
        help="a finished default-recipe run (trained there when missing)",
    )
    parser.add_argument(
        "--only", choices=["translator", "bottleneck"], default=None
    )
    args = parser.parse_args(argv)
    if args.only in (None, "translator"):
        translator(args.translator_run)
    if args.only in (None, "bottleneck"):
        bottleneck(os.path.join("runs", "presets", "bottleneck"))


if __name__ == "__main__":
    main()
