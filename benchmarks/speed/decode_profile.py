"""Where one beam-5 decoding call spends its time, part by part.

    python -m benchmarks.speed.decode_profile [--run bahdanau_zh_en_tatoeba]

Takes a translation run or preset and the test split of its data, sorts
the sentences by length and decodes them in batches of 64 (beam 5), as
the served model does, timing in turn graphs that stop after each part:

1. `encode`: the source embedding, the bidirectional GRU, the attention
   keys and the per-sentence rows the decoder reads;
2. `+ decoder steps`: the decoder run for the steps the search took, the
   most probable token fed back (no search);
3. `+ log-softmax and top-k`: the same with the beam's scoring of the
   `beams x vocabulary` candidates;
4. `whole search`: `generate`, with the beams' bookkeeping (reordering
   the states, the constraints, the written tokens and attention), on
   every row of the batch until its last sentence ends
   (`compaction=0`), as the parts before it.

Each part's share is the difference to the part before, for the training
graph's step and for the fused serving step. A last row times the search
as it runs by default, leaving finished sentences behind
(`s2s_zoo.decoding.COMPACTION`). Written to
`docs/results/decode_profile.md` and `.json`.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks import common  # noqa: E402

PARTS = [
    "encode",
    "+ decoder steps",
    "+ log-softmax and top-k",
    "whole search",
]


def profile(run, sources, beam_width=5, batch_size=64, repeats=2):
    """Seconds per part (cumulative, as `PARTS`) for `constants` None and
    the fused step, best of `repeats` passes over `sources`."""
    import keras
    import tensorflow as tf
    from keras import ops

    from s2s_zoo import decoding
    from s2s_zoo.serving.translation import output_limits
    from s2s_zoo.serving.translation import output_width
    from s2s_zoo.serving.translation import prepare_source

    model = run.model

    @tf.function(autograph=False)
    def ids(text):
        return prepare_source(text, run.source_tokenizer, 100)[0]

    order = sorted(sources, key=len)
    batches = [
        ids(tf.constant(order[i : i + batch_size]))
        for i in range(0, len(order), batch_size)
    ]

    def functions(constants):
        def encode(source):
            if constants is None:
                return model.encode(source)
            return model.encode(source, constants)

        def step(tokens, state, memory):
            if constants is None:
                return model.decode_step(tokens, state, memory)
            return model.decode_step(tokens, state, memory, constants)

        def loop(source, steps, score):
            state, memory = encode(source)

            def repeat(x):
                return ops.repeat(x, beam_width, axis=0)

            state = keras.tree.map_structure(repeat, state)
            memory = keras.tree.map_structure(repeat, memory)
            rows = tf.shape(source)[0]
            tokens = tf.fill([rows * beam_width], model.start_token_id)

            def body(t, tokens, state):
                logits, state, _ = step(tokens, state, memory)
                if score:
                    log_probs = tf.nn.log_softmax(tf.cast(logits, "float32"))
                    _, index = tf.math.top_k(
                        tf.reshape(log_probs, [rows, -1]), beam_width
                    )
                    tokens = tf.reshape(index % tf.shape(logits)[-1], [-1])
                else:
                    tokens = tf.argmax(logits, -1, output_type=tf.int32)
                return t + 1, tokens, state

            # Return what the last step wrote: a loop whose outputs go
            # unread may be cut out of the graph.
            _, tokens, state = tf.while_loop(
                lambda t, *_: t < steps, body, (0, tokens, state)
            )
            return tf.reduce_sum(tokens) + tf.cast(
                tf.reduce_sum(tf.nest.flatten(state)[0][:, :1]), tf.int32
            )

        def search(source, compaction):
            out = model.generate(
                source,
                max_length=output_width(tf.shape(source)[1], 100),
                beam_width=beam_width,
                length_penalty=1.0,
                constants=constants,
                stop_lengths=output_limits(source, 100),
                compaction=compaction,
            )
            return tf.reduce_max(out.lengths)

        # Any batch and length, as the served graph is traced.
        signature = [
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([], tf.int32),
        ]

        def traced(fn):
            return tf.function(fn, input_signature=signature, autograph=False)

        return [
            traced(lambda s, n: encode(s)[0]),
            traced(lambda s, n: loop(s, n, False)),
            traced(lambda s, n: loop(s, n, True)),
            traced(lambda s, n: search(s, 0)),
            traced(lambda s, n: search(s, decoding.COMPACTION)),
        ]

    found = {}
    for name, constants in (
        ("training graph's step", None),
        ("fused serving step", model.serving_constants()),
    ):
        parts = functions(constants)
        # The steps each batch's search took (and the search traced).
        steps = [int(parts[3](b, tf.constant(0))) for b in batches]
        steps = [tf.constant(n) for n in steps]
        for part in parts[:3] + parts[4:]:
            part(batches[0], steps[0])
        best = [float("inf")] * len(parts)
        for _ in range(repeats):
            for k, part in enumerate(parts):
                start = time.perf_counter()
                for batch, n in zip(batches, steps):
                    part(batch, n)
                best[k] = min(best[k], time.perf_counter() - start)
        found[name] = best
    return found, len(order)


def markdown(report):
    lines = [
        common.header("speed.decode_profile"),
        f"Measured by `{report['command']}` on {report['machine']['date']} "
        f"({common.machine_line(report['machine'])}): `{report['run']}`, "
        f"{report['sentences']} test sentences in length-sorted batches of "
        "64, beam 5, best of two passes.",
        "",
        "| part | "
        + " | ".join(f"{name}: s | share" for name in report["steps"])
        + " |",
        "|---|" + "---|---|" * len(report["steps"]),
    ]
    whole = len(PARTS) - 1
    for k, part in enumerate(PARTS):
        cells = []
        for seconds in report["steps"].values():
            own = seconds[k] - (seconds[k - 1] if k else 0.0)
            cells.append(f"{own:.2f} | {100 * own / seconds[whole]:.0f}%")
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    totals = [f"{s[whole]:.2f} | 100%" for s in report["steps"].values()]
    lines.append("| total | " + " | ".join(totals) + " |")
    dropped = [
        f"{s[-1]:.2f} | {100 * s[-1] / s[whole]:.0f}%"
        for s in report["steps"].values()
    ]
    lines.append(
        "| the whole search leaving finished sentences behind "
        "(the default) | " + " | ".join(dropped) + " |"
    )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="bahdanau_zh_en_tatoeba")
    parser.add_argument(
        "--results", default=os.path.join(common.RESULTS, "decode_profile")
    )
    args = parser.parse_args(argv)
    from s2s_zoo import commands
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks.translation.data import test_pairs

    run = commands.open_run(args.run)
    sources, _ = text.group_references(test_pairs(run.config))
    steps, count = profile(run, sources)
    report = {
        "command": "python -m benchmarks.speed.decode_profile "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": common.machine(),
        "run": args.run,
        "sentences": count,
        "parts": PARTS,
        "steps": steps,
    }
    common.write_results(args.results, report, markdown(report))


if __name__ == "__main__":
    main()
