#!/usr/bin/env bash
# Benchmark: what the lifecycle outputs cost at N clients (default 1,000,000): training
# (its `lifecycle` stage: persistency and exits as of the cut-off) and a labeling run with
# last month's labels (the `persistency`, `exit states`, `persistency chart` and
# `stage migration chart` steps), with wall and user CPU time per step
# (CLIENTELE_TIMINGS=1) and /usr/bin/time -v for the whole run.
# Usage: bash benches/lifecycle.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
. benches/book.sh
generated_book "$n" "$work"
export CLIENTELE_TIMINGS=1
measure() {
  /usr/bin/time -v "$@" 2>&1 |
    grep -E "^timing|step (persistency|exit states|stage migration|lifecycle)|Elapsed|User time|Maximum resident"
}
echo "== train (charts on: persistency.csv, incidence.csv and their charts)"
rm -rf "$work/models" "$work/out"
measure "$bin/clientele-train" --data "$book" --extract-date "$extract" --models "$work/models" \
  --out "$work/out"
# Last month: the same book labelled a month earlier.
last_month="$(python3 -c 'import datetime as d,sys; e=d.date.fromisoformat(sys.argv[1]); print(e.replace(day=1)-d.timedelta(days=1))' "$extract")"
"$bin/clientele-infer" --model "$work/models/latest" --data "$book" --extract-date "$extract" \
  --as-of "$last_month" --out "$work/previous" --overwrite > /dev/null 2>&1
echo "== label with --previous-run (persistency, exit states, stage moves, charts)"
measure "$bin/clientele-infer" --model "$work/models/latest" --data "$book" --extract-date "$extract" \
  --out "$work/run" --previous-run "$work/previous" --overwrite
