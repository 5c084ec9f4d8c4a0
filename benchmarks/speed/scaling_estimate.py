"""Eight GPUs, estimated from one measured GPU: the tables of Scaling out.

    python -m benchmarks.speed.scaling_estimate

Reads the single-GPU step times that `benchmarks.speed.device_throughput`
recorded (`docs/results/device_throughput.json` for the default
translator, `device_throughput_paper.json` for RNNsearch at the paper's
size), counts each model's parameters by building it, and writes
`docs/results/scaling_estimate.md` and `.json`. Nothing here is measured
on eight GPUs; the assumptions are the constants below:

- each GPU steps as fast as the measured one at its share of the batch;
- the gradients are all-reduced once a step by a ring, which moves
  `2 (n - 1) / n x 4 B x P` per GPU for `P` float32 parameters, not
  overlapped with the step;
- NVLink gives the all-reduce `NVLINK` bytes/s (NCCL's bus bandwidth on 8
  H100 / H200 GPUs is of that order; not measured here), 10 Gbit/s
  Ethernet `ETHERNET`;
- the input pipeline keeps up.

The paper's own run (Bahdanau et al. 2015, Table 2: RNNsearch-50, 2.88e5
updates of 80 pairs in 111 hours on one Quadro K6000) is the last table's
first row.
"""

import os

from benchmarks.common import RESULTS
from benchmarks.common import header
from benchmarks.common import machine

GPUS = 8
NVLINK = 360e9  # bytes/s, assumed
ETHERNET = 1.25e9  # bytes/s: 10 Gbit/s
PAPER_UPDATES = 2.88e5  # Bahdanau et al. 2015, Table 2, RNNsearch-50
PAPER_BATCH = 80
PAPER_HOURS = 111


def parameters(measured):
    import s2s_zoo

    model = s2s_zoo.build(
        "bahdanau_attention",
        preset=measured["preset"],
        source_vocabulary_size=measured["source_vocabulary"],
        target_vocabulary_size=measured["target_vocabulary"],
    )
    return model.count_params()


def all_reduce_seconds(params, bandwidth, gpus=GPUS):
    return 2 * (gpus - 1) / gpus * 4 * params / bandwidth


def estimate(default, paper):
    """Both tables' rows from the two measured files."""
    steps = {r["batch"]: r["step_ms"] / 1000 for r in default["rows"]}
    p = parameters(default)
    nvlink = all_reduce_seconds(p, NVLINK)
    base = 128 * 1 / steps[128]
    rows = []
    for batch, label in (
        (128, "global batch 128"),
        (1024, "global batch 1,024"),
    ):
        one = steps[batch]
        rows.append(
            {
                "setup": f"1 GPU, batch {batch:,} (measured)",
                "step_ms": 1000 * one,
                "sentences_per_second": batch / one,
            }
        )
        share = batch // GPUS
        if share in steps:
            step = steps[share] + nvlink
            rows.append(
                {
                    "setup": f"{GPUS} GPUs, {label} ({share} each)",
                    "step_ms": 1000 * steps[share],
                    "all_reduce_ms": 1000 * nvlink,
                    "sentences_per_second": batch / step,
                }
            )
    for row in rows:
        row["versus_one_gpu_batch_128"] = row["sentences_per_second"] / base
    paper_steps = {r["batch"]: r["step_ms"] / 1000 for r in paper["rows"]}
    big = parameters(paper)
    presentations = PAPER_UPDATES * PAPER_BATCH
    paper_rate = presentations / (PAPER_HOURS * 3600)
    wmt = [
        {
            "setup": "the paper's Quadro K6000, batch 80",
            "step_ms": 1000 * PAPER_BATCH / paper_rate,
            "pairs_per_second": paper_rate,
        }
    ]
    for batch in sorted(paper_steps):
        wmt.append(
            {
                "setup": f"1 {paper['device'].split(' (')[0]}, batch {batch} "
                "(measured)",
                "step_ms": 1000 * paper_steps[batch],
                "pairs_per_second": batch / paper_steps[batch],
            }
        )
    for name, bandwidth in (
        ("NVLink", NVLINK),
        ("10 Gbit/s Ethernet", ETHERNET),
    ):
        reduce = all_reduce_seconds(big, bandwidth)
        wmt.append(
            {
                "setup": f"{GPUS} GPUs over {name}, global batch "
                f"{GPUS * PAPER_BATCH} ({PAPER_BATCH} each)",
                "step_ms": 1000 * paper_steps[PAPER_BATCH],
                "all_reduce_ms": 1000 * reduce,
                "pairs_per_second": GPUS
                * PAPER_BATCH
                / (paper_steps[PAPER_BATCH] + reduce),
            }
        )
    for row in wmt:
        row["hours_for_the_paper_presentations"] = (
            presentations / row["pairs_per_second"] / 3600
        )
    return {
        "gpus": GPUS,
        "assumed_nvlink_bytes_per_second": NVLINK,
        "assumed_ethernet_bytes_per_second": ETHERNET,
        "default": {
            "parameters": p,
            "all_reduce_bytes": 2 * (GPUS - 1) / GPUS * 4 * p,
            "measured": os.path.join(
                "docs", "results", "device_throughput.json"
            ),
            "device": default["device"],
            "rows": rows,
        },
        "paper": {
            "parameters": big,
            "all_reduce_bytes": 2 * (GPUS - 1) / GPUS * 4 * big,
            "presentations": presentations,
            "measured": "docs/results/device_throughput_paper.json",
            "device": paper["device"],
            "rows": wmt,
        },
    }


def _duration(hours):
    return f"{hours:.1f} h" if hours >= 2 else f"{60 * hours:.0f} min"


def markdown(report):
    d, w = report["default"], report["paper"]
    nvlink = report["assumed_nvlink_bytes_per_second"] / 1e9
    ethernet = report["assumed_ethernet_bytes_per_second"] / 1e9
    lines = [
        header("speed.scaling_estimate"),
        f"Estimated from the single-GPU step times of `{d['measured']}` and "
        f"`{w['measured']}` ({d['device']}) under the assumptions above: "
        f"an all-reduce of {nvlink:.0f} GB/s over NVLink, {ethernet:.2f}"
        " GB/s over 10 Gbit/s Ethernet, not overlapped with the step.",
        "",
        f"**Default translator** ({d['parameters'] / 1e6:.2f} M parameters, "
        f"{d['all_reduce_bytes'] / 1e6:.0f} MB all-reduced a step):",
        "",
        "| setup | step | all-reduce | sentences/s | vs one GPU at batch 128 |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in d["rows"]:
        reduce = r.get("all_reduce_ms")
        lines.append(
            f"| {r['setup']} | {r['step_ms']:.1f} ms | "
            f"{'' if reduce is None else f'{reduce:.2f} ms'} | "
            f"{r['sentences_per_second']:,.0f} | "
            f"{r['versus_one_gpu_batch_128']:.1f}x |"
        )
    lines += [
        "",
        f"**RNNsearch at the paper's size** ({w['parameters'] / 1e6:.1f} M "
        f"parameters, {w['all_reduce_bytes'] / 1e6:.0f} MB all-reduced a "
        f"step), for the paper's {w['presentations'] / 1e6:.0f} M sentence "
        "presentations:",
        "",
        "| setup | step | all-reduce | pairs/s | the paper's presentations |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in w["rows"]:
        reduce = r.get("all_reduce_ms")
        lines.append(
            f"| {r['setup']} | {r['step_ms']:,.1f} ms | "
            f"{'' if reduce is None else f'{reduce:,.1f} ms'} | "
            f"{r['pairs_per_second']:,.0f} | "
            f"{_duration(r['hours_for_the_paper_presentations'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    from s2s_zoo import io

    default = io.read_json(os.path.join(RESULTS, "device_throughput.json"))
    paper = io.read_json(os.path.join(RESULTS, "device_throughput_paper.json"))
    report = estimate(default, paper)
    report["command"] = "python -m benchmarks.speed.scaling_estimate"
    report["machine"] = machine()
    io.write_json(os.path.join(RESULTS, "scaling_estimate.json"), report)
    text = markdown(report)
    with open(os.path.join(RESULTS, "scaling_estimate.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
