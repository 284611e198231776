#!/usr/bin/env bash
# The book held in clientele's typed tables against the same book in polars frames
# (benches/book_in_memory.rs): each way in its own process, with its wall time, CPU
# time and peak memory.
#
#   bash benches/book_in_memory.sh [N clients, default 1000000] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
source benches/book.sh
generated_book "$n" "$work"
cargo bench -q --bench book_in_memory --no-run
exe="$(ls -t "$CARGO_TARGET_DIR"/release/deps/book_in_memory-* | grep -v '\.d$' | head -1)"
for way in table frames; do
  /usr/bin/time -v "$exe" "$way" "$book" "$extract" 2> "$work/$way.time"
  grep -E "Elapsed|User time|System time|Maximum resident" "$work/$way.time" | sed 's/^\s*/  /'
done
