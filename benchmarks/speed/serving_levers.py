"""Two serving levers measured before building them: int8 weights and a
target vocabulary shortlist.

    python -m benchmarks.speed.serving_levers [--run bahdanau_zh_en_tatoeba]

1. **int8 weights.** The output projection is the step's largest matrix
   product: `(beams x batch, l) @ (l, V)`. Timed here at the run's sizes
   (beam 5, batch 64) in float32, in bfloat16 (what the served model
   runs) and in int8 with int32 accumulation (what dynamic-range int8
   serving would run: `keras.ops.matmul` of two int8 tensors, as Keras'
   own int8 `Dense` does), each inside one graph loop of `--repeats`
   products.
2. **A shortlist** (Jean et al. 2015's candidate list): each sentence may
   only produce the `K` most frequent target tokens of the training data
   and, for each of its source tokens, that token's `K'` most likely
   translations under IBM Model 1 (five EM iterations on the run's
   training split, a NULL source word included). Reported for a few
   `(K, K')`: the list's mean and largest size, and how much of what the
   model translates with its full vocabulary (beam 5, the run's test
   split) the lists hold: the share of output tokens, and of sentences
   whose every token is in their list. A sentence not fully covered is a
   sentence the shortlist would translate differently.

Written to `docs/results/serving_levers.md` and `.json`.
"""

import argparse
import collections
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks import common  # noqa: E402

SHORTLISTS = [(100, 10), (200, 10), (200, 20), (300, 20), (500, 20)]
IBM1_ITERATIONS = 5


def time_products(rows, depth, columns, repeats):
    """Microseconds per `(rows, depth) @ (depth, columns)` product, by
    dtype, each the best of three graph loops of `repeats` products."""
    import tensorflow as tf
    from keras import ops

    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, depth)).astype("float32")
    w = rng.standard_normal((depth, columns)).astype("float32")
    cases = {
        "float32": (x, w),
        "bfloat16": (tf.cast(x, tf.bfloat16), tf.cast(w, tf.bfloat16)),
        "int8 (int32 sums)": (
            tf.constant(np.clip(x * 30, -127, 127).astype("int8")),
            tf.constant(np.clip(w * 30, -127, 127).astype("int8")),
        ),
    }
    found = {}
    for name, (a, b) in cases.items():
        a, b = tf.constant(a), tf.constant(b)

        @tf.function(autograph=False)
        def loop(a, b):
            def body(i, total):
                product = ops.matmul(a, b)
                return i + 1, total + tf.cast(product[0, 0], tf.float32)

            return tf.while_loop(
                lambda i, total: i < repeats, body, (0, tf.constant(0.0))
            )[1]

        loop(a, b)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            loop(a, b).numpy()
            best = min(best, time.perf_counter() - start)
        found[name] = 1e6 * best / repeats
    return found


def ibm_model_1(sources, targets, source_size, target_size, iterations):
    """`t(e | f)`, `(source_size + 1, target_size)`: IBM Model 1's
    translation table by EM over id lists, row `source_size` the NULL
    word."""
    table = np.full((source_size + 1, target_size), 1.0 / target_size)
    table = table.astype("float32")
    pairs = [
        (np.array(list(f) + [source_size]), np.array(e))
        for f, e in zip(sources, targets)
        if len(e)
    ]
    for _ in range(iterations):
        counts = np.zeros_like(table)
        for f, e in pairs:
            weights = table[np.ix_(f, e)]  # (|f| + 1, |e|)
            posterior = weights / weights.sum(0, keepdims=True)
            np.add.at(counts, (f[:, None], e[None, :]), posterior)
        table = counts / np.maximum(counts.sum(1, keepdims=True), 1e-12)
    return table


def coverage(table, frequent, sources, outputs, common_count, per_source):
    """List sizes and coverage of `outputs` for one `(K, K')`."""
    best = np.argsort(-table, axis=1)[:, :per_source]
    always = set(frequent[:common_count])
    sizes, covered, tokens, whole = [], 0, 0, 0
    for source, output in zip(sources, outputs):
        candidates = always | set(best[source].ravel().tolist())
        inside = sum(token in candidates for token in output)
        sizes.append(len(candidates))
        covered += inside
        tokens += len(output)
        whole += inside == len(output)
    return {
        "frequent": common_count,
        "per_source_token": per_source,
        "mean_size": float(np.mean(sizes)),
        "max_size": int(max(sizes)),
        "token_coverage": covered / max(tokens, 1),
        "sentence_coverage": whole / max(len(outputs), 1),
    }


def shortlists(run):
    """Coverage rows for `SHORTLISTS` on a translation run's data."""
    import tensorflow as tf

    from s2s_zoo.data.vocabulary import END_ID
    from s2s_zoo.serving.translation import make_translator
    from s2s_zoo.serving.translation import translate_corpus
    from s2s_zoo.tasks.translation.data import load_pairs
    from s2s_zoo.tasks.translation.data import split

    config = run.config
    splits = split(
        config,
        load_pairs(
            config.data,
            config.source_lang,
            config.target_lang,
            config.strict_data,
        ),
    )

    def ids(tokenizer, texts):
        tokens = tokenizer.layer.tokenize(tf.constant(texts))
        tokens = tokens.to_list() if hasattr(tokens, "to_list") else tokens
        return [[int(t) for t in row] for row in tokens]

    train = splits["train"]
    train_sources = ids(run.source_tokenizer, [p[0] for p in train])
    train_targets = ids(run.target_tokenizer, [p[1] for p in train])
    start = time.perf_counter()
    table = ibm_model_1(
        train_sources,
        train_targets,
        len(run.source_tokenizer.vocabulary),
        len(run.target_tokenizer.vocabulary),
        IBM1_ITERATIONS,
    )
    seconds = time.perf_counter() - start
    counts = collections.Counter(t for row in train_targets for t in row)
    frequent = [END_ID] + [t for t, _ in counts.most_common()]
    test_sources = [p[0] for p in splits["test"]]
    translator = make_translator(
        run.model,
        run.source_tokenizer,
        run.target_tokenizer,
        beam_width=5,
        length_penalty=1.0,
        fused=True,
    )
    outputs, _ = translate_corpus(translator, test_sources)
    rows = [
        coverage(
            table,
            frequent,
            ids(run.source_tokenizer, test_sources),
            ids(run.target_tokenizer, outputs),
            k,
            per_source,
        )
        for k, per_source in SHORTLISTS
    ]
    return rows, len(train), len(test_sources), seconds


def markdown(report):
    products = report["products"]
    lines = [
        common.header("speed.serving_levers"),
        f"Measured by `{report['command']}` on {report['machine']['date']} "
        f"({common.machine_line(report['machine'])}), `{report['run']}`.",
        "",
        f"The output projection `({products['rows']}, {products['depth']}) "
        f"@ ({products['depth']}, {products['columns']})` (beam 5 x batch "
        "64), microseconds per product:",
        "",
        "| dtype | us per product | vs bfloat16 |",
        "|---|---|---|",
    ]
    base = products["microseconds"]["bfloat16"]
    for name, us in products["microseconds"].items():
        lines.append(f"| {name} | {us:.0f} | {us / base:.2f}x |")
    lines += [
        "",
        f"Shortlists from IBM Model 1 ({IBM1_ITERATIONS} EM iterations on "
        f"{report['train_pairs']} training pairs, "
        f"{report['ibm1_seconds']:.0f} s) and the most frequent target "
        f"tokens, against the model's own beam-5 translations of "
        f"{report['test_sentences']} test sentences (target vocabulary "
        f"{products['columns']}):",
        "",
        "| frequent K | per source token K' | mean list | largest list "
        "| output tokens covered | sentences fully covered |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["shortlists"]:
        lines.append(
            f"| {row['frequent']} | {row['per_source_token']} | "
            f"{row['mean_size']:.0f} | {row['max_size']} | "
            f"{100 * row['token_coverage']:.1f}% | "
            f"{100 * row['sentence_coverage']:.1f}% |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="bahdanau_zh_en_tatoeba")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument(
        "--results", default=os.path.join(common.RESULTS, "serving_levers")
    )
    args = parser.parse_args(argv)
    from s2s_zoo import commands

    run = commands.open_run(args.run)
    depth = run.model.decoder.deep_output.logits.kernel.shape[0]
    columns = len(run.target_tokenizer.vocabulary)
    products = {
        "rows": 5 * 64,
        "depth": int(depth),
        "columns": columns,
        "microseconds": time_products(5 * 64, depth, columns, args.repeats),
    }
    rows, train_pairs, test_sentences, seconds = shortlists(run)
    report = {
        "command": "python -m benchmarks.speed.serving_levers "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": common.machine(),
        "run": args.run,
        "products": products,
        "shortlists": rows,
        "train_pairs": train_pairs,
        "test_sentences": test_sentences,
        "ibm1_seconds": seconds,
    }
    common.write_results(args.results, report, markdown(report))


if __name__ == "__main__":
    main()
