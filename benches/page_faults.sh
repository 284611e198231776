#!/usr/bin/env bash
# Benchmark: how long this machine takes to fault in fresh memory in small pages and in
# transparent huge pages (why the binaries opt out of huge pages: src/allocator.rs).
# Pauses between runs so that freed memory can go back to the host, as it does between
# real runs. Needs a C compiler.
# Usage: bash benches/page_faults.sh [MB] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")"
mb="${1:-1600}"
rounds="${2:-3}"
bin="$(mktemp -d)/page_faults"
cc -O2 -o "$bin" page_faults.c
echo "transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
for _ in $(seq "$rounds"); do
  for huge in 1 0; do
    sleep 8
    "$bin" "$mb" "$huge"
  done
done
rm -rf "$(dirname "$bin")"
