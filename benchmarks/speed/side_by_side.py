"""Ours against OpenNMT-tf in one table, measured side by side in one run.

    python -m benchmarks.speed.side_by_side
    python -m benchmarks.speed.side_by_side --no-training --rounds 3
    python -m benchmarks.speed.side_by_side --ours RUN --peer PEER_WORK

Takes a finished run of the default recipe (`--ours`) and the peer trained
on the same split (`--peer`, a work folder `python -m
benchmarks.peer.versus_peer run` leaves: both come from there by default)
and measures, one after the other on this machine:

- serving, for each of our decoding settings (`VARIANTS`: the training
  graph's step, the fused serving step, the fused step compiled by XLA),
  the run exported again as a SavedModel and served from a fresh Python
  that imports only TensorFlow and tensorflow-text: the test split at
  batch 64 sorted by length, a first pass (tracing, and compiling with
  XLA) and a second one (sentences/s after loading); batch-1 latency p50
  and p99 over `--latency-calls` sentences, after one pass over them;
  resident memory after 100 and after `--memory-calls` calls of random
  batch sizes (1 to 16); lowercased BLEU with every reference;
- the peer's beam-5 decoding of the same test split (`onmt-main infer`,
  its batch of 64) and of `PEER_COPIES` copies of it, and so its
  sentences/s once started (the extra copies over the extra seconds),
  with the BLEU of its translations and its start-up alone (one
  sentence);
- training sentences/s at the peer's sizes and batch (64): ours by
  `benchmarks.speed.train_speed` (the mean of `OUR_EPOCHS` epochs, the
  recipe's precision and thread pools, with its share of the matmul
  peak) and the peer's from a fresh `--peer-train-minutes` run of it on
  the same split, with the same TensorFlow thread pools as ours.

It writes `docs/results/side_by_side.md` and `.json`: absolute figures of
this run and the ratios ours / peer. The order of the serving
measurements alternates between rounds (`--rounds`), and the table gives
the best round of each.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from benchmarks import common
from benchmarks.common import RESULTS
from benchmarks.common import ROOT

RUNS = os.path.join(ROOT, "runs", "versus_peer")
WORK = os.path.join(ROOT, "runs", "side_by_side")

#: Our decoding settings: (name, config changes, what it is).
VARIANTS = [
    (
        "graph",
        {"fused_decoding": False, "xla_decoding": False},
        "the training graph's decoder step",
    ),
    (
        "fused",
        {"fused_decoding": True, "xla_decoding": False},
        "the fused serving step (the default)",
    ),
    (
        "fused_xla",
        {"fused_decoding": True, "xla_decoding": True},
        "the fused step, the search compiled by XLA",
    ),
]

SERVER = r"""
import json, random, sys, time
start = time.perf_counter()
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the text ops)
path, lines_path, latency_calls, memory_calls = sys.argv[1:5]
serve = tf.saved_model.load(path).signatures["serving_default"]
loaded = time.perf_counter()
with open(lines_path, encoding="utf-8") as f:
    lines = f.read().splitlines()
order = sorted(range(len(lines)), key=lambda i: len(lines[i]))

def corpus():
    out = [None] * len(lines)
    begin = time.perf_counter()
    for offset in range(0, len(lines), 64):
        index = order[offset : offset + 64]
        result = serve(text=tf.constant([lines[i] for i in index]))
        for i, t in zip(index, result["translation"].numpy()):
            out[i] = t.decode("utf-8")
    return out, time.perf_counter() - begin

_, first = corpus()
out, second = corpus()
singles = lines[: int(latency_calls)]
for line in singles:
    serve(text=tf.constant([line]))
latencies = []
for line in singles:
    t0 = time.perf_counter()
    serve(text=tf.constant([line]))["translation"].numpy()
    latencies.append(time.perf_counter() - t0)

def rss():
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024.0

rng = random.Random(0)
memory = {}
for call in range(1, int(memory_calls) + 1):
    size = rng.randint(1, 16)
    serve(text=tf.constant(rng.sample(lines, size)))["translation"].numpy()
    if call in (100, int(memory_calls)):
        memory[call] = rss()
print(json.dumps({
    "translations": out,
    "load_seconds": loaded - start,
    "first_pass_seconds": first,
    "batched_seconds": second,
    "latency_p50": float(np.percentile(latencies, 50)),
    "latency_p99": float(np.percentile(latencies, 99)),
    "rss_mib_after_100_calls": memory[100],
    "rss_mib_after_calls": memory[int(memory_calls)],
    "memory_calls": int(memory_calls),
}))
"""


def test_split(run_dir):
    """The run's test pairs, as its recipe split them."""
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import common as task_common
    from s2s_zoo.tasks import translation

    config = task_common.read_run_file(run_dir)["config"]
    return text.split_pairs(
        translation.load_pairs(
            config["data"], config["source_lang"], config["target_lang"]
        )
    )["test"]


def export_variants(run_dir, work):
    """Each `VARIANTS` setting of the run, exported under `work`."""
    from s2s_zoo import commands

    paths = {}
    for name, changes, _ in VARIANTS:
        path = os.path.join(work, name)
        shutil.rmtree(path, ignore_errors=True)
        commands.export(commands.open_run(run_dir), path, **changes)
        paths[name] = path
    return paths


def serve(path, lines_path, latency_calls, memory_calls):
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVER,
            path,
            lines_path,
            str(latency_calls),
            str(memory_calls),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


#: Copies of the test split the peer decodes in one call besides one copy:
#: its sentences/s are those of the extra copies (start-up and first-call
#: costs cancel out), as ours are those of a second pass.
PEER_COPIES = 4


def peer_decoding(peer_dir, pairs):
    """The peer's test-split decoding, start-up and sentences/s, and BLEU.

    `decode_sentences_per_second`: `PEER_COPIES - 1` extra copies of the
    test split over the extra seconds a call with `PEER_COPIES` copies
    took. Start-up alone (about 9 s: TensorFlow, the checkpoint, the
    graph) is as long as the decoding of one copy, and taking a separately
    timed start-up off one call's wall time moved the rate by a third
    between rounds; the difference of two calls does not depend on it.
    """
    from benchmarks.peer import opennmt

    wall = opennmt.infer(peer_dir, "run", "data/test.zh", "side.hyp")
    with open(os.path.join(peer_dir, "data", "test.zh"), encoding="utf-8") as f:
        test = f.read()
    with open(
        os.path.join(peer_dir, "data", "test_copies.zh"), "w", encoding="utf-8"
    ) as f:
        f.write(test * PEER_COPIES)
    copies = opennmt.infer(
        peer_dir, "run", "data/test_copies.zh", "side_copies.hyp"
    )
    startup = opennmt.infer(peer_dir, "run", "one.zh", "side_one.hyp")
    hypotheses = os.path.join(peer_dir, "side.hyp")
    opennmt.detokenize(hypotheses, hypotheses + ".detok")
    return {
        "decode_seconds_with_startup": wall,
        "decode_seconds_copies": copies,
        "copies": PEER_COPIES,
        "startup_seconds": startup,
        "decode_sentences_per_second": (PEER_COPIES - 1)
        * len(pairs)
        / max(copies - wall, 1e-9),
        "decode_sentences_per_second_after_startup": len(pairs)
        / max(wall - startup, 1e-9),
        "bleu_lowercase": opennmt.multi_reference_bleu(
            hypotheses + ".detok", pairs
        ),
    }


def bleu(translations, pairs):
    from s2s_zoo.data import translation as text
    from s2s_zoo.metrics import translation as metrics

    by_source = dict(zip((s for s, _ in pairs), translations))
    sources, references = text.group_references(pairs)
    return metrics.corpus_bleu(
        [by_source[s] for s in sources], references, lowercase=True
    )


def best(rounds, key, low=False):
    values = [r[key] for r in rounds]
    return min(values) if low else max(values)


def measure_serving(args, pairs, paths, lines_path):
    rounds = {name: [] for name in paths}
    peer_rounds = []
    for round_ in range(args.rounds):
        names = list(paths)
        if round_ % 2:
            names.reverse()
        for name in names:
            print(f"round {round_ + 1}: serving {name}", flush=True)
            served = serve(
                paths[name], lines_path, args.latency_calls, args.memory_calls
            )
            translations = served.pop("translations")
            served["sentences_per_second_after_loading"] = (
                len(pairs) / served["batched_seconds"]
            )
            served["bleu_lowercase"] = bleu(translations, pairs)
            rounds[name].append(served)
        print(f"round {round_ + 1}: the peer's decoding", flush=True)
        peer_rounds.append(peer_decoding(args.peer, pairs))
    return rounds, peer_rounds


# Our epochs timed (after a warm-up one), about as long as the peer's
# minutes of training; the table gives their mean, as the peer's figure is
# its mean over its run.
OUR_EPOCHS = 5


def measure_training(args):
    """Ours (train_speed, batch 64, in a fresh process: the recipe's thread
    pools) and the peer's (a fresh short run, with the same pools)."""
    from benchmarks.peer import opennmt

    print("training: ours at the peer's sizes", flush=True)
    output = os.path.join(WORK, "train_speed.json")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.speed.train_speed",
            "--batch-sizes",
            "64",
            "--epochs",
            str(OUR_EPOCHS),
            "--output",
            output,
        ],
        cwd=ROOT,
        check=True,
    )
    with open(output) as f:
        ours = json.load(f)["rows"][0]
    print(
        f"training: the peer, {args.peer_train_minutes:g} minutes, thread "
        f"pools {ours['threads']} as ours",
        flush=True,
    )
    saved = dict(os.environ)
    for name, count in zip(THREAD_VARIABLES, ours["threads"].split(",")):
        if count != "default":
            os.environ[name] = count
    try:
        peer = opennmt.run(
            os.path.join(WORK, "peer_train"), minutes=args.peer_train_minutes
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    peer["threads"] = ours["threads"]
    return ours, peer


#: TensorFlow's settings of its intra-op and inter-op pools (TensorFlow
#: 2.13, the peer's, reads them too).
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def markdown(report):
    serving, peer = report["serving"], report["peer_decoding"]
    peer_speed = max(r["decode_sentences_per_second"] for r in peer)
    peer_bleu = peer[0]["bleu_lowercase"]
    serving_by = report.get(
        "serving_measured",
        {"command": report["command"], "date": report["machine"]["date"]},
    )
    lines = [
        common.header("speed.side_by_side"),
        f"Decoding measured by `{serving_by['command']}` on "
        f"{serving_by['date']} "
        f"({common.machine_line(serving_by.get('machine', report['machine']))}"
        "): "
        f"our run `{report['ours']}` and the peer's `{report['peer']}` "
        f"({report['peer_name']}), trained on the same split; "
        f"{report['test_lines']} test lines; best of {report['rounds']} "
        "rounds.",
        "",
        "| decoding (beam 5) | sentences/s after loading | vs peer | first "
        "pass s | batch-1 p50 ms | p99 ms | RSS MiB after 100 / "
        f"{report['memory_calls']} calls | BLEU (lc) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, _, what in VARIANTS:
        rounds = serving[name]
        speed = best(rounds, "sentences_per_second_after_loading")
        lines.append(
            f"| ours: {what} | {speed:.0f} | {speed / peer_speed:.2f}x | "
            f"{best(rounds, 'first_pass_seconds', True):.1f} | "
            f"{1000 * best(rounds, 'latency_p50', True):.1f} | "
            f"{1000 * best(rounds, 'latency_p99', True):.1f} | "
            f"{rounds[-1]['rss_mib_after_100_calls']:.0f} / "
            f"{rounds[-1]['rss_mib_after_calls']:.0f} | "
            f"{rounds[0]['bleu_lowercase']:.2f} |"
        )
    startup = min(r["startup_seconds"] for r in peer)
    copies = peer[0]["copies"]
    lines.append(
        f"| OpenNMT-tf (`onmt-main infer`: {copies} copies of the split "
        f"against 1; start-up {startup:.1f} s) | {peer_speed:.0f} | 1.00x "
        f"| | | | | {peer_bleu:.2f} |"
    )
    training = report.get("training")
    if training:
        ours, theirs = training["ours"], training["peer"]
        fastest = ours["train_sentences_per_second"]
        speed = ours.get("mean_train_sentences_per_second", fastest)
        epochs = len(ours["epoch_seconds"])
        ratio = speed / theirs["train_sentences_per_second"]
        lines += [
            "",
            f"Training measured by `{training['command']}` on "
            f"{training['date']} ("
            + common.machine_line(
                _without_threads(training.get("machine", report["machine"]))
            )
            + "), one system after the other"
            + _thread_words(ours.get("threads"))
            + ".",
            "",
            "| training at the peer's sizes, batch 64 | sentences/s | vs "
            "peer | share of the matmul peak |",
            "|---|---|---|---|",
            f"| ours ({ours['precision']}"
            + common.slice_words(ours.get("batch_slices"))
            + f", mean of {epochs} epoch"
            f"{'s' if epochs > 1 else ''}) | "
            f"{speed:.0f} | {ratio:.2f}x | "
            f"{100 * ours['peak_share'] * speed / fastest:.1f}% |",
            f"| OpenNMT-tf ({theirs['train_seconds'] / 60:.1f} minutes) | "
            f"{theirs['train_sentences_per_second']:.0f} | 1.00x | |",
        ]
    return "\n".join(lines) + "\n"


def _without_threads(machine):
    """`machine` without the environment's thread settings: the training
    rows state the pools they ran with (`_thread_words`)."""
    return {
        k: v
        for k, v in machine.items()
        if k not in ("intra_op_threads", "inter_op_threads")
    }


def _thread_words(threads):
    """How the training rows' TensorFlow thread pools read on the page."""
    if not threads:
        return ""
    if threads == "default,default":
        return ", both with TensorFlow's default thread pools"
    intra, inter = threads.split(",")
    return (
        f", both with {intra} intra-op and {inter} inter-op threads (the "
        "recipe's `--threads auto` on this machine)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ours", default=os.path.join(RUNS, "ours_seed0"))
    parser.add_argument("--peer", default=os.path.join(RUNS, "peer_seed0"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--memory-calls", type=int, default=1000)
    parser.add_argument("--peer-train-minutes", type=float, default=3.0)
    parser.add_argument(
        "--no-training",
        action="store_true",
        help="serving only (keeps the training rows of the last results)",
    )
    parser.add_argument(
        "--no-serving",
        action="store_true",
        help="training only (keeps the serving rows of the last results)",
    )
    parser.add_argument(
        "--results", default=os.path.join(RESULTS, "side_by_side")
    )
    args = parser.parse_args(argv)
    # Training alone needs no trained runs: it trains both systems afresh.
    needed = (
        []
        if args.no_serving
        else [(args.ours, "--ours"), (args.peer, "--peer")]
    )
    for path, what in needed:
        if not os.path.isdir(path):
            raise SystemExit(
                f"{what} {path}: no such folder; `python -m "
                "benchmarks.peer.versus_peer run --seeds 0` makes both"
            )
    from benchmarks.peer.opennmt import PEER

    command = "python -m benchmarks.speed.side_by_side " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    previous = {}
    if os.path.exists(args.results + ".json"):
        with open(args.results + ".json") as f:
            previous = json.load(f)
    os.makedirs(WORK, exist_ok=True)
    machine = common.machine()
    started = time.time()
    report = {
        "command": command,
        "machine": machine,
        "ours": os.path.relpath(args.ours, ROOT),
        "peer": os.path.relpath(args.peer, ROOT),
        "peer_name": PEER,
        "rounds": args.rounds,
        "memory_calls": args.memory_calls,
    }
    # Each part records the command and date that measured it, so a part
    # kept from the last results says so.
    measured = {"command": command, "date": machine["date"], "machine": machine}
    if args.no_serving:
        for key in ("serving", "peer_decoding", "serving_measured"):
            report[key] = previous[key]
        # Results written before each part kept its machine: the last
        # run's.
        report["serving_measured"].setdefault("machine", previous["machine"])
        for key in ("ours", "peer", "rounds", "memory_calls", "test_lines"):
            report[key] = previous[key]
    else:
        pairs = test_split(args.ours)
        report["test_lines"] = len(pairs)
        lines_path = os.path.join(WORK, "test_sources.txt")
        with open(lines_path, "w", encoding="utf-8") as f:
            f.write("".join(source + "\n" for source, _ in pairs))
        with open(
            os.path.join(args.peer, "one.zh"), "w", encoding="utf-8"
        ) as f:
            f.write("我 喜 欢 中 国 美 食\n")
        paths = export_variants(args.ours, WORK)
        serving, peer = measure_serving(args, pairs, paths, lines_path)
        report.update(
            serving=serving, peer_decoding=peer, serving_measured=measured
        )
    if args.no_training:
        if previous.get("training"):
            report["training"] = previous["training"]
            report["training"].setdefault("machine", previous["machine"])
    else:
        ours, theirs = measure_training(args)
        report["training"] = {"ours": ours, "peer": theirs, **measured}
    report["wall_seconds"] = time.time() - started
    common.write_results(args.results, report, markdown(report))
    return report


if __name__ == "__main__":
    main()
