"""Decoding speed of an exported translator, measured as a server sees it.

    python -m benchmarks.speed.decode_speed runs/translate
    python -m benchmarks.speed.decode_speed runs/translate \\
        --peer runs/peer/peer_12min.json

Runs the run's `saved_model/` in a fresh Python that imports only
TensorFlow and tensorflow-text (as a server would) on the test split of the
bundled data, line by line as the peer translates it (973 lines, a source
with several references appears once per reference), and prints:

- the wall time of the whole process, start-up and loading included
  (what the peer's `run.sh` reports for its beam-5 translation);
- sentences/s after loading, in batches of 64 sorted by length (one
  warm-up call first);
- batch-1 latency, p50 and p99 over `--latency-calls` single sentences;
- lowercased sacreBLEU of the translations, one reference per line (the
  peer's figure) and with every reference of a source.

With `--peer` (the JSON `benchmarks.peer.opennmt` wrote on the same
machine, just before) it adds the ratios to the peer's decoding speed,
with and without its start-up.
"""

import argparse
import json
import os
import subprocess
import sys
import time

SERVER = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the text ops)
path, lines_path, batch_size, calls = sys.argv[1:5]
batch_size, calls = int(batch_size), int(calls)
serve = tf.saved_model.load(path).signatures["serving_default"]
loaded = time.perf_counter()
with open(lines_path, encoding="utf-8") as f:
    lines = f.read().splitlines()
order = sorted(range(len(lines)), key=lambda i: len(lines[i]))
out = [None] * len(lines)
serve(text=tf.constant(lines[:2]))  # warm-up
begin = time.perf_counter()
for offset in range(0, len(lines), batch_size):
    index = order[offset : offset + batch_size]
    result = serve(text=tf.constant([lines[i] for i in index]))
    for i, t in zip(index, result["translation"].numpy()):
        out[i] = t.decode("utf-8")
batched = time.perf_counter() - begin
latencies = []
for line in lines[:calls]:
    t0 = time.perf_counter()
    serve(text=tf.constant([line]))["translation"].numpy()
    latencies.append(time.perf_counter() - t0)
assert "s2s_zoo" not in sys.modules and "keras_hub" not in sys.modules
print(json.dumps({
    "translations": out,
    "load_seconds": loaded - start,
    "batched_seconds": batched,
    "latency_p50": float(np.percentile(latencies, 50)),
    "latency_p99": float(np.percentile(latencies, 99)),
    "first_pass_seconds": time.perf_counter() - start,
}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("run", help="a translation run directory")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latency-calls", type=int, default=300)
    parser.add_argument("--peer", default=None)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)

    import sacrebleu

    from benchmarks import common as bench_common
    from s2s_zoo.data import translation as text
    from s2s_zoo.metrics import translation as metrics
    from s2s_zoo.tasks import common
    from s2s_zoo.tasks import translation

    run_config = common.read_run_file(args.run)["config"]
    pairs = text.split_pairs(
        translation.load_pairs(
            run_config["data"],
            run_config["source_lang"],
            run_config["target_lang"],
        )
    )["test"]
    lines_path = os.path.join(args.run, "test_sources.txt")
    with open(lines_path, "w", encoding="utf-8") as f:
        f.write("".join(source + "\n" for source, _ in pairs))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SERVER,
            os.path.join(args.run, "saved_model"),
            lines_path,
            str(args.batch_size),
            str(args.latency_calls),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    process_seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    served = json.loads(done.stdout.strip().splitlines()[-1])
    hypotheses = served.pop("translations")
    by_source = dict(zip((s for s, _ in pairs), hypotheses))
    sources, references = text.group_references(pairs)
    lines = len(pairs)
    report = {
        "run": os.path.basename(os.path.normpath(args.run)),
        "beam_width": run_config["beam_width"],
        "test_lines": lines,
        "batch_size": args.batch_size,
        **served,
        # Start-up, loading, the batched pass (the latency calls excluded).
        "wall_seconds_with_startup": served["load_seconds"]
        + served["batched_seconds"],
        "process_seconds": process_seconds,
        "decode_sentences_per_second_after_loading": lines
        / served["batched_seconds"],
        "decode_sentences_per_second_with_startup": lines
        / (served["load_seconds"] + served["batched_seconds"]),
        "bleu_lowercase_single_reference": sacrebleu.corpus_bleu(
            hypotheses, [[t for _, t in pairs]], lowercase=True
        ).score,
        "bleu_lowercase": metrics.corpus_bleu(
            [by_source[s] for s in sources], references, lowercase=True
        ),
        "command": "python -m benchmarks.speed.decode_speed "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": bench_common.machine(),
    }
    if args.peer:
        with open(args.peer) as f:
            peer = json.load(f)
        report["peer"] = {
            key: peer[key]
            for key in (
                "decode_seconds_with_startup",
                "startup_seconds",
                "decode_sentences_per_second_with_startup",
                "decode_sentences_per_second_after_startup",
            )
        }
        report["ratio_after_loading"] = (
            report["decode_sentences_per_second_after_loading"]
            / peer["decode_sentences_per_second_after_startup"]
        )
        report["ratio_with_startup"] = (
            report["decode_sentences_per_second_with_startup"]
            / peer["decode_sentences_per_second_with_startup"]
        )
    output = args.output or os.path.join(args.run, "decode_speed.json")
    common.write_json(output, report)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
