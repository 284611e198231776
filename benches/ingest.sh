#!/usr/bin/env bash
# Benchmark: generate a book of N clients (default 1,000,000) and time ingest of every
# source through `clientele-train --check-data`, with peak memory from /usr/bin/time -v.
# Usage: bash benches/ingest.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
cargo build --release --bin clientele-train && cargo build --release -p clientele-synth
bin="$CARGO_TARGET_DIR/release"
measure() { /usr/bin/time -v "$@" 2>&1 | grep -E "Elapsed|Maximum resident|clients,"; }
echo "== generate $n clients"
measure "$bin/clientele-synth" --clients "$n" --seed 1 --out "$work/book" --snapshot-months 0
du -sh "$work/book"
echo "== ingest (read, validate, clean, link all five sources)"
measure "$bin/clientele-train" --check-data --data "$work/book" --report-dir "$work/quality" --extract-date 2026-10-31
