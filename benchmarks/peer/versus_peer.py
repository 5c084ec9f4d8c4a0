"""Ours against OpenNMT-tf, from runs made in one session: the table and
the curves of `docs/results/versus_peer.md`.

    python -m benchmarks.peer.opennmt --peer-dir PEER --minutes 12
    python -m benchmarks.peer.opennmt --peer-dir PEER --minutes 15 --curve
    python recipes/translate.py --max-minutes 12 \\
        --output-dir runs/translate_12min
    python recipes/translate.py            # 15 minutes, into runs/translate
    python -m benchmarks.speed.train_speed --peer runs/peer/peer_12min.json
    python -m benchmarks.speed.decode_speed runs/translate \\
        --peer runs/peer/peer_12min.json
    python -m benchmarks.peer.versus_peer

Reads what those commands wrote and writes `docs/results/versus_peer.md`
and `.json`, and the figure `docs/results/figures/versus_peer_dev_bleu.png`
(dev BLEU against training minutes, both systems). Every figure is read
from a file; nothing is typed by hand. Test BLEU is given two ways, for
both systems: the peer's (sacreBLEU, lowercased, one reference per test
line: a source with several translations appears once per translation)
and ours (corpus BLEU, lowercased, every reference of a source at once).
"""

import argparse
import csv
import json
import os

from benchmarks.common import ROOT
from benchmarks.common import header

RESULTS = os.path.join(ROOT, "docs", "results")


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def our_run(run_dir):
    """Test BLEU both ways, speed and the dev curve of one of our runs."""
    import sacrebleu

    from s2s_zoo.data import translation as text
    from s2s_zoo.tasks import translation

    metrics = _load(os.path.join(run_dir, "metrics.json"))
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
            key = (
                "val_bleu_lowercase"
                if "val_bleu_lowercase" in row
                else ("val_bleu")
            )
            curve.append(
                {
                    "epoch": int(row["epoch"]) + 1,
                    "train_minutes": float(row["train_minutes"]),
                    "dev_bleu": float(row[key]),
                    "figure": key,
                }
            )
    return {
        "run": os.path.basename(os.path.normpath(run_dir)),
        "minutes": config["max_minutes"],
        "test_bleu_lowercase_single_reference": single,
        "test_bleu_lowercase": metrics["results"]["bleu_lowercase"],
        "test_bleu": metrics["results"]["bleu"],
        "train_sentences_per_second": metrics["training"][
            "train_sentences_per_second"
        ],
        "epochs": metrics["training"]["epochs_completed"],
        "best_epoch": metrics["training"]["best_epoch"],
        "parameters": metrics["training"]["parameters"],
        "precision": metrics["training"]["precision"],
        "date": metrics["machine"]["date"],
        "curve": curve,
    }


def figure(ours, peer, path):
    from s2s_zoo import plotting

    series = {}
    if ours and ours.get("curve"):
        points = ours["curve"]
        series[f"s2s_zoo ({ours['minutes']:g}-minute run)"] = (
            [p["train_minutes"] for p in points],
            [p["dev_bleu"] for p in points],
        )
    if peer and peer.get("curve"):
        points = peer["curve"]
        series[f"OpenNMT-tf ({peer['minutes']:g}-minute run)"] = (
            [p["train_minutes"] for p in points],
            [p["dev_bleu_lowercase"] for p in points],
        )
    if not series:
        return None
    return plotting.line_chart(
        series,
        path,
        "training minutes",
        "dev BLEU (greedy, lowercased, all references)",
        title="Dev BLEU against training time, same machine and session",
        vertical=(12, "the peer's 12 minutes"),
    )


def _f(value, digits=1):
    return "" if value is None else f"{value:.{digits}f}"


def markdown(report):
    p12, p15 = report.get("peer_12"), report.get("peer_15")
    o12, o15 = report.get("ours_12"), report.get("ours_15")
    speed = report.get("train_speed") or {}
    decode = report.get("decode") or {}
    lines = [
        header("peer.versus_peer"),
        "# Ours against OpenNMT-tf, one session",
        "",
        "Written by `python -m benchmarks.peer.versus_peer` from the files the "
        "commands below wrote on "
        f"{(o15 or o12 or {}).get('date', 'the same day')}. Both systems "
        "ran on this machine in the same session, one at "
        "a time, on the same train / dev / test split of the bundled "
        "Tatoeba zh-en pairs (24,437 / 1,037 / 973 pairs). The machine's "
        "speed changes between days by several times: only the ratios "
        "mean anything.",
        "",
        "| | OpenNMT-tf | s2s_zoo | ratio |",
        "|---|---|---|---|",
    ]

    def row(name, theirs, ours, digits=1, ratio=True):
        both = theirs is not None and ours is not None
        r = f"{ours / theirs:.2f}x" if both and ratio and theirs else ""
        lines.append(
            f"| {name} | {_f(theirs, digits)} | {_f(ours, digits)} | {r} |"
        )

    best = None
    for candidate in speed.get("rows", []):
        if candidate["preset"] == "opennmt" and (
            best is None
            or candidate["train_sentences_per_second"]
            > best["train_sentences_per_second"]
        ):
            best = candidate
    at64 = next(
        (
            r
            for r in speed.get("rows", [])
            if r["preset"] == "opennmt" and r["batch_size"] == 64
        ),
        None,
    )
    if p12 and at64:
        row(
            "training sentences/s, same sizes, batch 64",
            p12["train_sentences_per_second"],
            at64["train_sentences_per_second"],
            0,
        )
    if p12 and best:
        row(
            f"training sentences/s, same sizes, batch {best['batch_size']}",
            p12["train_sentences_per_second"],
            best["train_sentences_per_second"],
            0,
        )
    for label, peer, ours in (("12", p12, o12), ("15", p15, o15)):
        if peer and ours:
            row(
                f"training sentences/s, the default recipe ({label}-minute "
                "runs)",
                peer["train_sentences_per_second"],
                ours["train_sentences_per_second"],
                0,
            )
    for label, peer, ours in (("12", p12, o12), ("15", p15, o15)):
        if peer and ours:
            row(
                f"test BLEU at {label} min, peer's way (1 ref a line)",
                peer["bleu_lowercase_single_reference"],
                ours["test_bleu_lowercase_single_reference"],
                2,
                ratio=False,
            )
            row(
                f"test BLEU at {label} min, all references",
                peer["test_bleu_lowercase"],
                ours["test_bleu_lowercase"],
                2,
                ratio=False,
            )
    # Decoding against the peer run nearest in time (the 15-minute one).
    pd = p15 or p12
    if decode and pd:
        row(
            "beam-5 sentences/s, start-up included",
            pd["decode_sentences_per_second_with_startup"],
            decode["decode_sentences_per_second_with_startup"],
        )
        row(
            "beam-5 sentences/s after loading (peer: its start-up subtracted)",
            pd["decode_sentences_per_second_after_startup"],
            decode["decode_sentences_per_second_after_loading"],
        )
        lines.append(
            f"| batch-1 latency p50 / p99, ms | | "
            f"{1000 * decode['latency_p50']:.0f} / "
            f"{1000 * decode['latency_p99']:.0f} | |"
        )
    if best:
        lines.append(
            f"| share of the matmul peak ({best['precision']}) | | "
            f"{100 * best['peak_share']:.1f}% | |"
        )
    if p12 and p15:
        drift = (
            p12["train_sentences_per_second"]
            / p15["train_sentences_per_second"]
        )
        lines += [
            "",
            f"The peer made {p12['train_sentences_per_second']:.0f} "
            f"sentences/s in its 12-minute run and "
            f"{p15['train_sentences_per_second']:.0f} in its 15-minute run, "
            "the same command an hour apart: the machine itself changed "
            "speed within the session. The rows of our 12- and 15-minute "
            "runs set each beside the peer's run of the same length; the "
            "training-speed ratios at the peer's sizes (measured between the "
            "two peer runs) use the faster peer run, and would be "
            f"{drift:.2f}x higher against the slower one.",
        ]
    lines += [
        "",
        "Commands (each run alone on the machine):",
        "",
        "```bash",
    ]
    lines += report["commands"]
    lines += ["```", ""]
    if speed.get("rows"):
        peer_flops = speed["rows"][0]["peer_training_flops_per_target_token"]
        lines += [
            "## Training speed at the peer's sizes",
            "",
            "`bahdanau_attention` at the `opennmt` preset (embeddings 256, "
            "bi-GRU 2 x 128, GRU 256, attention 256, maxout readout of "
            "2l = 256 units where the peer has an attention layer of 256), "
            "whole epochs of the task's own pipeline after a warm-up epoch. "
            "FLOPs per target token are counted from the layer shapes "
            "(`flops_per_sentence`, 3 forward passes per training step); "
            "the peer's model by the same count is about "
            f"{peer_flops / 1e6:.1f} M FLOPs per target token (its output "
            "layer reads 256 units and has "
            f"{speed['rows'][0]['peer_target_vocabulary']:,} words; ours "
            "reads 128 and has "
            f"{speed['rows'][0]['model_config']['target_vocabulary_size']:,}"
            " WordPieces).",
            "",
            "| precision | batch | sentences/s | vs peer | target tokens/s | "
            "FLOPs/token | GFLOP/s | peak GFLOP/s | share |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in speed["rows"]:
            ratio = r.get("ratio_to_peer")
            lines.append(
                f"| {r['precision']} | {r['batch_size']} | "
                f"{r['train_sentences_per_second']:.0f} | "
                f"{'' if ratio is None else f'{ratio:.2f}x'} | "
                f"{r['target_tokens_per_second']:.0f} | "
                f"{r['training_flops_per_target_token'] / 1e6:.2f} M | "
                f"{r['achieved_flops_per_second'] / 1e9:.1f} | "
                f"{r['matmul_peak_flops_per_second'] / 1e9:.0f} | "
                f"{100 * r['peak_share']:.1f}% |"
            )
        lines += ["", f"`{speed['command']}`", ""]
    if report.get("figure"):
        lines += [
            "## Dev BLEU against minutes",
            "",
            f"![Dev BLEU against training minutes: s2s_zoo and OpenNMT-tf, "
            f"measured in the same session]({report['figure']})",
            "",
            "Ours is logged at every epoch end (`val_bleu_lowercase` in "
            "`history.csv`); the peer's is its checkpoints (every 500 "
            "steps) translated afterwards with the same greedy search and "
            "scored the same way. Our learning rate is flat for half the "
            "budget, then anneals to the end of it; the peer's is constant.",
            "",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    runs = os.path.join(ROOT, "runs")
    parser.add_argument(
        "--ours-12", default=os.path.join(runs, "translate_12min")
    )
    parser.add_argument("--ours-15", default=os.path.join(runs, "translate"))
    parser.add_argument(
        "--peer-12", default=os.path.join(runs, "peer", "peer_12min.json")
    )
    parser.add_argument(
        "--peer-15", default=os.path.join(runs, "peer", "peer_15min.json")
    )
    parser.add_argument(
        "--train-speed", default=os.path.join(runs, "train_speed.json")
    )
    parser.add_argument("--decode", default=None)
    parser.add_argument("--results-dir", default=RESULTS)
    args = parser.parse_args(argv)
    report = {"commands": []}
    for key, path in (("peer_12", args.peer_12), ("peer_15", args.peer_15)):
        if os.path.exists(path):
            report[key] = {
                k: v for k, v in _load(path).items() if k != "run_sh_output"
            }
            report["commands"].append(report[key]["command"])
    for key, path, flags in (
        (
            "ours_12",
            args.ours_12,
            " --max-minutes 12 --output-dir runs/translate_12min",
        ),
        ("ours_15", args.ours_15, ""),
    ):
        if os.path.exists(os.path.join(path, "metrics.json")):
            report[key] = our_run(path)
            report["commands"].append("python recipes/translate.py" + flags)
    if os.path.exists(args.train_speed):
        report["train_speed"] = _load(args.train_speed)
        report["commands"].append(report["train_speed"]["command"])
    decode = args.decode or os.path.join(args.ours_15, "decode_speed.json")
    if os.path.exists(decode):
        report["decode"] = _load(decode)
        report["commands"].append(report["decode"]["command"])
    report["commands"].append("python -m benchmarks.peer.versus_peer")
    from s2s_zoo.tasks import common

    # Commands and configs as a reader types them: no folder of ours.
    report = json.loads(common.scrub_paths(json.dumps(report)))
    figures = os.path.join(args.results_dir, "figures")
    os.makedirs(figures, exist_ok=True)
    made = figure(
        report.get("ours_15") or report.get("ours_12"),
        report.get("peer_15"),
        os.path.join(figures, "versus_peer_dev_bleu.png"),
    )
    if made:
        report["figure"] = "figures/versus_peer_dev_bleu.png"

    common.write_json(
        os.path.join(args.results_dir, "versus_peer.json"), report
    )
    with open(os.path.join(args.results_dir, "versus_peer.md"), "w") as f:
        f.write(markdown(report))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
