"""OpenNMT-tf, the toolkit our users would pick instead, run on our split.

    python -m benchmarks.peer.opennmt --peer-dir PEER_DIR --minutes 12
    python -m benchmarks.peer.opennmt --peer-dir PEER_DIR --minutes 15 --curve

`PEER_DIR` holds the peer's `run.sh`, `model.py`, `config.yml`,
`prepare.py` and `detok.py` (bi-GRU 2 x 128 encoder, GRU 256 decoder with
Bahdanau attention, embeddings 256, dropout 0.2, Adam 1e-3, batch 64,
beam 5); `run.sh` installs OpenNMT-tf 2.32 in its own virtual environment
once. This script:

1. writes the bundled data's train / dev / test split (exactly the split
   `s2s_zoo.tasks.translation` trains and tests on) as Tatoeba TSV files;
2. runs the peer for `--minutes` and reads what it prints: training
   sentences/s and target tokens/s (the mean of its own step-rate
   reports), the steps made, sacreBLEU (lowercased, one reference per
   line) of its beam-5 test translations and their wall time, start-up
   included;
3. measures the peer's start-up alone (translating one sentence) so that
   its decoding speed after start-up can be set beside ours;
4. scores the peer's test translations the way our runs are scored as
   well: corpus BLEU with every reference of a source (Tatoeba has up to
   several translations of one sentence), lowercased;
5. with `--curve`, keeps every checkpoint (a copy of the peer's config
   with `keep_checkpoint_max` raised; training is unchanged), translates
   the dev split with each and records dev BLEU against training
   minutes.

Everything lands in `--output` (default `runs/peer/peer_<minutes>min.json`).
Only ratios measured in the same session as a run of ours mean anything:
the machine's speed changes between days by several times.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

from benchmarks.common import ROOT


def write_split(directory):
    """The bundled data's split as Tatoeba TSV files (English TAB Chinese)."""
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import translation

    os.makedirs(directory, exist_ok=True)
    splits = text.split_pairs(translation.load_pairs(None, "zh", "en"))
    paths = {}
    for name, pairs in splits.items():
        paths[name] = os.path.join(directory, f"{name}.tsv")
        with open(paths[name], "w", encoding="utf-8") as f:
            f.write("".join(f"{en}\t{zh}\n" for zh, en in pairs))
    return paths, splits


def parse_report(text):
    """The figures `run.sh` prints."""
    figures = {}
    patterns = {
        "train_seconds": r"trained (\d+) s",
        "steps": r"last step: Step = (\d+)",
        "train_sentences_per_second": r"training sentences/s .*?: ([\d.]+)",
        "target_tokens_per_second": r"training target tokens/s .*?: ([\d.]+)",
        "decode_seconds_with_startup": r"translation of \d+ sentences: "
        r"([\d.]+) s wall",
        "bleu_lowercase_single_reference": r"BLEU \(sacreBLEU, "
        r"lowercased\): ([\d.]+)",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, text)
        figures[key] = float(match.group(1)) if match else None
    return figures


def multi_reference_bleu(hypotheses_path, pairs):
    """Corpus BLEU (lowercased) of line-aligned hypotheses, every reference
    of a source used, as `s2s_zoo.tasks.translation.evaluate` scores."""
    from s2s_zoo.data import translation as text
    from s2s_zoo.metrics import translation as metrics

    with open(hypotheses_path, encoding="utf-8") as f:
        hypotheses = f.read().splitlines()
    by_source = {}
    for (source, _), hypothesis in zip(pairs, hypotheses):
        by_source.setdefault(source, hypothesis)
    sources, references = text.group_references(pairs)
    return metrics.corpus_bleu(
        [by_source[s] for s in sources], references, lowercase=True
    )


def _venv():
    return os.environ.get("PEER_VENV", "/tmp/opennmt_tf_venv")


def _infer(work, checkpoint, features, predictions, config="config.yml"):
    command = [
        os.path.join(_venv(), "bin", "onmt-main"),
        "--model",
        "model.py",
        "--config",
        config,
        "--checkpoint_path",
        checkpoint,
        "infer",
        "--features_file",
        features,
        "--predictions_file",
        predictions,
    ]
    start = time.perf_counter()
    subprocess.run(
        command, cwd=work, check=True, capture_output=True, timeout=1800
    )
    return time.perf_counter() - start


def _detokenize(peer_dir, source, target):
    with (
        open(source, encoding="utf-8") as f,
        open(target, "w", encoding="utf-8") as out,
    ):
        subprocess.run(
            [sys.executable, os.path.join(peer_dir, "detok.py")],
            stdin=f,
            stdout=out,
            check=True,
        )


def _single_reference_bleu(hypotheses_path, references):
    import sacrebleu

    with open(hypotheses_path, encoding="utf-8") as f:
        hypotheses = f.read().splitlines()
    return sacrebleu.corpus_bleu(hypotheses, [references], lowercase=True).score


def curve(peer_dir, work, splits):
    """Dev BLEU of every kept checkpoint against its training minutes.

    Greedy search (a copy of the config with `beam_width: 1`), lowercased,
    every reference of a source: the figure our runs log every epoch as
    `val_bleu_lowercase`.
    """
    log = open(os.path.join(work, "train.log"), encoding="utf-8").read()
    with open(os.path.join(work, "config.yml")) as f:
        greedy = f.read().replace("beam_width: 5", "beam_width: 1")
    with open(os.path.join(work, "config_greedy.yml"), "w") as f:
        f.write(greedy)
    stamp = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", re.M)

    def seconds(text):
        return time.mktime(time.strptime(text, "%Y-%m-%d %H:%M:%S"))

    start = seconds(stamp.search(log).group(1))
    saved = re.findall(
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d).*Saved checkpoint (\S+)", log, re.M
    )
    references = [en for _, en in splits["dev"]]
    points = []
    for when, checkpoint in saved:
        if not os.path.exists(os.path.join(work, checkpoint + ".index")):
            continue
        step = int(checkpoint.rsplit("-", 1)[1])
        hypotheses = os.path.join(work, f"dev_{step}.hyp")
        _infer(work, checkpoint, "data/dev.zh", hypotheses, "config_greedy.yml")
        _detokenize(peer_dir, hypotheses, hypotheses + ".detok")
        points.append(
            {
                "step": step,
                "train_minutes": (seconds(when) - start) / 60.0,
                "dev_bleu_lowercase_single_reference": _single_reference_bleu(
                    hypotheses + ".detok", references
                ),
                "dev_bleu_lowercase": multi_reference_bleu(
                    hypotheses + ".detok", splits["dev"]
                ),
            }
        )
        print(json.dumps(points[-1]), flush=True)
    return points


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--peer-dir",
        default=os.environ.get("S2S_ZOO_PEER"),
        help="the peer's folder (default: $S2S_ZOO_PEER)",
    )
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument(
        "--curve",
        action="store_true",
        help="keep every checkpoint and score each on dev",
    )
    parser.add_argument("--work-dir", default=None)
    parser.add_argument(
        "--from-log",
        default=None,
        help="read a finished `run.sh` run instead of training: its printed "
        "output (this file) and its work folder (--work-dir, holding "
        "split/, or the TSVs it was given, and train/)",
    )
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    if not args.peer_dir or not os.path.exists(
        os.path.join(args.peer_dir, "run.sh")
    ):
        raise SystemExit(
            "benchmarks.peer.opennmt: give the folder of the peer's run.sh "
            "with "
            "--peer-dir or $S2S_ZOO_PEER."
        )
    minutes = f"{args.minutes:g}"
    work = os.path.abspath(
        args.work_dir or os.path.join(ROOT, "runs", "peer", f"{minutes}min")
    )
    if not args.from_log:
        shutil.rmtree(work, ignore_errors=True)
    paths, splits = write_split(os.path.join(work, "split"))
    peer_dir = os.path.abspath(args.peer_dir)
    if args.curve:
        # The same peer, keeping every checkpoint (it saves every 500
        # steps either way): training does not change.
        copy = os.path.join(work, "peer")
        shutil.copytree(peer_dir, copy)
        config = os.path.join(copy, "config.yml")
        with open(config) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(
                text.replace(
                    "keep_checkpoint_max: 1", "keep_checkpoint_max: 1000"
                )
            )
        peer_dir = copy
    # run.sh's work folder; with --from-log, the given folder itself.
    train_dir = work if args.from_log else os.path.join(work, "train")
    command = [
        "bash",
        os.path.join(peer_dir, "run.sh"),
        paths["train"],
        paths["dev"],
        paths["test"],
        minutes,
        train_dir,
    ]
    started = time.time()
    if args.from_log:
        with open(args.from_log, encoding="utf-8") as f:
            stdout = f.read()
    else:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"the peer failed:\n{done.stderr[-3000:]}")
        stdout = done.stdout
    print(stdout)
    report = {
        "peer": "OpenNMT-tf 2.32 (TensorFlow 2.13), run.sh of the peer's "
        "folder",
        "minutes": args.minutes,
        "command": " ".join(
            ["python", "-m", "benchmarks.peer.opennmt"]
            + (sys.argv[1:] if argv is None else list(argv))
        ),
        **parse_report(stdout),
        "run_sh_output": stdout,
    }
    with open(os.path.join(train_dir, "data", "vocab.zh")) as f:
        report["source_vocabulary"] = sum(1 for _ in f)
    with open(os.path.join(train_dir, "data", "vocab.en")) as f:
        report["target_vocabulary"] = sum(1 for _ in f)
    report["test_bleu_lowercase"] = multi_reference_bleu(
        os.path.join(train_dir, "test.detok"), splits["test"]
    )
    # Start-up alone: one sentence, the same command.
    one = os.path.join(train_dir, "one.zh")
    with open(one, "w", encoding="utf-8") as f:
        f.write("我 喜 欢 中 国 美 食\n")
    startup = _infer(train_dir, "run", one, os.path.join(train_dir, "one.hyp"))
    report["startup_seconds"] = startup
    test_sentences = len(splits["test"])
    report["test_lines"] = test_sentences
    wall = report["decode_seconds_with_startup"]
    report["decode_sentences_per_second_with_startup"] = test_sentences / wall
    report["decode_sentences_per_second_after_startup"] = test_sentences / max(
        wall - startup, 1e-9
    )
    if args.curve:
        report["curve"] = curve(peer_dir, train_dir, splits)
    report["wall_seconds"] = time.time() - started
    from benchmarks import common as bench_common
    from s2s_zoo.tasks import common

    report["machine"] = bench_common.machine()
    output = args.output or os.path.join(
        ROOT, "runs", "peer", f"peer_{minutes}min.json"
    )
    common.write_json(output, report)
    print(
        json.dumps(
            {
                k: v
                for k, v in report.items()
                if k not in ("run_sh_output", "curve")
            },
            indent=2,
        )
    )
    return report


if __name__ == "__main__":
    main()
