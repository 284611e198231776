"""Reads the logs of benches/compare.sh and prints the side-by-side table, then checks that
the two Python scripts did the same job: the same k and penalty, AUCs within 0.002, and
the same clients and segments in their labels, probabilities within 0.005 (both scripts
fit to the optimum: lbfgs at tol 1e-8, newton-cholesky to convergence).
Exit 1 when they disagree. Needs pyarrow only for the label check (the scripts' venv)."""

import re
import sys
from pathlib import Path


def parse(path):
    timings, wall, peak = {}, None, None
    for line in Path(path).read_text().splitlines():
        if m := re.match(r"timing (\S+)\s+([\d.]+) s", line):
            timings[m[1]] = timings.get(m[1], 0.0) + float(m[2])
        elif m := re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", line):
            wall = int(m[1] or 0) * 3600 + int(m[2]) * 60 + float(m[3])
        elif m := re.search(r"Maximum resident set size \(kbytes\): (\d+)", line):
            peak = int(m[1]) / 1024 / 1024
    return timings, wall, peak


def stage_rows(train, label):
    """Stage seconds of one tool from its train and label logs."""
    (t, tw, tp), (_, lw, lp) = train, label
    # clientele's "load" includes its "reading"; a script's load is read + clean.
    lapse = t.get("lapse+oot")
    if lapse is None and "lapse" in t:
        lapse = t["lapse"] + t.get("out-of-time", 0)
    return [
        t.get("load", 0) + t.get("features", 0),
        t.get("segments"),
        lapse,
        tw,
        lw,
        tp,
        lp,
    ]


NAMES = [
    "train: read + clean + features",
    "train: segments (k choice + final)",
    "train: lapse model + out-of-time check",
    "train: whole run (wall)",
    "label: whole run (wall)",
    "peak memory, train (GB)",
    "peak memory, label (GB)",
]


def summary(log):
    for line in Path(log).read_text().splitlines():
        if m := re.match(r"peer k = (\d+), alpha = ([\d.]+), test AUC ([\d.]+), out-of-time AUC ([\d.]+)", line):
            return int(m[1]), float(m[2]), float(m[3]), float(m[4])
    return None


def same_labels(a, b):
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a).to_pydict(), pq.read_table(b).to_pydict()
    if ta["client_id"] != tb["client_id"]:
        return "different clients"
    segments = sum(x != y for x, y in zip(ta["segment_id"], tb["segment_id"]))
    gap = max(abs(x - y) for x, y in zip(ta["lapse_probability"], tb["lapse_probability"]))
    bands = sum(x != y for x, y in zip(ta["risk_band"], tb["risk_band"]))
    if segments or gap > 0.005:
        return f"{segments} segments differ, probabilities up to {gap:.2g} apart"
    return f"same clients and segments, probabilities within {gap:.1g}, {bands} risk bands differ"


def main(logs, n, work):
    logs = Path(logs)
    tools = ["clientele", "polars", "peer"]
    cols = {
        tool: stage_rows(parse(logs / f"{tool}-train"), parse(logs / f"{tool}-label"))
        for tool in tools
    }
    print(f"\n{int(n):,} generated clients (seconds; ratio = script / clientele, above 1 = "
          "clientele faster)")
    print(f"{'stage':<40} {'clientele':>10} {'polars':>10} {'ratio':>7} {'pandas':>10} {'ratio':>7}")
    show = lambda v: "-" if v is None else f"{v:.1f}" if v >= 10 else f"{v:.2f}"
    for i, name in enumerate(NAMES):
        c = cols["clientele"][i]
        cells = [f"{name:<40} {show(c):>10}"]
        for tool in ("polars", "peer"):
            v = cols[tool][i]
            ratio = "-" if c is None or v is None else f"{v / max(c, 1e-9):.2f}"
            cells.append(f"{show(v):>10} {ratio:>7}")
        print(" ".join(cells))
    for log in ("peer-train", "polars-train", "peer-label", "polars-label"):
        for line in (logs / log).read_text().splitlines():
            if line.startswith("peer "):
                print(f"{log.split('-')[0]:<7} {line}")
    for line in (logs / "clientele-train").read_text().splitlines():
        if line.startswith(("lapse", "segments  k")):
            print("clientele " + line.strip())
    a, b = summary(logs / "peer-train"), summary(logs / "polars-train")
    problems = []
    if a is None or b is None:
        problems.append("a script printed no summary")
    else:
        if a[:2] != b[:2]:
            problems.append(f"k and penalty differ: pandas {a[:2]}, polars {b[:2]}")
        if abs(a[2] - b[2]) > 0.002 or abs(a[3] - b[3]) > 0.002:
            problems.append(f"AUCs differ: pandas {a[2:]}, polars {b[2:]}")
    work = Path(work) / "peer"
    verdict = same_labels(work / "peer-labels.parquet", work / "peer-polars-labels.parquet")
    if not verdict.startswith("same"):
        problems.append(f"labels: {verdict}")
    if problems:
        print("the two scripts disagree: " + "; ".join(problems))
        sys.exit(1)
    print(f"the two scripts agree: same k and penalty, AUCs within 0.002, labels: {verdict}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
