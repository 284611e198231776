#!/usr/bin/env bash
# Benchmark: what the holdout draw and the effect readout cost. On a generated book of N
# clients (default 1,000,000; its export and the next month), labels the export with
# holdouts off (`[effect] holdout_share = 0`) and on (the default 10%), then the next
# month with the export's labels as `--previous-run` (the readout), alternating, REPS
# times each (default 3), wall seconds of each run. With BASE_INFER set to another
# build's clientele-infer (e.g. main's, before holdouts), its two runs are timed beside.
#
#   bash benches/effect.sh [N] [WORKDIR] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
reps="${3:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
cargo build -q --release --bins && cargo build -q --release -p clientele-synth
bin="$CARGO_TARGET_DIR/release"
mkdir -p "$work"
if [ ! -f "$work/book/next-month/manifest.json" ]; then
  "$bin/clientele-synth" --clients "$n" --seed 1 --out "$work/book" > /dev/null
fi
if [ ! -s "$work/models/latest" ]; then
  "$bin/clientele-train" --data "$work/book" --extract-date 2026-09-30 \
    --models "$work/models" --out "$work/out" --no-charts > /dev/null
fi
printf '[effect]\nholdout_share = 0\n' > "$work/off.toml"
seconds() { # command...: its wall seconds
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}
label() { # infer, out, extra...
  local infer="$1" out="$2"
  shift 2
  "$infer" --model "$work/models/latest" --data "$work/book" --extract-date 2026-09-30 \
    --out "$work/$out" --overwrite "$@"
}
readout() { # infer, out, previous
  "$1" --model "$work/models/latest" --data "$work/book/next-month" --extract-date 2026-10-31 \
    --out "$work/$2" --overwrite --previous-run "$work/$3"
}
echo "rep | label, holdouts off | label, holdouts on | next month with the readout${BASE_INFER:+ | base: label | base: next month}"
for i in $(seq "$reps"); do
  off=$(seconds label "$bin/clientele-infer" off --config "$work/off.toml")
  on=$(seconds label "$bin/clientele-infer" sept)
  next=$(seconds readout "$bin/clientele-infer" oct sept)
  line="$i | $off | $on | $next"
  if [ -n "${BASE_INFER:-}" ]; then
    base=$(seconds label "$BASE_INFER" base-sept)
    base_next=$(seconds readout "$BASE_INFER" base-oct base-sept)
    line="$line | $base | $base_next"
  fi
  echo "$line"
done
