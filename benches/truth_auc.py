"""AUC of a labeling run's lapse probabilities against the generated book's truth (lapsed
within the horizon), over the clients labelled that the truth has in force at the
cut-off. Usage: truth_auc.py LABELS.csv TRUTH.csv NAME"""

import csv
import sys


def roc_auc(p, y):
    pairs = sorted(zip(p, y))
    ranks, i = [0.0] * len(pairs), 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        for r in range(i, j + 1):
            ranks[r] = (i + j) / 2 + 1
        i = j + 1
    pos = sum(y for _, y in pairs)
    rank_sum = sum(r for r, (_, y) in zip(ranks, pairs) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * (len(pairs) - pos))


truth = {}
with open(sys.argv[2], newline="") as f:
    for row in csv.DictReader(f):
        if row["in_force_at_cutoff"] == "true" and row["lapsed_in_horizon"] in ("true", "false"):
            truth[row["client_id"]] = row["lapsed_in_horizon"] == "true"
p, y = [], []
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        if row["client_id"] in truth and row["lapse_probability"]:
            p.append(float(row["lapse_probability"]))
            y.append(truth[row["client_id"]])
print(f"{sys.argv[3]} | AUC {roc_auc(p, y):.4f} on {len(p)} clients")
