#!/usr/bin/env bash
# Benchmark: train on a generated book of N clients (default 1,000,000), then label it,
# with wall time and peak memory from /usr/bin/time -v and per-stage times
# (CLIENTELE_TIMINGS=1). Usage: bash benches/train_infer.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
export CLIENTELE_TIMINGS=1
cargo build --release --bins && cargo build --release -p clientele-synth
bin="$CARGO_TARGET_DIR/release"
measure() { /usr/bin/time -v "$@" 2>&1 | grep -E "^timing|Elapsed|Maximum resident|^lapse|^segments  k"; }
if [ ! -f "$work/book/clients.csv" ]; then
  echo "== generate $n clients"
  measure "$bin/clientele-synth" --clients "$n" --seed 1 --out "$work/book" --snapshot-months 0
fi
echo "== train (ingest, features, k choice + final k-means, CV logistic, out-of-time, bundle, charts)"
measure "$bin/clientele-train" --data "$work/book" --extract-date 2026-10-31 --models "$work/models" --out "$work/out"
echo "== label (ingest, features, segments, scores, reasons, actions, Parquet + CSV, drift, charts, report)"
measure "$bin/clientele-infer" --model "$work/models/latest" --data "$work/book" --extract-date 2026-10-31 --out "$work/run" --overwrite
