"""Training throughput of the default translator on each backend and in a
2-process data-parallel job, measured in one run and printed as one table.

    python -m benchmarks.speed.backends       # 60 timed steps each
    python -m benchmarks.speed.backends --steps 30 \
        --json docs/results/backends.json

Each configuration runs in fresh Python processes: the default recipe's
data, tokenizers and model (`s2s_zoo.tasks.translation`: bahdanau_attention
at the `cpu` preset, batches of 128, float32), `--warmup` steps untimed
(tracing and compiling), then `--steps` timed steps of `model.fit` on the
same global batches in the same order. Printed per row: training
sentences/s and target tokens/s over the timed steps, and the mean loss of
the last 10 steps.

- `tensorflow`: one process (`KERAS_BACKEND=tensorflow`);
- `jax`: one process;
- `jax, 2 processes`: `keras.distribution.DataParallel` over 2 processes
  on 127.0.0.1, each pinned to one core (the global batch stays 128);
- `tensorflow, mirrored`: MirroredStrategy over 2 logical CPU devices.

On a 2-core machine the rows compare engines, not scale: 2 processes or
devices share the same 2 cores that one process already uses. Run it alone.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

from benchmarks.common import ROOT
from benchmarks.common import header as page_header

CHILD = r"""
import json, os, sys, time
steps, warmup, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if mode == "mirrored":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from s2s_zoo import distributed
from s2s_zoo.tasks import translation

if mode == "data_parallel":
    distributed.setup("data_parallel", sys.argv[4], 2, int(sys.argv[5]))
elif mode == "mirrored":
    distributed.setup("mirrored")
config = translation.Config(precision="float32", select_on="loss",
                            output_dir=os.environ["BENCH_DIR"])
keras.utils.set_random_seed(config.seed)
data = translation.prepare(config)
model = translation.build(config, data)
times, losses = [], []

class Clock(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()
    def on_train_batch_end(self, batch, logs=None):
        times.append(time.perf_counter() - self.start)
        losses.append(float(logs["loss"]))

# Keras reports a running mean; the timed window's own steps are read off
# the per-step clock, and the loss at the end of the window.
model.fit(data.train_epochs(epochs=range(0, 1)), epochs=1,
          steps_per_epoch=warmup + steps, verbose=0, callbacks=[Clock()])
timed = times[warmup:]
# The first warmup + steps batches of epoch 0: sentences and tokens.
sentences = tokens = 0
source = data.train_epochs(epochs=range(0, 1))
for k, (inputs, target) in enumerate(source.take(warmup + steps)):
    if k >= warmup:
        sentences += int(target.shape[0])
        tokens += int(np.sum(target.numpy() != 0))
if distributed.current().multi_process:
    # This process's rows: the job trains on twice as many (padding rows
    # counted out by the token count).
    sentences *= 2
    tokens *= 2
seconds = sum(timed)
print(json.dumps({
    "seconds": seconds,
    "sentences_per_second": sentences / seconds,
    "tokens_per_second": tokens / seconds,
    "final_loss": float(np.mean(losses[-10:])),
    "chief": distributed.current().is_chief,
}))
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1] + 2


def _run(args, backend, mode, extra=(), cores=None, tmp="runs/bench"):
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "BENCH_DIR": tmp,
    }
    command = [sys.executable, "-c", CHILD, str(args.steps), str(args.warmup)]
    command += [mode, *extra]
    if cores is not None:
        command = ["taskset", "-c", cores, *command]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process):
    out, err = process.communicate(timeout=3600)
    if process.returncode != 0:
        raise RuntimeError(err[-3000:])
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--markdown", help="also write the table here")
    args = parser.parse_args(argv)
    rows = []

    def add(name, result):
        rows.append({"configuration": name, **result})
        print(f"  {name}: {result['sentences_per_second']:.0f} sentences/s")

    add("tensorflow", _result(_run(args, "tensorflow", "single")))
    add("jax", _result(_run(args, "jax", "single")))
    port = _free_port()
    address = f"127.0.0.1:{port}"
    jobs = [
        _run(args, "jax", "data_parallel", (address, str(i)), cores=str(i))
        for i in (0, 1)
    ]
    results = [_result(job) for job in jobs]
    add("jax, 2 processes", next(r for r in results if r["chief"]))
    add("tensorflow, mirrored", _result(_run(args, "tensorflow", "mirrored")))

    base = rows[0]["sentences_per_second"]
    header = (
        f"Default translator (bahdanau_attention, cpu preset, batch 128, "
        f"float32), {args.steps} timed steps after {args.warmup}; "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}."
    )
    lines = [
        "| configuration | sentences/s | target tokens/s | vs TF | loss |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['configuration']} | {row['sentences_per_second']:.0f} "
            f"| {row['tokens_per_second']:.0f} "
            f"| {row['sentences_per_second'] / base:.2f}x "
            f"| {row['final_loss']:.3f} |"
        )
    print("\n".join(lines))
    if args.markdown:
        command = "python -m benchmarks.speed.backends " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        with open(args.markdown, "w") as f:
            f.write(
                f"{page_header('speed.backends')}\n"
                f"Written by `{command}`. {header}\n\n"
                + "\n".join(lines)
                + "\n\nThe loss column is the mean of the last 10 timed "
                "steps, as Keras logs it.\n"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "command": "python -m benchmarks.speed.backends "
                    + " ".join(argv or sys.argv[1:]),
                    "date": time.strftime("%Y-%m-%d"),
                    "cpus": os.cpu_count(),
                    "steps": args.steps,
                    "warmup": args.warmup,
                    "rows": rows,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
