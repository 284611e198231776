#!/usr/bin/env bash
# Side-by-side benchmark: clientele against two Python scripts doing the same job, on one
# generated book, in one run, one after the other: a plain pandas + scikit-learn script
# (benches/peer/peer.py) and one written for speed (benches/peer/peer_polars.py: polars,
# scikit-learn's newton-cholesky solver with warm-started penalty paths, joblib threads).
# Prints each stage's seconds for all three and the ratios (script / clientele: above 1
# means clientele is faster), wall time and peak memory of each whole run, and checks
# that the two scripts chose the same k and penalty and agree on the AUCs.
#
#   bash benches/compare.sh [N clients, default 1000000] [WORKDIR]
#
# The Python stack is installed here, into WORKDIR/venv (or $PEER_VENV), not by the
# README's set-up: it is the yardstick, not a dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
n="${1:-1000000}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
venv="${PEER_VENV:-$work/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pandas pyarrow scikit-learn polars
fi
source benches/book.sh
generated_book "$n" "$work"
logs="$work/logs"
rm -rf "$logs" "$work/models" "$work/out" "$work/run" "$work/peer"
mkdir -p "$logs"
run() { # name, command...: timing lines and /usr/bin/time's report into logs/name
  local name="$1"
  shift
  echo "== $name" >&2
  CLIENTELE_TIMINGS=1 /usr/bin/time -v "$@" > "$logs/$name" 2>&1 || {
    cat "$logs/$name" >&2
    exit 1
  }
}
run clientele-train "$bin/clientele-train" --data "$book" --extract-date "$extract" \
  --models "$work/models" --out "$work/out"
run clientele-label "$bin/clientele-infer" --model "$work/models/latest" --data "$book" \
  --extract-date "$extract" --out "$work/run"
run peer-train "$venv/bin/python" "$repo/benches/peer/peer.py" train "$book" "$work/peer"
run peer-label "$venv/bin/python" "$repo/benches/peer/peer.py" label "$book" "$work/peer"
run polars-train "$venv/bin/python" "$repo/benches/peer/peer_polars.py" train "$book" "$work/peer"
run polars-label "$venv/bin/python" "$repo/benches/peer/peer_polars.py" label "$book" "$work/peer"
"$venv/bin/python" "$repo/benches/peer/table.py" "$logs" "$n" "$work"
