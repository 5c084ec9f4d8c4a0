"""Fuzzing and concurrent load for the SavedModels the recipes export.

    python -m benchmarks.serving.fuzz_serving runs/translate/saved_model \\
        runs/aspect_sentiment/saved_model runs/sentence_pairs/saved_model

Each SavedModel is loaded as a server loads it, with TensorFlow and
tensorflow-text only (this module imports nothing of s2s_zoo, so the
tests can run it in such a process too), and called with hostile inputs:
empty and whitespace-only strings, control characters, NUL, invalid UTF-8
and lone surrogates (as bytes: a `tf.string` carries any bytes), emoji,
mixed scripts, right-to-left text, combining marks, 10,000-character
strings, batches of 1, 64 and 512, batches that mix empty and long
strings, and, for the two-input models, batches of different sizes.

It reports, per model: the number of errors (must be 0; a mismatched pair
batch must fail with the signature's own message, and counts as an error
otherwise), the slowest call against a batch of 64 ordinary sentences,
and the growth of the process's resident memory; then 16 threads call the
model at once for a bounded time, and it reports requests/s, p50 / p99
latency and whether every answer equals the sequential one.
"""

import argparse
import json
import random
import statistics
import sys
import threading
import time

import numpy as np
import tensorflow as tf

from benchmarks.common import header

ORDINARY = [
    "我喜欢中国美食。",
    "The food was great but the staff was rude.",
    "A dog is running in the park.",
    "Il fait beau aujourd'hui.",
    "How are glacier caves formed?",
    "Tom doesn't want to go home now.",
]

# Pieces of hostile text, as bytes: a tf.string holds any bytes, so a
# server can receive all of these from a client.
_PIECES = [
    b"",
    b" ",
    b"\t\n\r\x0b\x0c",
    "\u3000\u00a0\u2028\u2029".encode(),  # ideographic, no-break, separators
    b"\x00",
    b"a\x00b",
    bytes(range(1, 32)),
    b"\x7f\x1b[31m",
    b"\xff\xfe\xfd",  # not UTF-8 at all
    b"\xc3\x28",  # a broken two-byte sequence
    b"\xed\xa0\x80",  # a lone surrogate (U+D800), invalid in UTF-8
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xe6\x88",  # a truncated CJK character
    "😀🍜🇨🇳👨‍👩‍👧".encode(),
    "mixed 中文 English русский 日本語 한국어".encode(),
    "مرحبا بالعالم".encode(),  # right to left
    "שלום \u202e evil \u202c".encode(),  # RTL override
    "e\u0301\u0301\u0301 a\u0308".encode(),  # combining marks
    "\ufeff\u200b\u200d\u2060".encode(),  # BOM, zero-width characters
    "[PAD] [UNK] [START] [END] <s> </s>".encode(),
    b"%s %d {0} \\n \\x00",
]


def hostile_strings(count=1000, seed=0):
    """`count` hostile inputs (bytes), the same for the same `seed`."""
    rng = random.Random(seed)
    out = []
    long_units = ["中", "word ", "😀", "a", " ", "\u0301", "مرحبا "]
    while len(out) < count:
        kind = len(out) % 5
        if kind == 0:
            out.append(rng.choice(_PIECES))
        elif kind == 1:  # several pieces and ordinary text, shuffled
            parts = rng.sample(_PIECES, 3) + [rng.choice(ORDINARY).encode()]
            rng.shuffle(parts)
            out.append(b" ".join(parts))
        elif kind == 2:  # a 10,000-character string
            unit = rng.choice(long_units)
            out.append((unit * (10_000 // len(unit) + 1))[:10_000].encode())
        elif kind == 3:  # random bytes
            out.append(
                bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            )
        else:  # an ordinary sentence with a hostile piece inside
            sentence = rng.choice(ORDINARY).encode()
            cut = rng.randrange(len(sentence) + 1)
            out.append(sentence[:cut] + rng.choice(_PIECES) + sentence[cut:])
    return out


def _inputs(signature):
    """The names of the signature's string inputs, in order."""
    names = sorted(signature.structured_input_signature[1])
    # Pair models: sentence1, sentence2; aspect: sentence, aspect.
    if names == ["aspect", "sentence"]:
        names = ["sentence", "aspect"]
    return names


def _call(serve, names, columns):
    return serve(
        **{n: tf.constant(c, tf.string) for n, c in zip(names, columns)}
    )


def _rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _batches(strings, rng):
    """(label, batch) pairs: every string alone, in 512s, and 64s that mix
    empty and 10,000-character strings."""
    for s in strings:
        yield "1", [s]
    for i in range(0, len(strings), 512):
        yield "512", strings[i : i + 512]
    longs = [s for s in strings if len(s) >= 10_000]
    for _ in range(4):
        mixed = [b""] * 32 + rng.sample(longs, min(32, len(longs)))
        rng.shuffle(mixed)
        yield "64 mixed", mixed


def fuzz(serve, count=1000, seed=0):
    """Calls `serve` with `count` hostile inputs; returns a report dict."""
    names = _inputs(serve)
    rng = random.Random(seed)
    strings = hostile_strings(count, seed)
    ordinary = [ORDINARY[i % len(ORDINARY)].encode() for i in range(64)]

    def columns(batch):
        # The other input of a two-input model: other hostile strings.
        return [batch] + [rng.sample(strings, len(batch)) for _ in names[1:]]

    _call(serve, names, [ordinary] * len(names))  # warm-up
    start = time.perf_counter()
    _call(serve, names, [ordinary] * len(names))
    ordinary_seconds = time.perf_counter() - start
    rss_start = _rss_mib()
    errors, slowest, calls = [], {}, 0
    for label, batch in _batches(strings, rng):
        start = time.perf_counter()
        try:
            out = _call(serve, names, columns(batch))
            rows = {int(v.shape[0]) for v in out.values()}
            if rows != {len(batch)}:
                errors.append(f"batch of {len(batch)}: outputs of {rows} rows")
        except Exception as error:  # noqa: BLE001 (counted and reported)
            errors.append(
                f"batch of {len(batch)}: {type(error).__name__}: {error}"[:300]
            )
        seconds = time.perf_counter() - start
        slowest[label] = max(slowest.get(label, 0.0), seconds)
        calls += 1
    mismatched = None
    if len(names) == 2:
        try:
            _call(serve, names, [strings[:3], strings[:2]])
            errors.append("a mismatched pair batch was answered")
        except tf.errors.InvalidArgumentError as error:
            wanted = "must hold the same number of strings"
            lines = [x for x in error.message.splitlines() if wanted in x]
            if not lines:
                errors.append(f"mismatched pair batch: {error.message[:300]}")
            mismatched = (lines or [error.message])[0].strip()[:200]
    return {
        "inputs": len(strings),
        "calls": calls,
        "errors": len(errors),
        "error_samples": errors[:5],
        "ordinary_64_seconds": ordinary_seconds,
        "slowest_seconds": slowest,
        "slowest_64_mixed_vs_ordinary_64": slowest.get("64 mixed", 0.0)
        / ordinary_seconds,
        "memory_growth_mib": _rss_mib() - rss_start,
        "mismatched_batch_error": mismatched,
    }


def _equal(a, b):
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key].numpy(), b[key].numpy()
        if x.dtype.kind in "fc":
            if not np.allclose(x, y, rtol=1e-5, atol=1e-6):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def load_test(serve, threads=16, seconds=20.0, batch_size=8, seed=0):
    """`threads` threads call `serve` at once for about `seconds`; every
    answer is compared with the sequential answer to the same request."""
    names = _inputs(serve)
    rng = random.Random(seed)
    pool = hostile_strings(256, seed + 1) + [s.encode() for s in ORDINARY] * 20
    requests = [
        [rng.sample(pool, batch_size) for _ in names] for _ in range(32)
    ]
    expected = [_call(serve, names, r) for r in requests]
    latencies, mismatches, errors = [], [0], []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(k):
        i = k
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                out = _call(serve, names, requests[i % len(requests)])
            except Exception as error:  # noqa: BLE001
                with lock:
                    errors.append(repr(error)[:200])
                continue
            elapsed = time.perf_counter() - start
            same = _equal(out, expected[i % len(requests)])
            with lock:
                latencies.append(elapsed)
                mismatches[0] += not same
            i += threads

    started = time.perf_counter()
    workers = [
        threading.Thread(target=worker, args=(k,)) for k in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "threads": threads,
        "batch_size": batch_size,
        "requests": len(latencies),
        "errors": len(errors),
        "answers_differing_from_sequential": mismatches[0],
        "requests_per_second": len(latencies) / wall,
        "latency_p50_ms": 1000 * pick(0.50) if latencies else None,
        "latency_p99_ms": 1000 * pick(0.99) if latencies else None,
        "latency_mean_ms": 1000 * statistics.fmean(latencies)
        if latencies
        else None,
    }


def _name(path):
    # A run's folder name, never a path of this machine.
    parts = [p for p in path.rstrip("/").split("/") if p]
    if len(parts) >= 2 and parts[-1] == "saved_model":
        return parts[-2]
    return parts[-1]


def write_results(report, args, argv):
    """serving_fuzz.json and a markdown table, with command, date and
    machine."""
    import os
    import platform

    os.makedirs(args.results_dir, exist_ok=True)
    command = "python -m benchmarks.serving.fuzz_serving " + " ".join(
        _name(a) if a in args.saved_models else a
        for a in (sys.argv[1:] if argv is None else argv)
        if a != args.results_dir and a != "--results-dir"
    )
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    machine = (
        f"{os.cpu_count()} CPUs, {platform.platform()}, TensorFlow "
        f"{tf.__version__}"
    )
    named = {_name(path): value for path, value in report.items()}
    with open(os.path.join(args.results_dir, "serving_fuzz.json"), "w") as f:
        json.dump(
            {
                "command": command,
                "date": date,
                "machine": machine,
                "models": named,
            },
            f,
            indent=2,
        )
    rows = [
        "| run | hostile inputs | errors | slowest call, batch 1 / 512 / 64 "
        "mixed (s) | 64 ordinary (s) | slowest 64 mixed / 64 ordinary | "
        "memory growth (MiB) | 16 threads: requests/s | p50 / p99 (ms) | "
        "errors, answers unlike sequential |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, value in named.items():
        fz, ld = value["fuzz"], value["load"]
        slow = fz["slowest_seconds"]
        rows.append(
            f"| `{name}` | {fz['inputs']} | {fz['errors']} | "
            f"{slow.get('1', 0):.2f} / {slow.get('512', 0):.2f} / "
            f"{slow.get('64 mixed', 0):.2f} | {fz['ordinary_64_seconds']:.2f} "
            f"| {fz['slowest_64_mixed_vs_ordinary_64']:.1f}x | "
            f"{fz['memory_growth_mib']:.0f} | "
            f"{ld['requests_per_second']:.1f} | {ld['latency_p50_ms']:.0f} / "
            f"{ld['latency_p99_ms']:.0f} | {ld['errors']}, "
            f"{ld['answers_differing_from_sequential']} |"
        )
    text = (
        header("serving.fuzz_serving")
        + "\n"
        + "\n".join(rows)
        + f"\n\n`{command}` on {date}; {machine}. Threads send batches of "
        f"{ld['batch_size']} for {args.seconds:.0f} s.\n"
    )
    with open(os.path.join(args.results_dir, "serving_fuzz.md"), "w") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("saved_models", nargs="+")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--results-dir",
        help="also write serving_fuzz.json and serving_fuzz.md there "
        "(docs/results for the docs' Reliability page)",
    )
    args = parser.parse_args(argv)
    import tensorflow_text  # noqa: F401  (registers the text ops)

    report = {}
    for path in args.saved_models:
        serve = tf.saved_model.load(path).signatures["serving_default"]
        fuzzed = fuzz(serve, args.count)
        loaded = load_test(serve, args.threads, args.seconds)
        report[path] = {"fuzz": fuzzed, "load": loaded}
        print(
            f"{path}: {fuzzed['inputs']} hostile inputs in {fuzzed['calls']} "
            f"calls, {fuzzed['errors']} errors; slowest call "
            + ", ".join(
                f"batch {k}: {v:.2f} s"
                for k, v in fuzzed["slowest_seconds"].items()
            )
            + f" (64 ordinary sentences: {fuzzed['ordinary_64_seconds']:.2f} s,"
            f" so {fuzzed['slowest_64_mixed_vs_ordinary_64']:.1f}x); memory "
            f"growth {fuzzed['memory_growth_mib']:.0f} MiB",
            flush=True,
        )
        print(
            f"  {loaded['threads']} threads: "
            f"{loaded['requests_per_second']:.1f} requests/s (batch "
            f"{loaded['batch_size']}), p50 {loaded['latency_p50_ms']:.0f} ms, "
            f"p99 {loaded['latency_p99_ms']:.0f} ms; {loaded['errors']} "
            f"errors, {loaded['answers_differing_from_sequential']} answers "
            "differing from sequential calls",
            flush=True,
        )
    if args.results_dir:
        write_results(report, args, argv)
    failed = any(
        r["fuzz"]["errors"]
        or r["load"]["errors"]
        or r["load"]["answers_differing_from_sequential"]
        for r in report.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
