"""Ours against OpenNMT-tf, both run one after the other on one split.

    python -m benchmarks.peer.opennmt setup      # the peer's environment, once
    python -m benchmarks.peer.versus_peer run    # 3 seeds x 12 minutes each
    python -m benchmarks.peer.versus_peer run --data pairs.tsv --seeds 0 1
    python -m benchmarks.peer.versus_peer        # the page again from the runs

`run` trains, for each seed in turn, the default recipe
(`python recipes/translate.py --max-minutes M --seed S`) and then the peer
(`benchmarks.peer.opennmt`, the same minutes and seed) on the same train /
dev / test split (the bundled Tatoeba zh-en pairs, or `--data`), times our
exported SavedModel's beam-5 decoding of the test split
(`benchmarks.speed.decode_speed`) beside the peer's, and keeps everything
in `runs/versus_peer/`. A seed already done there is not run again, so a
killed benchmark goes on where it stopped. The first seed also records
both systems' dev BLEU against training minutes.

Then (and alone, without `run`) it writes `docs/results/versus_peer.md` and
`.json` and the figure `docs/results/figures/versus_peer_dev_bleu.png`.
The table gives BLEU as mean and standard deviation over the seeds and
speed as ratios only (ours over the peer's, per seed, then mean and
standard deviation): the machine's speed changes between days by several
times, so the absolute figures (kept in the JSON) mean little on their own.
BLEU is lowercased both ways (the peer's tokenization lowercases English):
one reference a test line (the peer's usual figure, sacreBLEU) and every
reference of a source at once (how our runs are scored).
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys

from benchmarks.common import RESULTS
from benchmarks.common import ROOT
from benchmarks.common import header
from benchmarks.common import machine_line
from benchmarks.peer import opennmt

RUNS = os.path.join(ROOT, "runs", "versus_peer")


def our_run(run_dir):
    """Test BLEU three ways, training speed and the dev curve of one run."""
    import sacrebleu

    from s2s_zoo import io
    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import translation

    metrics = io.read_json(os.path.join(run_dir, "metrics.json"))
    config = metrics["config"]
    pairs = text.split_pairs(
        translation.load_pairs(
            config["data"], config["source_lang"], config["target_lang"]
        )
    )["test"]
    sources, _ = text.group_references(pairs)
    with open(
        os.path.join(run_dir, "test_hypotheses.txt"), encoding="utf-8"
    ) as f:
        hypotheses = dict(zip(sources, f.read().splitlines()))
    lines = [hypotheses[s] for s, _ in pairs]
    single = sacrebleu.corpus_bleu(
        lines, [[t for _, t in pairs]], lowercase=True
    ).score
    curve = []
    with open(os.path.join(run_dir, "history.csv")) as f:
        for row in csv.DictReader(f):
            curve.append(
                {
                    "epoch": int(row["epoch"]) + 1,
                    "train_minutes": float(row["train_minutes"]),
                    "dev_bleu_lowercase": float(row["val_bleu_lowercase"]),
                }
            )
    training = metrics["training"]
    return {
        "run": os.path.basename(os.path.normpath(run_dir)),
        "minutes": config["max_minutes"],
        "seed": config["seed"],
        "bleu_lowercase_single_reference": single,
        "test_bleu_lowercase": metrics["results"]["bleu_lowercase"],
        "test_bleu": metrics["results"]["bleu"],
        "train_sentences_per_second": training["train_sentences_per_second"],
        "epochs": training["epochs_completed"],
        "parameters": training["parameters"],
        "precision": training["precision"],
        "command": metrics["command"],
        "curve": curve,
    }


def _python(*args):
    print("$ python " + " ".join(args), flush=True)
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True)


def run_seed(seed, minutes, data, curve, runs=RUNS):
    """Ours, then the peer, then our decoding speed, for one seed."""
    from s2s_zoo import io

    ours = os.path.join(runs, f"ours_seed{seed}")
    for done in (
        os.path.join(ours, "metrics.json"),
        os.path.join(runs, f"peer_seed{seed}.json"),
    ):
        if os.path.exists(done):
            record = io.read_json(done)
            given = record.get("config", record).get(
                "max_minutes", record.get("minutes")
            )
            if given != minutes:
                raise SystemExit(
                    f"{done} is a run of {given:g} minutes, not {minutes:g}: "
                    "give another --runs folder"
                )
    if not os.path.exists(os.path.join(ours, "metrics.json")):
        command = ["recipes/translate.py", "--max-minutes", f"{minutes:g}"]
        command += ["--seed", str(seed), "--output-dir", ours]
        if data:
            command += ["--data", data]
        if os.path.exists(ours):
            command.append("--resume")
        _python(*command)
    peer_file = os.path.join(runs, f"peer_seed{seed}.json")
    if not os.path.exists(peer_file):
        report = opennmt.run(
            os.path.join(runs, f"peer_seed{seed}"), minutes, seed, data, curve
        )
        report["command"] = (
            "python -m benchmarks.peer.opennmt"
            + f" --minutes {minutes:g} --seed {seed}"
            + (f" --data {data}" if data else "")
            + (" --curve" if curve else "")
        )
        io.write_json(peer_file, report)
    decode = os.path.join(ours, "decode_speed.json")
    if not os.path.exists(decode):
        _python(
            "-m", "benchmarks.speed.decode_speed", ours, "--peer", peer_file
        )


def _spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "std": std, "n": len(values)}


def collect(runs=RUNS):
    """Every finished seed of `runs`, and the spreads over them."""
    from s2s_zoo import io

    seeds = []
    for name in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        if not (name.startswith("peer_seed") and name.endswith(".json")):
            continue
        seed = int(name[len("peer_seed") : -len(".json")])
        ours = os.path.join(runs, f"ours_seed{seed}")
        decode = os.path.join(ours, "decode_speed.json")
        if not os.path.exists(decode):
            continue
        peer = io.read_json(os.path.join(runs, name))
        seeds.append(
            {
                "seed": seed,
                "ours": our_run(ours),
                "peer": peer,
                "decode": io.read_json(decode),
            }
        )
    if not seeds:
        raise SystemExit(
            f"no finished seed in {runs}: run "
            "`python -m benchmarks.peer.versus_peer run` first"
        )
    summary = {
        "ours_bleu_lowercase": _spread(
            [s["ours"]["test_bleu_lowercase"] for s in seeds]
        ),
        "peer_bleu_lowercase": _spread(
            [s["peer"]["test_bleu_lowercase"] for s in seeds]
        ),
        "ours_bleu_lowercase_single_reference": _spread(
            [s["ours"]["bleu_lowercase_single_reference"] for s in seeds]
        ),
        "peer_bleu_lowercase_single_reference": _spread(
            [s["peer"]["bleu_lowercase_single_reference"] for s in seeds]
        ),
        "ours_bleu": _spread([s["ours"]["test_bleu"] for s in seeds]),
        "bleu_lowercase_difference": _spread(
            [
                s["ours"]["test_bleu_lowercase"]
                - s["peer"]["test_bleu_lowercase"]
                for s in seeds
            ]
        ),
        "train_speed_ratio": _spread(
            [
                s["ours"]["train_sentences_per_second"]
                / s["peer"]["train_sentences_per_second"]
                for s in seeds
            ]
        ),
        "decode_ratio_after_loading": _spread(
            [s["decode"]["ratio_after_loading"] for s in seeds]
        ),
        "decode_ratio_with_startup": _spread(
            [s["decode"]["ratio_with_startup"] for s in seeds]
        ),
    }
    first = seeds[0]
    return {
        "minutes": first["ours"]["minutes"],
        "data": first["peer"]["data"],
        "test_lines": first["peer"]["test_lines"],
        "machine": first["peer"]["machine"],
        "seeds": seeds,
        "summary": summary,
        "commands": [
            "python -m benchmarks.peer.opennmt setup",
            "python -m benchmarks.peer.versus_peer run --seeds "
            + " ".join(str(s["seed"]) for s in seeds)
            + f" --minutes {first['ours']['minutes']:g}"
            + (
                ""
                if first["peer"]["data"] == "bundled"
                else f" --data {first['peer']['data']}"
            ),
        ],
    }


def figure(report, path):
    from s2s_zoo import plotting

    seed = report["seeds"][0]
    series = {
        f"s2s_zoo (seed {seed['seed']})": (
            [p["train_minutes"] for p in seed["ours"]["curve"]],
            [p["dev_bleu_lowercase"] for p in seed["ours"]["curve"]],
        )
    }
    if seed["peer"].get("curve"):
        series[f"OpenNMT-tf (seed {seed['seed']})"] = (
            [p["train_minutes"] for p in seed["peer"]["curve"]],
            [p["dev_bleu_lowercase"] for p in seed["peer"]["curve"]],
        )
    return plotting.line_chart(
        series,
        path,
        "training minutes",
        "dev BLEU (greedy, lowercased, all references)",
        title="Dev BLEU against training time, one after the other",
    )


def _pm(spread, digits=2, unit=""):
    if spread is None:
        return ""
    return (
        f"{spread['mean']:.{digits}f}{unit} ± {spread['std']:.{digits}f}{unit}"
    )


def markdown(report):
    s = report["summary"]
    n = len(report["seeds"])
    machine = report["machine"]
    data = report["data"]
    if data == "bundled":
        data = "the bundled Tatoeba zh-en pairs"
    lines = [
        header("peer.versus_peer"),
        "# Ours against OpenNMT-tf, side by side",
        "",
        "The default recipe and OpenNMT-tf (bi-GRU encoder, GRU decoder "
        "with Bahdanau attention, `benchmarks/peer/opennmt_tf/`), each given "
        f"{report['minutes']:g} minutes of training, one after the other "
        f"for each of {n} seed{'s' if n > 1 else ''}, on the same split "
        f"({data}; "
        f"{report['test_lines']:,} test lines). Machine: "
        f"{machine_line(machine)}; {machine.get('date', '?')}. "
        "Mean ± standard deviation over the "
        "seeds; speeds as ratios, ours over the peer's, seed by seed (the "
        "machine's speed changes between days, so only ratios measured side "
        "by side mean anything; the absolute figures are in "
        "`versus_peer.json`).",
        "",
        "| | OpenNMT-tf | s2s_zoo | s2s_zoo against OpenNMT-tf |",
        "|---|---|---|---|",
        f"| test BLEU, lowercased, every reference of a source | "
        f"{_pm(s['peer_bleu_lowercase'])} | {_pm(s['ours_bleu_lowercase'])} | "
        f"{s['bleu_lowercase_difference']['mean']:+.2f} ± "
        f"{s['bleu_lowercase_difference']['std']:.2f} BLEU |",
        f"| test BLEU, lowercased, one reference a line (sacreBLEU) | "
        f"{_pm(s['peer_bleu_lowercase_single_reference'])} | "
        f"{_pm(s['ours_bleu_lowercase_single_reference'])} | |",
        f"| training sentences/s | | | {_pm(s['train_speed_ratio'], 2, 'x')} |",
        f"| beam-5 sentences/s after loading (batches of 64) | | | "
        f"{_pm(s['decode_ratio_after_loading'], 2, 'x')} |",
        f"| beam-5 sentences/s, start-up included | | | "
        f"{_pm(s['decode_ratio_with_startup'], 2, 'x')} |",
        "",
        f"Our runs' cased test BLEU (the figure the other pages give): "
        f"{_pm(s['ours_bleu'])}. The peer's decoding after loading is its "
        "wall time for the test split less its wall time for one sentence "
        "(its start-up); ours is timed inside the serving process.",
        "",
        "| seed | s2s_zoo BLEU (lowercased) | OpenNMT-tf BLEU (lowercased) | "
        "training speed ratio | decoding ratio after loading |",
        "|---|---|---|---|---|",
    ]
    for seed in report["seeds"]:
        ratio = (
            seed["ours"]["train_sentences_per_second"]
            / seed["peer"]["train_sentences_per_second"]
        )
        lines.append(
            f"| {seed['seed']} | {seed['ours']['test_bleu_lowercase']:.2f} | "
            f"{seed['peer']['test_bleu_lowercase']:.2f} | {ratio:.2f}x | "
            f"{seed['decode']['ratio_after_loading']:.2f}x |"
        )
    lines += ["", "Commands (nothing else ran on the machine):", "", "```bash"]
    lines += report["commands"]
    lines += ["python -m benchmarks.peer.versus_peer", "```", ""]
    if report.get("figure"):
        lines += [
            "## Dev BLEU against minutes",
            "",
            "![Dev BLEU against training minutes: s2s_zoo and OpenNMT-tf, "
            f"one after the other on one machine]({report['figure']})",
            "",
            "Ours is logged at every epoch end (`val_bleu_lowercase` in "
            "`history.csv`); the peer's is its checkpoints (every 500 "
            "steps) translated afterwards with the same greedy search and "
            "scored the same way. Our learning rate is flat for half the "
            "budget, then anneals to the end of it; the peer's is constant.",
            "",
        ]
    return "\n".join(lines) + "\n"


def write(report, results_dir=RESULTS):
    from s2s_zoo import io
    from s2s_zoo.tasks import common

    # Commands and configs as a reader types them: no folder of ours.
    report = json.loads(common.scrub_paths(json.dumps(report)))
    figures = os.path.join(results_dir, "figures")
    os.makedirs(figures, exist_ok=True)
    if figure(report, os.path.join(figures, "versus_peer_dev_bleu.png")):
        report["figure"] = "figures/versus_peer_dev_bleu.png"
    io.write_json(os.path.join(results_dir, "versus_peer.json"), report)
    text = markdown(report)
    with open(os.path.join(results_dir, "versus_peer.md"), "w") as f:
        f.write(text)
    print(text)
    return report


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "action", nargs="?", choices=["run"], help="run the seeds first"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=12.0)
    parser.add_argument(
        "--data", default=None, help="default: the bundled pairs"
    )
    parser.add_argument("--runs", default=RUNS)
    parser.add_argument("--results-dir", default=RESULTS)
    args = parser.parse_args(argv)
    if args.action == "run":
        os.makedirs(args.runs, exist_ok=True)
        data = args.data and os.path.abspath(args.data)
        for i, seed in enumerate(args.seeds):
            run_seed(seed, args.minutes, data, curve=i == 0, runs=args.runs)
    return write(collect(args.runs), args.results_dir)


if __name__ == "__main__":
    main()
