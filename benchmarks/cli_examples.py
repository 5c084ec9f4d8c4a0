"""Runs the command line page's examples and records what they print.

    python -m benchmarks.cli_examples [--minutes 1] [--work runs/cli_examples]

Each example runs the installed `s2s-zoo` command in a scratch folder
(`--work`, emptied first): a translator trained for `--minutes` on the
bundled Tatoeba pairs, then `describe`, `evaluate`, `translate`, `export`
verbs on it and on the built-in preset
`bahdanau_zh_en_tatoeba`. What each command prints (standard output and
error, folder names relative to the scratch folder, long outputs cut in
the middle) goes to `docs/results/command_line.md`, which the command
line page includes, and `docs/results/command_line.json`.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import time

from benchmarks import common

MODULE = "cli_examples"

# A held-out file of the user's own, in the Tatoeba / manythings format
# (English, the source, the attribution), for `evaluate`.
HELD_OUT = [
    ("I like Chinese food.", "我喜欢中国菜。"),
    ("Where is the station?", "车站在哪里？"),
    ("It is raining today.", "今天下雨。"),
    ("My brother is a doctor.", "我哥哥是医生。"),
    ("Please close the window.", "请关窗。"),
    ("I don't have time.", "我没有时间。"),
]


def examples(minutes):
    """`(shell command, lines kept, where)` in order: the first and last
    lines (`"ends"`) or the last ones (`"tail"`, for an error)."""
    return [
        (
            f"s2s-zoo train translation --max-minutes {minutes:g} "
            "--output-dir runs/zh_en",
            24,
            "ends",
        ),
        ("s2s-zoo describe runs/zh_en", 40, "ends"),
        (
            "s2s-zoo evaluate bahdanau_zh_en_tatoeba --data held_out.tsv "
            "--output held_out.json",
            30,
            "ends",
        ),
        (
            'echo "我喜欢中国美食" | s2s-zoo translate bahdanau_zh_en_tatoeba',
            10,
            "ends",
        ),
        (
            "s2s-zoo translate bahdanau_zh_en_tatoeba --input held_out.zh "
            "--beam-width 10",
            10,
            "ends",
        ),
        (
            "s2s-zoo export bahdanau_zh_en_tatoeba --output "
            "served/zh_en_beam10 --beam-width 10",
            10,
            "ends",
        ),
        ("s2s-zoo translate runs/zh_en --beam-width 0", 1, "tail"),
        ("s2s-zoo describe no_such_run", 1, "tail"),
    ]


def _cut(lines, keep, where="ends"):
    """At most `keep` lines: the last ones (`where="tail"`), or the first
    third and the rest from the end, the middle noted."""
    if where == "tail":
        return lines[-keep:]
    if len(lines) <= keep:
        return lines
    head = keep // 3
    tail = keep - head - 1
    return [
        *lines[:head],
        f"... ({len(lines) - head - tail} lines)",
        *lines[-tail:],
    ]


# TensorFlow's start-up lines (CPU features, no CUDA), not s2s-zoo's.
NOISE = re.compile(
    r"^([IWEF]\d{4} |WARNING: All log messages|To enable the following "
    r"instructions|This TensorFlow binary is optimized)"
)


def run(command, work, keep, where):
    """Runs `command` in `work`; returns its exit status, kept lines and
    seconds."""
    env = dict(os.environ, TERM="dumb", COLUMNS="100")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.pop("S2S_ZOO_TRACEBACK", None)
    start = time.perf_counter()
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    seconds = time.perf_counter() - start
    text = done.stdout
    # No folder of this machine goes into the page.
    for prefix in (work + os.sep, work, common.ROOT + os.sep):
        text = text.replace(prefix, "")
    home = os.path.expanduser("~")
    text = text.replace(home, "~")
    lines = [
        line.rstrip()
        for line in text.splitlines()
        if line.strip() and not NOISE.match(line)
    ]
    return done.returncode, _cut(lines, keep, where), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument(
        "--work", default=os.path.join(common.ROOT, "runs", "cli_examples")
    )
    parser.add_argument(
        "--markdown", default=os.path.join(common.RESULTS, "command_line.md")
    )
    parser.add_argument(
        "--json", default=os.path.join(common.RESULTS, "command_line.json")
    )
    args = parser.parse_args(argv)
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with open(os.path.join(work, "held_out.tsv"), "w") as f:
        for english, chinese in HELD_OUT:
            f.write(f"{english}\t{chinese}\tyour own\n")
    with open(os.path.join(work, "held_out.zh"), "w") as f:
        f.writelines(f"{chinese}\n" for _, chinese in HELD_OUT)
    machine = common.machine()
    found = []
    for command, keep, where in examples(args.minutes):
        print(f"$ {command}", flush=True)
        status, lines, seconds = run(command, work, keep, where)
        print("\n".join(lines), flush=True)
        found.append(
            {
                "command": command,
                "exit_status": status,
                "output": lines,
                "seconds": seconds,
            }
        )
    page = [
        common.header(MODULE),
        f"Run by `python -m benchmarks.{MODULE}` on {machine['date']} "
        f"({common.machine_line(machine)}); `held_out.tsv` holds "
        f"{len(HELD_OUT)} pairs of the user's own, `held_out.zh` their "
        "Chinese side.",
        "",
    ]
    for example in found:
        page += ["```console", f"$ {example['command']}", *example["output"]]
        if example["exit_status"]:
            page.append(f"(exit status {example['exit_status']})")
        page += ["```", ""]
    with open(args.markdown, "w") as f:
        f.write("\n".join(page))
    with open(args.json, "w") as f:
        json.dump(
            {"machine": machine, "examples": found},
            f,
            indent=2,
            ensure_ascii=False,
        )


if __name__ == "__main__":
    main()
