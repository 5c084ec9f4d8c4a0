"""The `s2s-zoo` command: a run's whole life, with the verbs of OpenNMT,
JoeyNMT and fairseq.

    s2s-zoo train translation --max-minutes 5 --set attention_score=concat
    s2s-zoo train aspect-sentiment --train Restaurants_Train_v2.xml ...
    s2s-zoo train sentence-pairs --task sick
    s2s-zoo evaluate runs/translate --data held_out.tsv
    s2s-zoo translate runs/translate --input zh.txt      # or stdin, or typed
    s2s-zoo translate bahdanau_zh_en_tatoeba             # a trained preset
    s2s-zoo predict RUN --input sentence_TAB_aspect.tsv  # aspect sentiment
    s2s-zoo score RUN --input first_TAB_second.tsv       # sentence pairs
    s2s-zoo export runs/translate --output served/ --beam-width 10
    s2s-zoo average runs/translate --output runs/translate_avg  # last epochs
    s2s-zoo describe runs/translate
    s2s-zoo save-preset runs/translate my_translator
    s2s-zoo ensemble runs/seed0 runs/seed1 runs/seed2
    s2s-zoo bottleneck --quick

A run is a finished run directory or a trained preset (a built-in name,
a preset directory, a `hf://` / `kaggle://` handle). `s2s-zoo translate`
with training flags (its meaning before `train`) still trains, with a
message naming `s2s-zoo train translation`; `s2s-zoo aspect-sentiment`
and `s2s-zoo sentence-pairs` still train too.

Every field of a task's `Config` is a flag (dashes for underscores) with
its type, default and help; booleans also take a `--no-` form. Model
hyperparameters go through `--set KEY=VALUE`, read by the type the
registry declares for `KEY` (`--set attention_score=dot`,
`--set hidden_dim=512`); an unknown key fails with the valid ones.

`--backend {tensorflow,jax,torch}` picks the Keras backend (the same as
setting `KERAS_BACKEND`); it is read before Keras is imported.
"""

import argparse
import dataclasses
import json
import os
import sys
import typing

BACKENDS = ("tensorflow", "jax", "torch")

# Training subcommands of the first releases: `s2s-zoo aspect-sentiment`
# and `s2s-zoo sentence-pairs` train; `s2s-zoo translate` now translates
# with a finished run and trains only when given training flags.
COMMANDS = {
    "translate": "translation",
    "aspect-sentiment": "aspect_sentiment",
    "sentence-pairs": "sentence_pairs",
    "bottleneck": "bottleneck",
}
# `s2s-zoo train TASK`
TRAIN = {
    "translation": "translation",
    "aspect-sentiment": "aspect_sentiment",
    "sentence-pairs": "sentence_pairs",
    "bottleneck": "bottleneck",
}
ANSWER_VERBS = {
    "translate": ("translation", "sentence a line", "translations"),
    "predict": (
        "aspect_sentiment",
        "SENTENCE<TAB>ASPECT a line",
        "sentiment labels",
    ),
    "score": ("sentence_pairs", "FIRST<TAB>SECOND a line", "labels and scores"),
}
DEPRECATED_TRAINING = (
    "s2s-zoo translate with training flags is now `s2s-zoo train "
    "translation` (the same flags); `s2s-zoo translate RUN` translates with "
    "a finished run. Training as asked."
)


def _unwrap(kind):
    """`(base type, optional)` of an annotation such as Optional[int]."""
    if typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return args[0], True
    return kind, False


def _typed(kind, optional, auto=False):
    def parse(text):
        if optional and text.lower() in ("none", "null"):
            return None
        if auto and text.lower() == "auto":
            return "auto"
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise argparse.ArgumentTypeError(
                    f"expected true or false, got {text!r}"
                )
            return text.lower() in ("true", "1", "yes")
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {kind.__name__}, got {text!r}"
            ) from None

    parse.__name__ = kind.__name__
    return parse


def add_config_arguments(parser, config_class):
    """Adds one flag per `config_class` field (`option(...)` metadata)."""
    defaults = config_class()
    for field in dataclasses.fields(config_class):
        meta = field.metadata
        if not meta.get("cli", True):
            continue
        flag = meta.get("flag") or "--" + field.name.replace("_", "-")
        kind, optional = _unwrap(field.type)
        default = getattr(defaults, field.name)
        # argparse %-formats help texts ("13% of" would be a conversion).
        help_text = (meta.get("help") or "").replace("%", "%%")
        kwargs = dict(dest=field.name, default=default, help=help_text)
        if meta.get("choices"):
            kwargs["choices"] = meta["choices"]
        if kind is dict:
            parser.add_argument(
                flag,
                dest=field.name,
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help=help_text,
            )
        elif kind is list:
            parser.add_argument(flag, nargs="+", **kwargs)
        elif kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, **kwargs
            )
        else:
            # "auto": the task's own default (sentence pairs).
            auto = default == "auto"
            parser.add_argument(
                flag, type=_typed(kind, optional, auto), **kwargs
            )


def _backend_flag(parser):
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="Keras backend; default: $KERAS_BACKEND, else tensorflow. "
        "A run trained on any backend exports the same SavedModel.",
    )


def use_backend(argv):
    """Sets `KERAS_BACKEND` from a `--backend` flag in `argv`, before Keras
    is imported; returns the backend that will run.

    Raises:
        SystemExit: If Keras was already imported with another backend.
    """
    pre = argparse.ArgumentParser(add_help=False)
    _backend_flag(pre)
    known, _ = pre.parse_known_args(argv)
    if known.backend:
        if "keras" in sys.modules:
            import keras

            running = keras.backend.backend()
            if running != known.backend:
                raise SystemExit(
                    f"s2s-zoo: error: --backend {known.backend}, but Keras "
                    f"was already imported with the {running} backend in "
                    "this process; start a new one (or set KERAS_BACKEND "
                    "before importing Keras)."
                )
        os.environ["KERAS_BACKEND"] = known.backend
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def parser():
    """The `s2s-zoo` argument parser, with one subcommand per task."""
    from s2s_zoo import tasks

    root = argparse.ArgumentParser(
        prog="s2s-zoo",
        description="Train, evaluate and export the s2s_zoo models.",
    )
    commands = root.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="Train, evaluate and export a model of a task.",
        description="Train, evaluate and export a model of a task; "
        "`s2s-zoo train TASK --help` lists the task's flags.",
    )
    # Not "task": sentence pairs has a --task flag of its own.
    kinds = train.add_subparsers(dest="train_task", required=True)
    for command, task in TRAIN.items():
        _task_parser(kinds, command, tasks.get(task))
    for command, task in COMMANDS.items():
        if command != "translate":
            _task_parser(commands, command, tasks.get(task))
    for verb, (task, takes, gives) in ANSWER_VERBS.items():
        sub = commands.add_parser(
            verb,
            help=f"{gives.capitalize()} from a finished {task} run.",
            description=f"Reads a {takes} from --input, standard input, or "
            "as you type them when standard input is a terminal, and "
            f"writes the {gives}, one line each.",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        _run_argument(sub)
        sub.add_argument("--input", default=None, help="default: stdin")
        sub.add_argument("--output", default=None, help="default: stdout")
        sub.add_argument(
            "--json", action="store_true", help="one JSON object a line"
        )
        if verb == "translate":
            _decoding_flags(sub)
            sub.add_argument(
                "--attention-dir",
                default=None,
                help="draw each sentence's attention into this folder",
            )
    sub = commands.add_parser(
        "evaluate",
        help="Score a run or preset on your data file.",
        description="Scores a finished run or a preset on a data file in "
        "its task's format and prints the figures (and writes them as "
        "JSON with --output).",
    )
    _run_argument(sub)
    sub.add_argument("--data", nargs="+", required=True)
    sub.add_argument("--output", default=None, help="a JSON file")
    sub = commands.add_parser(
        "export",
        help="Export a run again (translation: other decoding options).",
    )
    _run_argument(sub)
    sub.add_argument("--output", required=True, help="a new folder")
    _decoding_flags(sub)
    sub = commands.add_parser(
        "average",
        help="Average a translation run's last epoch checkpoints into a "
        "new run.",
        description="Averages the epoch checkpoints a translation run "
        "kept (trained with --average-last K) into a new run: saved, "
        "scored on the test split and exported.",
    )
    _run_argument(sub)
    sub.add_argument("--output", required=True, help="a new run folder")
    sub.add_argument(
        "--last", type=_positive, default=None, help="default: all kept"
    )
    sub = commands.add_parser(
        "describe", help="What a run or preset is, its figures and files."
    )
    _run_argument(sub)
    sub = commands.add_parser(
        "save-preset",
        help="Write a finished run as a trained preset (keras-hub layout).",
    )
    _run_argument(sub)
    sub.add_argument("directory", help="the preset folder to write")
    sub = commands.add_parser(
        "ensemble",
        help="Decode with several finished translation runs as one.",
        description="Decode with several finished translation runs as one "
        "(the mean of their log probabilities at each step), score it on "
        "dev and test beside each member, save it and export one "
        "SavedModel that holds them all.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _backend_flag(sub)
    sub.add_argument(
        "runs",
        nargs="+",
        help="translation run directories trained on the same data with "
        "the same tokenizers",
    )
    sub.add_argument(
        "--output-dir",
        default="runs/translate_ensemble",
        help="where metrics.json, the ensemble and its SavedModel go",
    )
    sub.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the ensemble's SavedModel",
    )
    return root


def command_parser(*words):
    """The parser of `s2s-zoo WORDS...` (e.g. `"train", "translation"`),
    for the docs' flag tables."""
    found = parser()
    for word in words:
        for action in found._actions:
            if isinstance(action, argparse._SubParsersAction):
                found = action.choices[word]
                break
        else:
            raise KeyError(f"s2s-zoo has no subcommand {word!r}")
    return found


def _task_parser(commands, command, module):
    sub = commands.add_parser(
        command,
        help=module.__doc__.splitlines()[0],
        description=module.__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _backend_flag(sub)
    add_config_arguments(sub, module.Config)
    return sub


def _run_argument(sub):
    _backend_flag(sub)
    sub.add_argument(
        "run",
        help="a finished run directory or a trained preset (a built-in "
        "name, a preset folder, hf://... or kaggle://...)",
    )


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def config_from_args(module, namespace):
    """A task `Config` from parsed flags; `--set` items parsed by the
    registry's declared types."""
    from s2s_zoo import registry

    values = {
        f.name: getattr(namespace, f.name)
        for f in dataclasses.fields(module.Config)
        if hasattr(namespace, f.name)
    }
    for field in dataclasses.fields(module.Config):
        if _unwrap(field.type)[0] is dict and field.name in values:
            items = values[field.name]
            model = values.get("model")
            parsed = {}
            for item in items:
                if model is None:
                    key, _, value = item.partition("=")
                    parsed[key] = value
                else:
                    key, value = registry.parse_override(model, item)
                    parsed[key] = value
            values[field.name] = parsed
    return module.Config(**values)


def _is_training(argv):
    """`s2s-zoo translate` with training flags (or none): its meaning
    before `s2s-zoo train`."""
    rest = argv[1:]
    if not rest:
        return True
    return rest[0].startswith("-") and rest[0] not in ("-h", "--help")


DECODING_FLAGS = (
    "beam_width",
    "length_penalty",
    "fused_decoding",
    "xla_decoding",
)


def _decoding_flags(parser):
    """`--beam-width`, `--length-penalty`, `--[no-]fused-decoding`,
    `--[no-]xla-decoding`: the decoding flags of `translate` and `export`
    (default: the run's)."""
    parser.add_argument("--beam-width", type=_positive, default=None)
    parser.add_argument("--length-penalty", type=float, default=None)
    parser.add_argument(
        "--fused-decoding",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the fused serving step (RNNsearch; default: the run's), or "
        "the training graph's step",
    )
    parser.add_argument(
        "--xla-decoding",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compile the search with XLA (default: the run's)",
    )


def _decoding_options(arguments):
    """The decoding flags given (`DECODING_FLAGS`)."""
    return {
        name: getattr(arguments, name)
        for name in DECODING_FLAGS
        if getattr(arguments, name) is not None
    }


def _run_verb(arguments):
    from s2s_zoo import commands

    verb = arguments.command
    run = commands.open_run(arguments.run)
    if verb in ANSWER_VERBS:
        commands.require_task(run, f"s2s-zoo {verb}", ANSWER_VERBS[verb][0])
        options = {}
        if verb == "translate":
            options = _decoding_options(arguments)
        interactive = arguments.input is None and sys.stdin.isatty()
        lines = commands.read_lines(arguments.input)
        out = (
            open(arguments.output, "w", encoding="utf-8")
            if arguments.output
            else sys.stdout
        )
        try:
            for line in commands.answer(
                run,
                lines,
                as_json=arguments.json,
                attention_dir=getattr(arguments, "attention_dir", None),
                interactive=interactive,
                **options,
            ):
                print(line, file=out, flush=interactive)
        finally:
            if out is not sys.stdout:
                out.close()
    elif verb == "evaluate":
        figures = commands.evaluate(run, arguments.data)
        text = json.dumps(figures, indent=2, ensure_ascii=False)
        print(text)
        if arguments.output:
            commands.write_json(arguments.output, figures)
    elif verb == "export":
        options = _decoding_options(arguments)
        print(commands.export(run, arguments.output, **options))
    elif verb == "average":
        metrics = commands.average(
            run, arguments.run, arguments.output, arguments.last
        )
        print(json.dumps(metrics["results"], indent=2, ensure_ascii=False))
    elif verb == "describe":
        print(commands.describe(run, arguments.run))
    elif verb == "save-preset":
        print(run.save_to_preset(arguments.directory))
    return 0


USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, KeyError)


def main(argv=None):
    """Runs `s2s-zoo ARGV`; returns 0 on success. A user error (a missing
    or wrong file, an unknown name, a run of another task, a finished run
    as the output folder) ends it with one line naming the problem, not a
    traceback (`S2S_ZOO_TRACEBACK=1` shows the traceback)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    use_backend(argv)
    from s2s_zoo import tasks

    if argv[:1] == ["translate"] and _is_training(argv):
        print(f"s2s-zoo: {DEPRECATED_TRAINING}", file=sys.stderr)
        argv = ["train", "translation", *argv[1:]]
    arguments = parser().parse_args(argv)
    if arguments.command in (
        *ANSWER_VERBS,
        "evaluate",
        "export",
        "average",
        "describe",
        "save-preset",
    ):
        try:
            return _run_verb(arguments)
        except USER_ERRORS as error:
            if os.environ.get("S2S_ZOO_TRACEBACK"):
                raise
            message = error.args[0] if error.args else error
            raise SystemExit(f"s2s-zoo {arguments.command}: error: {message}")
    if arguments.command == "ensemble":
        translation = tasks.get("translation")
        try:
            translation.assemble(
                arguments.runs, arguments.output_dir, arguments.export
            )
        except (ValueError, FileNotFoundError) as error:
            raise SystemExit(f"s2s-zoo ensemble: error: {error}")
        return 0
    if arguments.command == "train":
        name = f"train {arguments.train_task}"
        module = tasks.get(TRAIN[arguments.train_task])
    else:
        name = arguments.command
        module = tasks.get(COMMANDS[arguments.command])
    try:
        config = config_from_args(module, arguments)
        module.train(config)
    except USER_ERRORS as error:
        if os.environ.get("S2S_ZOO_TRACEBACK"):
            raise
        message = error.args[0] if error.args else error
        raise SystemExit(f"s2s-zoo {name}: error: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
