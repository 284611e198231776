#!/usr/bin/env python3
"""Checks that two labeling runs agree as a speed-up must keep them: the same clients,
the same text in every column, every probability within a tolerance (default 1e-9: a
change of floating-point summation order moves fitted weights in the last bits), and the
same numbers in summary.json and drift.json within that tolerance (model ids and paths
aside). Usage: same_outputs.py OLD_RUN_DIR NEW_RUN_DIR [TOLERANCE]. Exit 0 when they
agree, 1 with the differences listed otherwise."""
import csv
import json
import sys

PROBABILITY_COLUMNS = {"lapse_probability", "next_product_propensity", "segment_distance"}
IDENTITY_KEYS = {"model_version", "model_dir", "model_created_at", "run_dir", "created_at"}


def labels(path):
    with open(path, newline="") as f:
        return {row["client_id"]: row for row in csv.DictReader(f)}


def close(a, b, tolerance):
    return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))


def compare_json(a, b, tolerance, path, problems):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key in IDENTITY_KEYS:
                continue
            if key not in a or key not in b:
                problems.append(f"{path}/{key}: only in one run")
            else:
                compare_json(a[key], b[key], tolerance, f"{path}/{key}", problems)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            problems.append(f"{path}: {len(a)} vs {len(b)} items")
        for i, (u, v) in enumerate(zip(a, b)):
            compare_json(u, v, tolerance, f"{path}[{i}]", problems)
    elif isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and close(a, b, tolerance)):
            problems.append(f"{path}: {a} vs {b}")
    elif a != b:
        problems.append(f"{path}: {a!r} vs {b!r}")


def main():
    old_dir, new_dir = sys.argv[1], sys.argv[2]
    tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-9
    problems = []
    old, new = labels(f"{old_dir}/labels.csv"), labels(f"{new_dir}/labels.csv")
    if old.keys() != new.keys():
        problems.append(f"labels.csv: {len(old)} vs {len(new)} clients, not the same ones")
    largest = 0.0
    for client in old.keys() & new.keys():
        a, b = old[client], new[client]
        for column in a:
            if a[column] == b.get(column):
                continue
            if column in PROBABILITY_COLUMNS and a[column] and b.get(column):
                gap = abs(float(a[column]) - float(b[column]))
                largest = max(largest, gap)
                if gap > tolerance:
                    problems.append(f"labels.csv {column}: {a[column]} vs {b[column]}")
            else:
                problems.append(f"labels.csv {column}: {a[column]!r} vs {b.get(column)!r}")
    for name in ("summary.json", "drift.json"):
        with open(f"{old_dir}/{name}") as f, open(f"{new_dir}/{name}") as g:
            compare_json(json.load(f), json.load(g), tolerance, name, problems)
    for line in problems[:20]:
        print(line)
    print(
        f"{len(old)} clients; largest probability difference {largest:.3g}; "
        f"{len(problems)} differences beyond {tolerance:g}"
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
