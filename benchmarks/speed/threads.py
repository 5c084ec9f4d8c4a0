"""Training epochs with TensorFlow's default thread pools, with the
recipe's `--threads auto`, and with `--threads auto` and `--batch-slices
auto`, in three processes taking turns.

    python -m benchmarks.speed.threads                  # 4 epochs each
    python -m benchmarks.speed.threads --epochs 6 --output docs/results/threads

A process's thread pools are fixed when TensorFlow starts, so each setting
gets its own process: each builds `bahdanau_attention` at the `opennmt`
preset (the peer's sizes) on the bundled data (batch 64, the translation
task's pipeline and Adam, the precision `auto` picks) and trains a
warm-up epoch (tracing); then they take turns, one epoch (its own `fit`)
at a time, the order reversed every round, so that the machine's drift
over minutes falls on all alike. The page gives each setting's mean and
best epoch and the median over rounds of the paired ratios (the same
round's epochs) to the setting before it.
"""

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import common  # noqa: E402

#: `--threads` and `--batch-slices` compared, the baseline first, each
#: after the one it changes.
SETTINGS = (("default", "1"), ("auto", "1"), ("auto", "auto"))


def _name(setting):
    return "threads {}, slices {}".format(*setting)


def child(threads, slices, batch_size, preset):
    """One setting's process: answers each line on stdin with the seconds
    of one more epoch."""
    from s2s_zoo import training
    from s2s_zoo.tasks import translation

    # The answers go to stdout; everything the library prints, to stderr.
    answers, sys.stdout = sys.stdout, sys.stderr
    pools = training.use_threads(threads)  # before any TensorFlow op
    run = f"{threads}-{slices}"
    setup = common.translation_setup(batch_size, preset, "threads", run)
    with setup as (precision, config, data):
        config = dataclasses.replace(config, batch_slices=slices)
        model = translation.build(config, data)
        model.fit(data.train, verbose=0)  # warm-up: tracing
        facts = {
            "pools": pools,
            "slices": model.batch_slices,
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
    for setting in SETTINGS:
        processes[setting] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.speed.threads",
                "--child",
                *setting,
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
        facts[setting] = json.loads(_last_line(processes[setting]))
    rows = []
    for epoch in range(epochs):
        order = SETTINGS if epoch % 2 == 0 else SETTINGS[::-1]
        for setting in order:
            process = processes[setting]
            process.stdin.write("epoch\n")
            process.stdin.flush()
            seconds = float(_last_line(process))
            train_pairs = facts[setting]["train_pairs"]
            rows.append(
                {
                    "threads": setting[0],
                    "batch_slices": setting[1],
                    "pools": facts[setting]["pools"],
                    "slices": facts[setting]["slices"],
                    "epoch": epoch,
                    "seconds": seconds,
                    "sentences_per_second": train_pairs / seconds,
                }
            )
            print(
                f"{_name(setting)} (pools {facts[setting]['pools']}, "
                f"{facts[setting]['slices']} slices) epoch {epoch}: "
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
    """The results page: per setting, its pools and slices, mean and best
    epoch; the median paired ratio of each setting to the one before."""
    by_setting = {
        setting: [
            r
            for r in report["rows"]
            if (r["threads"], r["batch_slices"]) == setting
        ]
        for setting in SETTINGS
    }
    lines = [
        common.header("speed.threads"),
        f"Measured by `{report['command']}` on {report['machine']['date']} "
        f"({common.machine_line(_without_threads(report['machine']))}): "
        "`bahdanau_attention` "
        f"at the `{report['preset']}` preset, batch {report['batch_size']}, "
        f"{report['precision']}, {report['train_pairs']:,} training pairs "
        "of the bundled data; one process per setting, each epoch its own "
        "`fit`, the processes taking turns after a warm-up epoch each.",
        "",
        "| `--threads` | `--batch-slices` | TensorFlow's pools (intra-op, "
        "inter-op) | slices | epochs | s per epoch: mean | best | "
        "sentences/s: mean | vs default |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    mean = {
        s: statistics.mean(r["sentences_per_second"] for r in rows)
        for s, rows in by_setting.items()
    }
    for setting, rows in by_setting.items():
        seconds = [r["seconds"] for r in rows]
        lines.append(
            f"| {setting[0]} | {setting[1]} | {rows[0]['pools']} | "
            f"{rows[0]['slices']} | {len(rows)} | "
            f"{statistics.mean(seconds):.1f} | {min(seconds):.1f} | "
            f"{mean[setting]:.0f} | "
            f"{mean[setting] / mean[SETTINGS[0]]:.2f}x |"
        )
    lines += [
        "",
        f"Median over the {len(by_setting[SETTINGS[0]])} rounds of the "
        "paired ratio of the same round's epoch times:",
        "",
    ]
    for before, after in zip(SETTINGS, SETTINGS[1:]):
        ratios = [
            a["seconds"] / b["seconds"]
            for a, b in zip(by_setting[before], by_setting[after])
        ]
        lines.append(
            f"- {_name(before)} / {_name(after)}: "
            f"{statistics.median(ratios):.2f}x (from {min(ratios):.2f}x to "
            f"{max(ratios):.2f}x)."
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        batch_size = int(argv[argv.index("--batch-size") + 1])
        preset = argv[argv.index("--preset") + 1]
        return child(argv[1], argv[2], batch_size, preset)
    return common.epochs_benchmark(
        "speed.threads", __doc__, measure, page, argv
    )


if __name__ == "__main__":
    main()
