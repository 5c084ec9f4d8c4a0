"""The `s2s-zoo` command: one subcommand per task, flags from its `Config`.

    s2s-zoo translate --max-minutes 5 --set attention_score=concat
    s2s-zoo aspect-sentiment --train Restaurants_Train_v2.xml --test ...
    s2s-zoo sentence-pairs --task sick
    s2s-zoo bottleneck --quick
    s2s-zoo ensemble runs/seed0 runs/seed1 runs/seed2

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
import os
import sys
import typing

BACKENDS = ("tensorflow", "jax", "torch")

COMMANDS = {
    "translate": "translation",
    "aspect-sentiment": "aspect_sentiment",
    "sentence-pairs": "sentence_pairs",
    "bottleneck": "bottleneck",
}


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
    for command, task in COMMANDS.items():
        module = tasks.get(task)
        sub = commands.add_parser(
            command,
            help=module.__doc__.splitlines()[0],
            description=module.__doc__.split("\n\n")[0],
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        _backend_flag(sub)
        add_config_arguments(sub, module.Config)
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


def main(argv=None):
    """Runs `s2s-zoo ARGV`; returns 0 on success."""
    argv = sys.argv[1:] if argv is None else list(argv)
    use_backend(argv)
    from s2s_zoo import tasks

    arguments = parser().parse_args(argv)
    if arguments.command == "ensemble":
        translation = tasks.get("translation")
        try:
            translation.assemble(
                arguments.runs, arguments.output_dir, arguments.export
            )
        except (ValueError, FileNotFoundError) as error:
            raise SystemExit(f"s2s-zoo ensemble: error: {error}")
        return 0
    module = tasks.get(COMMANDS[arguments.command])
    try:
        config = config_from_args(module, arguments)
    except ValueError as error:
        raise SystemExit(f"s2s-zoo {arguments.command}: error: {error}")
    module.train(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
