"""OpenNMT-tf, the toolkit our users would pick instead, run on our split.

    python -m benchmarks.peer.opennmt setup          # its environment, once
    python -m benchmarks.peer.opennmt --minutes 12 [--seed 0] [--curve]
    python -m benchmarks.peer.opennmt --data pairs.tsv --minutes 12

The peer's model and training settings are the files of
`benchmarks/peer/opennmt_tf/` (bi-GRU 2 x 128 encoder, GRU 256 decoder with
Bahdanau attention, embeddings 256, dropout 0.2, Adam 1e-3, batch 64,
beam 5). `setup` creates its virtual environment (OpenNMT-tf 2.32 on
TensorFlow 2.13, from the package index) in `runs/peer/venv`, or in
`$PEER_VENV`. A run:

1. writes the train / dev / test split that `s2s_zoo.tasks.translation`
   trains and tests on (of the bundled data, or of `--data`, a Tatoeba TSV
   or any file the task reads) as the peer's tokenized files;
2. builds its vocabularies (tokens seen at least twice) and trains it for
   `--minutes` of wall time with `--seed`, then reads its training
   sentences/s and target tokens/s (the mean of its own step-rate reports);
3. translates the test split with beam 5 and times it, start-up included,
   then times the same command on one sentence (its start-up alone), so
   that its decoding rate after loading can be set beside ours;
4. scores the translations two ways, both lowercased: sacreBLEU with one
   reference a line (the peer's usual figure) and corpus BLEU with every
   reference of a source (the way our runs are scored);
5. with `--curve`, keeps every checkpoint (training is unchanged),
   translates the dev split with each (greedy) and records dev BLEU
   against training minutes.

Everything lands in `--output` (default `runs/peer/peer_<minutes>min.json`).
Only ratios measured in the same session as a run of ours mean anything:
the machine's speed changes between days by several times.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from benchmarks.common import ROOT

CONFIG_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "opennmt_tf"
)
PACKAGES = ["opennmt-tf==2.32.0", "tensorflow-cpu>=2.13,<2.14", "sacrebleu"]
PEER = "OpenNMT-tf 2.32 (TensorFlow 2.13), benchmarks/peer/opennmt_tf"


def venv():
    return os.environ.get("PEER_VENV") or os.path.join(
        ROOT, "runs", "peer", "venv"
    )


def _tool(name):
    return os.path.join(venv(), "bin", name)


def setup():
    """Creates the peer's virtual environment (once; a few minutes)."""
    if os.path.exists(_tool("onmt-main")):
        print(f"the peer's environment is ready: {venv()}")
        return
    subprocess.run([sys.executable, "-m", "venv", venv()], check=True)
    subprocess.run(
        [_tool("python"), "-m", "pip", "install", "-q", *PACKAGES], check=True
    )
    print(f"installed {', '.join(PACKAGES)} into {venv()}")


def write_split(directory, data=None):
    """The task's split of `data` (default: the bundled pairs) as the
    peer's tokenized files, plus the raw English of each line."""
    sys.path.insert(0, CONFIG_DIR)
    import prepare  # the peer's tokenization (benchmarks/peer/opennmt_tf)

    sys.path.remove(CONFIG_DIR)
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import translation

    os.makedirs(directory, exist_ok=True)
    splits = text.split_pairs(translation.load_pairs(data, "zh", "en"))
    for name, pairs in splits.items():
        for suffix, lines in (
            ("zh", [prepare.zh(zh) for zh, _ in pairs]),
            ("en", [prepare.en(en) for _, en in pairs]),
            ("ref", [en for _, en in pairs]),
        ):
            with open(
                os.path.join(directory, f"{name}.{suffix}"),
                "w",
                encoding="utf-8",
            ) as f:
                f.write("".join(line + "\n" for line in lines))
    return splits


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


def single_reference_bleu(hypotheses_path, references):
    import sacrebleu

    with open(hypotheses_path, encoding="utf-8") as f:
        hypotheses = f.read().splitlines()
    return sacrebleu.corpus_bleu(hypotheses, [references], lowercase=True).score


def _onmt(work, config, *command, seed=None):
    flags = ["--model", "model.py", "--config", config]
    if seed is not None:
        flags += ["--seed", str(seed)]
    return [_tool("onmt-main"), *flags, *command]


def infer(work, checkpoint, features, predictions, config="config.yml"):
    """Seconds of wall time for one `onmt-main infer`, start-up included."""
    start = time.perf_counter()
    subprocess.run(
        _onmt(
            work,
            config,
            "--checkpoint_path",
            checkpoint,
            "infer",
            "--features_file",
            features,
            "--predictions_file",
            predictions,
        ),
        cwd=work,
        check=True,
        capture_output=True,
        timeout=1800,
    )
    return time.perf_counter() - start


def detokenize(source, target):
    with (
        open(source, encoding="utf-8") as f,
        open(target, "w", encoding="utf-8") as out,
    ):
        subprocess.run(
            [sys.executable, os.path.join(CONFIG_DIR, "detok.py")],
            stdin=f,
            stdout=out,
            check=True,
        )


def train(work, minutes, seed):
    """Trains for `minutes` of wall time; returns the figures of its log."""
    with open(os.path.join(work, "train.log"), "w") as log:
        process = subprocess.Popen(
            _onmt(work, "config.yml", "train", seed=seed),
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        start = time.time()
        try:
            process.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        seconds = time.time() - start
    with open(os.path.join(work, "train.log"), encoding="utf-8") as f:
        log = f.read()
    rates = [float(x) for x in re.findall(r"steps/s = ([\d.]+)", log)]
    targets = [
        float(x) for x in re.findall(r"\(\d+ source, (\d+) target\)", log)
    ]
    steps = re.findall(r"Step = (\d+)", log)
    if not rates or not os.path.exists(os.path.join(work, "run", "checkpoint")):
        raise SystemExit(
            f"the peer did not train; the end of its log:\n{log[-3000:]}"
        )
    batch = 64  # config.yml: batch_size 64, batch_type examples
    return {
        "train_seconds": seconds,
        "steps": int(steps[-1]),
        "train_sentences_per_second": batch * sum(rates) / len(rates),
        "target_tokens_per_second": sum(targets) / len(targets)
        if targets
        else None,
    }


def curve(work, splits):
    """Dev BLEU of every kept checkpoint against its training minutes.

    Greedy search (a copy of the config with `beam_width: 1`), lowercased,
    every reference of a source: the figure our runs log every epoch as
    `val_bleu_lowercase`.
    """
    with open(os.path.join(work, "train.log"), encoding="utf-8") as f:
        log = f.read()
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
        infer(work, checkpoint, "data/dev.zh", hypotheses, "config_greedy.yml")
        detokenize(hypotheses, hypotheses + ".detok")
        points.append(
            {
                "step": step,
                "train_minutes": (seconds(when) - start) / 60.0,
                "dev_bleu_lowercase_single_reference": single_reference_bleu(
                    hypotheses + ".detok", references
                ),
                "dev_bleu_lowercase": multi_reference_bleu(
                    hypotheses + ".detok", splits["dev"]
                ),
            }
        )
        print(json.dumps(points[-1]), flush=True)
    return points


def run(work, minutes=12.0, seed=0, data=None, with_curve=False):
    """Trains, translates and scores the peer in `work`; returns the report."""
    if not os.path.exists(_tool("onmt-main")):
        raise SystemExit(
            "the peer's environment is missing: run "
            "`python -m benchmarks.peer.opennmt setup` first"
        )
    started = time.time()
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for name in ("model.py", "config.yml"):
        shutil.copy(os.path.join(CONFIG_DIR, name), work)
    if with_curve:
        # Every checkpoint kept (it saves every 500 steps either way).
        path = os.path.join(work, "config.yml")
        with open(path) as f:
            config = f.read()
        with open(path, "w") as f:
            f.write(
                config.replace(
                    "keep_checkpoint_max: 1", "keep_checkpoint_max: 1000"
                )
            )
    splits = write_split(os.path.join(work, "data"), data)
    vocabulary = {}
    for side in ("zh", "en"):
        subprocess.run(
            [
                _tool("onmt-build-vocab"),
                "--size",
                "0",
                "--min_frequency",
                "2",
                "--save_vocab",
                f"data/vocab.{side}",
                f"data/train.{side}",
            ],
            cwd=work,
            check=True,
            capture_output=True,
        )
        with open(
            os.path.join(work, "data", f"vocab.{side}"), encoding="utf-8"
        ) as f:
            vocabulary[side] = sum(1 for _ in f)
    report = {
        "peer": PEER,
        "minutes": minutes,
        "seed": seed,
        "data": "bundled" if data is None else os.path.basename(data),
        "source_vocabulary": vocabulary["zh"],
        "target_vocabulary": vocabulary["en"],
        **train(work, minutes, seed),
    }
    wall = infer(work, "run", "data/test.zh", "test.hyp")
    detokenize(os.path.join(work, "test.hyp"), os.path.join(work, "test.detok"))
    test = splits["test"]
    report["test_lines"] = len(test)
    report["bleu_lowercase_single_reference"] = single_reference_bleu(
        os.path.join(work, "test.detok"), [en for _, en in test]
    )
    report["test_bleu_lowercase"] = multi_reference_bleu(
        os.path.join(work, "test.detok"), test
    )
    with open(os.path.join(work, "one.zh"), "w", encoding="utf-8") as f:
        f.write("我 喜 欢 中 国 美 食\n")
    startup = infer(work, "run", "one.zh", "one.hyp")
    report["decode_seconds_with_startup"] = wall
    report["startup_seconds"] = startup
    report["decode_sentences_per_second_with_startup"] = len(test) / wall
    report["decode_sentences_per_second_after_startup"] = len(test) / max(
        wall - startup, 1e-9
    )
    if with_curve:
        report["curve"] = curve(work, splits)
    report["wall_seconds"] = time.time() - started
    from benchmarks import common

    report["machine"] = common.machine()
    return report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["setup"]:
        return setup()
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data", default=None, help="default: the bundled pairs"
    )
    parser.add_argument(
        "--curve",
        action="store_true",
        help="keep every checkpoint and score each on dev",
    )
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    minutes = f"{args.minutes:g}"
    work = os.path.abspath(
        args.work_dir
        or os.path.join(ROOT, "runs", "peer", f"{minutes}min_seed{args.seed}")
    )
    report = run(work, args.minutes, args.seed, args.data, args.curve)
    report["command"] = " ".join(["python -m benchmarks.peer.opennmt", *argv])
    from s2s_zoo import io

    output = args.output or os.path.join(
        ROOT, "runs", "peer", f"peer_{minutes}min.json"
    )
    io.write_json(output, report)
    print(
        json.dumps({k: v for k, v in report.items() if k != "curve"}, indent=2)
    )
    return report


if __name__ == "__main__":
    main()
