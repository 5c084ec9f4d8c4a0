"""What the command line does with a finished run or a trained preset:
translate / predict / score lines, evaluate on a file, export again,
describe, save as a preset. `s2s_zoo.cli` parses; these do the work, and
raise `ValueError` / `FileNotFoundError` with a message the command line
prints as one line.
"""

import json
import os
import sys

from s2s_zoo import io


def open_run(handle):
    """A finished run directory (it holds `run.json`) or a trained preset
    (a built-in name, a preset directory, a hub handle)."""
    from s2s_zoo import pretrained
    from s2s_zoo import tasks

    if os.path.isdir(handle) and os.path.exists(
        os.path.join(handle, "run.json")
    ):
        return tasks.load(handle)
    if os.path.exists(handle) and not os.path.isdir(handle):
        raise ValueError(
            f"{handle!r} is a file: give a run directory or a preset."
        )
    if os.path.isdir(handle) and not os.path.exists(
        os.path.join(handle, pretrained.METADATA_FILE)
    ):
        raise ValueError(
            f"{handle!r} is neither a finished run (no run.json) nor a "
            f"preset (no {pretrained.METADATA_FILE})."
        )
    return tasks.from_preset(handle)


def require_task(run, verb, *accepted):
    if run.task not in accepted:
        raise ValueError(
            f"{verb} works on a {' or '.join(accepted)} run; this is a "
            f"{run.task} run."
        )


def read_lines(path=None, prompt="> "):
    """The input lines: of `path`, of standard input, or typed one at a
    time when standard input is a terminal (yielded as they come)."""
    if path is not None and path != "-":
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such input file: {path}")
        if os.path.isdir(path):
            raise ValueError(f"{path!r} is a folder, not an input file")
        with open(path, encoding="utf-8", errors="replace") as f:
            yield from (line.rstrip("\n") for line in f)
        return
    if sys.stdin.isatty():
        while True:
            try:
                line = input(prompt)
            except EOFError:
                return
            yield line
        return
    for line in sys.stdin:
        yield line.rstrip("\n")


def _fields(line, count, number, what):
    parts = line.split("\t")
    if len(parts) != count:
        raise ValueError(
            f"input line {number}: expected {what} separated by a TAB, got "
            f"{len(parts)} field(s): {line[:60]!r}"
        )
    return parts


def _batches(lines, size, interactive):
    batch = []
    for line in lines:
        batch.append(line)
        if interactive or len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def answer(
    run,
    lines,
    as_json=False,
    attention_dir=None,
    batch_size=64,
    interactive=False,
    **options,
):
    """One output line per input line: a translation, a label with its
    probabilities, or a pair's label and score (JSON objects with
    `as_json`); translation may also draw each sentence's attention."""
    number = 0
    for batch in _batches(lines, batch_size, interactive):
        first = number + 1
        number += len(batch)
        if run.task == "translation":
            out = run.translate(batch, **options)
            for k, text in enumerate(out.translations):
                if attention_dir:
                    _draw(run, out, k, first + k, attention_dir)
                if as_json:
                    yield json.dumps(
                        {
                            "translation": text,
                            "score": float(out.scores[k]),
                            "source_tokens": list(out.source_tokens[k]),
                            "output_tokens": list(out.output_tokens[k]),
                            "attention": [
                                [round(float(a), 4) for a in row]
                                for row in out.attention[k]
                            ],
                        },
                        ensure_ascii=False,
                    )
                else:
                    yield text
        elif run.task == "aspect_sentiment":
            rows = [
                _fields(line, 2, first + k, "a sentence and an aspect")
                for k, line in enumerate(batch)
            ]
            out = run.predict([r[0] for r in rows], [r[1] for r in rows])
            for label, p in zip(out.labels, out.probabilities):
                probabilities = dict(zip(run.names, map(float, p)))
                yield (
                    json.dumps({"label": label, "probabilities": probabilities})
                    if as_json
                    else label
                )
        else:
            rows = [
                _fields(line, 2, first + k, "two sentences")
                for k, line in enumerate(batch)
            ]
            out = run.score([r[0] for r in rows], [r[1] for r in rows])
            for label, score in zip(out.labels, out.scores):
                score = float(score) if score is not None else None
                yield (
                    json.dumps({"label": label, "score": score})
                    if as_json
                    else f"{label}\t{score:.4f}"
                )


def _draw(run, out, k, number, folder):
    from s2s_zoo import plotting

    os.makedirs(folder, exist_ok=True)
    plotting.attention_heatmap(
        out.attention[k],
        out.source_tokens[k],
        out.output_tokens[k],
        os.path.join(folder, f"attention_{number:05d}.png"),
        title=out.translations[k],
    )


def _plain(value):
    """`value` with NumPy numbers and arrays as plain JSON values."""
    return json.loads(
        json.dumps(
            value,
            default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o),
        )
    )


def evaluate(run, data):
    """The task's figures of `run` on the user's `data` (the task's own
    format: a TSV of pairs or two parallel files for translation, a
    SemEval-2014 XML file for aspect sentiment, the run's own benchmark's
    format for sentence pairs)."""
    for path in data:
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such data file: {path}")
        if os.path.isdir(path):
            raise ValueError(f"{path!r} is a folder, not a data file")
    if run.task == "translation":
        from s2s_zoo.tasks import translation

        pairs = translation.load_pairs(
            list(data), run.config.source_lang, run.config.target_lang
        )
        if not pairs:
            raise ValueError(f"no sentence pairs in {' '.join(data)}")
        figures = run.evaluate(pairs)
        figures.pop("hypotheses", None)
        return _plain(figures)
    if len(data) != 1:
        raise ValueError(f"{run.task} evaluates one data file at a time")
    if run.task == "aspect_sentiment":
        from s2s_zoo.data import semeval

        examples = semeval.read_semeval(
            data[0], level=run.config.level, classes=run.config.classes
        )
        if not examples:
            raise ValueError(f"no aspect examples in {data[0]}")
        report, _ = run.evaluate(examples)
        return _plain(report)
    from s2s_zoo.data import sentence_pairs as readers
    from s2s_zoo.tasks import sentence_pairs

    reader = {
        "wikiqa": readers.read_wikiqa,
        "msrp": readers.read_msrp,
        "sick": readers.read_sick,
    }[run.config.task]
    return _plain(sentence_pairs.evaluate(run, reader(data[0])))


def export(run, path, **options):
    """Exports `run` to `path`; translation takes decoding options (fixed
    in the SavedModel)."""
    if os.path.exists(path):
        raise ValueError(
            f"{path!r} exists: give a new folder (an export never replaces one)"
        )
    if options:
        require_task(run, "export with decoding options", "translation")
        from s2s_zoo.tasks import common

        run.config = common.replace(run.config, **options)
        run._translators = {}
        run._module = None
    return run.export(path)


def average(run, handle, output, last=None):
    """A new translation run in `output` whose weights are the mean of the
    last `last` epoch checkpoints `handle` kept (`--average-last K` keeps
    them in `last_epochs/`), scored on the test split and exported.

    Raises:
        ValueError: For a run that kept no epoch checkpoints, or an
            `output` that exists.
    """
    from s2s_zoo import training
    from s2s_zoo.tasks import common

    require_task(run, "s2s-zoo average", "translation")
    if os.path.exists(output):
        raise ValueError(
            f"{output!r} exists: give a new folder (the average is a new "
            "run; the original is unchanged)"
        )
    kept = training.KeepLastCheckpoints(
        os.path.join(handle, "last_epochs"), 1
    ).paths()
    if not kept:
        raise ValueError(
            f"{handle!r} kept no epoch checkpoints to average: train with "
            "--average-last K to keep the last K epochs' weights"
        )
    paths = kept[-last:] if last else kept
    training.average_checkpoints(run.model, paths)
    run.config = common.replace(run.config, output_dir=output)
    run._translators, run._module = {}, None
    run.save(output)
    results = run.evaluate()
    results.pop("hypotheses", None)
    metrics = dict(run.metrics)
    metrics["results"] = _plain(results)
    metrics["averaged"] = {
        "from": os.path.basename(os.path.normpath(handle)),
        "checkpoints": [os.path.basename(p) for p in paths],
    }
    run.write_metrics(metrics)
    run.export()
    return metrics


def describe(run, handle):
    """A page of text on a run: what it is, its figures, how it was made
    and its files."""
    metrics = run.metrics or {}
    lines = [
        f"{handle}: a {run.task} run of {run.config.model}",
        f"  parameters: {run.model.count_params():,}",
    ]
    results = metrics.get("results", {})
    figures = [
        f"{k} {v:.4g}"
        for k, v in results.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    if figures:
        lines.append("  figures: " + ", ".join(figures))
    training = metrics.get("training", {})
    for key in ("epochs_completed", "best_epoch", "precision"):
        if key in training:
            lines.append(f"  {key.replace('_', ' ')}: {training[key]}")
    for key in ("command", "date"):
        if key in metrics:
            lines.append(f"  {key}: {metrics[key]}")
    folder = handle if os.path.isdir(handle) else None
    if folder:
        lines.append("  files:")
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            size = (
                sum(
                    os.path.getsize(os.path.join(root, f))
                    for root, _, files in os.walk(path)
                    for f in files
                )
                if os.path.isdir(path)
                else os.path.getsize(path)
            )
            lines.append(
                f"    {name}{'/' if os.path.isdir(path) else ''}"
                f" ({size / 1e6:.2f} MB)"
            )
    return "\n".join(lines)


def write_json(path, value):
    io.write_json(path, value)
