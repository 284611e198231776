#!/usr/bin/env bash
# Benchmark: train on a 10,000,000-client book from the CLI. The book is ten copies of a
# generated 1M book with ids renamed per copy (benches/ten_copies.py, ~3.3 GB; check
# `df -h` first: the split parts take as much again while the run lasts). The book is
# trained in parts (automatic above 40M source rows), the models fitted on
# `[training] fit_sample` rows. Prints the stage timings, wall and CPU time, peak memory.
# Usage: bash benches/train_10m.sh [WORKDIR] (needs pyarrow: PEER_VENV or python3)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
source benches/book.sh
generated_book 1000000 "$work"
ten="$work/book-10m"
py="${PEER_VENV:+$PEER_VENV/bin/}python3"
[ -f "$ten/manifest.json" ] || "$py" benches/ten_copies.py "$book" "$ten"
rm -rf "$work/models-10m" "$work/out-10m"
CLIENTELE_TIMINGS=1 /usr/bin/time -v "$bin/clientele-train" --data "$ten" --extract-date "$extract" \
  --models "$work/models-10m" --out "$work/out-10m" 2>&1 |
  grep -E "^timing|^data|^segments  k|^lapse|out of time|Elapsed|User time|System time|Maximum resident"
