#!/usr/bin/env bash
# The Python package's labeling against the CLI's on one generated book and model, in
# one run: wall time and peak memory of each whole run, and the Python run's stages.
#
#   bash benches/python_label.sh [N clients, default 1000000] [WORKDIR]
#
# Builds the package into WORKDIR/venv (or $CLIENTELE_VENV) with maturin.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
source benches/book.sh
python_package "$work"
generated_book "$n" "$work"
trained_model "$work"
rm -rf "$work/run"
peak() { grep -E "Elapsed|Maximum resident" "$1" | sed 's/^\s*//'; }
/usr/bin/time -v "$bin/clientele-infer" --model "$work/models/latest" --data "$book" \
  --extract-date "$extract" --out "$work/run" > "$work/cli.log" 2> "$work/cli.time"
/usr/bin/time -v "$venv/bin/python" "$repo/benches/python_label.py" "$work/models/latest" \
  "$book" "$extract" > "$work/python.log" 2> "$work/python.time"
echo "clientele-infer (reads, labels, writes CSV + Parquet, drift, charts, report):"
peak "$work/cli.time"
echo "Python (reads with pyarrow, labels in memory, no files written):"
cat "$work/python.log"
peak "$work/python.time"
"$venv/bin/python" "$repo/benches/python_label.py" "$work/models/latest" "$book" "$extract" \
  "$work/run/labels.parquet" | tail -1
