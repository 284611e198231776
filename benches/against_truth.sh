#!/usr/bin/env bash
# The default lapse model against a simpler one and against the generator's truth.
#
#   bash benches/against_truth.sh CLIENTS WORKDIR FLAG NAME SETTING
#
# Generates two books of CLIENTS clients: the usual one, and one whose lapse truth has
# what `clientele-synth FLAG` adds. On each it trains the default model and the simpler
# model NAME (`[lapse] SETTING`), same seed and so the same split, and prints the held-out
# ROC AUC of each beside the AUC of the true probabilities on the same held-out clients,
# the cross-validated AUC, and the wall time of each training run. `scorecard.sh` and
# `pairs.sh` call it.
set -euo pipefail
n="$1"
work="$2"
truth_flag="$3"
simpler="$4"
setting="$5"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
cargo build -q --release --bins && cargo build -q --release -p clientele-synth
bin="$CARGO_TARGET_DIR/release"
mkdir -p "$work"
printf '[lapse]\n%s\n' "$setting" > "$work/$simpler.toml"

for kind in usual-truth richer-truth; do
  book="$work/$kind/book"
  if [ ! -f "$book/manifest.json" ]; then
    flag=()
    [ "$kind" = richer-truth ] && flag=("$truth_flag")
    "$bin/clientele-synth" --clients "$n" --seed 1 --out "$book" --snapshot-months 0 \
      "${flag[@]}" > /dev/null
  fi
  extract="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["export_date"])' \
    "$book/manifest.json")"
  for model in default "$simpler"; do
    models="$work/$kind/models-$model"
    config=()
    [ "$model" = "$simpler" ] && config=(--config "$work/$simpler.toml")
    if [ ! -s "$models/latest" ]; then
      start=$(date +%s.%N)
      "$bin/clientele-train" --data "$book" --extract-date "$extract" --models "$models" \
        --out "$work/$kind/out" --no-charts --save-scores --seed 5 "${config[@]}" > /dev/null
      python3 -c "print($(date +%s.%N) - $start)" > "$models/seconds"
    fi
  done
  python3 - "$work/$kind" "$book/truth.csv" "$simpler" <<'EOF'
import csv, json, sys, os
work, truth_path, simpler = sys.argv[1], sys.argv[2], sys.argv[3]
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
for model in ("default", simpler):
    d = os.path.join(work, f"models-{model}")
    version = open(os.path.join(d, "latest")).read().strip()
    bundle = json.load(open(os.path.join(d, version, "bundle.json")))
    rows = [r for r in csv.DictReader(open(os.path.join(d, version, "scores.csv")))
            if r["split"] == "test" and r["client_id"] in truth]
    y = [r["label"] == "lapsed" for r in rows]
    model_auc = auc([float(r["lapse_probability"]) for r in rows], y)
    truth_auc = auc([truth[r["client_id"]] for r in rows], y)
    seconds = float(open(os.path.join(d, "seconds")).read())
    lapse = bundle["lapse"]
    kept = len(lapse["form"].get("pairs", []))
    cv_auc = [p["roc_auc"] for p in lapse["cv"] if p["alpha"] == lapse["alpha"]
              and p["bins"] == lapse["form"]["bins"] and p.get("pairs", 0) == kept
              and p.get("pair_penalty", 1.0) == lapse["form"].get("pair_penalty", 1.0)][0]
    print(f"{model:8s} form {bundle['metrics']['lapse_form']:28s} CV AUC {cv_auc:.4f}"
          f"  held-out AUC {model_auc:.4f}"
          f"  truth {truth_auc:.4f}  gap {truth_auc - model_auc:+.4f}"
          f"  ({len(rows)} test clients, train {seconds:.1f} s)")
EOF
done
