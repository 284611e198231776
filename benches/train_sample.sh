#!/usr/bin/env bash
# How large a sample of feature rows training in parts needs ([training] fit_sample):
# trains on a generated book in parts with each sample size, and in one piece on every
# row, then labels the book at the training cut-off with each model and scores every
# client in force there against the generator's truth (did the client lapse within the
# horizon). Prints rows fitted, AUC on every client in force, wall and CPU time.
#
#   bash benches/train_sample.sh [N clients, default 1000000] [WORKDIR] [SAMPLE...]
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
shift 2 || true
samples=("${@:-50000 100000 250000 500000}")
mkdir -p "$work"
source benches/book.sh
generated_book "$n" "$work"
cutoff="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["training_cutoff"])' \
  "$book/manifest.json")"
score() { # name, models dir, extra label: AUC of the model's probabilities at the cut-off
  rm -rf "$work/run-$1"
  "$bin/clientele-infer" --model "$2/latest" --data "$book" --extract-date "$extract" \
    --as-of "$cutoff" --out "$work/run-$1" > /dev/null
  python3 "$repo/benches/truth_auc.py" "$work/run-$1/labels.csv" "$book/truth.csv" "$3"
}
train() { # name, extra flags...: wall and CPU seconds of the run
  local name="$1"
  shift
  rm -rf "$work/m-$name" "$work/o-$name"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time-$name" "$bin/clientele-train" --data "$book" \
    --extract-date "$extract" --models "$work/m-$name" --out "$work/o-$name" --no-charts "$@" \
    > /dev/null
  read -r wall user sys kb < "$work/time-$name"
  echo "wall ${wall} s, cpu $(python3 -c "print(round($user + $sys, 1))") s, peak $((kb / 1024)) MB"
}
echo "rows fitted | AUC on every client in force at $cutoff | train"
t="$(train whole)"
score whole "$work/m-whole" "every row (one piece) | $t"
for s in ${samples[@]}; do
  printf '[training]\nfit_sample = %s\n' "$s" > "$work/sample-$s.toml"
  t="$(train "s$s" --config "$work/sample-$s.toml" --partitions 2)"
  score "s$s" "$work/m-s$s" "$s (2 parts) | $t"
done
