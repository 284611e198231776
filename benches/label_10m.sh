#!/usr/bin/env bash
# Benchmark: label a 10,000,000-client book with automatic client parts. The book is ten
# copies of a generated 1M all-CSV book whose ids are renamed per copy (C0... -> Ck...,
# P0... -> Pk..., K0... -> Kk...): about 15 GB, so check `df -h` first. The model is
# trained on the first 1M copy's generator output unless WORKDIR already holds one.
# Prints the stage timings (split, then reading and labeling per part), wall time and
# peak memory.
# Usage: bash benches/label_10m.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
cargo build -q --release --bins && cargo build -q --release -p clientele-synth
bin="$CARGO_TARGET_DIR/release"
one="$work/book-1m"
ten="$work/book-10m"
if [ ! -f "$one/manifest.json" ]; then
  "$bin/clientele-synth" --clients 1000000 --seed 1 --out "$one" --snapshot-months 0 \
    --format csv > /dev/null
fi
extract="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["export_date"])' \
  "$one/manifest.json")"
if [ ! -f "$ten/manifest.json" ]; then
  mkdir -p "$ten"
  for f in clients policies payments claims contacts; do
    head -1 "$one/$f.csv" > "$ten/$f.csv"
    for k in 0 1 2 3 4 5 6 7 8 9; do
      tail -n +2 "$one/$f.csv" | sed -e "s/\bC0/C$k/g; s/\bP0/P$k/g; s/\bK0/K$k/g" >> "$ten/$f.csv"
    done
  done
  cp "$one/manifest.json" "$ten/"
fi
du -shL "$ten"
if [ ! -s "$work/models/latest" ]; then
  "$bin/clientele-train" --data "$one" --extract-date "$extract" --models "$work/models" \
    --out "$work/out" --no-charts > /dev/null
fi
rm -rf "$work/run"
CLIENTELE_TIMINGS=1 /usr/bin/time -v "$bin/clientele-infer" --model "$work/models/latest" \
  --data "$ten" --extract-date "$extract" --out "$work/run" 2> "$work/label.log" > /dev/null
grep -E "^timing" "$work/label.log" |
  awk '{t[$2] += $3; n[$2]++} END {for (s in t) printf "%-10s %7.1f s over %d\n", s, t[s], n[s]}'
grep -E "Elapsed|Maximum resident" "$work/label.log"
