"""Training epochs with TensorFlow's default thread pools and with the
recipe's `--threads auto`, in two processes taking turns.

    python -m benchmarks.speed.threads                  # 4 epochs each
    python -m benchmarks.speed.threads --epochs 6 --output docs/results/threads

A process's thread pools are fixed when TensorFlow starts, so each setting
gets its own process: each builds `bahdanau_attention` at the `opennmt`
preset (the peer's sizes) on the bundled data (batch 64, the translation
task's pipeline and Adam, the precision `auto` picks) and trains a
warm-up epoch (tracing); then they take turns, one epoch (its own `fit`)
at a time, the order swapped every round, so that the machine's drift
over minutes falls on both alike. The page gives each setting's mean and
best epoch and the median over rounds of the paired ratio (the same
round's epochs).
"""

import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import common  # noqa: E402

#: `--threads` values compared, the baseline first.
SETTINGS = ("default", "auto")


def child(threads, batch_size, preset):
    """One setting's process: answers each line on stdin with the seconds
    of one more epoch."""
    from s2s_zoo import training
    from s2s_zoo.tasks import translation

    # The answers go to stdout; everything the library prints, to stderr.
    answers, sys.stdout = sys.stdout, sys.stderr
    pools = training.use_threads(threads)  # before any TensorFlow op
    setup = common.translation_setup(batch_size, preset, "threads", threads)
    with setup as (precision, config, data):
        model = translation.build(config, data)
        model.fit(data.train, verbose=0)  # warm-up: tracing
        facts = {
            "pools": pools,
            "precision": precision,
            "train_pairs": data.train_pairs,
        }
        print(json.dumps(facts), file=answers, flush=True)
        for _ in sys.stdin:
            start = time.perf_counter()
            model.fit(data.train, verbose=0)
            print(time.perf_counter() - start, file=answers, flush=True)


def measure(epochs, batch_size, preset):
    processes = {}
    facts = {}
    for threads in SETTINGS:
        processes[threads] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.speed.threads",
                "--child",
                threads,
                "--batch-size",
                str(batch_size),
                "--preset",
                preset,
            ],
            cwd=common.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        # One process ready before the next starts: no overlap.
        facts[threads] = json.loads(_last_line(processes[threads]))
    rows = []
    for epoch in range(epochs):
        order = SETTINGS if epoch % 2 == 0 else SETTINGS[::-1]
        for threads in order:
            process = processes[threads]
            process.stdin.write("epoch\n")
            process.stdin.flush()
            seconds = float(_last_line(process))
            train_pairs = facts[threads]["train_pairs"]
            rows.append(
                {
                    "setting": threads,
                    "pools": facts[threads]["pools"],
                    "epoch": epoch,
                    "seconds": seconds,
                    "sentences_per_second": train_pairs / seconds,
                }
            )
            print(
                f"{threads:>8} ({facts[threads]['pools']}) epoch {epoch}: "
                f"{seconds:.2f} s, {rows[-1]['sentences_per_second']:.0f} "
                "sentences/s",
                flush=True,
            )
    for process in processes.values():
        process.stdin.close()
        process.wait()
    first = facts[SETTINGS[0]]
    return {
        "precision": first["precision"],
        "train_pairs": first["train_pairs"],
    }, rows


def _last_line(process):
    """The child's next answer."""
    line = process.stdout.readline()
    if not line:
        raise SystemExit("a benchmark process ended early; see its output")
    return line


def _without_threads(machine):
    """The table gives each row's pools: the environment's settings, which
    `machine()` records, would only contradict it."""
    return {k: v for k, v in machine.items() if "op_threads" not in k}


def page(report):
    """The results page: per setting, its pools, mean and best epoch; the
    median paired ratio of `auto` to `default`."""
    by_setting = {
        s: [r for r in report["rows"] if r["setting"] == s] for s in SETTINGS
    }
    ratios = [
        a["seconds"] / b["seconds"]
        for a, b in zip(by_setting["default"], by_setting["auto"])
    ]
    lines = [
        common.header("speed.threads"),
        f"Measured by `{report['command']}` on {report['machine']['date']} "
        f"({common.machine_line(_without_threads(report['machine']))}): "
        "`bahdanau_attention` "
        f"at the `{report['preset']}` preset, batch {report['batch_size']}, "
        f"{report['precision']}, {report['train_pairs']:,} training pairs "
        "of the bundled data; one process per setting, each epoch its own "
        "`fit`, the two processes taking turns after a warm-up epoch each.",
        "",
        "| `--threads` | TensorFlow's pools (intra-op, inter-op) | epochs | "
        "s per epoch: mean | best | sentences/s: mean | vs default |",
        "|---|---|---|---|---|---|---|",
    ]
    mean = {
        s: statistics.mean(r["sentences_per_second"] for r in rows)
        for s, rows in by_setting.items()
    }
    for setting, rows in by_setting.items():
        seconds = [r["seconds"] for r in rows]
        lines.append(
            f"| {setting} | {rows[0]['pools']} | {len(rows)} | "
            f"{statistics.mean(seconds):.1f} | {min(seconds):.1f} | "
            f"{mean[setting]:.0f} | {mean[setting] / mean['default']:.2f}x |"
        )
    lines += [
        "",
        f"Median over the {len(ratios)} rounds of the same round's epoch "
        f"time, default / auto: {statistics.median(ratios):.2f}x (from "
        f"{min(ratios):.2f}x to {max(ratios):.2f}x).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        batch_size = int(argv[argv.index("--batch-size") + 1])
        preset = argv[argv.index("--preset") + 1]
        return child(argv[1], batch_size, preset)
    return common.epochs_benchmark(
        "speed.threads", __doc__, measure, page, argv
    )


if __name__ == "__main__":
    main()
