#!/usr/bin/env bash
# The binned (scorecard) lapse model against the linear one and against the truth.
#
#   bash benches/scorecard.sh [CLIENTS] [WORKDIR]
#
# Generates two books of CLIENTS clients (default 200,000): the usual one, and one whose
# lapse truth adds a threshold and a U-shape (`clientele-synth --nonlinear-lapse`). On
# each it trains the default model (cross-validation chooses linear or bins) and the
# linear-only model (`[lapse] bins = [0]`), same seed and so the same split, and prints
# the held-out ROC AUC of each beside the AUC of the true probabilities on the same
# held-out clients, with the wall time of each training run.
set -euo pipefail
n="${1:-200000}"
work="${2:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
cargo build -q --release --bins && cargo build -q --release -p clientele-synth
bin="$CARGO_TARGET_DIR/release"
mkdir -p "$work"
printf '[lapse]\nbins = [0]\n' > "$work/linear.toml"

for kind in linear-truth nonlinear-truth; do
  book="$work/$kind/book"
  if [ ! -f "$book/manifest.json" ]; then
    flag=()
    [ "$kind" = nonlinear-truth ] && flag=(--nonlinear-lapse)
    "$bin/clientele-synth" --clients "$n" --seed 1 --out "$book" --snapshot-months 0 \
      "${flag[@]}" > /dev/null
  fi
  extract="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["export_date"])' \
    "$book/manifest.json")"
  for model in default linear; do
    models="$work/$kind/models-$model"
    config=()
    [ "$model" = linear ] && config=(--config "$work/linear.toml")
    if [ ! -s "$models/latest" ]; then
      start=$(date +%s.%N)
      "$bin/clientele-train" --data "$book" --extract-date "$extract" --models "$models" \
        --out "$work/$kind/out" --no-charts --save-scores --seed 5 "${config[@]}" > /dev/null
      python3 -c "print($(date +%s.%N) - $start)" > "$models/seconds"
    fi
  done
  python3 - "$work/$kind" "$book/truth.csv" <<'EOF'
import csv, json, sys, os
work, truth_path = sys.argv[1], sys.argv[2]
truth = {r["client_id"]: float(r["lapse_probability"])
         for r in csv.DictReader(open(truth_path)) if r["lapse_probability"]}

def auc(scores, labels):
    pairs = sorted(zip(scores, labels))
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2 * sum(1 for p in pairs[i:j] if p[1])
        i = j
    pos = sum(labels); neg = len(labels) - pos
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)

print(f"== {os.path.basename(work)}")
for model in ("default", "linear"):
    d = os.path.join(work, f"models-{model}")
    version = open(os.path.join(d, "latest")).read().strip()
    bundle = json.load(open(os.path.join(d, version, "bundle.json")))
    rows = [r for r in csv.DictReader(open(os.path.join(d, version, "scores.csv")))
            if r["split"] == "test" and r["client_id"] in truth]
    y = [r["label"] == "lapsed" for r in rows]
    model_auc = auc([float(r["lapse_probability"]) for r in rows], y)
    truth_auc = auc([truth[r["client_id"]] for r in rows], y)
    seconds = float(open(os.path.join(d, "seconds")).read())
    print(f"{model:8s} form {bundle['metrics']['lapse_form']:18s} held-out AUC {model_auc:.4f}"
          f"  truth {truth_auc:.4f}  gap {truth_auc - model_auc:+.4f}"
          f"  ({len(rows)} test clients, train {seconds:.1f} s)")
EOF
done
