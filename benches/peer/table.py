"""Reads the logs of benches/compare.sh and prints the side-by-side table (stdlib only)."""

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


def main(logs, n):
    logs = Path(logs)
    ct, cw, cp = parse(logs / "clientele-train")
    cl, lw, lp = parse(logs / "clientele-label")
    pt, pw, pp = parse(logs / "peer-train")
    pl, plw, plp = parse(logs / "peer-label")
    # clientele's "load" includes its "reading"; the peer's load is read + clean.
    rows = [
        ("train: read + clean + features", ct.get("load", 0) + ct.get("features", 0),
         pt.get("load", 0) + pt.get("features", 0)),
        ("train: segments (k choice + final)", ct.get("segments"), pt.get("segments")),
        # clientele runs the out-of-time check beside the final lapse fit: one stage.
        ("train: lapse model + out-of-time check", ct.get("lapse+oot"),
         pt.get("lapse", 0) + pt.get("out-of-time", 0)),
        ("  peer: lapse model (CV + final + CIs)", None, pt.get("lapse")),
        ("  peer: out-of-time check", None, pt.get("out-of-time")),
        ("train: whole run (wall)", cw, pw),
        ("label: whole run (wall)", lw, plw),
    ]
    print(f"\nclientele vs pandas + scikit-learn, {int(n):,} generated clients "
          "(seconds; ratio = peer / clientele, above 1 = clientele faster)")
    print(f"{'stage':<40} {'clientele':>10} {'peer':>10} {'ratio':>7}")
    for name, c, p in rows:
        if c is None or p is None:
            show = lambda v: "-" if v is None else f"{v:.1f}"
            print(f"{name:<40} {show(c):>10} {show(p):>10} {'-':>7}")
            continue
        print(f"{name:<40} {c:>10.1f} {p:>10.1f} {p / max(c, 1e-9):>7.2f}")
    print(f"{'peak memory, train (GB)':<40} {cp:>10.2f} {pp:>10.2f}")
    print(f"{'peak memory, label (GB)':<40} {lp:>10.2f} {plp:>10.2f}")
    for log in ("peer-train", "peer-label"):
        for line in (logs / log).read_text().splitlines():
            if line.startswith("peer "):
                print(line)
    for line in (logs / "clientele-train").read_text().splitlines():
        if line.startswith(("lapse", "segments  k")):
            print("clientele " + line.strip())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
